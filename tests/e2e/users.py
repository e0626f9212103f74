"""Real, unprivileged users of the local control plane, for the trust tests.

Each user is a client certificate signed by the devcluster's CA (the API
server trusts it as it trusts the admin's), so the API server authenticates
``alice`` exactly as it would a person; what she may do comes only from RBAC
bindings the test makes. A kubeconfig per user lets the real plugin and kubectl
run as her.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import Cluster


def user_kubeconfig(
    cluster: Cluster, user: str, directory: Path, groups: tuple[str, ...] = ()
) -> str:
    """A kubeconfig for ``user`` (in ``groups``), signed by the cluster's CA; returns its path."""
    pki = cluster.state_dir / "pki"
    ca_cert = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        + [x509.NameAttribute(NameOID.COMMON_NAME, user)]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    directory.mkdir(parents=True, exist_ok=True)
    crt, pem = directory / f"{user}.crt", directory / f"{user}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "devcluster",
                "cluster": {"server": cluster.server, "certificate-authority": str(pki / "ca.crt")},
            }
        ],
        "users": [{"name": user, "user": {"client-certificate": str(crt), "client-key": str(pem)}}],
        "contexts": [{"name": user, "context": {"cluster": "devcluster", "user": user}}],
        "current-context": user,
    }
    path = directory / f"{user}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)

"""A throwaway PKI for the local control plane, and the kubeconfigs that carry it.

One CA signs everything: a serving certificate for every local TLS endpoint
(kube-apiserver, controller-manager, scheduler and kwok's kubelet-style server,
all on 127.0.0.1) and one client certificate per identity. The service-account
key pair signs and verifies tokens. Elliptic-curve keys keep generation instant,
so a fresh cluster never waits on RSA.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devcluster import layout


@dataclass(frozen=True)
class ClientIdentity:
    """Who a client certificate says it is: the user name and its groups."""

    common_name: str
    groups: tuple[str, ...] = ()


#: file stem -> identity. Controller-manager and scheduler get the identities
#: their bootstrap RBAC roles are bound to; the rest are cluster admins.
CLIENTS: dict[str, ClientIdentity] = {
    "admin": ClientIdentity("kubernetes-admin", ("system:masters",)),
    "controller-manager": ClientIdentity("system:kube-controller-manager"),
    "scheduler": ClientIdentity("system:kube-scheduler"),
    "kwok": ClientIdentity("kwok-controller", ("system:masters",)),
    "podemu": ClientIdentity("devcluster-podemu", ("system:masters",)),
    "apiserver-kubelet-client": ClientIdentity(
        "kube-apiserver-kubelet-client", ("system:masters",)
    ),
}

#: Components that talk to the API server through a kubeconfig of their own.
KUBECONFIG_CLIENTS = ("controller-manager", "scheduler", "kwok", "podemu")

SERVING_DNS = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
SERVING_IPS = (layout.HOST, layout.SERVICE_IP)

_ONE_DAY = datetime.timedelta(days=1)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: object, days: int
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _ONE_DAY)  # tolerate small clock differences
        .not_valid_after(now + days * _ONE_DAY)
    )


def _name(common_name: str, groups: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


class _Authority:
    """The CA key and certificate, able to sign leaf certificates."""

    def __init__(self) -> None:
        self.key = _new_key()
        name = _name("kubectl-trigger-devcluster-ca")
        self.cert = (
            _builder(name, name, self.key.public_key(), 3650)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    def issue(
        self, subject: x509.Name, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]
    ) -> tuple[bytes, bytes]:
        key = _new_key()
        builder = (
            _builder(subject, self.cert.subject, key.public_key(), 365)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return _cert_pem(builder.sign(self.key, hashes.SHA256())), _key_pem(key)


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.write_bytes(data)
    if private:
        os.chmod(path, 0o600)


def pki_complete(pki_dir: Path) -> bool:
    """Whether every file of a generated PKI is present (generation is all-or-nothing)."""
    return (pki_dir / "complete").exists()


def generate(pki_dir: Path) -> None:
    """Write CA, serving and client certificates and the service-account key pair."""
    pki_dir.mkdir(parents=True, exist_ok=True)
    ca = _Authority()
    _write(pki_dir / "ca.crt", _cert_pem(ca.cert))
    _write(pki_dir / "ca.key", _key_pem(ca.key), private=True)

    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in SERVING_DNS]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVING_IPS]
    cert, key = ca.issue(_name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, sans)
    _write(pki_dir / "serving.crt", cert)
    _write(pki_dir / "serving.key", key, private=True)

    for stem, ident in CLIENTS.items():
        subject = _name(ident.common_name, ident.groups)
        cert, key = ca.issue(subject, ExtendedKeyUsageOID.CLIENT_AUTH, [])
        _write(pki_dir / f"{stem}.crt", cert)
        _write(pki_dir / f"{stem}.key", key, private=True)

    sa_key = _new_key()
    _write(pki_dir / "sa.key", _key_pem(sa_key), private=True)
    sa_pub = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write(pki_dir / "sa.pub", sa_pub)
    (pki_dir / "complete").write_text("")


def kubeconfig(server: str, pki_dir: Path, client: str) -> str:
    """A kubeconfig for ``client`` that points at ``server``, with file references."""
    user = CLIENTS[client].common_name
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "devcluster",
                "cluster": {"server": server, "certificate-authority": str(pki_dir / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate": str(pki_dir / f"{client}.crt"),
                    "client-key": str(pki_dir / f"{client}.key"),
                },
            }
        ],
        "contexts": [{"name": "devcluster", "context": {"cluster": "devcluster", "user": user}}],
        "current-context": "devcluster",
    }
    return yaml.safe_dump(doc, sort_keys=False)

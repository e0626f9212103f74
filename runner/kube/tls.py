"""TLS settings for the connection pool, including key material that only exists as data.

Python's ``ssl`` loads client certificates and keys only from files, but
kubeconfigs and exec plugins hand them over as data. They are written to files
readable only by this user, in a private directory removed at exit; identical
data reuses one file so refreshing credentials does not pile files up.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from typing import Any

from runner.kube.config import ClientConfig

__all__ = ["pool_tls_kwargs", "private_file"]

_lock = threading.Lock()
_dir: str | None = None
_files: dict[str, str] = {}


def _cleanup() -> None:
    global _dir
    with _lock:
        if _dir is not None:
            shutil.rmtree(_dir, ignore_errors=True)
        _dir = None
        _files.clear()


def private_file(data: str) -> str:
    """A 0600 file holding ``data`` (PEM text), removed when the process exits."""
    global _dir
    digest = hashlib.sha256(data.encode("utf-8")).hexdigest()
    with _lock:
        path = _files.get(digest)
        if path is not None and os.path.exists(path):
            return path
        if _dir is None or not os.path.isdir(_dir):
            _dir = tempfile.mkdtemp(prefix="kube-tls-")  # mode 0700
            atexit.register(_cleanup)
        path = os.path.join(_dir, digest[:32] + ".pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
        _files[digest] = path
        return path


def pool_tls_kwargs(
    config: ClientConfig, cert_data: str | None = None, key_data: str | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``urllib3.HTTPSConnectionPool``.

    ``cert_data``/``key_data`` (from an exec plugin) win over the config's client
    certificate.
    """
    kwargs: dict[str, Any] = {}
    if config.insecure_skip_tls_verify:
        kwargs.update(cert_reqs="CERT_NONE", assert_hostname=False)
    else:
        kwargs["cert_reqs"] = "CERT_REQUIRED"
        if config.ca_data:
            kwargs["ca_cert_data"] = config.ca_data
        elif config.ca_file:
            kwargs["ca_certs"] = config.ca_file
    if config.tls_server_name:
        kwargs["server_hostname"] = config.tls_server_name
    cert = cert_data or config.client_cert_data
    key = key_data if cert_data else config.client_key_data
    cert_file = private_file(cert) if cert else config.client_cert_file
    key_file = private_file(key) if key else config.client_key_file
    if cert_file:
        kwargs["cert_file"] = cert_file
        if key_file:
            kwargs["key_file"] = key_file
    return kwargs

"""TLS for the API connection, including key material that only exists as data.

Python's ``ssl`` loads client certificates and keys only from files, but
kubeconfigs and exec plugins hand them over as data. They are written to files
readable only by this user, in a private directory removed at exit; identical
data reuses one file so refreshing credentials does not pile files up.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import ssl
import threading
from typing import Any

from runner.kube.config import ClientConfig

__all__ = ["private_file", "tls_context", "tls_settings"]

_lock = threading.Lock()
_dir: str | None = None
_files: dict[str, str] = {}


def _cleanup() -> None:
    global _dir
    import shutil

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
            import tempfile  # only key material given as data needs it

            _dir = tempfile.mkdtemp(prefix="kube-tls-")  # mode 0700
            atexit.register(_cleanup)
        path = os.path.join(_dir, digest[:32] + ".pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
        _files[digest] = path
        return path


def tls_settings(
    config: ClientConfig, cert_data: str | None = None, key_data: str | None = None
) -> dict[str, Any]:
    """What the TLS connection uses: ``verify``, ``ca_data``/``ca_file``, ``cert_file``,
    ``key_file`` and ``server_hostname`` (only the keys that apply).

    ``cert_data``/``key_data`` (from an exec plugin) win over the config's client
    certificate; certificate data is written to private files (see ``private_file``).
    """
    settings: dict[str, Any] = {"verify": not config.insecure_skip_tls_verify}
    if settings["verify"]:
        if config.ca_data:
            settings["ca_data"] = config.ca_data
        elif config.ca_file:
            settings["ca_file"] = config.ca_file
    if config.tls_server_name:
        settings["server_hostname"] = config.tls_server_name
    cert = cert_data or config.client_cert_data
    key = key_data if cert_data else config.client_key_data
    cert_file = private_file(cert) if cert else config.client_cert_file
    key_file = private_file(key) if key else config.client_key_file
    if cert_file:
        settings["cert_file"] = cert_file
        if key_file:
            settings["key_file"] = key_file
    return settings


def tls_context(settings: dict[str, Any]) -> ssl.SSLContext:
    """An SSLContext for ``tls_settings``: the given CA (else the system's), the client certificate.

    Raises:
        OSError: a CA or certificate file cannot be read (``ssl.SSLError`` when it is not PEM).
    """
    if settings["verify"]:
        context = ssl.create_default_context(
            cafile=settings.get("ca_file"), cadata=settings.get("ca_data")
        )
    else:  # insecure-skip-tls-verify, asked for explicitly
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings.get("cert_file"):
        context.load_cert_chain(settings["cert_file"], settings.get("key_file"))
    return context

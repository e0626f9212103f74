"""Credentials that change while the client runs: rotated token files and exec plugins.

A ServiceAccount token file is rotated by the kubelet and an exec plugin hands
out short-lived tokens or certificates, so the client asks a source for the
current credential on every request instead of holding one. Sources cache, so
that is cheap; ``invalidate`` after a 401 forces a fresh one. Tokens and keys
never appear in a repr or in an error message.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from runner.kube.config import ClientConfig, ConfigError, ExecPlugin

__all__ = [
    "Credential",
    "CredentialSource",
    "ExecSource",
    "StaticSource",
    "TokenFileSource",
    "credential_source",
]

#: How often a token file is re-read (the kubelet rotates well before expiry).
TOKEN_FILE_REFRESH_SECONDS = 60.0
#: Re-run an exec plugin this long before its credential expires.
EXPIRY_SKEW_SECONDS = 10.0
#: An exec plugin that has not answered by then is treated as failed.
EXEC_TIMEOUT_SECONDS = 120.0
_STDERR_TAIL = 300


@dataclass(frozen=True, repr=False)
class Credential:
    """What goes on the wire: a bearer token and/or a client certificate (PEM)."""

    token: str | None = None
    cert_data: str | None = None
    key_data: str | None = None
    #: wall-clock expiry (``time.time()``), when the issuer said
    expires_at: float | None = None

    def __repr__(self) -> str:
        return (
            f"Credential(token={'<hidden>' if self.token else None}, "
            f"cert={'<pem>' if self.cert_data else None}, expires_at={self.expires_at})"
        )


class CredentialSource(Protocol):
    """Hands out the current credential; thread-safe."""

    def get(self) -> Credential: ...

    def invalidate(self) -> None:
        """The server said 401: fetch anew on the next ``get``."""


class StaticSource:
    """A credential fixed in the config (or none at all)."""

    def __init__(self, credential: Credential) -> None:
        self._credential = credential

    def get(self) -> Credential:
        return self._credential

    def invalidate(self) -> None:
        return None


class TokenFileSource:
    """A token file re-read every ``refresh`` seconds, keeping the last good value."""

    def __init__(
        self, path: str, fallback: str | None = None, refresh: float = TOKEN_FILE_REFRESH_SECONDS
    ) -> None:
        self._path = path
        self._fallback = fallback
        self._refresh = refresh
        self._lock = threading.Lock()
        self._credential: Credential | None = None
        self._read_at = -math.inf

    def get(self) -> Credential:
        now = time.monotonic()
        with self._lock:
            if self._credential is not None and now - self._read_at < self._refresh:
                return self._credential
            self._read_at = now
            try:
                with open(self._path, encoding="utf-8") as f:
                    token = f.read().strip()
            except OSError as e:
                token = ""
                if self._credential is None and not self._fallback:
                    raise ConfigError(
                        f"cannot read token file {self._path}: {e.strerror}"
                    ) from None
            if token:
                self._credential = Credential(token=token)
            elif self._credential is None:
                if not self._fallback:
                    raise ConfigError(f"token file {self._path} is empty")
                self._credential = Credential(token=self._fallback)
            return self._credential

    def invalidate(self) -> None:
        with self._lock:
            self._read_at = -math.inf


class ExecSource:
    """A kubeconfig exec credential plugin (ExecCredential v1 or v1beta1), re-run on expiry."""

    def __init__(self, plugin: ExecPlugin, config: ClientConfig) -> None:
        self._plugin = plugin
        self._config = config
        self._lock = threading.Lock()
        self._credential: Credential | None = None

    def get(self) -> Credential:
        with self._lock:
            cred = self._credential
            if cred is None or (
                cred.expires_at is not None and time.time() >= cred.expires_at - EXPIRY_SKEW_SECONDS
            ):
                cred = self._credential = self._run()
            return cred

    def invalidate(self) -> None:
        with self._lock:
            self._credential = None

    def _exec_info(self) -> str:
        spec: dict[str, Any] = {"interactive": False}
        if self._plugin.provide_cluster_info:
            cluster: dict[str, Any] = {"server": self._config.server}
            if self._config.ca_data:
                import base64

                cluster["certificate-authority-data"] = base64.b64encode(
                    self._config.ca_data.encode()
                ).decode()
            if self._config.insecure_skip_tls_verify:
                cluster["insecure-skip-tls-verify"] = True
            if self._config.tls_server_name:
                cluster["tls-server-name"] = self._config.tls_server_name
            if self._config.proxy and self._config.proxy.kubeconfig_url:
                cluster["proxy-url"] = self._config.proxy.kubeconfig_url
            spec["cluster"] = cluster
        return json.dumps(
            {"apiVersion": self._plugin.api_version, "kind": "ExecCredential", "spec": spec}
        )

    def _fail(self, why: str) -> ConfigError:
        hint = f"\n{self._plugin.install_hint}" if self._plugin.install_hint else ""
        return ConfigError(f"exec credential plugin {self._plugin.command!r} {why}{hint}")

    def _run(self) -> Credential:
        import subprocess  # only kubeconfigs with exec plugins pay for it

        if self._plugin.interactive_mode == "Always":
            raise self._fail("needs a terminal (interactiveMode: Always)")
        env = dict(os.environ)
        env.update(self._plugin.env)
        env["KUBERNETES_EXEC_INFO"] = self._exec_info()
        try:
            proc = subprocess.run(
                [self._plugin.command, *self._plugin.args],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=EXEC_TIMEOUT_SECONDS,
                check=False,
            )
        except FileNotFoundError:
            raise self._fail("was not found") from None
        except PermissionError:
            raise self._fail("is not executable") from None
        except subprocess.TimeoutExpired:
            raise self._fail(f"did not answer within {EXEC_TIMEOUT_SECONDS:.0f}s") from None
        if proc.returncode != 0:
            tail = proc.stderr.decode("utf-8", "replace").strip()[-_STDERR_TAIL:]
            raise self._fail(f"exited with status {proc.returncode}: {tail}")
        return self._parse(proc.stdout)

    def _parse(self, stdout: bytes) -> Credential:
        try:
            doc = json.loads(stdout)
        except ValueError:
            raise self._fail("did not print an ExecCredential as JSON") from None
        if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential":
            raise self._fail("did not print an ExecCredential")
        if doc.get("apiVersion") != self._plugin.api_version:
            raise self._fail(
                f"answered with apiVersion {doc.get('apiVersion')!r}, "
                f"expected {self._plugin.api_version!r}"
            )
        status = doc.get("status")
        if not isinstance(status, dict):
            raise self._fail("printed an ExecCredential without status")
        token = status.get("token") or None
        cert = status.get("clientCertificateData") or None
        key = status.get("clientKeyData") or None
        if bool(cert) != bool(key):
            raise self._fail("must return both clientCertificateData and clientKeyData, or neither")
        if not token and not cert:
            raise self._fail("returned neither a token nor a client certificate")
        return Credential(
            token=str(token) if token else None,
            cert_data=str(cert) if cert else None,
            key_data=str(key) if key else None,
            expires_at=self._expiry(status.get("expirationTimestamp")),
        )

    def _expiry(self, value: Any) -> float | None:
        if not value:
            return None
        import datetime

        try:
            stamp = datetime.datetime.fromisoformat(str(value))
        except ValueError:
            raise self._fail(f"returned a bad expirationTimestamp {value!r}") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=datetime.UTC)
        return stamp.timestamp()


def credential_source(config: ClientConfig) -> CredentialSource:
    """The source for a config, by precedence: exec plugin, token file, static token."""
    if config.exec_plugin is not None:
        return ExecSource(config.exec_plugin, config)
    if config.token_file:
        return TokenFileSource(config.token_file, fallback=config.token)
    return StaticSource(Credential(token=config.token))

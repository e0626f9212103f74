"""TLS options for actions that talk to servers outside the cluster (webhooks, SMTP).

By default the system trust store verifies the server. ``caSecretRef`` trusts
exactly the PEM bundle in a Secret instead (a private CA); ``insecureSkipVerify``
turns verification off and is meant for tests. The two cannot be combined.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.actions import fields
from runner.actions.base import ActionContext, PermanentActionError
from runner.actions.values import SecretKeyRef, parse_secret_key_ref
from runner.spec.errors import SpecError

DEFAULT_CA_KEY = "ca.crt"


@dataclass(frozen=True)
class TlsConfig:
    """How to verify a server's certificate."""

    insecure_skip_verify: bool = False
    ca: SecretKeyRef | None = None

    def ca_pem(self, ctx: ActionContext) -> str | None:
        """The CA bundle from its Secret (None: use the system trust store)."""
        if self.ca is None:
            return None
        pem = ctx.read_secret(self.ca.name, self.ca.key)
        if "-----BEGIN CERTIFICATE-----" not in pem:
            raise PermanentActionError(f"{self.ca} does not hold a PEM certificate")
        return pem

    def ssl_context(self, ctx: ActionContext) -> ssl.SSLContext:
        """An SSL context for a client connection."""
        if self.insecure_skip_verify:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        pem = self.ca_pem(ctx)
        try:
            return ssl.create_default_context(cadata=pem) if pem else ssl.create_default_context()
        except ssl.SSLError:
            raise PermanentActionError(f"{self.ca} does not hold a usable PEM CA bundle") from None

    def pool_kwargs(self, ctx: ActionContext) -> dict[str, Any]:
        """urllib3 pool settings (hashable, so equal settings share one pool)."""
        if self.insecure_skip_verify:
            return {"cert_reqs": "CERT_NONE", "assert_hostname": False}
        pem = self.ca_pem(ctx)
        return {"cert_reqs": "CERT_REQUIRED", "ca_cert_data": pem} if pem else {}


def parse_tls(raw: Any, field: str) -> TlsConfig:
    """Parse ``tls: {insecureSkipVerify, caSecretRef: {name, key}}`` (absent: defaults)."""
    if raw is None:
        return TlsConfig()
    spec: Mapping[str, Any] = fields.mapping(raw, field)
    fields.check_keys(spec, field, ("insecureSkipVerify", "caSecretRef"))
    insecure = fields.boolean(spec, "insecureSkipVerify", field)
    ca = None
    if spec.get("caSecretRef") is not None:
        ca = parse_secret_key_ref(
            spec["caSecretRef"], f"{field}.caSecretRef", default_key=DEFAULT_CA_KEY
        )
    if insecure and ca is not None:
        raise SpecError(
            field,
            "insecureSkipVerify and caSecretRef cannot be combined",
            "keep caSecretRef to verify against your CA",
        )
    return TlsConfig(insecure, ca)

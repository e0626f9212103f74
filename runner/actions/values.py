"""Value sources: a literal, or one key of a Secret in the Trigger's namespace.

Webhook URLs, tokens and SMTP passwords are value sources so they can live in
Secrets. A value read from a Secret is only ever handed to the code that sends
it; it is never logged, put into a summary, an error, status or an Event. The
runner may read only the Secrets its spec names (``get`` with resourceNames).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from runner.actions import fields
from runner.actions.base import ActionContext, ParseContext, PermanentActionError
from runner.permissions import Permission
from runner.spec.errors import SpecError, type_name

_FIX = 'use {value: "..."} or {secretKeyRef: {name: my-secret, key: my-key}}'


@dataclass(frozen=True)
class SecretKeyRef:
    """One key of one Secret in the Trigger's namespace."""

    name: str
    key: str

    def __str__(self) -> str:
        return f"secret {self.name}/{self.key}"


@dataclass(frozen=True)
class ValueSource:
    """Either ``value`` (a literal) or ``secret`` (read at run time); never both."""

    value: str | None = None
    secret: SecretKeyRef | None = None

    def resolve(self, ctx: ActionContext) -> str:
        """The value; a Secret that cannot be read is a permanent failure naming only the ref."""
        if self.secret is None:
            return self.value or ""
        try:
            return ctx.read_secret(self.secret.name, self.secret.key)
        except PermanentActionError:
            raise
        except (KeyError, LookupError) as e:
            raise PermanentActionError(f"{self.secret} not found") from e

    def describe(self) -> str:
        """A secret-free description: the literal, or ``secret name/key``."""
        return str(self.secret) if self.secret else (self.value or "")


def parse_value_source(raw: Any, field: str, *, allow_empty: bool = False) -> ValueSource:
    """Parse ``{value: ...}``, ``{secretKeyRef: {name, key}}`` or a bare string (a literal)."""
    if isinstance(raw, str):
        return ValueSource(value=_literal(raw, field, allow_empty))
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, ("value", "secretKeyRef"))
    if ("value" in spec) == ("secretKeyRef" in spec):
        raise SpecError(field, "needs exactly one of value, secretKeyRef", _FIX)
    if "value" in spec:
        return ValueSource(value=_literal(spec["value"], f"{field}.value", allow_empty))
    return ValueSource(secret=parse_secret_key_ref(spec["secretKeyRef"], f"{field}.secretKeyRef"))


def parse_secret_key_ref(raw: Any, field: str, *, default_key: str | None = None) -> SecretKeyRef:
    """Parse ``{name, key}`` naming one key of a Secret in the Trigger's namespace."""
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, ("name", "key"))
    return SecretKeyRef(
        name=fields.string(spec, "name", field),
        key=fields.string(spec, "key", field, default=default_key),
    )


def secret_permissions(
    refs: Iterable[SecretKeyRef | ValueSource | None], ctx: ParseContext
) -> list[Permission]:
    """``get`` on exactly the named Secrets in the Trigger's namespace (none: no permission)."""
    names: set[str] = set()
    for ref in refs:
        secret = ref.secret if isinstance(ref, ValueSource) else ref
        if secret is not None:
            names.add(secret.name)
    if not names:
        return []
    return [
        Permission(
            api_version="v1",
            kind="Secret",
            verbs=frozenset({"get"}),
            namespace=ctx.trigger_namespace,
            names=tuple(sorted(names)),
        )
    ]


def _literal(raw: Any, field: str, allow_empty: bool) -> str:
    if not isinstance(raw, str):
        raise SpecError(field, f"must be a string, got {type_name(raw)}", _FIX)
    if not raw and not allow_empty:
        raise SpecError(field, "must not be empty", _FIX)
    return raw

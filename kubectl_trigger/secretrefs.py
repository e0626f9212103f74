"""The Secret keys a trigger's actions read, and what the user's own rights say about them.

The runner reads a secret value (a webhook URL, a token, an SMTP password, a CA
bundle) only when an action runs, so a Secret that does not exist shows up as a
failed action long after ``create``. The plugin looks earlier, with the rights
of the user running it: ``create`` and ``apply`` warn about every referenced
Secret or key that is missing or that the user may not read, and ``test`` runs
the actions with the values it may read. The references are found in the
parsed spec (every ``SecretKeyRef`` in an action's config), so a new action
kind with a secret field needs nothing here.

Values are only handed back to the caller; no message here contains one.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubectl_trigger.prepare import Prepared
    from runner.kube.client import KubeClient


@dataclass(frozen=True)
class SecretUse:
    """One Secret key one action reads, and where the spec says so."""

    field: str  # "spec.actions[0] (alert)"
    namespace: str  # where the runner reads it: the trigger's namespace, or the controlled one
    name: str
    key: str

    def __str__(self) -> str:
        return f"Secret {self.namespace}/{self.name} key {self.key!r}"


@dataclass(frozen=True)
class Lookup:
    """What reading one key with the user's rights gave: the value, or why there is none."""

    value: str | None = None
    problem: str = ""  # "" when read
    missing: bool = False  # the Secret or key does not exist: the action would fail too

    @property
    def read(self) -> bool:
        """Whether the value was read."""
        return self.value is not None


def _refs(value: Any) -> Iterator[Any]:
    """Every ``SecretKeyRef`` inside a parsed action config (dataclasses, tuples, dicts)."""
    from runner.actions.values import SecretKeyRef

    if isinstance(value, SecretKeyRef):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _refs(getattr(value, f.name))
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _refs(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _refs(item)


def uses(trig: Prepared) -> list[SecretUse]:
    """The Secret keys ``trig``'s actions read, in spec order, each once per action."""
    found: list[SecretUse] = []
    namespace = str(trig.config.namespace)
    for entry in trig.config.actions:
        where = f"{entry.field} ({entry.name})" if entry.name else str(entry.field)
        for ref in _refs(entry.config):
            use = SecretUse(where, namespace, ref.name, ref.key)
            if use not in found:
                found.append(use)
    return found


def lookup(client: KubeClient, wanted: list[SecretUse]) -> dict[SecretUse, Lookup]:
    """Read each Secret once with the user's rights; every use gets its key's ``Lookup``."""
    secrets: dict[tuple[str, str], Mapping[str, Any] | Lookup] = {}
    found: dict[SecretUse, Lookup] = {}
    unreachable: Lookup | None = None  # once the server cannot be reached, do not wait again
    for use in wanted:
        where = (use.namespace, use.name)
        if where not in secrets:
            secrets[where] = unreachable or _get(client, use.namespace, use.name)
            if secrets[where] == UNREACHABLE:
                unreachable = UNREACHABLE
        secret = secrets[where]
        found[use] = secret if isinstance(secret, Lookup) else _key(secret, use)
    return found


def _get(client: KubeClient, namespace: str, name: str) -> Mapping[str, Any] | Lookup:
    from kubectl_trigger.session import resource_info
    from runner.kube import errors as kube_errors

    info = resource_info("v1", "Secret", "secrets", True)
    try:
        return dict(client.get(info, name, namespace).get("data") or {})
    except kube_errors.NotFound:
        return Lookup(problem="the Secret does not exist", missing=True)
    except kube_errors.ConnectionFailed:
        return UNREACHABLE
    except kube_errors.Forbidden:
        return Lookup(problem="you may not read it (forbidden), so it was not checked")
    except kube_errors.ApiError as e:
        return Lookup(
            problem=f"it could not be read ({e.reason or e.status}), so it was not checked"
        )


#: The lookup of every Secret once the API server could not be reached.
UNREACHABLE = Lookup(problem="the API server could not be reached, so it was not checked")


def _key(data: Mapping[str, Any], use: SecretUse) -> Lookup:
    if use.key not in data:
        return Lookup(problem="the Secret has no such key", missing=True)
    try:
        return Lookup(value=base64.b64decode(str(data[use.key])).decode())
    except (ValueError, UnicodeDecodeError):
        return Lookup(problem="the value is not UTF-8 text", missing=True)


def warnings(client: KubeClient, trig: Prepared) -> list[str]:
    """One line per referenced key that is missing or that the user may not read."""
    wanted = uses(trig)
    if not wanted:
        return []
    out = []
    for use, found in lookup(client, wanted).items():
        if found.read:
            continue
        consequence = "; the action will fail until it exists" if found.missing else ""
        out.append(f"{trig.key}: {use.field} reads {use}: {found.problem}{consequence}")
    return out

"""Which pod templates consume a ConfigMap or Secret, for ``rolloutRestart: {consumers: true}``.

A pod sees a changed ConfigMap or Secret only after a restart when it reads it
through environment variables (and subPath mounts never update), so restarting
the workloads that reference it is the fix. A reference is a volume
(``configMap``, ``secret``, or a ``projected`` source), an ``envFrom`` entry or
an ``env[].valueFrom`` key reference, in any container or init container.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

#: referenced kind -> (volume field, its name field), projected source field, envFrom field,
#: env valueFrom field
_VOLUME = {"ConfigMap": ("configMap", "name"), "Secret": ("secret", "secretName")}
_PROJECTED = {"ConfigMap": "configMap", "Secret": "secret"}
_ENV_FROM = {"ConfigMap": "configMapRef", "Secret": "secretRef"}
_VALUE_FROM = {"ConfigMap": "configMapKeyRef", "Secret": "secretKeyRef"}

#: the kinds whose consumers can be found
KINDS = tuple(_VOLUME)


def references(pod_spec: Mapping[str, Any], kind: str, name: str) -> bool:
    """Whether ``pod_spec`` references the ``kind`` (ConfigMap or Secret) called ``name``."""
    return name in set(referenced_names(pod_spec, kind))


def referenced_names(pod_spec: Mapping[str, Any], kind: str) -> Iterator[str]:
    """Every name of a ``kind`` object the pod spec refers to (may repeat)."""
    volume_field, name_field = _VOLUME[kind]
    for volume in _items(pod_spec, "volumes"):
        yield from _name(volume.get(volume_field), name_field)
        projected = volume.get("projected")
        if isinstance(projected, Mapping):
            for source in _items(projected, "sources"):
                yield from _name(source.get(_PROJECTED[kind]), "name")
    for group in ("initContainers", "containers"):
        for container in _items(pod_spec, group):
            for env_from in _items(container, "envFrom"):
                yield from _name(env_from.get(_ENV_FROM[kind]), "name")
            for env in _items(container, "env"):
                value_from = env.get("valueFrom")
                if isinstance(value_from, Mapping):
                    yield from _name(value_from.get(_VALUE_FROM[kind]), "name")


def _items(obj: Mapping[str, Any], key: str) -> Iterator[Mapping[str, Any]]:
    value = obj.get(key)
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, Mapping))


def _name(ref: Any, key: str) -> Iterator[str]:
    if isinstance(ref, Mapping) and isinstance(ref.get(key), str):
        yield ref[key]

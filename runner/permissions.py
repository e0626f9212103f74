"""What a trigger needs to be allowed to do, stated by kind so no discovery is needed.

Sources and actions each declare the ``Permission``s their config needs; the
plugin turns them into a least-privilege Role or ClusterRole (resolving kind to
resource through discovery or its table of built-in kinds).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Permission:
    """Verbs on one kind, in one namespace (``None``: every namespace), maybe by name."""

    api_version: str  # "v1", "apps/v1", "core.oam.dev/v1beta1"
    kind: str  # "ConfigMap"; a subresource is written "Deployment/status"
    verbs: frozenset[str]
    namespace: str | None
    names: tuple[str, ...] = ()  # empty: any name

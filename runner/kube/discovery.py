"""Kind -> REST resource, from the API server's discovery documents, cached per client.

Specs name a kind (``apps/v1`` ``Deployment``) but URLs need the plural
resource name and whether it is namespaced; CRDs make a fixed table impossible.
One group-version is fetched when first needed; a miss is fetched once more,
because a CRD may have been installed since the cache was filled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.kube.errors import NotFound, ResourceNotFound

__all__ = ["DiscoveryCache", "ResourceInfo", "group_version_path", "parse_resource_list"]


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """One REST resource: what URLs and RBAC rules for a kind need."""

    group: str  # "" for the core group
    version: str
    api_version: str  # "v1", "apps/v1"
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str]
    subresources: frozenset[str]

    @property
    def prefix(self) -> str:
        """``/api/v1`` or ``/apis/<group>/<version>``."""
        return group_version_path(self.api_version)


def group_version_path(api_version: str) -> str:
    """The discovery (and URL prefix) path of an apiVersion."""
    group, _, version = api_version.rpartition("/")
    if not version or api_version.count("/") > 1:
        raise ValueError(f"invalid apiVersion {api_version!r}")
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def parse_resource_list(api_version: str, doc: Mapping[str, Any]) -> list[ResourceInfo]:
    """Every top-level resource of an ``APIResourceList``, with its subresources attached.

    Subresource entries (``deployments/scale``) carry their own kind (``Scale``),
    so they are attached to their parent and never matched by kind.
    """
    group, _, version = api_version.rpartition("/")
    entries = [e for e in doc.get("resources") or [] if isinstance(e, Mapping) and e.get("name")]
    subresources: dict[str, set[str]] = {}
    for entry in entries:
        parent, slash, sub = str(entry["name"]).partition("/")
        if slash:
            subresources.setdefault(parent, set()).add(sub)
    return [
        ResourceInfo(
            group=group,
            version=version,
            api_version=api_version,
            kind=str(entry.get("kind") or ""),
            plural=str(entry["name"]),
            namespaced=bool(entry.get("namespaced", False)),
            verbs=frozenset(str(v) for v in entry.get("verbs") or []),
            subresources=frozenset(subresources.get(str(entry["name"]), ())),
        )
        for entry in entries
        if "/" not in str(entry["name"])
    ]


@dataclass(frozen=True)
class _GroupVersion:
    by_kind: dict[str, ResourceInfo]
    by_plural: dict[str, ResourceInfo]


class DiscoveryCache:
    """Thread-safe cache of discovery documents, one per group-version."""

    def __init__(self, fetch: Callable[[str], Mapping[str, Any]]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._cache: dict[str, _GroupVersion] = {}

    def by_kind(self, api_version: str, kind: str) -> ResourceInfo:
        """The resource serving ``kind``; ``ResourceNotFound`` says what exists instead."""
        return self._find(api_version, kind, "kind", lambda gv: gv.by_kind)

    def by_plural(self, api_version: str, plural: str) -> ResourceInfo:
        """The resource named ``plural`` (``configmaps``)."""
        return self._find(api_version, plural, "resource", lambda gv: gv.by_plural)

    def invalidate(self) -> None:
        """Forget everything (after CRDs were installed or removed, say)."""
        with self._lock:
            self._cache.clear()

    def _find(
        self,
        api_version: str,
        name: str,
        what: str,
        table: Callable[[_GroupVersion], dict[str, ResourceInfo]],
    ) -> ResourceInfo:
        with self._lock:
            cached = self._cache.get(api_version)
        if cached is not None and name in table(cached):
            return table(cached)[name]
        fresh = self._load(api_version, name, what)
        info = table(fresh).get(name)
        if info is None:
            raise ResourceNotFound(
                f'no {what} "{name}" in apiVersion "{api_version}"', self._hint(fresh, name, what)
            )
        return info

    def _load(self, api_version: str, name: str, what: str) -> _GroupVersion:
        try:
            path = group_version_path(api_version)
        except ValueError as e:
            raise ResourceNotFound(
                f'no {what} "{name}" in apiVersion "{api_version}"',
                f"{e}; write it as <group>/<version> or v1",
            ) from None
        try:
            doc = self._fetch(path)
        except NotFound:
            raise ResourceNotFound(
                f'no {what} "{name}" in apiVersion "{api_version}"',
                f'the server does not serve apiVersion "{api_version}"; '
                "is its CRD installed? (kubectl api-versions lists what is served)",
            ) from None
        infos = parse_resource_list(api_version, doc)
        gv = _GroupVersion({i.kind: i for i in infos}, {i.plural: i for i in infos})
        with self._lock:
            self._cache[api_version] = gv
        return gv

    @staticmethod
    def _hint(gv: _GroupVersion, name: str, what: str) -> str:
        names = gv.by_kind if what == "kind" else gv.by_plural
        close = [n for n in names if n.lower() == name.lower()]
        if close:
            return f'did you mean "{close[0]}"?'
        listed = ", ".join(sorted(names)[:20]) or "none"
        return f"{what}s served there: {listed}"

"""Finding the objects derived from a Trigger or ClusterTrigger in the cluster, by their labels.

``apply`` uses this to prune objects a changed spec no longer needs (a Role in
a namespace no longer watched, say), ``delete`` to remove everything, and
``describe`` to show the runner. Namespaced kinds are searched in every
namespace (Roles may live beside watched namespaces); when the user may not
list cluster-wide, the search falls back to the namespaces given.

Labels alone prove nothing: a namespace editor can label her own Deployment,
ServiceAccount or Pod as another trigger's. Objects of those kinds count only in
the runner's namespace (the Trigger's own, or the controlled namespace) or when
the trigger owns them, so a look-alike elsewhere is neither shown by ``describe``
nor deleted by ``delete`` nor waited for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kubectl_trigger import naming, session
from kubectl_trigger.errors import ClusterUnavailable, translated

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

Obj = dict[str, Any]

#: kinds the built-in edit role may create in any namespace it is bound in
EDITABLE_KINDS = frozenset({"Deployment", "ServiceAccount", "Pod"})


def ref(obj: Obj) -> tuple[str, str, str]:
    """(kind, namespace, name) identifying an object."""
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))


def describe_ref(obj: Obj) -> str:
    """``Kind ns/name`` or ``Kind name`` for messages."""
    kind, ns, name = ref(obj)
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def find(
    client: KubeClient,
    ref: naming.Ref,
    *,
    kinds: Iterable[str] = session.DERIVED_KINDS,
    namespaces: Iterable[str] = (),
    home: str | None = None,
    uid: str | None = None,
) -> list[Obj]:
    """Every object of ``kinds`` labelled as derived from the trigger ``ref`` that is its.

    ``home``: the runner's namespace (default: the Trigger's, or the controlled namespace
    read from the cluster); ``uid``: the trigger's, when known (ownerReferences must match it).
    """
    home = home or home_of(client, ref)
    return [o for o in _labelled(client, ref, kinds, namespaces) if _ours(o, ref, home, uid)]


def home_of(client: KubeClient, ref: naming.Ref) -> str:
    """Where the runner of ``ref`` lives: the Trigger's namespace or the controlled one."""
    if not ref.cluster_scoped:
        return ref.namespace
    from kubectl_trigger import system_namespace
    from kubectl_trigger.errors import PluginError

    try:
        return system_namespace.read(client)
    except PluginError:
        return naming.DEFAULT_SYSTEM_NAMESPACE


def _ours(obj: Obj, trigger: naming.Ref, home: str, uid: str | None) -> bool:
    """Labelled ``obj`` is the trigger's: not an editable kind, in ``home``, or owned by it."""
    kind, ns, _ = ref(obj)
    if kind not in EDITABLE_KINDS or ns == home:
        return True
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(
        o.get("kind") == trigger.kind
        and o.get("name") == trigger.name
        and (uid is None or o.get("uid") == uid)
        for o in owners
    )


def _labelled(
    client: KubeClient, ref: naming.Ref, kinds: Iterable[str], namespaces: Iterable[str]
) -> list[Obj]:
    selector = ref.selector()
    found: list[Obj] = []
    for kind in kinds:
        info = session.known(kind)
        scopes: list[str | None] = [None]
        if not info.namespaced and not ref.cluster_scoped:
            # a Trigger has none (only objects made by older versions); a namespace
            # admin may not list them, and need not
            with contextlib.suppress(ClusterUnavailable):
                found += _list(client, info, None, selector, kind)
            continue
        if info.namespaced:
            try:
                found += _list(client, info, None, selector, kind)
                continue
            except ClusterUnavailable:  # may not list cluster-wide: look where we know
                scopes = list(dict.fromkeys([ns for ns in (ref.namespace, *namespaces) if ns]))
        for ns in scopes:
            found += _list(client, info, ns, selector, kind)
    return found


def _list(client: KubeClient, info: Any, ns: str | None, selector: str, kind: str) -> list[Obj]:
    with translated(f"list {info.plural}"):
        objs = list(session.items(client.list_pages(info, ns, label_selector=selector)))
    for obj in objs:  # list items carry no kind
        obj.setdefault("kind", kind)
        obj.setdefault("apiVersion", info.api_version)
    return objs

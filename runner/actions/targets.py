"""Which objects a Kubernetes action acts on: parsing ``target``, resolving it, and its RBAC.

``patch`` and ``delete`` name their objects the same way: omit ``target`` to
act on the event's own object (resource sources only), or give
``{apiVersion, kind, name | selector, namespace}``. The namespace defaults to
the event object's namespace, else the Trigger's; for permissions that means a
source spanning every namespace needs the verbs in every namespace, which is
why an explicit ``namespace`` narrows the Role.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from runner.actions import fields
from runner.actions.apierrors import action_error
from runner.actions.base import ParseContext, PermanentActionError
from runner.event import Event
from runner.kube.errors import ApiError
from runner.permissions import Permission
from runner.spec.errors import SpecError
from runner.spec.selectors import LabelSelector, parse_label_selector
from runner.spec.template import TextTemplate, compile_text

if TYPE_CHECKING:
    from runner.kube.client import KubeClient
    from runner.kube.discovery import ResourceInfo

_KEYS = ("apiVersion", "kind", "name", "selector", "namespace")
_API_VERSION = re.compile(r"(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+[a-z0-9]*")
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@dataclass(frozen=True)
class Target:
    """Objects of one kind: by ``name`` (a template), by ``selector``, or (neither) the event's.

    ``namespace`` None follows the event object's namespace, else the Trigger's.
    """

    api_version: str
    kind: str
    name: str | None = None
    selector: LabelSelector | None = None
    namespace: str | None = None
    name_template: TextTemplate | None = field(default=None, compare=False, repr=False)

    @property
    def is_event_object(self) -> bool:
        """True when the target is the event's own object."""
        return self.name is None and self.selector is None

    @property
    def fixed_name(self) -> str | None:
        """The name when it has no placeholders (so RBAC can be limited to it)."""
        if self.name_template is not None and self.name_template.is_constant:
            return self.name
        return None


class ObjectRef(NamedTuple):
    """One resolved object: its REST resource, namespace (None: cluster-scoped) and name."""

    info: ResourceInfo
    namespace: str | None
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.info.kind} {where}"


def parse_target(raw: Any, field: str, ctx: ParseContext) -> Target:
    """Parse ``target`` at ``field``; ``raw`` None means the event's own object."""
    if raw is None:
        if ctx.source_api_version is None or ctx.source_kind is None:
            raise SpecError(
                field,
                "is required with a cron source (a cron event has no object)",
                "add target: {apiVersion: v1, kind: ConfigMap, name: my-config}",
            )
        return Target(ctx.source_api_version, ctx.source_kind)
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, _KEYS)
    api_version = fields.string(spec, "apiVersion", field)
    if not _API_VERSION.fullmatch(api_version):
        raise SpecError(f"{field}.apiVersion", f"{api_version!r} is not an apiVersion", "e.g. v1")
    kind = fields.string(spec, "kind", field)
    fields.exactly_one(spec, field, ("name", "selector"))
    return Target(
        api_version=api_version,
        kind=kind,
        selector=parse_selector(spec, field),
        namespace=parse_namespace(spec, field),
        **name_fields(spec, field),
    )


def name_fields(spec: Mapping[str, Any], field: str) -> dict[str, Any]:
    """``name`` and its compiled template, as keyword arguments for ``Target``."""
    name = fields.optional_string(spec, "name", field)
    if name is None:
        return {}
    return {"name": name, "name_template": compile_text(name, f"{field}.name")}


def parse_selector(spec: Mapping[str, Any], field: str) -> LabelSelector | None:
    """The optional ``selector`` at ``field``."""
    if spec.get("selector") is None:
        return None
    return parse_label_selector(spec["selector"], f"{field}.selector")


def parse_namespace(spec: Mapping[str, Any], field: str) -> str | None:
    """The optional literal ``namespace`` at ``field``."""
    namespace = fields.optional_string(spec, "namespace", field)
    if namespace is not None and not _NAMESPACE.fullmatch(namespace):
        raise SpecError(f"{field}.namespace", f"{namespace!r} is not a namespace name", "e.g. shop")
    return namespace


# -- permissions ----------------------------------------------------------------------------


def permission_namespaces(namespace: str | None, ctx: ParseContext) -> list[str | None]:
    """Where a target may be: its own namespace, else wherever event objects come from."""
    if namespace is not None:
        return [namespace]
    if ctx.source_api_version is None:  # cron: no event object, the Trigger's namespace
        return [ctx.trigger_namespace]
    if ctx.source_namespaces is None:
        return [None]
    return list(dict.fromkeys(ctx.source_namespaces))


def target_permissions(
    target: Target, ctx: ParseContext, verbs: Collection[str], *, list_verb: bool = True
) -> list[Permission]:
    """``verbs`` on the target's kind (plus ``list`` when it selects by label)."""
    wanted = set(verbs)
    if target.selector is not None and list_verb:
        wanted.add("list")
    names = (target.fixed_name,) if target.fixed_name and "list" not in wanted else ()
    return [
        Permission(target.api_version, target.kind, frozenset(wanted), ns, names)
        for ns in permission_namespaces(target.namespace, ctx)
    ]


# -- resolving ------------------------------------------------------------------------------


def default_namespace(namespace: str | None, event: Event, trigger_namespace: str) -> str:
    """An explicit namespace, else the event object's, else the Trigger's."""
    if namespace:
        return namespace
    meta = (event.object or {}).get("metadata") or {}
    return str(meta.get("namespace") or trigger_namespace)


def resource_info(client: KubeClient, api_version: str, kind: str) -> ResourceInfo:
    """Discovery for one kind; an unknown kind is a permanent failure."""
    try:
        return client.resource(api_version, kind)
    except ApiError as exc:
        raise action_error(exc, f"looking up {kind} ({api_version})") from None


def resolve(
    target: Target,
    event: Event,
    client: KubeClient,
    data: Mapping[str, Any] | None = None,
    trigger_namespace: str = "",
) -> list[ObjectRef]:
    """The objects ``target`` means for ``event`` (a selector may match none).

    ``data`` is the template data for a templated name (default: the event's,
    without trigger fields).
    """
    info = resource_info(client, target.api_version, target.kind)
    if target.is_event_object:
        meta = (event.object or {}).get("metadata") or {}
        if not meta.get("name"):
            raise PermanentActionError(f"the {event.type} event has no object to act on")
        namespace = str(meta.get("namespace") or "") or None
        return [ObjectRef(info, namespace if info.namespaced else None, str(meta["name"]))]
    namespace = (
        default_namespace(target.namespace, event, trigger_namespace) if info.namespaced else None
    )
    if target.selector is not None:
        return list(select(client, info, namespace, target.selector.text))
    assert target.name_template is not None
    name = target.name_template.render(data or event.template_data("", trigger_namespace))
    if not name:
        raise PermanentActionError(f"target name {target.name!r} rendered empty for this event")
    return [ObjectRef(info, namespace, name)]


def select(
    client: KubeClient, info: ResourceInfo, namespace: str | None, selector: str | None
) -> Iterator[ObjectRef]:
    """Every object of ``info`` in ``namespace`` matching ``selector``, page by page."""
    for item in list_objects(client, info, namespace, selector):
        meta = item.get("metadata") or {}
        yield ObjectRef(info, str(meta.get("namespace") or "") or None, str(meta.get("name")))


def list_objects(
    client: KubeClient, info: ResourceInfo, namespace: str | None, selector: str | None
) -> Iterator[dict[str, Any]]:
    """Every object of ``info`` in ``namespace`` (optionally by label), page by page."""
    where = f" in {namespace}" if namespace else ""
    try:
        for page in client.list_pages(info, namespace, label_selector=selector):
            yield from page.get("items") or []
    except ApiError as exc:
        raise action_error(exc, f"listing {info.kind}{where}") from None


def summarize(verb: str, kind: str, refs: list[ObjectRef], selector: str | None = None) -> str:
    """``patched ConfigMap shop/a`` / ``patched 2 Deployment: shop/a, shop/b`` / none matched."""
    if not refs:
        why = f" matched selector {selector}" if selector else " matched"
        return f"{verb} nothing: no {kind}{why}"
    if len(refs) == 1:
        return f"{verb} {refs[0]}"
    shown = [f"{r.namespace}/{r.name}" if r.namespace else r.name for r in refs[:5]]
    more = f" and {len(refs) - 5} more" if len(refs) > 5 else ""
    return f"{verb} {len(refs)} {kind}: {', '.join(shown)}{more}"

"""Choosing workloads of one kind by ``name``, ``selector`` or ``consumers: true``.

``rolloutRestart`` and ``bumpApplicationRevision`` pick their objects the same
way; only what "consumes the event's object" means differs, so each passes
its own predicate. Consumers always live in the event object's namespace
(references cannot cross namespaces), so ``namespace`` is refused with them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runner import FIELD_MANAGER
from runner.actions import fields
from runner.actions.apierrors import action_error
from runner.actions.base import ActionContext, ParseContext, PermanentActionError
from runner.actions.targets import (
    ObjectRef,
    Target,
    list_objects,
    name_fields,
    parse_namespace,
    parse_selector,
    permission_namespaces,
    resolve,
    resource_info,
    summarize,
    target_permissions,
)
from runner.event import Event
from runner.kube.errors import ApiError
from runner.permissions import Permission
from runner.spec.errors import SpecError

if TYPE_CHECKING:
    from runner.kube.client import PatchType

#: (a listed object, the event's object) -> whether the first consumes the second
Consumes = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]

SELECTION_KEYS = ("name", "selector", "consumers", "namespace")


@dataclass(frozen=True)
class Selection:
    """Either ``target`` (by name or selector) or ``consumers`` of the event's object."""

    api_version: str
    kind: str
    target: Target | None
    consumers: bool


def parse_selection(
    spec: Mapping[str, Any],
    field: str,
    ctx: ParseContext,
    api_version: str,
    kind: str,
    consumer_sources: tuple[str, ...] | None,
) -> Selection:
    """Parse name/selector/consumers/namespace; ``consumer_sources``: source kinds allowed."""
    chosen = fields.exactly_one(spec, field, ("name", "selector", "consumers"))
    if chosen != "consumers":
        fields.boolean(spec, "consumers", field)
        target = Target(
            api_version,
            kind,
            selector=parse_selector(spec, field),
            namespace=parse_namespace(spec, field),
            **name_fields(spec, field),
        )
        return Selection(api_version, kind, target, consumers=False)
    fields.boolean(spec, "consumers", field)
    if spec.get("namespace") is not None:
        raise SpecError(
            f"{field}.namespace",
            "cannot be combined with consumers (they are in the event object's namespace)",
            "remove namespace",
        )
    if ctx.source_kind is None or ctx.source_api_version is None:
        raise SpecError(
            f"{field}.consumers",
            "needs a resource source (a cron event has no object to be consumed)",
            "use name or selector",
        )
    if consumer_sources is not None and (
        ctx.source_api_version != "v1" or ctx.source_kind not in consumer_sources
    ):
        raise SpecError(
            f"{field}.consumers",
            f"needs a {' or '.join(consumer_sources)} source, not {ctx.source_kind}",
            "watch apiVersion v1 ConfigMap or Secret, or use name or selector",
        )
    return Selection(api_version, kind, None, consumers=True)


def selection_permissions(selection: Selection, ctx: ParseContext) -> list[Permission]:
    """``get``+``patch`` by name; ``get``+``list``+``patch`` by selector or for consumers."""
    if selection.target is not None:
        return target_permissions(selection.target, ctx, ("get", "patch"))
    verbs = frozenset({"get", "list", "patch"})
    return [
        Permission(selection.api_version, selection.kind, verbs, ns)
        for ns in permission_namespaces(None, ctx)
    ]


def select_workloads(
    selection: Selection, event: Event, ctx: ActionContext, consumes: Consumes
) -> list[ObjectRef]:
    """The objects ``selection`` means for ``event``."""
    if selection.target is not None:
        data = event.template_data(ctx.trigger_name, ctx.trigger_namespace)
        return resolve(selection.target, event, ctx.client, data, ctx.trigger_namespace)
    obj = event.object or {}
    meta = obj.get("metadata") or {}
    if not meta.get("name"):
        raise PermanentActionError(f"the {event.type} event has no object to find consumers of")
    info = resource_info(ctx.client, selection.api_version, selection.kind)
    namespace = str(meta.get("namespace") or ctx.trigger_namespace)
    return [
        ObjectRef(info, namespace, str((item.get("metadata") or {}).get("name")))
        for item in list_objects(ctx.client, info, namespace, None)
        if consumes(item, obj)
    ]


def patch_workloads(
    ctx: ActionContext,
    refs: list[ObjectRef],
    body: Mapping[str, Any],
    patch_type: PatchType,
    doing: str,
) -> None:
    """Apply one patch to each chosen workload; the first API error ends the action."""
    for ref in refs:
        try:
            ctx.client.patch(
                ref.info,
                ref.name,
                body,
                ref.namespace,
                patch_type=patch_type,
                field_manager=FIELD_MANAGER,
            )
        except ApiError as exc:
            raise action_error(exc, f"{doing} {ref}") from None


def summary(verb: str, selection: Selection, refs: list[ObjectRef], event: Event) -> str:
    """The run summary; for consumers it says whose consumers were meant."""
    if selection.consumers and not refs:
        meta = (event.object or {}).get("metadata") or {}
        return (
            f"{verb} nothing: no {selection.kind} uses {meta.get('namespace')}/{meta.get('name')}"
        )
    selector = (
        selection.target.selector.text if selection.target and selection.target.selector else None
    )
    return summarize(verb, selection.kind, refs, selector)

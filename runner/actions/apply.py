"""The ``apply`` and ``create`` actions: make an object from a template for each event.

``apply`` server-side applies the rendered object (field manager
``kubectl-trigger``), so repeated events converge on one object; ``create``
POSTs it, and with ``metadata.generateName`` makes a new object (a Job, say)
per event. Both share one template model: ``apiVersion`` and ``kind`` are
literal (so RBAC is known up front), names and values may be templated, and
the namespace defaults to the event object's, else the Trigger's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runner import FIELD_MANAGER
from runner.actions import fields
from runner.actions.apierrors import action_error
from runner.actions.base import ActionContext, ActionKind, ParseContext, PermanentActionError
from runner.actions.structured import parse_structured
from runner.actions.targets import (
    ObjectRef,
    default_namespace,
    parse_namespace,
    permission_namespaces,
    resource_info,
)
from runner.event import Event
from runner.kube.errors import ApiError, Conflict
from runner.permissions import Permission
from runner.spec.errors import SpecError, type_name
from runner.spec.template import StructuredTemplate, placeholders

_FIX = "e.g. template: {apiVersion: batch/v1, kind: Job, metadata: {generateName: job-}, spec: ...}"


@dataclass(frozen=True)
class ObjectTemplate:
    """One object template; ``namespace`` is the literal one (None: follows the event)."""

    api_version: str
    kind: str
    namespace: str | None
    templated_namespace: bool
    template: StructuredTemplate


def _parse(raw: Mapping[str, Any], field: str, *, generate_name: bool) -> ObjectTemplate:
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, ("template",))
    if spec.get("template") is None:
        raise SpecError(f"{field}.template", "is required", _FIX)
    tfield = f"{field}.template"
    template = parse_structured(spec["template"], tfield)
    body = template.source
    if not isinstance(body, Mapping):
        raise SpecError(tfield, f"must be one object, got {type_name(body)}", _FIX)
    for key in ("apiVersion", "kind"):
        value = fields.string(body, key, tfield)
        if "{{" in value:
            raise SpecError(f"{tfield}.{key}", "must be literal, not a template", _FIX)
    meta = fields.mapping(body.get("metadata"), f"{tfield}.metadata") if "metadata" in body else {}
    names = [k for k in ("name", "generateName") if meta.get(k) is not None]
    wanted = "metadata.name or metadata.generateName" if generate_name else "metadata.name"
    if not names or (not generate_name and names != ["name"]):
        raise SpecError(f"{tfield}.metadata", f"needs {wanted}", _FIX)
    for key in names:
        fields.string(meta, key, f"{tfield}.metadata")
    namespace = meta.get("namespace")
    templated = isinstance(namespace, str) and bool(placeholders(namespace, f"{tfield}"))
    literal = None if templated else parse_namespace(meta, f"{tfield}.metadata")
    return ObjectTemplate(body["apiVersion"], body["kind"], literal, templated, template)


def parse_apply(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> ObjectTemplate:
    """``apply: {template}``; the template needs apiVersion, kind and metadata.name."""
    return _parse(raw, field, generate_name=False)


def parse_create(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> ObjectTemplate:
    """``create: {template}``; the template needs metadata.name or metadata.generateName."""
    return _parse(raw, field, generate_name=True)


def _permissions(
    verbs: frozenset[str],
) -> Callable[[ObjectTemplate, ParseContext], list[Permission]]:
    def permissions(config: ObjectTemplate, ctx: ParseContext) -> list[Permission]:
        spaces = (
            [None] if config.templated_namespace else permission_namespaces(config.namespace, ctx)
        )
        return [Permission(config.api_version, config.kind, verbs, ns) for ns in spaces]

    return permissions


def _render(config: ObjectTemplate, event: Event, ctx: ActionContext) -> tuple[Any, dict[str, Any]]:
    """The resource and the rendered object, its namespace filled in (namespaced kinds)."""
    info = resource_info(ctx.client, config.api_version, config.kind)
    body = config.template.render(event.template_data(ctx.trigger_name, ctx.trigger_namespace))
    meta = body.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise PermanentActionError("the rendered template's metadata is not an object")
    if info.namespaced:
        given = meta.get("namespace")
        meta["namespace"] = default_namespace(
            given if isinstance(given, str) else None, event, ctx.trigger_namespace
        )
    else:
        meta.pop("namespace", None)
    if not (meta.get("name") or meta.get("generateName")):
        raise PermanentActionError(f"the {config.kind} name rendered empty for this event")
    return info, body


def run_apply(config: ObjectTemplate, event: Event, ctx: ActionContext) -> str:
    """Server-side apply the rendered object."""
    info, body = _render(config, event, ctx)
    ref = ObjectRef(info, body["metadata"].get("namespace"), str(body["metadata"]["name"]))
    try:
        ctx.client.apply(info, body, ref.namespace, field_manager=FIELD_MANAGER, force=True)
    except ApiError as exc:
        raise action_error(exc, f"applying {ref}") from None
    return f"applied {ref}"


def run_create(config: ObjectTemplate, event: Event, ctx: ActionContext) -> str:
    """Create the rendered object; an existing name is a permanent failure."""
    info, body = _render(config, event, ctx)
    meta = body["metadata"]
    shown = ObjectRef(info, meta.get("namespace"), str(meta.get("name") or meta["generateName"]))
    try:
        created = ctx.client.create(info, body, shown.namespace)
    except Conflict as exc:
        raise PermanentActionError(
            f"creating {shown} failed: {exc}; use metadata.generateName for a new object "
            "per event, or apply to update one object"
        ) from None
    except ApiError as exc:
        raise action_error(exc, f"creating {shown}") from None
    name = str((created.get("metadata") or {}).get("name") or shown.name)
    return f"created {ObjectRef(info, shown.namespace, name)}"


APPLY = ActionKind(
    key="apply",
    parse=parse_apply,
    permissions=_permissions(frozenset({"get", "create", "patch"})),
    run=run_apply,
)
CREATE = ActionKind(
    key="create",
    parse=parse_create,
    permissions=_permissions(frozenset({"create"})),
    run=run_create,
)

"""The ``patch`` action: a merge, JSON or strategic-merge patch on the target objects.

The patch body is data in the spec (a mapping; a list of operations for a JSON
patch), or JSON text, compiled once as a structured template: event values go
into string leaves only, so a label value cannot add fields to the patch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner import FIELD_MANAGER
from runner.actions import fields
from runner.actions.apierrors import action_error
from runner.actions.base import ActionContext, ActionKind, ParseContext
from runner.actions.structured import parse_structured
from runner.actions.targets import Target, parse_target, resolve, summarize, target_permissions
from runner.event import Event
from runner.kube.errors import ApiError
from runner.permissions import Permission
from runner.spec.errors import SpecError, type_name
from runner.spec.template import StructuredTemplate

PATCH_TYPES = ("merge", "json", "strategic")
JSON_PATCH_OPS: dict[str, tuple[str, ...]] = {  # op -> the fields it needs besides op and path
    "add": ("value",),
    "remove": (),
    "replace": ("value",),
    "move": ("from",),
    "copy": ("from",),
    "test": ("value",),
}


@dataclass(frozen=True)
class PatchConfig:
    """A patch of one type, applied to every object the target resolves to."""

    target: Target
    type: str
    patch: StructuredTemplate


def parse(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> PatchConfig:
    """Check ``target``, ``type`` and ``patch``; the body's shape must fit the type."""
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, ("target", "type", "patch"))
    patch_type = fields.choice(spec, "type", field, PATCH_TYPES, default="merge")
    if spec.get("patch") is None:
        raise SpecError(f"{field}.patch", "is required", "e.g. patch: {metadata: {labels: {a: b}}}")
    body = parse_structured(spec["patch"], f"{field}.patch")
    _check_shape(body.source, patch_type, f"{field}.patch")
    return PatchConfig(parse_target(spec.get("target"), f"{field}.target", ctx), patch_type, body)


def _check_shape(body: Any, patch_type: str, field: str) -> None:
    if patch_type != "json":
        if not isinstance(body, Mapping):
            raise SpecError(
                field,
                f"a {patch_type} patch must be an object, got {type_name(body)}",
                "use type: json for a list of operations",
            )
        return
    if not isinstance(body, list) or not body:
        raise SpecError(
            field,
            "a json patch must be a non-empty list of operations",
            "e.g. [{op: replace, path: /spec/replicas, value: 2}]",
        )
    for i, op in enumerate(body):
        _check_operation(op, f"{field}[{i}]")


def _check_operation(op: Any, field: str) -> None:
    spec = fields.mapping(op, field)
    name = spec.get("op")
    if name not in JSON_PATCH_OPS:
        raise SpecError(f"{field}.op", f"must be one of {', '.join(JSON_PATCH_OPS)}, got {name!r}")
    needed = ("op", "path", *JSON_PATCH_OPS[str(name)])
    fields.check_keys(spec, field, needed)
    for key in needed:
        if key not in spec:
            raise SpecError(f"{field}.{key}", f"is required for op {name}")
    path = spec["path"]
    if not isinstance(path, str) or (path and not path.startswith("/") and "{{" not in path):
        raise SpecError(f"{field}.path", "must be a JSON pointer such as /metadata/labels/app")


def permissions(config: PatchConfig, ctx: ParseContext) -> list[Permission]:
    """``get`` and ``patch`` on the target kind, plus ``list`` for a selector."""
    return target_permissions(config.target, ctx, ("get", "patch"))


def run(config: PatchConfig, event: Event, ctx: ActionContext) -> str:
    """Render the patch for this event and send it to each target object."""
    data = event.template_data(ctx.trigger_name, ctx.trigger_namespace)
    refs = resolve(config.target, event, ctx.client, data, ctx.trigger_namespace)
    for ref in refs:
        try:
            ctx.client.patch(
                ref.info,
                ref.name,
                config.patch.render(data),
                ref.namespace,
                patch_type=config.type,  # type: ignore[arg-type]
                field_manager=FIELD_MANAGER,
            )
        except ApiError as exc:
            raise action_error(exc, f"patching {ref}") from None
    selector = config.target.selector.text if config.target.selector else None
    return summarize("patched", config.target.kind, refs, selector)


KIND = ActionKind(key="patch", parse=parse, permissions=permissions, run=run)

"""The ``patch`` action: a merge, JSON or strategic-merge patch on the target objects.

The patch body is data in the spec (a mapping; a list of operations for a JSON
patch), or JSON text, compiled once as a structured template: event values go
into string leaves only, so a label value cannot add fields to the patch.

In a JSON patch, a placeholder in an operation's ``path`` or ``from`` fills
one reference token of the JSON pointer and is escaped as RFC 6901 says
(``~`` -> ``~0``, ``/`` -> ``~1``): an annotation key ``a/b~c`` names exactly
that key and cannot add path segments.
"""

from __future__ import annotations

import dataclasses
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
from runner.spec.template import StructuredTemplate, TextTemplate, compile_text

PATCH_TYPES = ("merge", "json", "strategic")
JSON_PATCH_OPS: dict[str, tuple[str, ...]] = {  # op -> the fields it needs besides op and path
    "add": ("value",),
    "remove": (),
    "replace": ("value",),
    "move": ("from",),
    "copy": ("from",),
    "test": ("value",),
}
#: the operation fields that hold JSON pointers
POINTER_FIELDS = ("path", "from")


@dataclass(frozen=True)
class PatchConfig:
    """A patch of one type, applied to every object the target resolves to."""

    target: Target
    type: str
    patch: StructuredTemplate
    #: (operation index, "path" or "from", its template): pointers with placeholders
    pointers: tuple[tuple[int, str, TextTemplate], ...] = ()

    def render(self, data: Mapping[str, Any]) -> Any:
        """The patch body for ``data``, pointer placeholders escaped per RFC 6901."""
        body = self.patch.render(data)
        for index, key, template in self.pointers:
            body[index][key] = template.render(data)
        return body


def pointer_token(value: str) -> str:
    """``value`` as one JSON pointer token (RFC 6901: ``~`` -> ``~0``, ``/`` -> ``~1``)."""
    return value.replace("~", "~0").replace("/", "~1")


def parse(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> PatchConfig:
    """Check ``target``, ``type`` and ``patch``; the body's shape must fit the type."""
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, ("target", "type", "patch"))
    patch_type = fields.choice(spec, "type", field, PATCH_TYPES, default="merge")
    if spec.get("patch") is None:
        raise SpecError(f"{field}.patch", "is required", "e.g. patch: {metadata: {labels: {a: b}}}")
    body = parse_structured(spec["patch"], f"{field}.patch")
    _check_shape(body.source, patch_type, f"{field}.patch")
    pointers = _pointers(body.source, f"{field}.patch") if patch_type == "json" else ()
    target = parse_target(spec.get("target"), f"{field}.target", ctx)
    return PatchConfig(target, patch_type, body, pointers)


def _pointers(ops: list[Any], field: str) -> tuple[tuple[int, str, TextTemplate], ...]:
    """Templates for the ``path``/``from`` pointers that hold placeholders."""
    found: list[tuple[int, str, TextTemplate]] = []
    for i, op in enumerate(ops):
        for key in POINTER_FIELDS:
            text = op.get(key)
            if isinstance(text, str) and "{{" in text:
                template = compile_text(text, f"{field}[{i}].{key}")
                found.append((i, key, dataclasses.replace(template, escape=pointer_token)))
    return tuple(found)


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
    for key in POINTER_FIELDS:
        pointer = spec.get(key, "")
        if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
            raise SpecError(
                f"{field}.{key}",
                "must be a JSON pointer such as /metadata/labels/app",
                "a placeholder fills one key: /metadata/labels/{{ .object.metadata.name }}",
            )


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
                config.render(data),
                ref.namespace,
                patch_type=config.type,  # type: ignore[arg-type]
                field_manager=FIELD_MANAGER,
            )
        except ApiError as exc:
            raise action_error(exc, f"patching {ref}") from None
    selector = config.target.selector.text if config.target.selector else None
    return summarize("patched", config.target.kind, refs, selector)


KIND = ActionKind(key="patch", parse=parse, permissions=permissions, run=run)

"""The ``bumpApplicationRevision`` action: make KubeVela roll out a new Application revision.

KubeVela publishes a new revision of an Application when its
``app.oam.dev/publishVersion`` annotation changes, so the action sets it to a
fresh, sortable value (``kt-<UTC timestamp>-<random>``). ``consumers: true``
picks the Applications in the event object's namespace whose ``.spec``
mentions the object: some string anywhere in the spec (a component property,
a trait's ConfigMap list, ...) equals the object's name exactly, so ``web``
does not match ``web-config``.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runner.actions import fields
from runner.actions.base import ActionContext, ActionKind, ParseContext
from runner.actions.workloads import (
    SELECTION_KEYS,
    Selection,
    parse_selection,
    patch_workloads,
    select_workloads,
    selection_permissions,
    summary,
)
from runner.event import Event
from runner.permissions import Permission

API_VERSION = "core.oam.dev/v1beta1"
KIND_NAME = "Application"
PUBLISH_VERSION = "app.oam.dev/publishVersion"


@dataclass(frozen=True)
class BumpConfig:
    """Which Applications to bump."""

    selection: Selection


def parse(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> BumpConfig:
    """Check exactly one of ``name``, ``selector``, ``consumers`` (and ``namespace``)."""
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, SELECTION_KEYS)
    return BumpConfig(parse_selection(spec, field, ctx, API_VERSION, KIND_NAME, None))


def permissions(config: BumpConfig, ctx: ParseContext) -> list[Permission]:
    """``get`` and ``patch`` on Applications, plus ``list`` by selector or for consumers."""
    return selection_permissions(config.selection, ctx)


def mentions(app: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    """Whether some string in ``app``'s spec equals ``obj``'s name."""
    name = (obj.get("metadata") or {}).get("name")
    return bool(name) and any(text == name for text in _strings(app.get("spec")))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def new_publish_version(now: datetime.datetime | None = None) -> str:
    """A fresh publishVersion: ``kt-20240102-030405-1a2b3c`` (UTC time, then random)."""
    now = now or datetime.datetime.now(datetime.UTC)
    return f"kt-{now.astimezone(datetime.UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def run(config: BumpConfig, event: Event, ctx: ActionContext) -> str:
    """Set a new publishVersion on each chosen Application (one value per run)."""
    refs = select_workloads(config.selection, event, ctx, mentions)
    version = new_publish_version()
    body = {"metadata": {"annotations": {PUBLISH_VERSION: version}}}
    patch_workloads(ctx, refs, body, "merge", "bumping")
    text = summary("bumped", config.selection, refs, event)
    return f"{text} to {version}" if refs else text


KIND = ActionKind(key="bumpApplicationRevision", parse=parse, permissions=permissions, run=run)

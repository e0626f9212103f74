"""A stand-in action registry for spec tests, so parsing is tested apart from real actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.actions.base import ActionKind, ParseContext
from runner.event import Event
from runner.permissions import Permission
from runner.spec.errors import SpecError


@dataclass(frozen=True)
class StubConfig:
    """What the stub parse saw."""

    key: str
    raw: Mapping[str, Any]
    field: str
    ctx: ParseContext


def _kind(key: str, required: tuple[str, ...] = ()) -> ActionKind:
    def parse(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> StubConfig:
        for name in required:
            if name not in raw:
                raise SpecError(f"{field}.{name}", "is required")
        return StubConfig(key, raw, field, ctx)

    def permissions(config: StubConfig, ctx: ParseContext) -> list[Permission]:
        if key == "rolloutRestart":
            ns = ctx.trigger_namespace
            return [
                Permission("apps/v1", config.raw["kind"], frozenset({"get", "list", "patch"}), ns)
            ]
        if key == "patch":
            return [
                Permission(
                    ctx.source_api_version or "v1",
                    ctx.source_kind or "ConfigMap",
                    frozenset({"patch"}),
                    None if ctx.source_namespaces is None else ctx.source_namespaces[0],
                )
            ]
        return []

    def run(config: StubConfig, event: Event, actx: Any) -> str:
        return key

    return ActionKind(key, parse, permissions, run)


STUB_ACTIONS: dict[str, ActionKind] = {
    "log": _kind("log", ("message",)),
    "webhook": _kind("webhook", ("url",)),
    "rolloutRestart": _kind("rolloutRestart", ("kind",)),
    "patch": _kind("patch"),
}


def stub_kind(key: str) -> ActionKind:
    """A stub for any action key (accepts every mapping)."""
    return _kind(key)

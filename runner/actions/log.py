"""The ``log`` action: write a rendered message to the runner's log.

The cheapest way to see what a trigger matches before wiring real actions,
and an audit line beside them. ``level`` picks the log level (default info).
The message is the user's template; the summary does not repeat it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.actions import fields
from runner.actions.base import ActionContext, ActionKind, ParseContext
from runner.event import Event
from runner.permissions import Permission
from runner.spec.errors import SpecError
from runner.spec.template import TextTemplate, compile_text

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


@dataclass(frozen=True)
class LogConfig:
    """A message template and the level it is logged at."""

    message: TextTemplate
    level: int


def parse(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> LogConfig:
    """Check ``message`` (required) and ``level``."""
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, ("message", "level"))
    if spec.get("message") is None:
        raise SpecError(
            f"{field}.message", "is required", 'e.g. message: "{{ .object.metadata.name }} changed"'
        )
    level = fields.choice(spec, "level", field, tuple(LEVELS), default="info")
    return LogConfig(compile_text(spec["message"], f"{field}.message"), LEVELS[level])


def permissions(config: LogConfig, ctx: ParseContext) -> list[Permission]:
    """Logging needs no permission."""
    return []


def run(config: LogConfig, event: Event, ctx: ActionContext) -> str:
    """Log the rendered message."""
    text = config.message.render(event.template_data(ctx.trigger_name, ctx.trigger_namespace))
    ctx.log.log(config.level, "%s", text, extra={"key": event.key})
    return f"logged {len(text)} characters at {logging.getLevelName(config.level).lower()}"


KIND = ActionKind(key="log", parse=parse, permissions=permissions, run=run)

"""The ``slack``, ``teams`` and ``discord`` actions: post a text to an incoming webhook.

The three differ only in the JSON they accept and the markup they read, so
one table maps each service to its payload and to the escaping applied to
event values (the template's own text is sent as written, formatting and all):

- Slack: ``{"text": ...}`` in mrkdwn. Event values get the escaping Slack
  documents, ``&`` ``<`` ``>`` as HTML entities, so a value cannot write a link
  (``<https://x|y>``), a mention or ``<!channel>``. Slack has no escape for
  ``*_~``` emphasis; a value may still show bold, never a link or a ping.
- Discord: ``{"content": ..., "allowed_mentions": {"parse": []}}``: no ping at
  all from the message. Event values are backslash-escaped for Discord's
  markdown (``\\ * _ ~ ` | [ ] ( ) < > #``, and ``-``, ``+`` or ``1.`` starting a
  line), so ``[Reset](https://evil.example)`` stays text and ``<@id>`` shows as
  written; ``@everyone`` and ``@here`` get a zero-width space after the ``@``.
  The text is cut to Discord's 2,000 characters.
- Teams: a message with one Adaptive Card (version 1.2) holding one wrapping
  TextBlock: the format both Teams Workflows ("When a Teams webhook request is
  received") and the older Microsoft 365 connector webhooks accept; Workflows
  do not accept the legacy MessageCard. TextBlock reads a CommonMark subset
  (emphasis, links, lists); event values are backslash-escaped for it
  (``\\ * _ [ ] ( ) < >``, and list markers starting a line).

The payload is built as data and serialized once, so nothing in the text can
add fields. The webhook URL is a value source (usually a Secret) and never shown
beyond its scheme and host.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.actions import fields
from runner.actions.base import ActionContext, ActionKind, ParseContext
from runner.actions.http import send
from runner.actions.tls import TlsConfig
from runner.actions.urls import UrlSource, parse_url, redact_url
from runner.actions.values import secret_permissions
from runner.event import Event
from runner.permissions import Permission
from runner.spec.errors import SpecError
from runner.spec.template import TextTemplate, compile_text

DISCORD_LIMIT = 2000
TIMEOUT = 10.0


#: a list item's marker at the start of a line (``\r`` starts a line in Teams cards)
_LIST_MARKER = re.compile(r"(^|[\r\n])([ \t]*)([-+]|\d+(?=[.)]))(?=[.)]?(?:[ \t]|$))")
_DISCORD_SPECIAL = re.compile(r"([\\*_~`|\[\]()<>#])")
_TEAMS_SPECIAL = re.compile(r"([\\*_\[\]()<>])")
_DISCORD_MASS_MENTION = re.compile(r"@(everyone|here)\b")


def slack_escape(text: str) -> str:
    """An event value for Slack mrkdwn: ``&``, ``<`` and ``>`` as HTML entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def discord_escape(text: str) -> str:
    """An event value for Discord markdown: every markup character backslash-escaped."""
    text = _DISCORD_SPECIAL.sub(r"\\\1", text)
    text = _escape_list_markers(text)
    return _DISCORD_MASS_MENTION.sub("@\u200b\\1", text)


def teams_escape(text: str) -> str:
    """An event value for an Adaptive Card TextBlock (CommonMark subset)."""
    return _escape_list_markers(_TEAMS_SPECIAL.sub(r"\\\1", text))


def _escape_list_markers(text: str) -> str:
    """``- x``, ``+ x`` and ``1. x`` at a line start: the marker escaped (``\\-``, ``1\\.``)."""

    def escape(match: re.Match[str]) -> str:
        start, indent, marker = match.groups()
        if marker in "-+":
            return f"{start}{indent}\\{marker}"
        return f"{start}{indent}{marker}\\"

    return _LIST_MARKER.sub(escape, text)


def slack_payload(text: str) -> dict[str, Any]:
    """Slack incoming webhook: a plain ``text`` message."""
    return {"text": text}


def discord_payload(text: str) -> dict[str, Any]:
    """Discord webhook: ``content`` (at most 2,000 characters), mentions disabled."""
    if len(text) > DISCORD_LIMIT:
        text = text[: DISCORD_LIMIT - 1] + "…"
    return {"content": text, "allowed_mentions": {"parse": []}}


def teams_payload(text: str) -> dict[str, Any]:
    """Teams (Workflows or connector) webhook: one Adaptive Card with the text."""
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.2",
        "body": [{"type": "TextBlock", "text": text, "wrap": True}],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


@dataclass(frozen=True)
class Service:
    """How one chat service wants its message."""

    key: str
    payload: Callable[[str], dict[str, Any]]
    escape: Callable[[str], str] | None = None


SERVICES: dict[str, Service] = {
    "slack": Service("slack", slack_payload, slack_escape),
    "teams": Service("teams", teams_payload, teams_escape),
    "discord": Service("discord", discord_payload, discord_escape),
}


@dataclass(frozen=True)
class ChatConfig:
    """A message for one service."""

    service: str
    url: UrlSource
    text: TextTemplate


def _parser(service: Service) -> Callable[[Mapping[str, Any], str, ParseContext], ChatConfig]:
    def parse(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> ChatConfig:
        spec = fields.mapping(raw, field)
        fields.check_keys(spec, field, ("url", "text"))
        url = parse_url(spec, field)
        if spec.get("text") is None:
            raise SpecError(
                f"{field}.text", "is required", 'e.g. text: "{{ .object.metadata.name }} changed"'
            )
        text = compile_text(spec["text"], f"{field}.text")
        if service.escape is not None:
            text = dataclasses.replace(text, escape=service.escape)
        return ChatConfig(service.key, url, text)

    return parse


def permissions(config: ChatConfig, ctx: ParseContext) -> list[Permission]:
    """``get`` on the Secret holding the webhook URL, if any."""
    return secret_permissions([config.url.source], ctx)


def run(config: ChatConfig, event: Event, ctx: ActionContext) -> str:
    """Post the rendered text; the summary shows only scheme, host and status."""
    data = event.template_data(ctx.trigger_name, ctx.trigger_namespace)
    url = config.url.resolve(data, ctx)
    payload = SERVICES[config.service].payload(config.text.render(data))
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    answer = send(
        "POST",
        url,
        headers={"Content-Type": "application/json"},
        body=body,
        timeout=TIMEOUT,
        tls=TlsConfig(),
        ctx=ctx,
    )
    return f"{config.service}: POST {redact_url(url)} → {answer.status}"


def _kind(key: str) -> ActionKind:
    return ActionKind(key=key, parse=_parser(SERVICES[key]), permissions=permissions, run=run)


SLACK = _kind("slack")
TEAMS = _kind("teams")
DISCORD = _kind("discord")

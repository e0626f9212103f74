"""The ``webhook`` action: one HTTP request per event to a URL that may live in a Secret.

A JSON body is a structured template (data inline in the spec, or JSON text
parsed once), so event values land in string leaves and cannot add fields;
any other content type takes a text template. Without a body, POST/PUT/PATCH
send a small JSON reference to the event (type, trigger, time and the object's
apiVersion, kind, namespace, name, uid, resourceVersion), never the object's
data, because the object may be a Secret. A literal URL may hold placeholders,
which are percent-encoded; a URL from a Secret is used as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.actions import fields
from runner.actions.base import ActionContext, ActionKind, ParseContext, PermanentActionError
from runner.actions.http import send
from runner.actions.structured import parse_structured
from runner.actions.tls import TlsConfig, parse_tls
from runner.actions.urls import UrlSource, parse_url, redact_url
from runner.actions.values import ValueSource, parse_value_source, secret_permissions
from runner.event import Event
from runner.permissions import Permission
from runner.spec.durations import parse_duration
from runner.spec.errors import SpecError
from runner.spec.template import StructuredTemplate, TextTemplate, compile_text

METHODS = ("POST", "PUT", "PATCH", "GET", "DELETE")
BODYLESS = ("GET", "DELETE")
DEFAULT_CONTENT_TYPE = "application/json"
DEFAULT_TIMEOUT = 10.0
_KEYS = ("url", "method", "headers", "body", "contentType", "timeout", "tls")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: headers the action sets itself
_RESERVED = {"content-type": "use contentType", "content-length": "it is computed", "host": ""}


@dataclass(frozen=True)
class WebhookConfig:
    """One request: URL (a value source; a literal one is a URL template) and what to send."""

    url: UrlSource
    method: str
    headers: tuple[tuple[str, ValueSource], ...]
    body: StructuredTemplate | TextTemplate | None
    content_type: str
    timeout: float
    tls: TlsConfig


def is_json(content_type: str) -> bool:
    """Whether a content type is JSON (``application/json``, ``application/x+json``)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def parse(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> WebhookConfig:
    """Check every webhook field; templates compile now."""
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, _KEYS)
    url = parse_url(spec, field)
    method = fields.choice(spec, "method", field, METHODS, default="POST")
    content_type = fields.string(spec, "contentType", field, default=DEFAULT_CONTENT_TYPE)
    timeout = DEFAULT_TIMEOUT
    if spec.get("timeout") is not None:
        timeout = parse_duration(spec["timeout"], f"{field}.timeout")
        if timeout <= 0:
            raise SpecError(f"{field}.timeout", "must be more than 0s", "e.g. 10s")
    return WebhookConfig(
        url=url,
        method=method,
        headers=_headers(spec.get("headers"), f"{field}.headers"),
        body=_body(spec.get("body"), f"{field}.body", method, content_type),
        content_type=content_type,
        timeout=timeout,
        tls=parse_tls(spec.get("tls"), f"{field}.tls"),
    )


def _headers(raw: Any, field: str) -> tuple[tuple[str, ValueSource], ...]:
    if raw is None:
        return ()
    spec = fields.mapping(raw, field)
    out: list[tuple[str, ValueSource]] = []
    for name, value in spec.items():
        if not _TOKEN.fullmatch(name):
            raise SpecError(f"{field}.{name}", "is not a valid header name")
        if name.lower() in _RESERVED:
            raise SpecError(
                f"{field}.{name}", "is set by the action", _RESERVED[name.lower()] or None
            )
        source = parse_value_source(value, f"{field}.{name}", allow_empty=True)
        if source.value is not None and ("\r" in source.value or "\n" in source.value):
            raise SpecError(f"{field}.{name}", "must be one line")
        out.append((name, source))
    return tuple(out)


def _body(
    raw: Any, field: str, method: str, content_type: str
) -> StructuredTemplate | TextTemplate | None:
    if raw is None:
        if method not in BODYLESS and not is_json(content_type):
            raise SpecError(field, f"is required with contentType {content_type}")
        return None
    if method in BODYLESS:
        raise SpecError(field, f"{method} requests have no body", "remove body, or use POST")
    if is_json(content_type):
        return parse_structured(raw, field)
    if not isinstance(raw, str):
        raise SpecError(
            field,
            f"must be text with contentType {content_type}",
            f"write it as a string, or use contentType {DEFAULT_CONTENT_TYPE}",
        )
    return compile_text(raw, field)


def permissions(config: WebhookConfig, ctx: ParseContext) -> list[Permission]:
    """``get`` on the Secrets the URL, headers and CA come from; nothing else."""
    return secret_permissions(
        [config.url.source, *(v for _, v in config.headers), config.tls.ca], ctx
    )


def default_body(data: Mapping[str, Any]) -> dict[str, Any]:
    """The body sent when none is given: a reference to the event, never the object's data."""
    obj = data.get("object") or {}
    meta = obj.get("metadata") or {}
    ref = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    return {
        "event": data.get("event"),
        "trigger": data.get("trigger"),
        "time": data.get("time"),
        "object": {k: v for k, v in ref.items() if v is not None} or None,
    }


def render_body(
    body: StructuredTemplate | TextTemplate | None, method: str, data: Mapping[str, Any]
) -> bytes | None:
    """The request body for ``data`` (JSON bodies are serialized compactly, UTF-8)."""
    if method in BODYLESS:
        return None
    if isinstance(body, TextTemplate):
        return body.render(data).encode()
    value = default_body(data) if body is None else body.render(data)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def run(config: WebhookConfig, event: Event, ctx: ActionContext) -> str:
    """Send the request; the summary names method, scheme and host, and the status."""
    data = event.template_data(ctx.trigger_name, ctx.trigger_namespace)
    url = config.url.resolve(data, ctx)
    headers = {name: source.resolve(ctx) for name, source in config.headers}
    for name, source in config.headers:
        if "\r" in headers[name] or "\n" in headers[name]:
            raise PermanentActionError(f"header {name} from {source.describe()} is not one line")
    body = render_body(config.body, config.method, data)
    if body is not None:
        headers["Content-Type"] = config.content_type
    answer = send(
        config.method,
        url,
        headers=headers,
        body=body,
        timeout=config.timeout,
        tls=config.tls,
        ctx=ctx,
    )
    return f"{config.method} {redact_url(url)} → {answer.status}"


KIND = ActionKind(key="webhook", parse=parse, permissions=permissions, run=run)

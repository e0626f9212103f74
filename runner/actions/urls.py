"""Request URLs for webhook and chat actions: where they come from and how they are shown.

A URL is a value source. A literal may hold placeholders (values are
percent-encoded); a URL from a Secret is used as it is, checked at run time
and never shown: incoming-webhook URLs carry their token in the path, so
every message shows only scheme and host (``https://hooks.example/…``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from urllib3.exceptions import LocationParseError

from runner.actions.base import ActionContext, PermanentActionError
from runner.actions.values import ValueSource, parse_value_source
from runner.spec.errors import SpecError
from runner.spec.template import TextTemplate, compile_url


@dataclass(frozen=True)
class UrlSource:
    """Where a request goes: a value source, and the compiled template of a literal."""

    source: ValueSource
    template: TextTemplate | None

    def resolve(self, data: Mapping[str, Any], ctx: ActionContext) -> str:
        """The URL for this event: the rendered literal, or the Secret's checked value."""
        if self.template is not None:
            return self.template.render(data)
        url = self.source.resolve(ctx).strip()
        if check_url(url):
            raise PermanentActionError(f"{self.source.describe()} does not hold an http(s) URL")
        return url


@functools.lru_cache(maxsize=256)
def parsed_url(url: str) -> urllib3.util.Url:
    """``url`` parsed, once per distinct URL: every request shows, checks and sends it.

    Parsing is a good part of a webhook's own CPU cost, and a Trigger sends to
    few distinct URLs. ``Url`` is immutable, so the cached value is shared
    safely. Raises ``LocationParseError`` (not cached) when ``url`` is not a URL.
    """
    return urllib3.util.parse_url(url)


def redact_url(url: str) -> str:
    """``https://host:port/…``: scheme and host only, never path, query or user info."""
    try:
        parsed = parsed_url(url)
    except LocationParseError:
        return "<secret url>"
    if not parsed.scheme or not parsed.host:
        return "<secret url>"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}/…"


def check_url(url: str) -> str | None:
    """What is wrong with ``url`` as a request target (None: it is an http(s) URL)."""
    try:
        parsed = parsed_url(url)
    except LocationParseError:
        return "is not a URL"
    if parsed.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parsed.host:
        return "has no host"
    return None


def parse_url(spec: Mapping[str, Any], field: str) -> UrlSource:
    """``url`` at ``field``: a value source; a literal is compiled as a URL template and checked."""
    if spec.get("url") is None:
        raise SpecError(
            f"{field}.url", "is required", "e.g. url: {secretKeyRef: {name: hooks, key: url}}"
        )
    source = parse_value_source(spec["url"], f"{field}.url")
    if source.value is None:
        return UrlSource(source, None)
    ufield = f"{field}.url" + ("" if isinstance(spec["url"], str) else ".value")
    template = compile_url(source.value, ufield)
    static, placeholder, _ = source.value.partition("{{")
    problem = check_url(static + ("x" if placeholder else ""))
    if problem:
        raise SpecError(
            ufield, f"{redact_url(source.value)} {problem}", "e.g. https://hooks.example/x"
        )
    return UrlSource(source, template)

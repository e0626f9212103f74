"""Templates with ``{{ .path }}`` placeholders, compiled once and escaped for where values land.

Action fields (a webhook body, a patch, a Job to create) take values from the
event. Inserting event text into JSON or YAML text and parsing the result
would let a label value such as ``x", "admin": true`` add fields, so
structured templates are never built as text: the spec stores them as data
(or as JSON text parsed here, once), placeholders may only sit in string
leaves, and rendering puts values into those leaves. A leaf that is exactly
one placeholder takes the value with its JSON type; any other leaf stays a
string. Mapping keys are literal. Plain text templates render values as
kubectl prints them; URL templates percent-encode them. Rendering never
re-reads its output, so a value containing ``{{ }}`` stays text.

Placeholder paths start at the template data (``runner.event.Event.template_data``):
``.event``, ``.object...``, ``.trigger.name``, ``.trigger.namespace``, ``.time``.
Keys with dots are written ``.object.metadata.labels["app.kubernetes.io/name"]``,
list items ``.object.spec.containers[0]``. ``{{ "{{" }}`` writes a literal ``{{``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from runner.spec.errors import SpecError, type_name
from runner.spec.jsonpath import render_value

#: the names a placeholder path may start with (Event.template_data's keys)
ROOTS: tuple[str, ...] = ("event", "object", "trigger", "time")

_FIX = 'write e.g. {{ .object.metadata.name }} or {{ .object.metadata.labels["app"] }}'
_OPEN = "{{"
_CLOSE = "}}"
_MISSING: Any = object()

_Getter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One parsed ``{{ ... }}``: a path into the data, or a literal string."""

    text: str
    keys: tuple[str | int, ...] | None  # None: a literal
    literal: str = ""

    def get(self, data: Any) -> Any:
        """The value at the path in ``data``, or a sentinel when missing."""
        if self.keys is None:
            return self.literal
        value = data
        for key in self.keys:
            if isinstance(key, int):
                if not isinstance(value, list) or not -len(value) <= key < len(value):
                    return _MISSING
                value = value[key]
            else:
                if not isinstance(value, Mapping):
                    return _MISSING
                value = value.get(key, _MISSING)
                if value is _MISSING:
                    return _MISSING
        return value


@dataclass(frozen=True, slots=True)
class TextTemplate:
    """A compiled text template; ``render(data)`` gives the text."""

    source: str
    parts: tuple[str | Placeholder, ...] = field(repr=False)
    escape: Callable[[str], str] = field(repr=False, compare=False, default=lambda s: s)

    @property
    def is_constant(self) -> bool:
        """True when the text has no path placeholders."""
        return all(isinstance(p, str) or p.keys is None for p in self.parts)

    def render(self, data: Mapping[str, Any]) -> str:
        """The text with every placeholder replaced (missing values render as "")."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = part.get(data)
            text = "" if value is _MISSING else render_value(value)
            out.append(text if part.keys is None else self.escape(text))
        return "".join(out)


@dataclass(frozen=True, slots=True)
class StructuredTemplate:
    """A compiled data template; ``render(data)`` builds fresh dicts/lists each time."""

    source: Any = field(repr=False)
    build: Callable[[Any], Any] = field(repr=False, compare=False)

    def render(self, data: Mapping[str, Any]) -> Any:
        """A new Python object with placeholders filled in."""
        return self.build(data)


# -- parsing placeholders -------------------------------------------------------------------

_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_SEGMENT = re.compile(rf"\s*(?:\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*({_STRING}|-?\d+)\s*\])")


def _split(text: str, field: str, roots: tuple[str, ...]) -> list[str | Placeholder]:
    """Literal text and placeholders of ``text``, in order."""
    parts: list[str | Placeholder] = []
    pos = 0
    while True:
        start = text.find(_OPEN, pos)
        if start < 0:
            if pos < len(text):
                parts.append(text[pos:])
            break
        if start > pos:
            parts.append(text[pos:start])
        end = _find_close(text, start + 2)
        if end < 0:
            raise SpecError(
                field, f"unclosed '{{{{' at column {start + 1} in {text!r}", "add the closing }}"
            )
        parts.append(_placeholder(text, start, end, field, roots))
        pos = end + 2
    merged: list[str | Placeholder] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return merged


def _find_close(text: str, pos: int) -> int:
    """Index of the ``}}`` that ends the placeholder starting at ``pos`` (quotes skipped)."""
    quote_char = ""
    i = pos
    while i < len(text):
        ch = text[i]
        if quote_char:
            if ch == "\\":
                i += 1
            elif ch == quote_char:
                quote_char = ""
        elif ch in "'\"":
            quote_char = ch
        elif text.startswith(_CLOSE, i):
            return i
        i += 1
    return -1


def _placeholder(
    text: str, start: int, end: int, field: str, roots: tuple[str, ...]
) -> Placeholder:
    inner = text[start + 2 : end]
    body = inner.strip()
    column = start + 3 + (len(inner) - len(inner.lstrip()))

    def bad(message: str, fix: str = _FIX, at: int = column) -> SpecError:
        return SpecError(field, f"{message} at column {at} in {text!r}", fix)

    if not body:
        raise bad("empty placeholder {{ }}")
    if body[0] in "'\"":
        if not re.fullmatch(_STRING, body):
            raise bad("bad string literal in placeholder")
        return Placeholder(text[start : end + 2], None, _unquote(body))
    if not body.startswith("."):
        raise bad(
            f"a placeholder path must start with '.', found {body[0]!r}",
            f"write {{{{ .{body} }}}}" if re.fullmatch(r"[A-Za-z_][\w.-]*", body) else _FIX,
        )
    keys: list[str | int] = []
    pos = 0
    while pos < len(body):
        m = _SEGMENT.match(body, pos)
        if m is None or m.end() == pos:
            raise bad(f"unexpected {body[pos:]!r} in placeholder", at=column + pos)
        name, index = m.group(1), m.group(2)
        if name is not None:
            keys.append(name)
        elif index[0] in "'\"":
            keys.append(_unquote(index))
        else:
            keys.append(int(index))
        pos = m.end()
    if not keys:
        raise bad("a placeholder needs a path after '.'")
    first = keys[0]
    if roots and first not in roots:
        close = difflib.get_close_matches(str(first), list(roots), n=1)
        fix = f"did you mean .{close[0]}?" if close else f"start with one of .{', .'.join(roots)}"
        raise bad(f"unknown placeholder root .{first}", fix)
    return Placeholder(text[start : end + 2], tuple(keys))


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def placeholders(text: str, field: str = "", roots: tuple[str, ...] = ROOTS) -> list[Placeholder]:
    """The placeholders in ``text`` (raises SpecError when one is bad)."""
    return [p for p in _split(text, field, roots) if isinstance(p, Placeholder)]


# -- text templates -------------------------------------------------------------------------


def _url_escape(text: str) -> str:
    return quote(text, safe="")


def compile_text(text: str, field: str = "", roots: tuple[str, ...] = ROOTS) -> TextTemplate:
    """A text template; values render as kubectl prints them, missing ones as ""."""
    _require_str(text, field)
    return TextTemplate(text, tuple(_split(text, field, roots)))


def compile_url(text: str, field: str = "", roots: tuple[str, ...] = ROOTS) -> TextTemplate:
    """A URL template: inserted values are percent-encoded (``/``, ``?``, ``&`` included)."""
    _require_str(text, field)
    return TextTemplate(text, tuple(_split(text, field, roots)), _url_escape)


def _require_str(text: Any, field: str) -> None:
    if not isinstance(text, str):
        raise SpecError(field, f"a template must be a string, got {type_name(text)}")


# -- structured templates -------------------------------------------------------------------


def compile_structured(
    value: Any, field: str = "", roots: tuple[str, ...] = ROOTS
) -> StructuredTemplate:
    """A template over JSON-like data; placeholders only in string leaves, never in keys."""
    return StructuredTemplate(value, _compile_node(value, field, roots))


def compile_json_text(
    text: str, field: str = "", roots: tuple[str, ...] = ROOTS
) -> StructuredTemplate:
    """JSON text (parsed once, here) compiled as a structured template."""
    _require_str(text, field)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            field,
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            'put placeholders inside quotes, e.g. {"name": "{{ .object.metadata.name }}"}',
        ) from None
    return StructuredTemplate(value, _compile_node(value, field, roots))


def _compile_node(value: Any, field: str, roots: tuple[str, ...]) -> _Getter:
    if isinstance(value, str):
        return _compile_leaf(value, field, roots)
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return lambda data: value
    if isinstance(value, Mapping):
        items: list[tuple[str, _Getter]] = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise SpecError(field, f"mapping key {key!r} must be a string", "quote the key")
            if _OPEN in key:
                raise SpecError(
                    _child(field, key),
                    "placeholders are not allowed in mapping keys",
                    "keys are literal; put the placeholder in a value",
                )
            items.append((key, _compile_node(item, _child(field, key), roots)))
        return lambda data: {key: build(data) for key, build in items}
    if isinstance(value, (list, tuple)):
        builders = [_compile_node(item, f"{field}[{i}]", roots) for i, item in enumerate(value)]
        return lambda data: [build(data) for build in builders]
    raise SpecError(
        field,
        f"unsupported value of type {type_name(value)} in a template",
        "use strings, numbers, booleans, null, lists and mappings (quote dates)",
    )


def _child(field: str, key: str) -> str:
    return (
        f"{field}.{key}" if re.fullmatch(r"[A-Za-z_][\w-]*", key) else f"{field}[{json.dumps(key)}]"
    )


def _compile_leaf(text: str, field: str, roots: tuple[str, ...]) -> _Getter:
    parts = _split(text, field, roots)
    if not any(isinstance(p, Placeholder) for p in parts):
        return lambda data: text
    if len(parts) == 1 and isinstance(parts[0], Placeholder):
        return _typed(parts[0])
    template = TextTemplate(text, tuple(parts))
    return template.render


def _typed(placeholder: Placeholder) -> _Getter:
    """A whole-leaf placeholder: the value with its JSON type, copied; missing -> ""."""

    def get(data: Any) -> Any:
        value = placeholder.get(data)
        if value is _MISSING:
            return ""
        return _copy(value)

    return get


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value

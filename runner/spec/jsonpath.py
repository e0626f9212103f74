"""kubectl-syntax JSONPath, compiled once into Python closures.

Filters run on every event, so a path is parsed a single time at start-up and
turned into a chain of small closures; evaluating it is then a few dict
lookups, with no parsing or interpretation per event (the design bar: four
typical filters cost no more CPU than decoding the event's JSON). A path made
only of plain keys (``{.status.phase}``) compiles into one closure with a
key loop, the commonest and cheapest case.

The language is the expression part of kubectl's JSONPath: one expression,
outer braces optional, with keys, quoted keys, indexes, slices, wildcards,
recursive descent and ``[?(...)]`` filters. Text templates (``{range}``,
several ``{...}`` blocks, literal text) are not paths and are rejected.
Evaluation never raises: a missing key, an index out of range or a value of
the wrong type selects nothing.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.spec.errors import SpecError

#: a compiled step: takes one value and appends what it selects (through the rest
#: of the chain) to the output list.
_Step = Callable[[Any, list[Any]], None]
#: builds a step from the step that follows it.
_Link = Callable[[_Step], _Step]

_FIX = 'write one expression in kubectl syntax, e.g. "{.status.conditions[0].type}"'
#: characters that end a bare key after '.'
_KEY_END = frozenset(".[]{}()*@?=!<>,'\" \t\n$|")


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled path. ``values(obj)`` returns every value it selects, in document order."""

    source: str
    values: Callable[[Any], list[Any]] = field(compare=False, repr=False)


def render_value(value: Any) -> str:
    """A selected value as kubectl prints it: strings as-is, true/false, numbers, compact JSON."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    render = _RENDER.get(kind)
    if render is not None:
        return render(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _render_float(value)
    if isinstance(value, (Mapping, list, tuple)):
        return _render_json(value)
    return str(value)


def _render_float(value: float) -> str:
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def _render_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)


_RENDER: dict[type, Callable[[Any], str]] = {
    bool: lambda v: "true" if v else "false",
    int: str,
    float: _render_float,
    type(None): lambda v: "",
    dict: _render_json,
    list: _render_json,
}


def compile_path(text: str, field: str = "") -> JsonPath:
    """Compile ``text`` (``{.a.b}`` or ``.a.b``); raises SpecError at ``field`` when it is bad."""
    if not isinstance(text, str):
        raise SpecError(field, f"a JSONPath must be a string, got {type(text).__name__}", _FIX)
    body, offset = _strip_braces(text, field)
    parser = _Parser(text, body, offset, field)
    links = parser.parse_path(top=True)
    return JsonPath(text, _assemble(links))


def _q(text: str) -> str:
    """``text`` in double quotes, as error messages show paths."""
    return json.dumps(text, ensure_ascii=False)


def _strip_braces(text: str, field: str) -> tuple[str, int]:
    """The expression inside optional outer braces, and its offset into ``text``."""
    stripped = text.strip()
    lead = len(text) - len(text.lstrip())
    if not stripped:
        raise SpecError(field, "empty JSONPath", _FIX)
    if stripped.startswith("{"):
        close = _matching_brace(stripped)
        if close < 0:
            raise SpecError(field, f"unclosed '{{' in {_q(text)}", "add the closing '}'")
        inner = stripped[1:close]
        offset = lead + 1 + (len(inner) - len(inner.lstrip()))
        inner = inner.strip()
        if inner == "end" or inner.startswith("range "):
            raise SpecError(field, f"{{range}}/{{end}} templates are not paths: {_q(text)}", _FIX)
        if stripped[close + 1 :].strip():
            raise SpecError(
                field,
                f"text after the closing '}}' at column {lead + close + 2} in {_q(text)}",
                "a path is a single expression; kubectl text templates are not supported",
            )
        if not inner:
            raise SpecError(field, f"empty JSONPath {_q(text)}", _FIX)
        return inner, offset
    if "}" in stripped:
        raise SpecError(
            field,
            f"unexpected '}}' at column {lead + stripped.index('}') + 1} in {_q(text)}",
            "add the opening '{' or remove the '}'",
        )
    return stripped, lead


def _matching_brace(text: str) -> int:
    """Index of the '}' closing the '{' at 0, skipping quoted strings; -1 if none."""
    depth = 0
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


class _Parser:
    """Recursive-descent parser from path text to a list of step builders."""

    def __init__(self, text: str, body: str, offset: int, field: str) -> None:
        self.text = text
        self.s = body
        self.offset = offset
        self.field = field
        self.i = 0

    # -- helpers ---------------------------------------------------------------------------
    def error(self, message: str, fix: str = _FIX, at: int | None = None) -> SpecError:
        column = self.offset + (self.i if at is None else at) + 1
        return SpecError(self.field, f"{message} at column {column} in {_q(self.text)}", fix)

    def peek(self, n: int = 0) -> str:
        j = self.i + n
        return self.s[j] if j < len(self.s) else ""

    def skip_space(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def expect(self, ch: str) -> None:
        self.skip_space()
        if self.peek() != ch:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.error(f"expected '{ch}', found {found}")
        self.i += 1

    # -- grammar ---------------------------------------------------------------------------
    def parse_path(self, top: bool, stop: str = "") -> list[_Link]:
        """Segments up to the end (or, inside a filter, up to a comparison/closing paren)."""
        links: list[_Link] = []
        if top and self.peek() == "$":
            self.i += 1
        if top and self.s[self.i :] == ".":
            self.i += 1
            return links
        if top and self.i < len(self.s) and self.peek() not in ".[":
            raise self.error(
                f"unknown token {self.peek()!r}",
                "start the path with '.', e.g. {.metadata.name}",
            )
        while self.i < len(self.s):
            ch = self.peek()
            if stop and (ch in stop or ch in " \t"):
                break
            if ch == "." and self.peek(1) == ".":
                self.i += 2
                links.append(_descend)
                if self.peek() == "[":
                    continue
                if self.peek() == "*":
                    self.i += 1
                    links.append(_wildcard)
                    continue
                links.append(_key(self.read_key("'..'")))
            elif ch == ".":
                self.i += 1
                if self.peek() == "*":
                    self.i += 1
                    links.append(_wildcard)
                else:
                    links.append(_key(self.read_key("'.'")))
            elif ch == "[":
                links.append(self.parse_bracket())
            else:
                raise self.error(f"unknown token {ch!r}")
        return links

    def read_key(self, after: str) -> str:
        start = self.i
        out: list[str] = []
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "\\" and self.i + 1 < len(self.s):
                out.append(self.s[self.i + 1])
                self.i += 2
                continue
            if ch in _KEY_END:
                break
            out.append(ch)
            self.i += 1
        if not out:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.error(f"expected a key after {after}, found {found}", at=start)
        return "".join(out)

    def parse_bracket(self) -> _Link:
        open_at = self.i
        self.i += 1
        self.skip_space()
        ch = self.peek()
        if not ch:
            raise self.error("unclosed '['", "add the closing ']'", at=open_at)
        if ch in "'\"":
            keys = [self.read_string()]
            self.skip_space()
            while self.peek() == ",":
                self.i += 1
                self.skip_space()
                if self.peek() not in ("'", '"'):
                    raise self.error("expected a quoted key")
                keys.append(self.read_string())
                self.skip_space()
            self.close_bracket(open_at)
            return _key(keys[0]) if len(keys) == 1 else _keys(tuple(keys))
        if ch == "*":
            self.i += 1
            self.close_bracket(open_at)
            return _wildcard
        if ch == "?":
            self.i += 1
            link = self.parse_filter()
            self.close_bracket(open_at)
            return link
        return self.parse_index(open_at)

    def close_bracket(self, open_at: int) -> None:
        self.skip_space()
        if self.peek() != "]":
            if not self.peek():
                raise self.error("unclosed '['", "add the closing ']'", at=open_at)
            raise self.error(f"unknown token {self.peek()!r} inside '[...]'")
        self.i += 1

    def read_string(self) -> str:
        quote = self.s[self.i]
        start = self.i
        self.i += 1
        out: list[str] = []
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "\\" and self.i + 1 < len(self.s):
                out.append(self.s[self.i + 1])
                self.i += 2
                continue
            if ch == quote:
                self.i += 1
                return "".join(out)
            out.append(ch)
            self.i += 1
        raise self.error(f"unclosed string {quote}...", f"add the closing {quote}", at=start)

    def read_int(self) -> int | None:
        self.skip_space()
        start = self.i
        if self.peek() in "+-":
            self.i += 1
        while self.peek().isdigit():
            self.i += 1
        digits = self.s[start : self.i]
        if digits in ("", "+", "-"):
            self.i = start
            return None
        self.skip_space()
        return int(digits)

    def parse_index(self, open_at: int) -> _Link:
        parts: list[int | None] = [self.read_int()]
        while self.peek() == ":" and len(parts) < 3:
            self.i += 1
            parts.append(self.read_int())
        if len(parts) == 1:
            if parts[0] is None:
                raise self.error(
                    f"unknown token {self.peek()!r} inside '[...]'",
                    "use [N], [a:b], [*], ['key'] or [?(@.field==\"value\")]",
                )
            self.close_bracket(open_at)
            return _index(parts[0])
        if len(parts) == 3 and parts[2] == 0:
            raise self.error("slice step must not be 0", "use a step of 1 or more")
        self.close_bracket(open_at)
        start, stop = parts[0], parts[1]
        step = parts[2] if len(parts) == 3 else None
        return _slice(slice(start, stop, step))

    def parse_filter(self) -> _Link:
        self.expect("(")
        self.skip_space()
        if self.peek() != "@":
            raise self.error("a filter must start with '@'", 'e.g. [?(@.type=="Ready")]')
        self.i += 1
        sub = self.parse_path(top=False, stop="=!<>)")
        left = _assemble(sub)
        keys = _plain_keys(sub)
        self.skip_space()
        op_text = ""
        for candidate in ("==", "!=", "<=", ">=", "<", ">"):
            if self.s.startswith(candidate, self.i):
                op_text = candidate
                break
        if not op_text:
            if self.peek() == "=":
                raise self.error("use '==' to compare", 'e.g. [?(@.type=="Ready")]')
            self.expect(")")
            if keys:
                return _filter(_key_exists_test(_key_getter(keys)))
            return _filter(_exists_test(left))
        self.i += len(op_text)
        self.skip_space()
        literal = self.read_literal()
        self.expect(")")
        if keys:
            return _filter(_key_compare_test(_key_getter(keys), op_text, literal))
        return _filter(_compare_test(left, _OPS[op_text], literal))

    def read_literal(self) -> str | int | float:
        ch = self.peek()
        if ch in ("'", '"'):
            return self.read_string()
        start = self.i
        while self.peek() and (self.peek().isdigit() or self.peek() in "+-.eE"):
            self.i += 1
        token = self.s[start : self.i]
        try:
            return int(token)
        except ValueError:
            pass
        try:
            return float(token)
        except ValueError:
            self.i = start
            raise self.error(
                "expected a quoted string or a number to compare with",
                'e.g. [?(@.status=="True")] or [?(@.replicas>2)]',
            ) from None


# -- step builders ---------------------------------------------------------------------------


def _emit(value: Any, out: list[Any]) -> None:
    out.append(value)


def _plain_keys(links: list[_Link]) -> tuple[str, ...] | None:
    """The keys when every step is a plain ``.key`` (the fast path), else None."""
    keys = tuple(link.key for link in links if isinstance(link, _KeyLink))
    return keys if len(keys) == len(links) else None


def _is_map(value: Any) -> bool:
    """``isinstance(value, Mapping)``, with the common case (a dict from JSON) checked first."""
    return type(value) is dict or isinstance(value, Mapping)


def _assemble(links: list[_Link]) -> Callable[[Any], list[Any]]:
    """Join step builders into one ``obj -> list`` function (plain keys get a fast path)."""
    keys = _plain_keys(links)
    if keys is not None:
        return _key_chain(keys)
    step: _Step = _emit
    for link in reversed(links):
        step = link(step)
    first = step

    def values(obj: Any) -> list[Any]:
        out: list[Any] = []
        first(obj, out)
        return out

    return values


def _key_chain(keys: tuple[str, ...]) -> Callable[[Any], list[Any]]:
    """``obj[k1][k2]...`` with every failure meaning "nothing selected"."""
    if len(keys) == 1:
        (only,) = keys

        def one(obj: Any) -> list[Any]:
            if _is_map(obj):
                value = obj.get(only, _MISSING)
                if value is not _MISSING:
                    return [value]
            return []

        return one

    def chain(obj: Any) -> list[Any]:
        for key in keys:
            if not _is_map(obj):
                return []
            obj = obj.get(key, _MISSING)
            if obj is _MISSING:
                return []
        return [obj]

    return chain


_MISSING: Any = object()


class _KeyLink:
    """``.key`` / ``['key']``: a mapping's value under one key."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, nxt: _Step) -> _Step:
        key = self.key

        def step(value: Any, out: list[Any]) -> None:
            if _is_map(value):
                found = value.get(key, _MISSING)
                if found is not _MISSING:
                    nxt(found, out)

        return step


def _key(key: str) -> _Link:
    return _KeyLink(key)


def _keys(keys: tuple[str, ...]) -> _Link:
    def link(nxt: _Step) -> _Step:
        def step(value: Any, out: list[Any]) -> None:
            if _is_map(value):
                for key in keys:
                    found = value.get(key, _MISSING)
                    if found is not _MISSING:
                        nxt(found, out)

        return step

    return link


def _index(index: int) -> _Link:
    def link(nxt: _Step) -> _Step:
        def step(value: Any, out: list[Any]) -> None:
            if isinstance(value, list) and -len(value) <= index < len(value):
                nxt(value[index], out)

        return step

    return link


def _slice(part: slice) -> _Link:
    def link(nxt: _Step) -> _Step:
        def step(value: Any, out: list[Any]) -> None:
            if isinstance(value, list):
                for item in value[part]:
                    nxt(item, out)

        return step

    return link


def _wildcard(nxt: _Step) -> _Step:
    """``[*]`` / ``.*``: every item of a list, every value of a mapping."""

    def step(value: Any, out: list[Any]) -> None:
        if isinstance(value, list):
            for item in value:
                nxt(item, out)
        elif _is_map(value):
            for item in value.values():
                nxt(item, out)

    return step


def _descend(nxt: _Step) -> _Step:
    """``..``: the value itself and everything nested in it, depth first, in document order."""

    def step(value: Any, out: list[Any]) -> None:
        nxt(value, out)
        if isinstance(value, list):
            for item in value:
                step(item, out)
        elif _is_map(value):
            for item in value.values():
                step(item, out)

    return step


_Test = Callable[[Any], bool]


def _filter(test: _Test) -> _Link:
    """``[?(...)]``: the items of a list for which the test holds."""

    def link(nxt: _Step) -> _Step:
        def step(value: Any, out: list[Any]) -> None:
            if isinstance(value, list):
                for item in value:
                    if test(item):
                        nxt(item, out)

        return step

    return link


def _exists_test(left: Callable[[Any], list[Any]]) -> _Test:
    return lambda item: bool(left(item))


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compare_test(
    left: Callable[[Any], list[Any]], op: Callable[[Any, Any], bool], literal: str | int | float
) -> _Test:
    """Holds when some value at the left path has the literal's type and compares true."""
    same_kind: Callable[[Any], bool] = (
        (lambda v: isinstance(v, str)) if isinstance(literal, str) else _is_number
    )

    def test(item: Any) -> bool:
        return any(same_kind(v) and op(v, literal) for v in left(item))

    return test


def _key_getter(keys: tuple[str, ...]) -> Callable[[Any], Any]:
    """``item[k1][k2]...`` or ``_MISSING``: a filter's left side when it is plain keys."""
    if len(keys) == 1:
        (only,) = keys

        def one(item: Any) -> Any:
            return item.get(only, _MISSING) if _is_map(item) else _MISSING

        return one

    def chain(item: Any) -> Any:
        for key in keys:
            if not _is_map(item):
                return _MISSING
            item = item.get(key, _MISSING)
            if item is _MISSING:
                return _MISSING
        return item

    return chain


def _key_exists_test(get: Callable[[Any], Any]) -> _Test:
    return lambda item: get(item) is not _MISSING


def _key_compare_test(get: Callable[[Any], Any], op_text: str, literal: str | int | float) -> _Test:
    """The common ``@.a.b == "x"``: one value, no list built per item."""
    if op_text == "==" and isinstance(literal, str):
        return lambda item: get(item) == literal  # only an equal string equals a string
    op = _OPS[op_text]
    same_kind: Callable[[Any], bool] = (
        (lambda v: isinstance(v, str)) if isinstance(literal, str) else _is_number
    )

    def test(item: Any) -> bool:
        value = get(item)
        return value is not _MISSING and same_kind(value) and op(value, literal)

    return test

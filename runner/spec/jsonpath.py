"""kubectl's JSONPath, read as ``kubectl get -o jsonpath`` reads it, compiled once.

Users paste paths from kubectl, so the grammar, the selection and the printing
follow kubectl (k8s.io/client-go/util/jsonpath and kubectl's JSONPath printer),
quirks included: ``['a.b']`` is the path ``.a.b`` (a dot inside a key is
written ``\\.``), a union ``[0,2]`` or ``['a','b']`` selects member by member,
an index out of range is an error, ``..`` yields the containers (and non-empty
strings) it passes, and a value prints as kubectl prints it (``render_value``).
The tests under tests/conformance check this against the Go packages.

The differences are deliberate and listed in docs/spec.md: a path is one
``{...}`` expression (the braces may be left out); constructs kubectl parses but
that print constants or always fail when run (words such as ``range``, literals
outside a filter, a slice step of 0 or less, an unknown filter operator) are
refused here; and where kubectl stops with an error at run time (``[0]`` on an
empty list, ``[*]`` on a map, comparing a string with a number) the path selects
nothing instead.

A path is parsed a single time (filters run on every event) into a list of
steps, each a function from the values selected so far to the next values; a
path of plain keys (``{.status.phase}``) becomes one key loop.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

from runner.spec.errors import SpecError
from runner.spec.integers import parse_int64

_FIX = 'write one expression in kubectl syntax, e.g. "{.status.conditions[0].type}"'
_INT64 = 1 << 63


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled path. ``values(obj)`` returns every value it selects, in kubectl's order."""

    source: str
    values: Callable[[Any], list[Any]] = field(compare=False, repr=False)


# -- printing ------------------------------------------------------------------------------


def render_value(value: Any) -> str:
    """A selected value as kubectl prints it.

    Strings as they are, ``null``, ``true``/``false``, numbers as Go's ``%v``
    (``1.234567895e+08``), maps and lists as Go's compact JSON (sorted keys,
    ``3.0`` as ``3``, ``<``, ``>`` and ``&`` escaped).
    """
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value) if -_INT64 <= value < _INT64 else _go_float(float(value), 6)
    if kind is float:
        return _go_float(value, 6)
    if value is None:
        return "null"
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return render_value(int(value))
    if isinstance(value, float):
        return _go_float(float(value), 6)
    if isinstance(value, (Mapping, list, tuple)):
        out: list[str] = []
        _write_json(value, out)
        return "".join(out)
    return str(value)


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest digits that read back as ``abs(value)`` and where the point goes.

    ``(d, p)`` means ``0.d × 10**p``: 123.5 is ("1235", 3). Python's repr and
    Go's formatting both use the shortest round-trip digits.
    """
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    return stripped.rstrip("0") or "0", point


def _go_float(value: float, exponent_at: int) -> str:
    """Go's shortest ``%g`` style: plain digits, or ``d.ddde+XX`` from 10**exponent_at up.

    ``exponent_at`` is 6 for ``fmt``'s ``%v``; JSON uses its own rule (``_json_float``).
    """
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits, point = _shortest_digits(value)
    exponent = point - 1
    if exponent < -4 or exponent >= exponent_at:
        return sign + _e_form(digits, exponent)
    return sign + _f_form(digits, point)


def _e_form(digits: str, exponent: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _f_form(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def _json_float(value: float) -> str:
    """A float as Go's encoding/json writes it: plain below 1e21, ``1e-7`` style beyond."""
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits, point = _shortest_digits(value)
    if 1e-6 <= abs(value) < 1e21:
        return sign + _f_form(digits, point)
    text = _e_form(digits, point - 1)
    if text[-4:-1] == "e-0":  # Go trims e-07 to e-7
        text = text[:-2] + text[-1]
    return sign + text


#: characters Go's JSON encoder escapes that Python's leaves alone
_GO_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _json_string(text: str) -> str:
    return encode_basestring(text).translate(_GO_JSON_ESCAPES)


def _write_json(value: Any, out: list[str]) -> None:
    """Compact JSON as Go's json.Marshal writes a map[string]interface{} tree."""
    kind = type(value)
    if kind is str or isinstance(value, str):
        out.append(_json_string(value))
    elif value is None:
        out.append("null")
    elif kind is bool or isinstance(value, bool):
        out.append("true" if value else "false")
    elif kind is int or isinstance(value, int):
        out.append(str(value) if -_INT64 <= value < _INT64 else _json_float(float(value)))
    elif kind is float or isinstance(value, float):
        out.append(_json_float(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, key in enumerate(sorted(value, key=str)):
            if i:
                out.append(",")
            out.append(_json_string(str(key)))
            out.append(":")
            _write_json(value[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write_json(item, out)
        out.append("]")
    else:
        out.append(_json_string(str(value)))


# -- the parse tree (kubectl's node kinds) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    """``.name``: a map's value under one key."""

    name: str


@dataclass(frozen=True, slots=True)
class _Array:
    """``[i]``, ``[a:b:c]``, ``[*]``: kubectl's index/slice parameters (None: not given)."""

    start: int | None
    end: int | None
    end_derived: bool  # [i] is read as [i:i+1]; a derived end of 0 counts from the end
    step: int | None


@dataclass(frozen=True, slots=True)
class _Filter:
    """``[?(left op right)]``, or ``[?(left)]`` (op "exists")."""

    left: tuple[Any, ...]
    op: str
    right: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Union:
    """``[x,y]``: each member path on all the input, one member after the other."""

    members: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True, slots=True)
class _Wildcard:
    """``.*``: a map's values, a list's items, a string's UTF-8 bytes."""


@dataclass(frozen=True, slots=True)
class _Recursive:
    """``..``: every map, list and non-empty string at or under the value."""


@dataclass(frozen=True, slots=True)
class _Literal:
    """A quoted string, number or true/false: a constant (kubectl's text/int/float/bool)."""

    value: Any
    per_input: bool  # numbers and booleans repeat per input value; a string stands alone


@dataclass(frozen=True, slots=True)
class _Word:
    """A bare word that is not true/false (``range``, ``end``, a typo): kubectl fails on it."""

    name: str


#: the ids of the deliberate differences from kubectl (docs/spec.md, runner/spec/differences.py)
ONE_EXPRESSION = "jsonpath-one-expression"
REFUSED_CONSTRUCTS = "jsonpath-refused-constructs"
RUNTIME_ERRORS = "jsonpath-runtime-errors"


class JsonPathError(SpecError):
    """A path the runner refuses; ``difference`` names the deliberate difference when
    kubectl would have accepted it (empty when kubectl refuses it too)."""

    def __init__(self, path: str, message: str, fix: str | None, difference: str = "") -> None:
        super().__init__(path, message, fix)
        self.difference = difference


class _ParseError(Exception):
    def __init__(self, message: str, at: int, fix: str = _FIX, difference: str = "") -> None:
        """``at``: 0-based position in the parsed text, or -1 when no column applies."""
        super().__init__(message)
        self.message = message
        self.at = at
        self.fix = fix
        self.difference = difference


class _ByteEscape(ValueError):
    """A \\x80-\\xff (or octal) escape: Go makes a string that is not UTF-8."""


_DICT_KEY = re.compile(r"'([^']*)'")
_SLICE = re.compile(r"(-?[0-9]*)(:-?[0-9]*)?(:-?[0-9]*)?")
_COMPARISON = re.compile(r"([^!<>=]+)([!<>=]+)(.+)")
#: ends a key after '.', and a bare word (kubectl's isTerminator)
_TERMINATORS = frozenset(" \t\r\n.,[]$@{}")


def _is_digit(ch: str) -> bool:
    return ch.isdecimal()  # Unicode Nd, as Go's unicode.IsDigit


def _is_alphanumeric(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdecimal()


def _go_float_literal(text: str) -> float | None:
    """Go's ParseFloat on what kubectl's number scanner takes (sign, digits, dots)."""
    if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)", text):
        return None
    value = float(text)
    return None if math.isinf(value) else value


_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}


def _unquote(quoted: str) -> str:
    """A quoted string's text, with Go's escapes (kubectl's UnquoteExtend)."""
    quote, body = quoted[0], quoted[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == quote:
            raise ValueError("an unescaped quote inside the string")
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError("a backslash at the end")
        code = body[i + 1]
        i += 2
        if code in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[code])
        elif code in "'\"":
            if code != quote:
                raise ValueError(f"\\{code} inside {quote}...{quote}")
            out.append(code)
        elif code in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[code]
            digits = body[i : i + size]
            if len(digits) < size or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise ValueError(f"\\{code} needs {size} hex digits")
            i += size
            out.append(_escaped_char(code, int(digits, 16)))
        elif code in "01234567":
            digits = body[i - 1 : i + 2]
            if not re.fullmatch(r"[0-7]{3}", digits):
                raise ValueError("an octal escape needs 3 digits")
            i += 2
            out.append(_escaped_char("x", int(digits, 8)))
        else:
            raise ValueError(f"unknown escape \\{code}")
    return "".join(out)


def _escaped_char(code: str, value: int) -> str:
    if code == "x":
        if value > 0xFF:
            raise ValueError("an octal escape above \\377")
        if value >= 0x80:  # Go makes a raw byte: a string that is not UTF-8
            raise _ByteEscape(f"a byte escape above \\x7f (write \\u{value:04x} for U+{value:04X})")
        return chr(value)
    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        raise ValueError(f"\\{code}{value:x} is not a Unicode character")
    return chr(value)


class _Parser:
    """kubectl's template parser: text, and ``{...}`` actions made of nodes.

    It follows client-go's scanner rule by rule (an action is scanned token by
    token; ``[...]`` runs to the first ``]``; a bracketed key, a union member and a
    filter's sides are parsed again as actions of their own), so it accepts and
    refuses exactly what kubectl does. Positions in errors are 0-based into ``s``.
    """

    def __init__(self, text: str) -> None:
        self.s = text
        self.pos = 0

    def template(self) -> list[str | list[Any]]:
        """The template as text pieces and actions (lists of nodes)."""
        root: list[str | list[Any]] = []
        s = self.s
        while True:
            brace = s.find("{", self.pos)
            if brace < 0:
                if self.pos < len(s):
                    root.append(s[self.pos :])
                return root
            if brace > self.pos:
                root.append(s[self.pos : brace])
            self.pos = brace + 1
            action: list[Any] = []
            root.append(action)
            self.action(action, brace)

    def action(self, cur: list[Any], opened: int) -> None:
        """Nodes up to and including the closing '}'."""
        s = self.s
        while True:
            if s.startswith("}", self.pos):
                self.pos += 1
                return
            if s.startswith("[?(", self.pos):
                self.filter(cur)
                continue
            if s.startswith("..", self.pos):
                self.recursive(cur)
                continue
            if self.pos >= len(s) or s[self.pos] in "\r\n":
                raise _ParseError("unclosed '{'", -1, "add the closing '}'")
            ch = s[self.pos]
            self.pos += 1
            if ch in " @$":
                continue
            if ch == "[":
                self.bracket(cur)
            elif ch in "\"'":
                self.quoted(cur, ch)
            elif ch == ".":
                self.key(cur)
            elif ch in "+-" or _is_digit(ch):
                self.pos -= 1
                self.number(cur)
            elif _is_alphanumeric(ch):
                self.pos -= 1
                self.word(cur)
            else:
                raise _ParseError(
                    f"unrecognized character {ch!r}",
                    self.pos - 1,
                    "quote keys with such characters as ['key'], or escape them with \\",
                )

    def key(self, cur: list[Any]) -> None:
        """After '.': a key up to a terminator, '\\' escaping the next character."""
        s = self.s
        start = self.pos
        while self.pos < len(s):
            ch = s[self.pos]
            if ch == "\\":
                self.pos = min(self.pos + 2, len(s))
            elif ch in _TERMINATORS:
                break
            else:
                self.pos += 1
        text = s[start : self.pos]
        cur.append(_Wildcard() if text == "*" else _Field(text.replace("\\", "")))

    def recursive(self, cur: list[Any]) -> None:
        if cur and isinstance(cur[-1], _Recursive):
            raise _ParseError("'..' twice in a row", self.pos, "write a single '..'")
        self.pos += 2
        cur.append(_Recursive())
        if self.pos < len(self.s) and _is_alphanumeric(self.s[self.pos]):
            self.key(cur)

    def number(self, cur: list[Any]) -> None:
        s = self.s
        start = self.pos
        if s[self.pos] in "+-":
            self.pos += 1
        while self.pos < len(s) and (s[self.pos] == "." or _is_digit(s[self.pos])):
            self.pos += 1
        text = s[start : self.pos]
        whole = parse_int64(text)
        if whole is not None:
            cur.append(_Literal(whole, True))
            return
        real = _go_float_literal(text)
        if real is None:
            raise _ParseError(f"cannot read the number {text!r}", start)
        cur.append(_Literal(real, True))

    def word(self, cur: list[Any]) -> None:
        s = self.s
        start = self.pos
        while self.pos < len(s) and s[self.pos] not in _TERMINATORS:
            self.pos += 1
        text = s[start : self.pos]
        if text in ("true", "false"):
            cur.append(_Literal(text == "true", True))
        else:
            cur.append(_Word(text))

    def quoted(self, cur: list[Any], quote: str) -> None:
        s = self.s
        start = self.pos - 1
        while True:
            if self.pos >= len(s) or s[self.pos] == "\n":
                raise _ParseError(
                    f"unterminated string {quote}...", start, f"add the closing {quote}"
                )
            ch = s[self.pos]
            self.pos += 1
            if ch == quote and s[self.pos - 2] != "\\":
                break
        try:
            cur.append(_Literal(_unquote(s[start : self.pos]), False))
        except ValueError as exc:
            difference = REFUSED_CONSTRUCTS if isinstance(exc, _ByteEscape) else ""
            raise _ParseError(
                f"bad string {s[start : self.pos]}: {exc}", start, difference=difference
            ) from None

    def bracket(self, cur: list[Any]) -> None:
        """``[...]`` up to the first ']': a union, a quoted key path, or an index/slice."""
        s = self.s
        opened = self.pos - 1
        close = self.pos
        while close < len(s) and s[close] not in "]\n":
            close += 1
        if close >= len(s) or s[close] == "\n":
            raise _ParseError("unclosed '['", opened, "add the closing ']'")
        self.pos = close + 1
        text = s[opened + 1 : close]
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            members = tuple(
                tuple(self.sub_action(f"[{part.strip(' ')}]", opened)) for part in parts
            )
            cur.append(_Union(members))
            return
        key = _DICT_KEY.fullmatch(text)
        if key is not None:
            cur.extend(self.sub_action("." + key.group(1), opened))
            return
        cur.append(self.index(text, opened))

    def index(self, text: str, opened: int) -> _Array:
        found = _SLICE.fullmatch(text)
        if found is None:
            hint = (
                "quote keys with single quotes, ['key']"
                if text[:1] in "\"'"
                else "use [N], [a:b], [a:b:step], [*], ['key'], [x,y] or [?(@.field==\"value\")]"
            )
            raise _ParseError(f"invalid array index {text!r}", opened, hint)
        params: list[int | None] = []
        derived = False
        for i, group in enumerate(found.groups()):
            raw = (group or "")[1:] if i else group or ""
            if group:
                if i and not raw:
                    params.append(None)
                    continue
                number = parse_int64(raw)
                if number is None:
                    raise _ParseError(f"array index {raw!r} is not a number", opened)
                params.append(number)
            elif i == 1:
                params.append((params[0] or 0) + 1)
                derived = True
            else:
                params.append(None)
        return _Array(params[0], params[1], derived, params[2])

    def filter(self, cur: list[Any]) -> None:
        """``[?(...)]``: scanned to the ')' outside the first quoted string, then split."""
        s = self.s
        opened = self.pos
        self.pos += 3
        start = self.pos
        quote = ""
        closed_quote = False
        while True:
            if self.pos >= len(s) or s[self.pos] == "\n":
                raise _ParseError("unterminated filter", opened, "close it with ')]'")
            ch = s[self.pos]
            self.pos += 1
            if ch in "\"'":
                if not quote:
                    quote = ch
                elif ch == quote and s[self.pos - 2] != "\\":
                    closed_quote = True
            elif ch == ")" and bool(quote) == closed_quote:
                break
        if self.pos >= len(s) or s[self.pos] != "]":
            raise _ParseError("expected ']' after the filter's ')'", self.pos, "close it with ')]'")
        self.pos += 1
        text = s[start : self.pos - 2]
        parts = _COMPARISON.fullmatch(text)
        if parts is None:
            cur.append(_Filter(tuple(self.sub_action(text, opened)), "exists", ()))
            return
        left = tuple(self.sub_action(parts.group(1), opened))
        right = tuple(self.sub_action(parts.group(3), opened))
        cur.append(_Filter(left, parts.group(2), right))

    def sub_action(self, text: str, at: int) -> list[Any]:
        """``text`` parsed as an action of its own (kubectl's parseAction); errors at ``at``."""
        inner = _Parser("{" + text + "}")
        try:
            root = inner.template()
        except _ParseError as exc:
            raise _ParseError(exc.message, at, exc.fix, exc.difference) from None
        first = root[0]
        assert isinstance(first, list)
        return first


# -- from text to a compiled path ----------------------------------------------------------


def _q(text: str) -> str:
    """``text`` in double quotes, as error messages show paths."""
    return json.dumps(text, ensure_ascii=False)


def compile_path(text: str, field: str = "") -> JsonPath:
    """Compile ``text`` (``{.a.b}``, or ``.a.b`` without braces); SpecError at ``field`` if bad."""
    if not isinstance(text, str):
        raise SpecError(field, f"a JSONPath must be a string, got {type(text).__name__}", _FIX)
    nodes = _parse_path(text, field)
    try:
        _check(nodes, path_level=True)
    except _ParseError as exc:
        raise JsonPathError(
            field, f"{exc.message} in {_q(text)}", exc.fix, exc.difference
        ) from None
    return JsonPath(text, _path_function(nodes))


def without_braces(text: str) -> bool:
    """Whether ``text`` is a path without ``{...}`` (kubectl -o jsonpath prints such text as is)."""
    return isinstance(text, str) and bool(text.strip()) and "{" not in text


def _parse_path(text: str, field: str) -> list[Any]:
    """The nodes of the one action in ``text``; SpecError for anything that is not one path."""
    stripped = text.strip()
    lead = len(text) - len(text.lstrip())
    if not stripped:
        raise JsonPathError(field, "empty JSONPath", _FIX)
    braced = "{" in stripped
    source = stripped if braced else "{" + stripped + "}"
    try:
        root = _Parser(source).template()
    except _ParseError as exc:
        column = lead + max(exc.at + (1 if braced else 0), 1)
        where = f" at column {column}" if exc.at >= 0 else ""
        message = f"{exc.message}{where} in {_q(text)}"
        raise JsonPathError(field, message, exc.fix, exc.difference) from None
    actions = [part for part in root if isinstance(part, list)]
    if any(action[:1] in ([_Word("range")], [_Word("end")]) for action in actions):
        raise JsonPathError(
            field,
            f"{{range}}/{{end}} templates are not paths: {_q(text)}",
            _FIX,
            ONE_EXPRESSION,
        )
    if len(actions) > 1 or len(root) > 1:
        what = "several {...} blocks" if len(actions) > 1 else "text outside the braces"
        raise JsonPathError(
            field,
            f"{what} in {_q(text)}: that is a kubectl text template, not a path",
            "a path is one expression in braces, e.g. {.status.phase}",
            ONE_EXPRESSION,
        )
    return actions[0]


def _check(nodes: Any, path_level: bool) -> None:
    """Refuse what kubectl parses but cannot mean a path (see the module docstring)."""
    for i, node in enumerate(nodes):
        if isinstance(node, _Word):
            raise _word_error(node.name, path_level, first=i == 0)
        if isinstance(node, _Literal) and path_level:
            raise _ParseError(
                f"the constant {render_value(node.value)!r} is not a step of a path",
                -1,
                "a path selects from the object, e.g. {.a.b}; constants go on the right of a"
                ' filter comparison, [?(@.type=="Ready")]',
                REFUSED_CONSTRUCTS,
            )
        if isinstance(node, _Array) and node.step is not None and node.step <= 0:
            raise _ParseError(
                f"a slice step of {node.step} (kubectl fails on it for any non-empty list)",
                -1,
                "use a step of 1 or more; kubectl cannot reverse a list",
                REFUSED_CONSTRUCTS,
            )
        if isinstance(node, _Union):
            for member in node.members:
                _check(member, path_level)
        if isinstance(node, _Filter):
            if node.op == "=":
                raise _ParseError(
                    "use '==' to compare, not '=' (kubectl fails on '=')",
                    -1,
                    'e.g. [?(@.type=="Ready")]',
                    REFUSED_CONSTRUCTS,
                )
            if node.op not in _COMPARE and node.op != "exists":
                raise _ParseError(
                    f"unknown comparison {node.op!r} in a filter (kubectl fails on it)",
                    -1,
                    "use ==, !=, <, <=, > or >=",
                    REFUSED_CONSTRUCTS,
                )
            _check(node.left, path_level=False)
            _check(node.right, path_level=False)


def _word_error(word: str, path_level: bool, first: bool) -> _ParseError:
    """A bare word: kubectl parses it (as a template keyword) and fails when it runs."""
    if word in ("range", "end"):
        return _ParseError(
            f"{{{word}}} is a kubectl template keyword, not a path", -1, _FIX, ONE_EXPRESSION
        )
    if not path_level:
        return _ParseError(
            f"expected a quoted string or a number to compare with, found {word!r}",
            -1,
            f'quote it: [?(@.type=="{word}")]',
            REFUSED_CONSTRUCTS,
        )
    return _ParseError(
        f"{word!r} is not a key: a key follows a dot",
        -1,
        f"start the path with '.', e.g. {{.{word}...}}"
        if first
        else "write {.a.b}; a space or dot inside a key takes a backslash: {.a.my\\ key}",
        REFUSED_CONSTRUCTS,
    )


# -- evaluation ----------------------------------------------------------------------------
#
# Each step maps the values selected so far to the next ones, as kubectl evaluates
# one node over all its input. Where kubectl stops with an error a step raises
# _Fail carrying what kubectl's function returns with the error (a filter's
# existence test uses it); the path as a whole then selects nothing.

_Values = list[Any]
_Step = Callable[[_Values], _Values]
_MISSING: Any = object()


class _Fail(Exception):
    """kubectl would stop here with an error; ``values`` is what it returns alongside."""

    def __init__(self, values: _Values) -> None:
        super().__init__()
        self.values = values


class _Mismatch(Exception):
    """Two values kubectl refuses to compare (a string and a number, null, a map...)."""


def _path_function(nodes: list[Any]) -> Callable[[Any], _Values]:
    if all(isinstance(node, _Field) for node in nodes) and nodes:
        return _key_chain(tuple(node.name for node in nodes))
    steps = _steps(nodes)

    def values(obj: Any) -> _Values:
        found = [obj]
        try:
            for step in steps:
                found = step(found)
                if not found:
                    return found
        except _Fail:
            return []
        return found

    return values


def _run(steps: tuple[_Step, ...], found: _Values) -> _Values:
    for step in steps:
        found = step(found)
    return found


def _is_map(value: Any) -> bool:
    """``isinstance(value, Mapping)``, with the common case (a dict from JSON) checked first."""
    return type(value) is dict or isinstance(value, Mapping)


def _key_chain(keys: tuple[str, ...]) -> Callable[[Any], _Values]:
    """``obj[k1][k2]...`` for one object (a whole path of plain keys)."""
    if len(keys) == 1:
        (only,) = keys

        def one(obj: Any) -> _Values:
            if _is_map(obj):
                value = obj.get(only, _MISSING)
                if value is not _MISSING:
                    return [value]
            return []

        return one

    def chain(obj: Any) -> _Values:
        for key in keys:
            if not _is_map(obj):
                return []
            obj = obj.get(key, _MISSING)
            if obj is _MISSING:
                return []
        return [obj]

    return chain


def _steps(nodes: Any) -> tuple[_Step, ...]:
    """One step per node, with a run of plain keys merged into one step."""
    steps: list[_Step] = []
    keys: list[str] = []
    for node in nodes:
        if isinstance(node, _Field):
            keys.append(node.name)
            continue
        if keys:
            steps.append(_keys_step(tuple(keys)))
            keys = []
        steps.append(_step(node))
    if keys:
        steps.append(_keys_step(tuple(keys)))
    return tuple(steps)


def _step(node: Any) -> _Step:
    if isinstance(node, _Array):
        return _array_step(node)
    if isinstance(node, _Filter):
        return _filter_step(node)
    if isinstance(node, _Union):
        return _union_step(tuple(_steps(member) for member in node.members))
    if isinstance(node, _Wildcard):
        return _wildcard_step
    if isinstance(node, _Recursive):
        return _recursive_step
    if isinstance(node, _Literal):
        return _literal_step(node)
    raise AssertionError(f"unchecked node {node!r}")  # _check refuses words


def _keys_step(keys: tuple[str, ...]) -> _Step:
    """Keys one after the other; a value that is not a map (or lacks the key) yields nothing."""

    def step(found: _Values) -> _Values:
        out = []
        for value in found:
            for key in keys:
                if not _is_map(value):
                    break
                value = value.get(key, _MISSING)
                if value is _MISSING:
                    break
            else:
                out.append(value)
        return out

    return step


def _array_step(node: _Array) -> _Step:
    """kubectl's index/slice rules: bounds are errors, and an empty selection ends the step."""
    start, end, derived, stride = node.start, node.end, node.end_derived, node.step or 1

    def step(found: _Values) -> _Values:
        out: _Values = []
        for value in found:
            if value is None:
                continue
            if not isinstance(value, list):
                raise _Fail(found)
            size = len(value)
            first = start or 0
            if first < 0:
                first += size
            last = size if end is None else end
            if last < 0 or (last == 0 and derived):
                last += size
            if last == first:
                return out  # kubectl returns here, skipping the rest of its input
            if not (0 <= first < size and 0 <= last <= size and first <= last):
                raise _Fail(found)
            out.extend(value[first:last:stride])
        return out

    return step


def _wildcard_step(found: _Values) -> _Values:
    out: _Values = []
    for value in found:
        if _is_map(value):
            out.extend(value.values())
        elif isinstance(value, list):
            out.extend(value)
        elif isinstance(value, str):
            out.extend(value.encode("utf-8", "surrogatepass"))  # kubectl yields the bytes
    return out


def _recursive_step(found: _Values) -> _Values:
    out: _Values = []
    _descend(found, out)
    return out


def _descend(found: _Values, out: _Values) -> None:
    """Depth first: each non-empty map, list and string, then what is inside it."""
    for value in found:
        if _is_map(value):
            if value:
                out.append(value)
                _descend(list(value.values()), out)
        elif isinstance(value, list):
            if value:
                out.append(value)
                _descend(value, out)
        elif isinstance(value, str) and value:
            out.append(value)  # its bytes have nothing inside them


def _union_step(members: tuple[tuple[_Step, ...], ...]) -> _Step:
    def step(found: _Values) -> _Values:
        out: _Values = []
        for member in members:
            try:
                out.extend(_run(member, found))
            except _Fail:
                raise _Fail(found) from None
        return out

    return step


def _literal_step(node: _Literal) -> _Step:
    value = node.value
    if node.per_input:
        return lambda found: [value] * len(found)
    return lambda found: [value]


# -- filters ---------------------------------------------------------------------------------

_Test = Callable[[Any], bool]


def _filter_step(node: _Filter) -> _Step:
    test = _filter_test(node)

    def step(found: _Values) -> _Values:
        out: _Values = []
        for value in found:
            if not isinstance(value, list):
                raise _Fail(found)
            for item in value:
                try:
                    if test(item):
                        out.append(item)
                except _Mismatch:
                    raise _Fail(out) from None
                except _Fail:
                    raise _Fail(found) from None
        return out

    return step


def _operand(nodes: tuple[Any, ...]) -> Callable[[Any], _Values]:
    """One side of a filter: the values it selects from one item (may raise _Fail)."""
    if all(isinstance(node, _Field) for node in nodes):
        get = _key_getter(tuple(node.name for node in nodes))

        def plain(item: Any) -> _Values:
            value = get(item)
            return [] if value is _MISSING else [value]

        return plain
    steps = _steps(nodes)
    return lambda item: _run(steps, [item])


def _filter_test(node: _Filter) -> _Test:
    if node.op == "exists":
        return _exists_test(node.left)
    compare = _COMPARE[node.op]
    constant = _constant(node.right)
    if constant is not _MISSING and all(isinstance(n, _Field) for n in node.left):
        return _key_compare_test(_key_getter(tuple(n.name for n in node.left)), compare, constant)
    left, right = _operand(node.left), _operand(node.right)

    def test(item: Any) -> bool:
        lefts = left(item)
        if not lefts:
            return False
        if len(lefts) > 1:
            raise _Fail([])  # kubectl: "can only compare one element at a time"
        rights = right(item)
        if not rights:
            return False
        if len(rights) > 1:
            raise _Fail([])
        return compare(lefts[0], rights[0])

    return test


def _exists_test(nodes: tuple[Any, ...]) -> _Test:
    if all(isinstance(node, _Field) for node in nodes):
        get = _key_getter(tuple(node.name for node in nodes))
        return lambda item: get(item) is not _MISSING
    left = _operand(nodes)

    def test(item: Any) -> bool:
        try:
            return bool(left(item))
        except _Fail as failed:  # kubectl ignores the error and looks at what came back
            return bool(failed.values)

    return test


def _constant(nodes: tuple[Any, ...]) -> Any:
    """The value of a right side that is one literal, else _MISSING."""
    if len(nodes) == 1 and isinstance(nodes[0], _Literal):
        return nodes[0].value
    return _MISSING


def _key_getter(keys: tuple[str, ...]) -> Callable[[Any], Any]:
    """``item[k1][k2]...`` or ``_MISSING``: a filter side made of plain keys."""
    if not keys:
        return lambda item: item
    if len(keys) == 1:
        (only,) = keys
        return lambda item: item.get(only, _MISSING) if _is_map(item) else _MISSING

    def chain(item: Any) -> Any:
        for key in keys:
            if not _is_map(item):
                return _MISSING
            item = item.get(key, _MISSING)
            if item is _MISSING:
                return _MISSING
        return item

    return chain


def _key_compare_test(get: Callable[[Any], Any], compare: _Compare, constant: Any) -> _Test:
    """The common ``@.a.b == "x"``: one value against one literal, no lists built."""
    if compare is _equal and type(constant) is str:

        def equals_text(item: Any) -> bool:
            value = get(item)
            if value is _MISSING:
                return False
            if type(value) is str:
                return value == constant
            return _equal(value, constant)

        return equals_text

    def test(item: Any) -> bool:
        value = get(item)
        return value is not _MISSING and compare(value, constant)

    return test


# -- comparisons as kubectl's template functions make them -----------------------------------

_Compare = Callable[[Any, Any], bool]


def _comparable(value: Any) -> tuple[str, Any]:
    """(kind, value): kubectl compares only two strings, two numbers of one kind, two booleans."""
    kind = type(value)
    if kind is str or isinstance(value, str):
        return "string", value
    if kind is bool or isinstance(value, bool):
        return "bool", value
    if kind is int or isinstance(value, int):
        # an integer beyond int64 reaches kubectl as a float64
        return ("int", value) if -_INT64 <= value < _INT64 else ("float", float(value))
    if kind is float or isinstance(value, float):
        return "float", value
    raise _Mismatch


def _equal(left: Any, right: Any) -> bool:
    left_kind, left = _comparable(left)
    right_kind, right = _comparable(right)
    if left_kind != right_kind:
        raise _Mismatch
    return left == right  # type: ignore[no-any-return]


def _less(left: Any, right: Any) -> bool:
    left_kind, left = _comparable(left)
    right_kind, right = _comparable(right)
    if left_kind != right_kind or left_kind == "bool":
        raise _Mismatch
    return left < right  # type: ignore[no-any-return]


_COMPARE: dict[str, _Compare] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _less,
    "<=": lambda a, b: _less(a, b) or _equal(a, b),
    ">": lambda a, b: not (_less(a, b) or _equal(a, b)),
    ">=": lambda a, b: not _less(a, b),
}

"""Label and field selectors, read exactly as the API server reads them.

Selectors are sent to the API server as query parameters, which would reject a
bad one only when the runner starts watching. Parsing them here names the
field at ``kubectl trigger validate``/``apply`` time instead, gives the server
one canonical text, and lets actions that pick objects by label
(``rolloutRestart``) match labels locally with the same rules the server uses.

The grammar and the canonical text are apimachinery's (``labels.Parse``,
``fields.ParseSelector``), checked against the real code by the conformance
suite: ``x in ()`` selects an empty value, ``x in (a,)`` also the empty value,
``x>5``/``x<5`` compare integers, and field selector values are taken as
written (``a!= web`` compares with " web"). Two deliberate differences
(runner/spec/differences.py): an empty selector is refused rather than read
as "everything", and a field name must be a dotted name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from runner.spec.errors import SpecError
from runner.spec.integers import parse_int64

_LABEL_FIX = "write e.g. app=web,tier!=db,env in (prod,staging),!legacy"
_FIELD_FIX = "write e.g. metadata.name=web-config or status.phase!=Running"
_EMPTY_FIX = "omit the field to select everything, or "

_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
_FIELD_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")


def label_key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid label key (``[prefix/]name``), or None when it is."""
    parts = key.split("/")
    if len(parts) > 2:
        return f"label key {key!r} has more than one '/'"
    prefix, name = parts if len(parts) == 2 else ("", parts[0])
    if len(parts) == 2 and not prefix:
        return f"label key {key!r} has an empty prefix before '/'"
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return (
            f"label key prefix {prefix!r} must be a DNS subdomain "
            "(lowercase letters, digits, '-' and '.', at most 253 characters)"
        )
    if not name:
        return f"label key {key!r} has an empty name"
    if len(name) > 63 or not _NAME.fullmatch(name):
        return (
            f"label key name {name!r} must be at most 63 characters: letters, digits, "
            "'-', '_' and '.', starting and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` is not a valid label value (may be empty), or None when it is."""
    if value and (len(value) > 63 or not _NAME.fullmatch(value)):
        return (
            f"label value {value!r} must be at most 63 characters: letters, digits, "
            "'-', '_' and '.', starting and ending with a letter or digit"
        )
    return None


# -- label selectors -----------------------------------------------------------------------


def _has(labels: Mapping[str, str], req: Requirement) -> bool:
    return req.key in labels


def _lacks(labels: Mapping[str, str], req: Requirement) -> bool:
    return req.key not in labels


def _in(labels: Mapping[str, str], req: Requirement) -> bool:
    return req.key in labels and labels[req.key] in req.value_set


def _not_in(labels: Mapping[str, str], req: Requirement) -> bool:
    return req.key not in labels or labels[req.key] not in req.value_set


def _greater(labels: Mapping[str, str], req: Requirement) -> bool:
    value = parse_int64(labels[req.key]) if req.key in labels else None
    return value is not None and value > int(req.values[0])


def _less(labels: Mapping[str, str], req: Requirement) -> bool:
    value = parse_int64(labels[req.key]) if req.key in labels else None
    return value is not None and value < int(req.values[0])


#: operator -> (test of an object's labels, text between key and values)
_LABEL_OPS: dict[str, tuple[Callable[[Mapping[str, str], Requirement], bool], str]] = {
    "exists": (_has, ""),
    "!": (_lacks, ""),
    "=": (_in, "="),
    "==": (_in, "=="),
    "!=": (_not_in, "!="),
    "in": (_in, " in "),
    "notin": (_not_in, " notin "),
    "gt": (_greater, ">"),
    "lt": (_less, "<"),
}


@dataclass(frozen=True, slots=True)
class Requirement:
    """One term of a label selector: ``key``, ``!key``, ``key=v``, ``key in (a,b)``, ``key>5``."""

    key: str
    op: str  # one of _LABEL_OPS
    values: tuple[str, ...] = ()  # sorted, without duplicates
    value_set: frozenset[str] = field(default=frozenset(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value_set", frozenset(self.values))

    def holds(self, labels: Mapping[str, str]) -> bool:
        """Whether this term holds for ``labels``."""
        return _LABEL_OPS[self.op][0](labels, self)

    @property
    def text(self) -> str:
        """The term in canonical kubectl syntax (as apimachinery prints it)."""
        if self.op == "exists":
            return self.key
        if self.op == "!":
            return f"!{self.key}"
        joined = ",".join(self.values)
        if self.op in ("in", "notin"):
            joined = f"({joined})"
        return f"{self.key}{_LABEL_OPS[self.op][1]}{joined}"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed label selector; ``text`` is what the API server is sent."""

    text: str
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with ``labels`` is selected (every term must hold)."""
        labels = labels or {}
        return all(req.holds(labels) for req in self.requirements)


# Tokens as apimachinery's lexer makes them: (kind, text, column). Kinds: "id" (any run of
# characters that are neither special nor space; "in"/"notin" are keywords only where an
# operator is expected), one of the operators below, or "end".
_SPECIAL = "=!(),<>"
_LABEL_SPACE = " \t\r\n"
_TWO_CHAR = ("!=", "==")


def _label_tokens(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _LABEL_SPACE:
            pos += 1
        if pos == end:
            tokens.append(("end", "", pos))
            return tokens
        if text[pos] in _SPECIAL:
            width = 2 if text[pos : pos + 2] in _TWO_CHAR else 1
            tokens.append((text[pos : pos + width], text[pos : pos + width], pos))
            pos += width
            continue
        start = pos
        while pos < end and text[pos] not in _SPECIAL and text[pos] not in _LABEL_SPACE:
            pos += 1
        tokens.append(("id", text[start:pos], start))


class _LabelParser:
    """apimachinery's label selector grammar, one requirement at a time."""

    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field
        self.tokens = _label_tokens(text)
        self.pos = 0

    def fail(self, message: str, fix: str = _LABEL_FIX) -> SpecError:
        column = self.tokens[min(self.pos, len(self.tokens) - 1)][2]
        return SpecError(self.field, f"{message} at column {column + 1} in {self.text!r}", fix)

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def shown(self, token: tuple[str, str, int]) -> str:
        return "the end" if token[0] == "end" else repr(token[1])

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind = self.peek()[0]
            if kind == "end":
                return reqs
            if kind not in ("id", "!"):
                raise self.fail(f"expected a label key or '!' but found {self.shown(self.peek())}")
            reqs.append(self.requirement())
            after = self.take()
            if after[0] == "end":
                return reqs
            if after[0] != ",":
                self.pos -= 1
                raise self.fail(f"expected ',' or the end but found {self.shown(after)}")
            if self.peek()[0] not in ("id", "!"):
                raise self.fail(
                    f"expected a label key after ',' but found {self.shown(self.peek())}"
                )

    def requirement(self) -> Requirement:
        negated = self.peek()[0] == "!"
        if negated:
            self.pos += 1
        kind, key, _ = self.peek()
        if kind != "id":
            raise self.fail(f"expected a label key but found {self.shown(self.peek())}")
        problem = label_key_problem(key)
        if problem:
            raise self.fail(problem)
        self.pos += 1
        if negated:
            return Requirement(key, "!")
        if self.peek()[0] in ("end", ","):
            return Requirement(key, "exists")
        kind, word, _ = self.take()
        op = {"id": word}.get(kind, kind)
        if op in ("in", "notin"):
            values = self.value_list(op)
        elif op in ("=", "==", "!=", ">", "<"):
            values = self.exact_value(op)
        else:
            self.pos -= 1
            raise self.fail(
                f"unknown operator {word!r}",
                "use =, ==, !=, in, notin, >, <, or key / !key alone; " + _LABEL_FIX,
            )
        for value in values:
            problem = label_value_problem(value)
            if problem:
                self.pos -= 1
                raise self.fail(problem)
        if op in (">", "<"):
            if parse_int64(values[0]) is None:
                self.pos -= 1
                raise self.fail(f"{op!r} needs a whole number, got {values[0]!r}")
            return Requirement(key, "gt" if op == ">" else "lt", values)
        return Requirement(key, op, tuple(sorted(set(values))))

    def exact_value(self, op: str) -> tuple[str, ...]:
        kind, word, _ = self.peek()
        if kind in ("end", ","):
            return ("",)  # key= selects an empty value
        if kind != "id":
            raise self.fail(f"expected a value after {op!r} but found {word!r}")
        self.pos += 1
        return (word,)

    def value_list(self, op: str) -> tuple[str, ...]:
        if self.take()[0] != "(":
            self.pos -= 1
            raise self.fail(f"expected '(' after {op!r}")
        values: list[str] = []
        if self.peek()[0] == ")":  # "()" is the empty value
            self.pos += 1
            return ("",)
        if self.peek()[0] not in ("id", ","):
            raise self.fail("expected a value, ',' or ')'")
        # an empty item (leading, trailing or doubled ',') is the empty value
        while True:
            kind, word, _ = self.take()
            if kind == "id":
                values.append(word)
                if self.peek()[0] == ")":
                    break
                if self.peek()[0] != ",":
                    raise self.fail("expected ',' or ')' in the value list")
            elif kind == ",":
                if not values:
                    values.append("")
                if self.peek()[0] == ")":
                    values.append("")
                    break
                if self.peek()[0] == ",":
                    self.pos += 1
                    values.append("")
            else:
                self.pos -= 1
                raise self.fail("expected a value or ',' in the value list")
        self.pos += 1  # the ")"
        return tuple(values)


def parse_label_selector(text: str, field: str = "") -> LabelSelector:
    """Parse kubectl label-selector syntax; raises SpecError at ``field``."""
    if not isinstance(text, str):
        raise SpecError(field, f"a label selector must be a string, got {type(text).__name__}")
    reqs = _LabelParser(text, field).parse()
    if not reqs:
        raise SpecError(field, "empty label selector", _EMPTY_FIX + _LABEL_FIX)
    ordered = tuple(sorted(reqs, key=lambda r: r.key))
    return LabelSelector(",".join(r.text for r in ordered), ordered)


# -- field selectors -----------------------------------------------------------------------


def _escape_field_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A checked field selector; ``text`` is what the API server is sent."""

    text: str
    terms: tuple[tuple[str, str, str], ...]  # (field, "=" or "!=", value unescaped)

    def matches(self, fields: Mapping[str, str]) -> bool:
        """Whether an object with these field values is selected (a missing field is "")."""
        return all((fields.get(name, "") == value) == (op == "=") for name, op, value in self.terms)


def _split_terms(text: str) -> list[str]:
    """Split at ``,`` not escaped by a backslash; escapes are kept for the value reader."""
    terms: list[str] = []
    start, escaped = 0, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _unescape_field_value(value: str, term: str, field: str) -> str:
    out: list[str] = []
    escaped = False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise SpecError(
                    field,
                    f"invalid escape '\\{char}' in the value of {term!r}",
                    "only \\\\, \\, and \\= are escapes in a field selector value",
                )
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise SpecError(
                field,
                f"unescaped {char!r} in the value of {term!r}",
                f"write it as \\{char} (the API server refuses a bare one)",
            )
        else:
            out.append(char)
    if escaped:
        raise SpecError(
            field, f"the value of {term!r} ends with a lone '\\'", "write a backslash as \\\\"
        )
    return "".join(out)


def _field_term(term: str, field: str) -> tuple[str, str, str]:
    # the first operator wins; "==" is tried before "=" so it leaves no "=" in the value
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                name, raw = term[:i], term[i + len(op) :]
                value = _unescape_field_value(raw, term, field)
                if not _FIELD_NAME.fullmatch(name):
                    raise SpecError(
                        field,
                        f"{name!r} in {term!r} is not a field name like metadata.name "
                        "(no spaces around the operator)",
                        _FIELD_FIX,
                    )
                return name, "!=" if op == "!=" else "=", value
    raise SpecError(field, f"term {term!r} has no operator (=, == or !=)", _FIELD_FIX)


def parse_field_selector(text: str, field: str = "") -> FieldSelector:
    """Check kubectl field-selector syntax (``a.b=c``, ``a.b==c``, ``a.b!=c``, comma-separated)."""
    if not isinstance(text, str):
        raise SpecError(field, f"a field selector must be a string, got {type(text).__name__}")
    terms = [_field_term(part, field) for part in sorted(_split_terms(text)) if part]
    if not terms:
        raise SpecError(field, "empty field selector", _EMPTY_FIX + _FIELD_FIX)
    text_out = ",".join(f"{k}{op}{_escape_field_value(v)}" for k, op, v in terms)
    return FieldSelector(text_out, tuple(terms))

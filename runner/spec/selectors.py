"""Label and field selectors in kubectl syntax, checked before they reach the API server.

Selectors are sent to the API server as query parameters, which would reject a
bad one only when the runner starts watching. Parsing them here names the
field at ``kubectl trigger apply`` time instead, gives the server one canonical
text, and lets actions that pick objects by label (``rolloutRestart``) match
labels locally with the same rules the server uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from runner.spec.errors import SpecError

_LABEL_FIX = "write e.g. app=web,tier!=db,env in (prod,staging),!legacy"
_FIELD_FIX = "write e.g. metadata.name=web-config or status.phase!=Running"

_NAME = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)")
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
_FIELD_KEY = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")


def label_key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid label key (``[prefix/]name``), or None when it is."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return f"label key {key!r} has an empty prefix before '/'"
    if slash and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
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


def _has(labels: Mapping[str, str], key: str, values: frozenset[str]) -> bool:
    return key in labels


def _lacks(labels: Mapping[str, str], key: str, values: frozenset[str]) -> bool:
    return key not in labels


def _in(labels: Mapping[str, str], key: str, values: frozenset[str]) -> bool:
    return key in labels and labels[key] in values


def _not_in(labels: Mapping[str, str], key: str, values: frozenset[str]) -> bool:
    return key not in labels or labels[key] not in values


#: operator -> test of an object's labels
_LABEL_OPS: dict[str, Callable[[Mapping[str, str], str, frozenset[str]], bool]] = {
    "exists": _has,
    "!": _lacks,
    "=": _in,
    "!=": _not_in,
    "in": _in,
    "notin": _not_in,
}


@dataclass(frozen=True, slots=True)
class Requirement:
    """One term of a label selector: ``key``, ``!key``, ``key=v``, ``key in (a,b)``..."""

    key: str
    op: str  # one of "exists", "!", "=", "!=", "in", "notin"
    values: tuple[str, ...] = ()
    value_set: frozenset[str] = field(default=frozenset(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value_set", frozenset(self.values))

    def holds(self, labels: Mapping[str, str]) -> bool:
        """Whether this term holds for ``labels``."""
        return _LABEL_OPS[self.op](labels, self.key, self.value_set)

    @property
    def text(self) -> str:
        """The term in canonical kubectl syntax."""
        if self.op == "exists":
            return self.key
        if self.op == "!":
            return f"!{self.key}"
        if self.op in ("=", "!="):
            return f"{self.key}{self.op}{self.values[0]}"
        return f"{self.key} {self.op} ({','.join(self.values)})"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed label selector; ``text`` is what the API server is sent."""

    text: str
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with ``labels`` is selected (every term must hold)."""
        labels = labels or {}
        return all(req.holds(labels) for req in self.requirements)


_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|<|>|[^\s!=(),<>]+)")


def parse_label_selector(text: str, field: str = "") -> LabelSelector:
    """Parse kubectl label-selector syntax; raises SpecError at ``field``."""
    if not isinstance(text, str):
        raise SpecError(field, f"a label selector must be a string, got {type(text).__name__}")
    if not text.strip():
        raise SpecError(
            field, "empty label selector", "omit the field to select everything, or " + _LABEL_FIX
        )
    tokens = _tokenize(text, field)
    reqs: list[Requirement] = []
    pos = 0
    while True:
        req, pos = _requirement(tokens, pos, text, field)
        reqs.append(req)
        if pos == len(tokens):
            break
        if tokens[pos][0] != ",":
            raise _at(field, text, tokens[pos][1], f"expected ',' but found {tokens[pos][0]!r}")
        pos += 1
    ordered = tuple(sorted(reqs, key=lambda r: r.key))
    return LabelSelector(",".join(r.text for r in ordered), ordered)


def _tokenize(text: str, field: str) -> list[tuple[str, int]]:
    tokens: list[tuple[str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:  # pragma: no cover - the pattern matches any non-space character
            raise _at(field, text, pos, "unexpected character")
        tokens.append((m.group(1), m.start(1)))
        pos = m.end()
    return tokens


def _at(field: str, text: str, pos: int, message: str, fix: str = _LABEL_FIX) -> SpecError:
    return SpecError(field, f"{message} at column {pos + 1} in {text!r}", fix)


def _requirement(
    tokens: list[tuple[str, int]], pos: int, text: str, field: str
) -> tuple[Requirement, int]:
    def tok(i: int) -> str:
        return tokens[i][0] if i < len(tokens) else ""

    def where(i: int) -> int:
        return tokens[i][1] if i < len(tokens) else len(text)

    negated = tok(pos) == "!"
    if negated:
        pos += 1
    key = tok(pos)
    if not key or key in "!=(),":
        raise _at(field, text, where(pos), "expected a label key")
    problem = label_key_problem(key)
    if problem:
        raise _at(field, text, where(pos), problem)
    pos += 1
    op = tok(pos)
    if negated:
        if op not in ("", ","):
            raise _at(field, text, where(pos), f"'!{key}' takes no operator or value")
        return Requirement(key, "!"), pos
    if op in ("", ","):
        return Requirement(key, "exists"), pos
    if op in ("=", "==", "!="):
        pos += 1
        value = tok(pos)
        if value in ("", ","):
            value_text = ""  # an empty value is allowed: key= selects an empty label
        elif value in "!=()":
            raise _at(field, text, where(pos), f"expected a value after {op!r}")
        else:
            value_text = value
            pos += 1
        problem = label_value_problem(value_text)
        if problem:
            raise _at(field, text, where(pos - 1), problem)
        return Requirement(key, "!=" if op == "!=" else "=", (value_text,)), pos
    if op in ("in", "notin"):
        pos += 1
        if tok(pos) != "(":
            raise _at(field, text, where(pos), f"expected '(' after {op!r}")
        pos += 1
        values: list[str] = []
        while True:
            value = tok(pos)
            if value in ("", "(", ")", ",", "!", "=", "==", "!="):
                if value == ")" and not values:
                    raise _at(field, text, where(pos), f"empty value list after {op!r}")
                raise _at(field, text, where(pos), "expected a value")
            problem = label_value_problem(value)
            if problem:
                raise _at(field, text, where(pos), problem)
            values.append(value)
            pos += 1
            if tok(pos) == ",":
                pos += 1
                continue
            if tok(pos) == ")":
                pos += 1
                break
            raise _at(field, text, where(pos), "expected ',' or ')' in the value list")
        return Requirement(key, op, tuple(sorted(set(values)))), pos
    raise _at(
        field,
        text,
        where(pos),
        f"unknown operator {op!r}",
        "use =, ==, !=, in, notin, or key / !key alone; " + _LABEL_FIX,
    )


# -- field selectors -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A checked field selector; ``text`` is what the API server is sent."""

    text: str
    terms: tuple[tuple[str, str, str], ...]  # (field, "=" or "!=", value)


def parse_field_selector(text: str, field: str = "") -> FieldSelector:
    """Check kubectl field-selector syntax (``a.b=c``, ``a.b==c``, ``a.b!=c``, comma-separated)."""
    if not isinstance(text, str):
        raise SpecError(field, f"a field selector must be a string, got {type(text).__name__}")
    if not text.strip():
        raise SpecError(field, "empty field selector", "omit the field, or " + _FIELD_FIX)
    terms: list[tuple[str, str, str]] = []
    for part, start in _split_unescaped(text, ","):
        terms.append(_field_term(part, start, text, field))
    return FieldSelector(",".join(f"{k}{op}{v}" for k, op, v in terms), tuple(terms))


def _split_unescaped(text: str, sep: str) -> list[tuple[str, int]]:
    """Split at ``sep`` not preceded by a backslash; keeps escapes; returns (part, offset)."""
    parts: list[tuple[str, int]] = []
    start = 0
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == sep:
            parts.append((text[start:i], start))
            start = i + 1
        i += 1
    parts.append((text[start:], start))
    return parts


def _field_term(part: str, start: int, text: str, field: str) -> tuple[str, str, str]:
    lead = len(part) - len(part.lstrip())
    stripped = part.strip()
    if not stripped:
        raise _at(field, text, start, "empty term", _FIELD_FIX)
    op_at = -1
    op = ""
    i = 0
    while i < len(stripped):
        if stripped[i] == "\\":
            i += 2
            continue
        for candidate in ("!=", "==", "="):
            if stripped.startswith(candidate, i):
                op_at, op = i, candidate
                break
        if op:
            break
        i += 1
    if not op:
        raise _at(
            field,
            text,
            start + lead,
            f"term {stripped!r} has no operator (=, == or !=)",
            _FIELD_FIX,
        )
    key = stripped[:op_at].strip()
    value = stripped[op_at + len(op) :].strip()
    if not _FIELD_KEY.fullmatch(key):
        raise _at(
            field, text, start + lead, f"{key!r} is not a field name like metadata.name", _FIELD_FIX
        )
    return key, "!=" if op == "!=" else "=", value

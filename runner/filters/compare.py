"""Text comparisons: ``equals``, ``notEquals``, ``in``, ``matches``.

Values are compared as kubectl prints them (strings as-is, ``true``/``false``,
numbers), so ``equals: "3"`` and ``equals: 3`` both match a replica count of 3.
A path that selects several values holds if any value holds (``notEquals``: if
none is equal); a path that selects nothing never holds, for every operator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runner.filters.base import PathOperator, Predicate, as_text, note_missing
from runner.spec.errors import SpecError, type_name
from runner.spec.jsonpath import JsonPath, render_value


def _scalar(operand: Any, field: str) -> str:
    """The operand as text; only strings, numbers and booleans can be compared.

    A whole number written as a decimal (``3.0``, ``1000000.0``) is taken as the
    integer it is: the API server sends such a value as an integer, which kubectl
    prints as ``1000000`` where it would print the decimal as ``1e+06``.
    """
    if isinstance(operand, float) and operand.is_integer() and abs(operand) < 2**63:
        operand = int(operand)
    if isinstance(operand, (str, bool, int, float)):
        return render_value(operand)
    if operand is None:
        raise SpecError(
            field, "needs a value, got null", "to test that a field is unset, use exists: false"
        )
    raise SpecError(field, f"must be a string, number or boolean, got {type_name(operand)}")


def equals(path: JsonPath, operand: Any, field: str) -> Predicate:
    """``{path, equals: x}``: some selected value equals ``x``."""
    expected = _scalar(operand, field)
    values, source = path.values, path.source

    def pred(obj: Mapping[str, Any]) -> bool:
        found = values(obj)
        for value in found:
            if (value if type(value) is str else as_text(value)) == expected:
                return True
        if not found:
            note_missing(source)
        return False

    return pred


def not_equals(path: JsonPath, operand: Any, field: str) -> Predicate:
    """``{path, notEquals: x}``: the path selects something and no value equals ``x``."""
    expected = _scalar(operand, field)
    values, source = path.values, path.source

    def pred(obj: Mapping[str, Any]) -> bool:
        found = values(obj)
        if not found:
            note_missing(source)
            return False
        return all(as_text(value) != expected for value in found)

    return pred


def one_of(path: JsonPath, operand: Any, field: str) -> Predicate:
    """``{path, in: [a, b]}``: some selected value is in the list."""
    if not isinstance(operand, list) or not operand:
        raise SpecError(
            field,
            "must be a non-empty list"
            if isinstance(operand, list)
            else f"must be a list, got {type_name(operand)}",
            'e.g. in: ["a", "b"]',
        )
    allowed = frozenset(_scalar(item, f"{field}[{i}]") for i, item in enumerate(operand))
    values, source = path.values, path.source

    def pred(obj: Mapping[str, Any]) -> bool:
        found = values(obj)
        for value in found:
            if (value if type(value) is str else as_text(value)) in allowed:
                return True
        if not found:
            note_missing(source)
        return False

    return pred


def matches(path: JsonPath, operand: Any, field: str) -> Predicate:
    """``{path, matches: regex}``: ``re.search`` finds the pattern in some selected value."""
    if not isinstance(operand, str):
        raise SpecError(field, f"must be a regular expression string, got {type_name(operand)}")
    try:
        search = re.compile(operand).search
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise SpecError(
            field,
            f"bad regular expression {operand!r}: {exc.msg}{where}",
            "use Python re syntax; quote backslashes in YAML with single quotes",
        ) from None
    values, source = path.values, path.source

    def pred(obj: Mapping[str, Any]) -> bool:
        found = values(obj)
        for value in found:
            if search(value if type(value) is str else as_text(value)) is not None:
                return True
        if not found:
            note_missing(source)
        return False

    return pred


OPERATORS: dict[str, PathOperator] = {
    "equals": equals,
    "notEquals": not_equals,
    "in": one_of,
    "matches": matches,
}

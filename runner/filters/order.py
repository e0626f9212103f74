"""Ordering: ``greaterThan`` and ``lessThan`` on numbers, quantities and RFC 3339 timestamps.

The operand decides the kind of comparison at compile time: a number or a
Kubernetes quantity (``5``, ``500Mi``, ``100m``) compares numerically, an RFC
3339 timestamp compares in time. A selected value that cannot be read as the
same kind raises ``FilterError`` (a non-match that is counted), because a
silent False would hide a wrong path.
"""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runner.filters.base import FilterError, PathOperator, Predicate, note_missing
from runner.spec.errors import SpecError, type_name
from runner.spec.jsonpath import JsonPath
from runner.spec.quantities import parse_quantity

if TYPE_CHECKING:
    from decimal import Decimal

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
_FIX = (
    'use a number, a quantity (e.g. "500Mi", "100m") or an RFC 3339 time ("2024-05-01T00:00:00Z")'
)


def parse_timestamp(text: str) -> datetime.datetime | None:
    """An RFC 3339 timestamp as an aware datetime, or None when ``text`` is not one."""
    if not _RFC3339.fullmatch(text):
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return None


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FilterError(f"{type_name(value)} is not a number or quantity")
    try:
        return parse_quantity(value)
    except SpecError:
        raise FilterError(f"{value!r} is not a number or quantity") from None


def _time(value: Any) -> datetime.datetime:
    if isinstance(value, str):
        parsed = parse_timestamp(value)
        if parsed is not None:
            return parsed
    raise FilterError(f"{value!r} is not an RFC 3339 timestamp")


def _operand(operand: Any, field: str) -> tuple[Any, Callable[[Any], Any]]:
    """The operand converted, and the converter for selected values."""
    if isinstance(operand, bool) or operand is None or not isinstance(operand, (int, float, str)):
        raise SpecError(
            field, f"must be a number, quantity or timestamp, got {type_name(operand)}", _FIX
        )
    if isinstance(operand, str):
        stamp = parse_timestamp(operand.strip())
        if stamp is not None:
            return stamp, _time
    try:
        return parse_quantity(operand), _number
    except SpecError:
        raise SpecError(field, f"cannot compare with {operand!r}", _FIX) from None


def _ordered(compare: Callable[[Any, Any], bool]) -> PathOperator:
    def compile_op(path: JsonPath, operand: Any, field: str) -> Predicate:
        limit, convert = _operand(operand, field)
        values = path.values
        source = path.source

        def pred(obj: Mapping[str, Any]) -> bool:
            found = values(obj)
            for value in found:
                try:
                    if compare(convert(value), limit):
                        return True
                except FilterError as exc:
                    raise FilterError(f"{source}: {exc}") from None
            if not found:
                note_missing(source)
            return False

        return pred

    return compile_op


OPERATORS: dict[str, PathOperator] = {
    "greaterThan": _ordered(operator.gt),
    "lessThan": _ordered(operator.lt),
}

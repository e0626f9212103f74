"""``exists``: whether a path selects anything (``exists: false`` for "not set")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.filters.base import PathOperator, Predicate
from runner.spec.errors import SpecError, type_name
from runner.spec.jsonpath import JsonPath


def exists(path: JsonPath, operand: Any, field: str) -> Predicate:
    """``{path, exists: true|false}``: the path does (not) select at least one value."""
    if not isinstance(operand, bool):
        raise SpecError(field, f"must be true or false, got {type_name(operand)}")
    values = path.values
    if operand:

        def present(obj: Mapping[str, Any]) -> bool:
            return bool(values(obj))

        return present

    def absent(obj: Mapping[str, Any]) -> bool:
        return not values(obj)

    return absent


OPERATORS: dict[str, PathOperator] = {"exists": exists}

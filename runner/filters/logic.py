"""Groups: ``all``, ``any`` and ``not`` over other filters.

An error inside a group propagates (it is not turned into False), so
``not`` over a filter that failed is still a non-match rather than a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runner.filters.base import GroupOperator, Predicate
from runner.spec.errors import SpecError, SpecErrors, type_name


def compile_list(
    operand: Any, field: str, compile_one: Callable[[Any, str], Predicate]
) -> tuple[Predicate, ...]:
    """Every filter of a non-empty list, collecting all errors."""
    if not isinstance(operand, list) or not operand:
        raise SpecError(
            field,
            "must be a non-empty list of filters"
            if isinstance(operand, list)
            else f"must be a list of filters, got {type_name(operand)}",
        )
    preds: list[Predicate] = []
    errors: list[SpecError] = []
    for i, item in enumerate(operand):
        try:
            preds.append(compile_one(item, f"{field}[{i}]"))
        except SpecErrors as exc:
            errors.extend(exc.errors)
        except SpecError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else SpecErrors(errors)
    return tuple(preds)


def all_of(operand: Any, field: str, compile_one: Callable[[Any, str], Predicate]) -> Predicate:
    """``{all: [filters]}``: every filter holds."""
    return conjunction(compile_list(operand, field, compile_one))


def conjunction(preds: tuple[Predicate, ...]) -> Predicate:
    """One predicate that holds when every one of ``preds`` holds (checked in order)."""
    if len(preds) == 1:
        return preds[0]

    def pred(obj: Mapping[str, Any]) -> bool:
        return all(p(obj) for p in preds)

    return pred


def any_of(operand: Any, field: str, compile_one: Callable[[Any, str], Predicate]) -> Predicate:
    """``{any: [filters]}``: at least one filter holds."""
    preds = compile_list(operand, field, compile_one)

    def pred(obj: Mapping[str, Any]) -> bool:
        return any(p(obj) for p in preds)

    return pred


def none_of(operand: Any, field: str, compile_one: Callable[[Any, str], Predicate]) -> Predicate:
    """``{not: filter}``: the filter does not hold (an error in it still propagates)."""
    if not isinstance(operand, Mapping):
        raise SpecError(
            field,
            f"must be one filter (a mapping), got {type_name(operand)}",
            "to negate several, write not: {all: [...]} or not: {any: [...]}",
        )
    inner = compile_one(operand, field)

    def pred(obj: Mapping[str, Any]) -> bool:
        return not inner(obj)

    return pred


OPERATORS: dict[str, GroupOperator] = {"all": all_of, "any": any_of, "not": none_of}

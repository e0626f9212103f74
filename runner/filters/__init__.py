"""Filters: JSONPath conditions on the event's object, compiled once into predicates.

The registry is the two tables below: every operator a filter item may use,
from the operator-family modules (``presence``, ``compare``, ``order``) and
the groups (``logic``). ``compile_filter`` checks one raw item and returns a
``Predicate``; ``compile_filters`` does a list (all must hold). A predicate
may raise ``FilterError``; callers treat that, and any other exception, as a
non-match (``matches`` does so for you).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from runner.filters import compare, logic, order, presence
from runner.filters.base import FilterError, GroupOperator, PathOperator, Predicate
from runner.spec.errors import SpecError, SpecErrors, type_name
from runner.spec.jsonpath import compile_path

__all__ = [
    "GROUP_OPERATORS",
    "PATH_OPERATORS",
    "FilterError",
    "Predicate",
    "compile_filter",
    "compile_filters",
    "explain",
    "matches",
]

#: ``{path, <operator>: operand}`` operators
PATH_OPERATORS: dict[str, PathOperator] = {
    **presence.OPERATORS,
    **compare.OPERATORS,
    **order.OPERATORS,
}
#: ``{<group>: ...}`` operators
GROUP_OPERATORS: dict[str, GroupOperator] = dict(logic.OPERATORS)

#: the keys a path filter item may have
_ITEM_KEYS = frozenset({"path", *PATH_OPERATORS})
_EXAMPLE = 'e.g. {path: "{.status.phase}", equals: Running}'


def compile_filter(raw: Any, field: str) -> Predicate:
    """Compile one filter item at ``field`` (``spec.filters[0]``).

    Raises SpecError, or SpecErrors when a group holds several bad items.
    """
    if not isinstance(raw, Mapping):
        raise SpecError(field, f"a filter must be a mapping, got {type_name(raw)}", _EXAMPLE)
    if "use" in raw:
        raise SpecError(
            f"{field}.use",
            "a TriggerTemplate reference must be expanded before the spec is parsed",
            "apply the Trigger with kubectl trigger, which expands use: items",
        )
    groups = [key for key in raw if key in GROUP_OPERATORS]
    if groups:
        others = [str(key) for key in raw if key != groups[0]]
        if others:
            raise SpecError(
                field,
                f"a group ({groups[0]}) takes no other fields, found {', '.join(others)}",
                "put the conditions inside the group's list",
            )
        key = groups[0]
        return GROUP_OPERATORS[key](raw[key], f"{field}.{key}", compile_filter)
    unknown = [_unknown_operator(str(key), field) for key in raw if key not in _ITEM_KEYS]
    errors = list(unknown)
    operators = [key for key in raw if key in PATH_OPERATORS]
    path = None
    if "path" not in raw:
        errors.append(
            SpecError(
                f"{field}.path",
                "is required",
                f"a filter is {{path, <operator>}} or a group (all, any, not); {_EXAMPLE}",
            )
        )
    else:
        try:
            path = compile_path(raw["path"], f"{field}.path")
        except SpecError as exc:
            errors.append(exc)
    if not operators and not unknown:  # an unknown key is most likely a misspelt operator
        errors.append(
            SpecError(
                field, "needs one operator", f"add one of {', '.join(PATH_OPERATORS)}; {_EXAMPLE}"
            )
        )
    if len(operators) > 1:
        errors.append(
            SpecError(
                field,
                f"has several operators ({', '.join(operators)})",
                "use one operator per filter, and several filters (all must hold)",
            )
        )
    if path is not None and len(operators) == 1:
        op = operators[0]
        try:
            predicate = PATH_OPERATORS[op](path, raw[op], f"{field}.{op}")
        except SpecError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else SpecErrors(errors)
    return predicate


def _unknown_operator(key: str, field: str) -> SpecError:
    known = ["path", *PATH_OPERATORS, *GROUP_OPERATORS]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return SpecError(
        f"{field}.{key}", f"unknown filter operator {key!r}", f"{hint}valid: {', '.join(known)}"
    )


def compile_filters(raw_list: Any, field: str = "spec.filters") -> Predicate:
    """Compile a list of filters that must all hold; raises SpecErrors listing every problem."""
    if not isinstance(raw_list, list):
        raise SpecErrors(
            [SpecError(field, f"must be a list of filters, got {type_name(raw_list)}", _EXAMPLE)]
        )
    if not raw_list:
        return _always
    try:
        preds = logic.compile_list(raw_list, field, compile_filter)
    except SpecError as exc:
        raise SpecErrors([exc]) from None
    return logic.conjunction(preds)


def _always(obj: Mapping[str, Any]) -> bool:
    return True


def matches(predicate: Predicate | None, obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` passes ``predicate`` (None: no filters); an error is a non-match."""
    if predicate is None:
        return True
    try:
        return predicate(obj) is True
    except Exception:
        return False


def explain(
    config: Any, event: Any, old: Mapping[str, Any] | None = None
) -> tuple[bool, list[str]]:
    """Whether ``event`` passes ``config``'s filters, with one line per filter (for ``test``)."""
    from runner.filters.explain import explain as run

    return run(config, event, old)

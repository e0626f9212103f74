"""The contract every filter operator fulfils, and the error a filter raises while evaluating.

A filter is compiled once from the spec into a ``Predicate``: a plain function
of the event's object returning True or False. Operator modules provide
compilers from ``(path, operand, field)`` to a predicate; checking the operand
happens at compile time (raising ``SpecError``), so evaluation only looks at
the object. A predicate raises ``FilterError`` when the object holds something
it cannot judge (a value that is not a number for ``greaterThan``); the engine
counts that as a non-match, never a pass. A comparison on a path that selects
nothing is simply false, and is noted (``note_missing``) so the engine can count
and log it: a typo in a path shows up in the metrics instead of silently never matching.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from runner.spec.jsonpath import JsonPath, render_value

#: a compiled filter: the event's object -> does it hold?
Predicate = Callable[[Mapping[str, Any]], bool]
#: compiles ``{path, <operator>: operand}``: (compiled path, raw operand, operand's field path)
PathOperator = Callable[[JsonPath, Any, str], Predicate]
#: compiles a group (``all``/``any``/``not``): (raw operand, field path, compiler for one filter)
GroupOperator = Callable[[Any, str, Callable[[Any, str], Predicate]], Predicate]


class FilterError(Exception):
    """A filter could not judge an object; the event is a non-match and the error is counted."""


_recording = threading.local()


def note_missing(source: str) -> None:
    """A comparison met a path that selects nothing: a non-match the delivery counts and logs."""
    seen = getattr(_recording, "missing", None)
    if seen is not None:
        seen.append(source)


@contextmanager
def missing_paths() -> Iterator[list[str]]:
    """Collect, on this thread, the paths comparisons found missing while the block runs."""
    seen: list[str] = []
    _recording.missing = seen
    try:
        yield seen
    finally:
        _recording.missing = None


def as_text(value: Any) -> str:
    """A selected value as filters compare it: kubectl's rendering (strings as-is)."""
    return value if type(value) is str else render_value(value)

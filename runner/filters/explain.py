"""Filter results spelled out per item, for ``kubectl trigger test`` and describe-like output.

The runner only needs a yes/no per event; a person testing a Trigger wants to
see which filter failed and what the path actually selected. Each item of
``spec.filters`` is compiled again here (cheap, and only on this slow path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.filters.base import FilterError
from runner.spec.jsonpath import compile_path, render_value


def explain(config: Any, event: Any, old: Mapping[str, Any] | None) -> tuple[bool, list[str]]:
    """(matched, lines) for ``event`` under a TriggerConfig; ``old`` is the previous object."""
    from runner.filters import compile_filter

    obj: Mapping[str, Any] = getattr(event, "object", None) or {}
    lines: list[str] = []
    matched = True
    source = getattr(config, "source", None)
    event_type = getattr(event, "type", "")
    events = getattr(source, "events", None)
    if events is not None and event_type not in events:
        matched = False
        lines.append(f"fail  event {event_type!r} is not one of {', '.join(sorted(events))}")
    changed = tuple(getattr(source, "changed", ()) or ())
    if changed and event_type == "update" and old is not None:
        moved = [p.source for p in changed if p.values(old) != p.values(obj)]
        if moved:
            lines.append(f"pass  changed: {', '.join(moved)}")
        else:
            matched = False
            lines.append(f"fail  changed: none of {', '.join(p.source for p in changed)} changed")
    for i, raw in enumerate(getattr(config, "filter_specs", ()) or ()):
        field = f"spec.filters[{i}]"
        predicate = compile_filter(raw, field)
        problem = ""
        try:
            ok = predicate(obj) is True
        except Exception as exc:  # a filter that errors is a non-match
            ok = False
            problem = str(exc) if isinstance(exc, FilterError) else f"{type(exc).__name__}: {exc}"
        verdict = "error" if problem else ("pass " if ok else "fail ")
        matched = matched and ok
        line = f"{verdict} {field}: {_describe(raw, obj)}"
        lines.append(f"{line}: {problem}" if problem else line)
    return matched, lines


def _describe(raw: Mapping[str, Any], obj: Mapping[str, Any]) -> str:
    """``{.path} equals 'x' (selected: 'y')`` or the group's name."""
    if "path" not in raw:
        return ", ".join(f"{key}: ..." for key in raw)
    path = compile_path(raw["path"])
    ops = [f"{key} {value!r}" for key, value in raw.items() if key != "path"]
    found = [render_value(v) for v in path.values(obj)]
    shown = ", ".join(repr(v) for v in found[:5]) + (", ..." if len(found) > 5 else "")
    return f"{path.source} {' '.join(ops)} (selected: {shown or 'nothing'})"

"""Where the runner deliberately reads a spec differently from Kubernetes, and why.

The runner's parsers follow the reference implementations (CronJob's cron,
apimachinery's selectors and quantities, Go's durations, kubectl's JSONPath);
the conformance suite (tests/conformance/) proves it on thousands of cases. The
few places where following them would hurt users are listed here, once: the
suite skips exactly these cases (by id), docs/spec.md explains each, and
``kubectl trigger validate`` warns when a spec uses one that it accepts
(``spec_warnings``). A difference that makes the runner refuse input needs no
warning: the error says what to write instead.

To add one: a ``Difference`` line in ``DIFFERENCES`` and, if the runner accepts
the construct, a detector in ``DETECTORS`` that names the field that uses it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Difference:
    """One deliberate difference: what the runner does, and why a user is better off."""

    id: str
    area: str  # cron, labelSelector, fieldSelector, quantity, duration, jsonpath
    what: str
    why: str


# fmt: off
DIFFERENCES: tuple[Difference, ...] = (
    Difference("cron-dst", "cron",
               "at a daylight-saving change, a time skipped by the gap fires once at the end of "
               "the gap, and a time repeated by the overlap fires once (twice when the hour "
               "field is a wildcard); CronJob skips the run in a gap, fires twice in an overlap "
               "and, in zones that change at midnight or by half an hour, can fire on the "
               "wrong day or miss the next run",
               "a daily job still runs every day, once, and an hourly job keeps its rhythm"),
    Difference("cron-every-under-1s", "cron",
               "@every with a period under one second (@every 0s, @every -1h) is refused; "
               "CronJob runs it every second",
               "a zero or negative period is a typo, not a wish to fire every second"),
    Difference("selector-empty", "selector",
               "an empty label or field selector (\"\", \" \", \",\") is refused; the API "
               "server reads it as 'everything'",
               "omitting the field already means everything; an empty string is usually a "
               "template or variable gone wrong, and an action must not then hit every object"),
    Difference("fieldselector-name", "fieldSelector",
               "a field name must be a dotted name (letters, digits, '-', '_'), so no empty "
               "name and no space around the operator; the API server parses any text there",
               "the API server then refuses such a name for every resource ('field label not "
               "supported'); refusing it at validate time says so before anything runs"),
    Difference("quantity-exponent", "quantity",
               "a quantity exponent beyond +-1000 (1e1001) is refused; apimachinery takes "
               "exponents up to 64 bits and wraps them at 32 bits",
               "no resource amount needs it, and a wrapped exponent silently means another "
               "number"),
    Difference("duration-negative", "duration",
               "a negative duration (-1s) is refused where the spec wants a length of time "
               "(-0 is zero and taken); Go's ParseDuration takes it",
               "a negative delay, timeout or window has no meaning"),
    Difference("jsonpath-one-expression", "jsonpath",
               "a path is one {...} expression: the braces may be left out (.a.b is read as "
               "{.a.b}, where kubectl -o jsonpath prints the text .a.b as is) and whitespace "
               "around them is ignored; kubectl text templates ({range}/{end}, several {...} "
               "blocks, text beside them) are refused",
               "a filter compares the values one path selects; text around them would only "
               "change what is compared, and .a.b is how kubectl's custom-columns, sort-by "
               "and wait --for=jsonpath write a path"),
    Difference("jsonpath-refused-constructs", "jsonpath",
               "paths kubectl parses but that print a constant or fail whenever they select "
               "something are refused: a bare word ({.a b}, [?(@.x==Ready)]), a constant "
               "outside a filter ({.a 1}), a slice step of 0 or less ([::-1]), a filter "
               "operator other than == != < <= > >= ([?(@.x=1)]), and a \\x80-\\xff escape "
               "(a string that is not UTF-8)",
               "each is a typo (an unquoted string, = for ==) or cannot work; refusing it at "
               "validate time says what to write instead of a filter that never matches"),
    Difference("jsonpath-runtime-errors", "jsonpath",
               "where kubectl stops with an error while evaluating a path ([0] on an empty "
               "list, an index out of range, [*] or a filter on a map or a string, comparing "
               "a string with a number, an integer with a decimal, or null), the path selects "
               "nothing: comparisons are false (counted in filter_missing_paths_total), "
               "exists: false holds",
               "the same object in a later state (a condition added, a list filled) is fine; "
               "an event stream cannot stop on one object the way kubectl get stops"),
)
# fmt: on

BY_ID: dict[str, Difference] = {d.id: d for d in DIFFERENCES}


def _cron_dst(config: Any) -> list[str]:
    schedule = getattr(config.source, "schedule", None)  # a CronSource's
    if schedule is None or schedule.every is not None or schedule.never:
        return []
    hit = dst_meeting(schedule, datetime.datetime.now(datetime.UTC))
    if hit is None:
        return []
    return [
        f"spec.source.cron.schedule: {schedule.text!r} in {schedule.time_zone} meets a "
        f"daylight-saving change on {hit.isoformat()}; there the runner fires a skipped time "
        "once when the gap ends and a repeated time once, where a CronJob would skip or repeat "
        "it (deliberate difference cron-dst, see docs/spec.md)"
    ]


def dst_meeting(schedule: Any, start: datetime.datetime, days: int = 400) -> datetime.date | None:
    """The first day (within ``days`` of ``start``) on which ``schedule`` has a wall-clock
    time that a daylight-saving change skips or repeats in its zone, or None."""
    zone = schedule.zone
    day = start.astimezone(zone).date()
    step = datetime.timedelta(days=1)

    def offset(d: datetime.date) -> datetime.timedelta | None:
        return datetime.datetime(d.year, d.month, d.day, tzinfo=zone).utcoffset()

    for _ in range(days):
        # a change happens within the day only if the offset differs across it
        if offset(day) != offset(day + 2 * step) and schedule.matches_day(day):
            for hour in schedule.hours:
                for minute in schedule.minutes:
                    wall = datetime.datetime(day.year, day.month, day.day, hour, minute)
                    early = wall.replace(tzinfo=zone, fold=0)
                    late = wall.replace(tzinfo=zone, fold=1)
                    if early.utcoffset() != late.utcoffset():
                        return day
        day += step
    return None


def _paths(raw: Any, field: str) -> list[tuple[str, str]]:
    """(field, path text) of every filter item under ``raw``, through all/any/not groups."""
    if isinstance(raw, dict):
        found = [(f"{field}.path", raw["path"])] if isinstance(raw.get("path"), str) else []
        for group in ("all", "any", "not"):
            if group in raw:
                found += _paths(raw[group], f"{field}.{group}")
        return found
    if isinstance(raw, (list, tuple)):
        return [hit for i, item in enumerate(raw) for hit in _paths(item, f"{field}[{i}]")]
    return []


def _jsonpath_without_braces(config: Any) -> list[str]:
    from runner.spec.jsonpath import without_braces

    changed = getattr(config.source, "changed", ()) or ()
    paths = [(f"spec.source.resource.changed[{i}]", p.source) for i, p in enumerate(changed)]
    paths += _paths(list(getattr(config, "filter_specs", ()) or ()), "spec.filters")
    return [
        f"{field}: {text!r} has no braces: the runner reads it as {{{text.strip()}}}, "
        "where kubectl -o jsonpath would print the text itself (deliberate difference "
        "jsonpath-one-expression, see docs/spec.md)"
        for field, text in paths
        if without_braces(text)
    ]


#: difference id -> detector: the warnings for a parsed TriggerConfig that uses it
DETECTORS: dict[str, Callable[[Any], list[str]]] = {
    "cron-dst": _cron_dst,
    "jsonpath-one-expression": _jsonpath_without_braces,
}


def spec_warnings(config: Any) -> list[str]:
    """One line per deliberate difference the parsed spec relies on (for validate)."""
    return [line for detect in DETECTORS.values() for line in detect(config)]

"""Five-field cron schedules, read as a Kubernetes CronJob reads them.

The grammar is CronJob's (github.com/robfig/cron/v3's standard parser, plus
CronJob's own checks on ``TZ=`` and ``timeZone``), so a schedule pasted from a
CronJob manifest means the same here; the conformance suite checks this against
the real code. In short: ``*`` and ``?`` are wildcards; ``N/step`` runs from N
to the field's end; day of week is 0-6 (0 = Sunday) or sun-sat; when both day
fields are restricted a day matches if either does (a field containing a bare
``*`` or ``?``, or ``*/1``, is unrestricted, while ``*/2`` is restricted);
``@yearly`` ... ``@hourly`` and ``@every <duration>`` are taken exactly as
written; empty list items are ignored, so ``0 0 , * *`` is valid and never
fires, like ``0 0 30 2 *``.

A schedule is parsed once into sets of allowed minutes, hours, days and
months, and the next (or previous) run is found by walking wall-clock
candidates in the Trigger's time zone and mapping each to a real instant.
Daylight-saving rules are the runner's own, a deliberate difference from
CronJob (``cron-dst`` in runner/spec/differences.py, documented in docs/spec.md):

- a wall-clock time skipped by a spring-forward gap fires once, at the end of
  the gap (a daily 02:30 run still happens that day);
- a wall-clock time that occurs twice in a fall-back overlap fires once, at
  its first occurrence, unless the hour field is unrestricted (``*``, ``*/2``),
  in which case it fires at both (an hourly or every-15-minutes job keeps its
  real-time rhythm).
"""

from __future__ import annotations

import calendar
import datetime
import difflib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runner.spec.durations import parse_duration_ns
from runner.spec.errors import SpecError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

_UTC = datetime.UTC
#: more than any daylight-saving shift, so a search window covers both sides of one
_SHIFT = datetime.timedelta(hours=3)
_FIX = 'write 5 fields "minute hour day-of-month month day-of-week", e.g. "0 2 * * *", or @daily'
#: days searched for the next run: a Feb 29 schedule can skip 8 years (2096 -> 2104)
_SEARCH_DAYS = 366 * 9

#: descriptor -> the five fields it stands for (CronJob takes them exactly as written)
DESCRIPTORS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_EVERY = "@every "
#: the shortest @every period the runner takes (CronJob rounds anything shorter up to it)
MIN_EVERY_NS = 1_000_000_000

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAME_HINTS = {"month": " or jan-dec", "day of week": " or sun-sat"}

#: what Go's strings.Fields splits a schedule at (unicode.IsSpace), no more, no less
_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_DIGITS = "0123456789"
_INT64_MAX = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _FieldSpec("minute", 0, 59, {}),
    _FieldSpec("hour", 0, 23, {}),
    _FieldSpec("day of month", 1, 31, {}),
    _FieldSpec("month", 1, 12, {n: i + 1 for i, n in enumerate(_MONTHS)}),
    _FieldSpec("day of week", 0, 6, {n: i for i, n in enumerate(_DAYS)}),
)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed schedule in a time zone; ``next_after``/``previous_before`` give real instants.

    Both return None when there is no such run: a schedule that never fires
    (``0 0 30 2 *``) is valid, as it is for CronJob, and simply never fires.
    """

    text: str
    time_zone: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool
    hours_restricted: bool
    zone: datetime.tzinfo = field(compare=False, repr=False)
    #: ``@every``: the period in whole seconds (the fields above are then unused)
    every: int | None = None
    #: no time ever matches (an empty field, or only days the chosen months lack)
    never: bool = False

    def next_after(self, dt: datetime.datetime) -> datetime.datetime | None:
        """The first scheduled instant strictly after ``dt`` (aware), in the schedule's zone."""
        after = _aware(dt)
        if self.every is not None:  # as CronJob: the period after dt, on a whole second
            return (
                after.replace(microsecond=0) + datetime.timedelta(seconds=self.every)
            ).astimezone(self.zone)
        if self.never:
            return None
        start = after.astimezone(self.zone).replace(tzinfo=None, fold=0)
        best: datetime.datetime | None = None
        # start early: in a fall-back overlap an earlier wall time can be a later instant
        bottom = start.replace(second=0, microsecond=0) - _SHIFT
        for wall in self._walls(bottom, forward=True):
            first, instants = self._instants(wall)
            if best is not None and first >= best:
                break
            for instant in instants:
                if instant > after and (best is None or instant < best):
                    best = instant
        return None if best is None else best.astimezone(self.zone)

    def previous_before(self, dt: datetime.datetime) -> datetime.datetime | None:
        """The last scheduled instant strictly before ``dt`` (aware), in the schedule's zone.

        For ``@every`` that is one period before ``dt``: a run is missed when more
        than a period passed without one.
        """
        before = _aware(dt)
        if self.every is not None:
            back = before - datetime.timedelta(seconds=self.every)
            return back.replace(microsecond=0).astimezone(self.zone)
        if self.never:
            return None
        start = before.astimezone(self.zone).replace(tzinfo=None, fold=0)
        best: datetime.datetime | None = None
        top = start.replace(second=0, microsecond=0) + _SHIFT
        for wall in self._walls(top, forward=False):
            _, instants = self._instants(wall)
            if best is not None and instants and instants[-1] <= best:
                break
            for instant in instants:
                if instant < before and (best is None or instant > best):
                    best = instant
        return None if best is None else best.astimezone(self.zone)

    def matches_day(self, day: datetime.date) -> bool:
        """Whether ``day`` is a scheduled day (month, day of month and day of week rules)."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow

    def _walls(self, start: datetime.datetime, forward: bool) -> Iterator[datetime.datetime]:
        """Matching wall-clock minutes from ``start`` (inclusive), forward or backward."""
        day = start.date()
        step = datetime.timedelta(days=1 if forward else -1)
        hours = self.hours if forward else self.hours[::-1]
        minutes = self.minutes if forward else self.minutes[::-1]
        for _ in range(_SEARCH_DAYS):  # bounded: never loops forever
            if self.matches_day(day):
                for hour in hours:
                    for minute in minutes:
                        wall = datetime.datetime(day.year, day.month, day.day, hour, minute)
                        if (wall >= start) if forward else (wall <= start):
                            yield wall
            try:
                day += step
            except OverflowError:  # past year 9999 or before year 1
                return

    def _instants(
        self, wall: datetime.datetime
    ) -> tuple[datetime.datetime, list[datetime.datetime]]:
        """(earliest mapping of ``wall``, the instants it fires at), both in UTC."""
        early = wall.replace(tzinfo=self.zone, fold=0).astimezone(_UTC)
        late = wall.replace(tzinfo=self.zone, fold=1).astimezone(_UTC)
        if early == late:
            return early, [early]
        if _wall(early, self.zone) != wall:  # skipped by a gap: fire when the gap ends
            end = _gap_end(wall, min(early, late), max(early, late), self.zone)
            return end, [end]
        return early, [early, late] if not self.hours_restricted else [early]


def _aware(dt: datetime.datetime) -> datetime.datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("cron times must be timezone-aware datetimes")
    return dt.astimezone(_UTC)


def _wall(instant: datetime.datetime, zone: datetime.tzinfo) -> datetime.datetime:
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def _gap_end(
    wall: datetime.datetime, low: datetime.datetime, high: datetime.datetime, zone: datetime.tzinfo
) -> datetime.datetime:
    """The first whole minute whose wall-clock time is past ``wall`` (the transition)."""
    lo = int(low.timestamp()) // 60  # wall(lo) is before the gap
    hi = -(-int(high.timestamp()) // 60)  # wall(hi) is after it
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(datetime.datetime.fromtimestamp(mid * 60, _UTC), zone) > wall:
            hi = mid
        else:
            lo = mid
    return datetime.datetime.fromtimestamp(hi * 60, _UTC)


def _time_zone_name_problem(name: str) -> str | None:
    """Why CronJob refuses ``name`` as a timeZone before looking it up, or None."""
    if name.lower() == "local":
        return "'Local' is the machine's zone, not an explicit one"
    for part in name.split("/"):
        if part in (".", "..") or part.startswith("-") or not 1 <= len(part) <= 14:
            return "each part of a time zone name has 1-14 characters and no '.'/'..' parts"
        if any(not (c.isascii() and (c.isalnum() or c in ".-_+")) for c in part):
            return "a time zone name has only ASCII letters, digits and . - _ + between '/'"
    return None


@functools.cache
def _known_zones() -> frozenset[str]:
    """Every zone name installed (read once: walking the database takes a while)."""
    import zoneinfo

    try:
        return frozenset(zoneinfo.available_timezones())
    except OSError:  # pragma: no cover - no tz database at all
        return frozenset()


def load_time_zone(name: str, field: str = "") -> ZoneInfo:
    """The IANA time zone ``name`` (CronJob's timeZone rules); raises SpecError at ``field``."""
    if not isinstance(name, str) or not name:
        raise SpecError(field, "time zone must be a non-empty string", "use an IANA name like UTC")
    problem = _time_zone_name_problem(name)
    if problem is not None:
        raise SpecError(
            field, f"unknown time zone {name!r}: {problem}", "use an IANA name like Europe/Berlin"
        )
    import zoneinfo  # here, not above: only cron sources need it (0.5 MiB with the tz paths)

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    known = _known_zones()
    if not known:
        raise SpecError(
            field,
            f"unknown time zone {name!r}: no time zone database is installed",
            "install the tzdata package (pip install tzdata) or use UTC",
        )
    close = difflib.get_close_matches(name, sorted(known), n=3)
    fix = f"did you mean {', '.join(close)}?" if close else "use an IANA name like Europe/Berlin"
    raise SpecError(field, f"unknown time zone {name!r}", fix)


class _Bad(Exception):
    """A schedule problem; parse_cron turns it into a SpecError at the schedule's field."""

    def __init__(self, message: str, fix: str = _FIX) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


def parse_cron(
    text: str, tz_name: str = "UTC", field: str = "", tz_field: str | None = None
) -> CronSchedule:
    """Parse a CronJob schedule in time zone ``tz_name``.

    Raises SpecError at ``field`` (schedule problems) or ``tz_field`` (time zone
    problems; default ``field``).
    """
    if not isinstance(text, str):
        raise SpecError(field, f"a schedule must be a string, got {type(text).__name__}", _FIX)
    try:
        parts = _check_text(text)
    except _Bad as bad:
        raise SpecError(field, bad.message, bad.fix) from None
    zone = load_time_zone(tz_name, field if tz_field is None else tz_field)
    try:
        return _compile(text, tz_name, zone, parts)
    except _Bad as bad:
        raise SpecError(field, bad.message, bad.fix) from None


def _check_text(text: str) -> list[str] | int:
    """The five fields of ``text``, or the @every period in seconds."""
    if not text:
        raise _Bad("empty schedule")
    if "TZ" in text:
        raise _Bad(
            f"schedule {text!r} contains TZ: a time zone in the schedule (TZ=, CRON_TZ=) is "
            "refused, as CronJob refuses it",
            "set spec.source.cron.timeZone instead",
        )
    if text.startswith("@"):
        return _descriptor(text)
    parts = _go_fields(text)
    if len(parts) != 5:
        raise _Bad(f"a schedule has 5 fields, {text!r} has {len(parts)}")
    return parts


def _descriptor(text: str) -> list[str] | int:
    if text in DESCRIPTORS:
        return DESCRIPTORS[text].split(" ")
    if text.startswith(_EVERY):
        try:
            period = parse_duration_ns(text[len(_EVERY) :], allow_negative=True)
        except SpecError as err:
            raise _Bad(f"bad @every period in {text!r}: {err.message}", err.fix or _FIX) from None
        if period < MIN_EVERY_NS:
            raise _Bad(
                f"@every period in {text!r} is under one second",
                "use a period of 1s or more, e.g. @every 30s",
            )
        return period // MIN_EVERY_NS
    close = difflib.get_close_matches(text.strip().lower(), [*DESCRIPTORS, "@every"], n=1)
    fix = (
        f"did you mean {close[0]}? (descriptors are lowercase, with nothing around them)"
        if close
        else f"use one of {', '.join(DESCRIPTORS)}, or @every 1h30m"
    )
    raise _Bad(f"unknown schedule descriptor {text!r}", fix)


def _go_fields(text: str) -> list[str]:
    fields: list[str] = []
    current: list[str] = []
    for char in text:
        if char in _SPACES:
            if current:
                fields.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        fields.append("".join(current))
    return fields


def _compile(text: str, tz_name: str, zone: ZoneInfo, parts: list[str] | int) -> CronSchedule:
    if isinstance(parts, int):
        return CronSchedule(
            text, tz_name, (), (), frozenset(), frozenset(), frozenset(), False, False, False,
            zone=zone, every=parts,
        )  # fmt: skip
    parsed = [_parse_field(part, spec, text) for part, spec in zip(parts, _FIELDS, strict=True)]
    (minutes, _), (hours, _), (days, day_star), (months, _), (weekdays, weekday_star) = parsed
    schedule = CronSchedule(
        text=text,
        time_zone=tz_name,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(weekdays),
        days_restricted=not day_star,
        weekdays_restricted=not weekday_star,
        hours_restricted=not any(
            item.split("/")[0].split("-")[0] in ("*", "?") for item in parts[1].split(",")
        ),
        zone=zone,
    )
    if not _can_match(schedule):
        object.__setattr__(schedule, "never", True)
    return schedule


def _can_match(s: CronSchedule) -> bool:
    if not (s.minutes and s.hours and s.months):
        return False
    longest = {m: calendar.monthrange(2024, m)[1] for m in s.months}  # 2024: a leap year
    some_day = any(d <= longest[m] for m in s.months for d in s.days)
    if s.days_restricted and s.weekdays_restricted:
        return some_day or bool(s.weekdays)
    return some_day and bool(s.weekdays)


def _parse_field(part: str, spec: _FieldSpec, text: str) -> tuple[set[int], bool]:
    """(values, unrestricted): a field with a bare ``*``/``?`` (or step 1) is unrestricted."""
    values: set[int] = set()
    star = False
    for item in part.split(","):
        if item:  # CronJob skips empty list items
            item_values, item_star = _parse_item(item, spec, text)
            values |= item_values
            star = star or item_star
    return values, star


def _parse_item(item: str, spec: _FieldSpec, text: str) -> tuple[set[int], bool]:
    where = f"in the {spec.name} field of {text!r}"
    range_and_step = item.split("/")
    if len(range_and_step) > 2:
        raise _Bad(f"too many '/' in {item!r} {where}")
    low_high = range_and_step[0].split("-")
    star = low_high[0] in ("*", "?")
    if star:  # CronJob ignores anything after "*-"
        low, high = spec.low, spec.high
    else:
        if len(low_high) > 2:
            raise _Bad(f"too many '-' in {item!r} {where}")
        low = _value(low_high[0], spec, where)
        high = _value(low_high[1], spec, where) if len(low_high) == 2 else low
    step = 1
    if len(range_and_step) == 2:
        step = _number(range_and_step[1], f"step {range_and_step[1]!r} {where}")
        if len(low_high) == 1:  # "N/step" runs from N to the field's end
            high = spec.high
        if step > 1:
            star = False
    if low < spec.low or high > spec.high:
        bad = low if low < spec.low else high
        hint = " (Sunday is 0)" if spec.name == "day of week" and bad == 7 else ""
        raise _Bad(
            f"{bad} is out of range {spec.low}-{spec.high} {where}{hint}",
            f"use {spec.low}-{spec.high}" + _NAME_HINTS.get(spec.name, ""),
        )
    if low > high:
        raise _Bad(f"range {range_and_step[0]!r} runs backwards {where}")
    if step == 0:
        raise _Bad(f"step 0 {where}", "use a step of 1 or more, e.g. */15")
    return set(range(low, high + 1, step)), star


def _go_lower(token: str) -> str:
    # Go lowercases rune by rune (U+0130 becomes a plain "i"); names are ASCII anyway
    return "".join("i" if c == "\u0130" else c.lower() for c in token)


def _value(token: str, spec: _FieldSpec, where: str) -> int:
    if spec.names:
        named = spec.names.get(_go_lower(token))
        if named is not None:
            return named
    return _number(token, f"value {token!r} {where}", spec)


def _number(token: str, what: str, spec: _FieldSpec | None = None) -> int:
    """A non-negative decimal as Go's strconv.Atoi reads it: ASCII digits, optional sign."""
    digits = token[1:] if token[:1] in ("+", "-") else token
    if not digits or any(c not in _DIGITS for c in digits):
        fix = (
            f"use {spec.low}-{spec.high}" + _NAME_HINTS.get(spec.name, "")
            if spec
            else "use a whole number (ASCII digits)"
        )
        raise _Bad(f"bad {what}", fix)
    value = int(digits)
    if token[0] == "-" and value:
        raise _Bad(f"negative {what}")
    if value > _INT64_MAX:
        raise _Bad(f"{what} is too large")
    return value

"""Five-field cron schedules, evaluated in an IANA time zone without DST surprises.

A cron source fires at wall-clock times in the Trigger's time zone, so the
schedule is parsed once into sets of allowed minutes, hours, days and months,
and the next (or previous) run is found by walking wall-clock candidates and
mapping each to a real instant. Daylight-saving rules, documented in
docs/spec.md:

- a wall-clock time skipped by a spring-forward gap fires once, at the end of
  the gap (a daily 02:30 run still happens that day);
- a wall-clock time that occurs twice in a fall-back overlap fires once, at
  its first occurrence, unless the hour field is unrestricted (``*``, ``*/2``),
  in which case it fires at both (an hourly or every-15-minutes job keeps its
  real-time rhythm).

Day of month and day of week combine as in standard cron: when both are
restricted (neither starts with ``*``) a day matches if either matches;
otherwise both must (so the unrestricted one matches every day).
"""

from __future__ import annotations

import calendar
import datetime
import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runner.spec.errors import SpecError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

_UTC = datetime.UTC
#: more than any daylight-saving shift, so a search window covers both sides of one
_SHIFT = datetime.timedelta(hours=3)
_FIX = 'write 5 fields "minute hour day-of-month month day-of-week", e.g. "0 2 * * *", or @daily'

MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


_NAME_HINTS = {"month": " or jan-dec", "day of week": " or sun-sat"}


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
    _FieldSpec("day of week", 0, 7, {n: i for i, n in enumerate(_DAYS)}),
)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed schedule in a time zone; ``next_after``/``previous_before`` give real instants."""

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

    def next_after(self, dt: datetime.datetime) -> datetime.datetime:
        """The first scheduled instant strictly after ``dt`` (aware), in the schedule's zone."""
        after = _aware(dt)
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
        assert best is not None  # parse_cron rejects schedules that never match
        return best.astimezone(self.zone)

    def previous_before(self, dt: datetime.datetime) -> datetime.datetime:
        """The last scheduled instant strictly before ``dt`` (aware), in the schedule's zone."""
        before = _aware(dt)
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
        assert best is not None
        return best.astimezone(self.zone)

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
        for _ in range(366 * 9):  # a Feb 29 schedule can skip 8 years (2096 -> 2104)
            if self.matches_day(day):
                for hour in hours:
                    for minute in minutes:
                        wall = datetime.datetime(day.year, day.month, day.day, hour, minute)
                        if (wall >= start) if forward else (wall <= start):
                            yield wall
            day += step

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


def load_time_zone(name: str, field: str = "") -> ZoneInfo:
    """The IANA time zone ``name``; raises SpecError at ``field`` with close names."""
    if not isinstance(name, str) or not name.strip():
        raise SpecError(field, "time zone must be a non-empty string", "use an IANA name like UTC")
    import zoneinfo  # here, not above: only cron sources need it (0.5 MiB with the tz paths)

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    try:
        known = zoneinfo.available_timezones()
    except OSError:  # pragma: no cover - no tz database at all
        known = set()
    if not known:
        raise SpecError(
            field,
            f"unknown time zone {name!r}: no time zone database is installed",
            "install the tzdata package (pip install tzdata) or use UTC",
        )
    close = difflib.get_close_matches(name, sorted(known), n=3)
    fix = f"did you mean {', '.join(close)}?" if close else "use an IANA name like Europe/Berlin"
    raise SpecError(field, f"unknown time zone {name!r}", fix)


def parse_cron(
    text: str, tz_name: str = "UTC", field: str = "", tz_field: str | None = None
) -> CronSchedule:
    """Parse a 5-field schedule or macro in time zone ``tz_name``.

    Raises SpecError at ``field`` (schedule problems) or ``tz_field`` (time zone
    problems; default ``field``).
    """
    zone = load_time_zone(tz_name, field if tz_field is None else tz_field)
    if not isinstance(text, str):
        raise SpecError(field, f"a schedule must be a string, got {type(text).__name__}", _FIX)
    body = " ".join(text.split())
    if body.startswith("@"):
        expanded = MACROS.get(body.lower())
        if expanded is None:
            close = difflib.get_close_matches(body.lower(), list(MACROS), n=1)
            fix = f"did you mean {close[0]}?" if close else f"use one of {', '.join(MACROS)}"
            raise SpecError(field, f"unknown schedule macro {body!r}", fix)
        body = expanded
    parts = body.split(" ") if body else []
    if len(parts) != 5:
        raise SpecError(field, f"a schedule has 5 fields, {text!r} has {len(parts)}", _FIX)
    sets = [
        _parse_field(part, spec, text, field) for part, spec in zip(parts, _FIELDS, strict=True)
    ]
    weekdays = frozenset(d % 7 for d in sets[4])
    schedule = CronSchedule(
        text=text,
        time_zone=tz_name,
        minutes=tuple(sorted(sets[0])),
        hours=tuple(sorted(sets[1])),
        days=frozenset(sets[2]),
        months=frozenset(sets[3]),
        weekdays=weekdays,
        days_restricted=not parts[2].startswith("*"),
        weekdays_restricted=not parts[4].startswith("*"),
        hours_restricted=not parts[1].startswith("*"),
        zone=zone,
    )
    if not _can_match(schedule):
        raise SpecError(
            field, f"schedule {text!r} never matches (no such day in the chosen months)", _FIX
        )
    return schedule


def _can_match(s: CronSchedule) -> bool:
    if s.days_restricted and s.weekdays_restricted:
        return True
    if not s.days_restricted:
        return True
    longest = {m: calendar.monthrange(2024, m)[1] for m in s.months}  # 2024: a leap year
    return any(d <= longest[m] for m in s.months for d in s.days)


def _parse_field(part: str, spec: _FieldSpec, text: str, field: str) -> set[int]:
    values: set[int] = set()
    for item in part.split(","):
        if not item:
            raise SpecError(field, f"empty list item in the {spec.name} field of {text!r}", _FIX)
        values |= _parse_item(item, spec, text, field)
    return values


def _parse_item(item: str, spec: _FieldSpec, text: str, field: str) -> set[int]:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise SpecError(
                field, f"bad step {step_text!r} in the {spec.name} field of {text!r}", _FIX
            )
        step = int(step_text)
    if base == "*":
        low, high = spec.low, spec.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low = _value(first, spec, text, field)
        high = _value(last, spec, text, field)
        if low > high:
            raise SpecError(
                field, f"range {base!r} runs backwards in the {spec.name} field of {text!r}", _FIX
            )
    else:
        low = _value(base, spec, text, field)
        high = spec.high if slash else low
    if spec.name == "day of week" and base == "*":
        high = 6
    return set(range(low, high + 1, step))


def _value(token: str, spec: _FieldSpec, text: str, field: str) -> int:
    lowered = token.lower()
    if lowered in spec.names:
        return spec.names[lowered]
    if not token.isdigit():
        raise SpecError(
            field,
            f"bad value {token!r} in the {spec.name} field of {text!r}",
            f"use {spec.low}-{spec.high}" + _NAME_HINTS.get(spec.name, ""),
        )
    value = int(token)
    if not spec.low <= value <= spec.high:
        raise SpecError(
            field,
            f"{value} is out of range {spec.low}-{spec.high} in the {spec.name} field of {text!r}",
            _FIX,
        )
    return value

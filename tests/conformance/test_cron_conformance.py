"""Cron schedules and time zones: the runner against CronJob (API validation + robfig/cron).

Every case asks both sides whether the schedule (and timeZone) is accepted and,
when it is, for the next fire times from a start instant. Fire times from two
days before the first UTC-offset change in the case's zone on are left out of
the comparison: that is the deliberate difference ``cron-dst`` (robfig's search
can stay a run behind for a while after a half-hour change, so nothing after
one is compared); its own test below shows the reference really does behave
as the table says.
"""

from __future__ import annotations

import bisect
import datetime
import functools
import random
import zoneinfo
from typing import Any

from runner.spec.cron import parse_cron
from runner.spec.errors import SpecError
from tests.conformance.compare import Tally
from tests.conformance.reference import Reference, rng

UTC = datetime.UTC
FIRES = 6
#: starts between 2020 and 2032: far from robfig's five-year horizon around 2100
START_LOW = int(datetime.datetime(2020, 1, 1, tzinfo=UTC).timestamp())
START_HIGH = int(datetime.datetime(2032, 1, 1, tzinfo=UTC).timestamp())
DST_MARGIN = 2 * 86400

ZONES = [
    None,
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",  # a 30-minute shift
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/Havana",  # changes at midnight
    "Etc/GMT+5",
]

HAND_PICKED = [
    # issue 9, one minimal case per class
    "0 ² * * *",
    "0 ٣ * * *",
    "0 0 * * 1/2",
    "0 0 */2 * 1",
    "0 0 ? * *",
    "@every 1h",
    "0 0 30 2 *",
    "30 2 * * *",
    # robfig/cron's documented grammar and its edges
    "* * * * ?",
    "@every 1h30m",
    "@every 1.5s",
    "@every 0s",
    "@every -1h",
    "@every 500ms",
    "@every 1μs",
    "@every",
    "@every ",
    "@every  1h",
    "@every 1h ",
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
    "@reboot",
    "@DAILY",
    " @daily",
    "@daily ",
    "0 0 31 2 *",
    "0 0 29 2 *",
    "0 0 , * *",
    "1,,2 * * * *",
    ",5 * * * *",
    "0 0 * * 7",
    "0 0 * * 0-7",
    "*-5 * * * *",
    "?-x-y * * * *",
    "*/1 * * * *",
    "+5 * * * *",
    "*/+2 * * * *",
    "*/-1 * * * *",
    "-1 * * * *",
    "1-5/2 * * * *",
    "5/2 * * * *",
    "5/0 * * * *",
    "5-1 * * * *",
    "1-2-3 * * * *",
    "1/2/3 * * * *",
    "0 0 1-31 * 1",
    "0 0 5,* * 1",
    "0 0 * jan-dec MON-FRI",
    "0 0 * JAN,jul sun,SAT",
    "0 12 * * FR\u0130",
    "0 12 * * fri\u0307",
    "60 * * * *",
    "* 24 * * *",
    "0 0 0 * *",
    "0 0 * 0 *",
    "0 0 * 13 *",
    "* * * *",
    "* * * * * *",
    "",
    "  ",
    "0\t0 * * *",
    "0\u00a00 * * *",
    "0\u20030 * * *",
    "0\x1c0 * * *",
    "0\x850 * * *",
    "0\u200b0 * * *",
    " 0 0 * * * ",
    "TZ=UTC 0 0 * * *",
    "CRON_TZ=Europe/Berlin 0 0 * * *",
    "TZ=UTC",
    "0 0 * * TZ",
    "00 007 01 01 *",
    "99999999999999999999 * * * *",
    "0 0 1 * mon",
]

BAD_DIGITS = ["²", "٣", "３", "३", "۵", "𝟘", "¹"]
SPACES = [" ", " ", " ", "  ", "\t", "\u00a0", "\u2003", "\x1c", "\x85", "\u3000"]


@functools.cache
def _changes(zone: str) -> list[int]:
    """Unix times of every UTC-offset change in ``zone`` between 2019 and 2034."""
    tz = zoneinfo.ZoneInfo(zone)

    def offset(t: int) -> datetime.timedelta | None:
        return datetime.datetime.fromtimestamp(t, UTC).astimezone(tz).utcoffset()

    out = []
    t = int(datetime.datetime(2019, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime.datetime(2034, 1, 1, tzinfo=UTC).timestamp())
    while t < end:
        nxt = t + 86400 // 4
        if offset(t) != offset(nxt):
            lo, hi = t, nxt
            while hi - lo > 60:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if offset(lo) != offset(mid) else (mid, hi)
            out.append(hi)
        t = nxt
    return out


def _first_change(zone: str | None, instant: int) -> float:
    """The first offset change in ``zone`` after ``instant`` (minus the margin), or infinity."""
    if zone is None:
        return float("inf")
    changes = _changes(zone)
    i = bisect.bisect_left(changes, instant - DST_MARGIN)
    return changes[i] if i < len(changes) else float("inf")


def runner_answer(schedule: str, zone: str | None, start: int) -> dict[str, Any]:
    try:
        parsed = parse_cron(schedule, "UTC" if zone is None else zone, "schedule", "timeZone")
    except SpecError as err:
        return {"ok": False, "why": str(err)}
    fires: list[int] = []
    at: datetime.datetime | None = datetime.datetime.fromtimestamp(start, UTC)
    for _ in range(FIRES):
        assert at is not None
        at = parsed.next_after(at)
        if at is None:
            break
        fires.append(int(at.timestamp()))
    return {"ok": True, "next": fires}


def compare(
    tally: Tally, cases: list[tuple[str, str | None, int]], ref: Reference, times: bool = True
) -> None:
    answers = ref.ask_many(
        {"op": "cron", "schedule": s, "timeZone": z, "start": t, "count": FIRES}
        for s, z, t in cases
    )
    for (schedule, zone, start), theirs in zip(cases, answers, strict=True):
        assert "error" not in theirs, theirs
        tally.cases += 1
        ours = runner_answer(schedule, zone, start)
        case = (schedule, zone, start)
        if ours["ok"] != theirs["ok"]:
            if (
                theirs["ok"]
                and schedule.startswith("@every ")
                and "under one second" in ours["why"]
            ):
                tally.skip("cron-every-under-1s")
            else:
                tally.differ(case, ours, theirs)
            continue
        if not ours["ok"] or not times:
            continue
        # robfig's search goes astray at an offset change (and, with a half-hour change,
        # stays a run behind for a while): compare only runs before the first change
        cutoff = _first_change(zone, start) - DST_MARGIN
        mine = [t for t in ours["next"] if t < cutoff]
        reference = [t for t in theirs["next"] if t < cutoff]
        if len(mine) != len(ours["next"]) or len(reference) != len(theirs["next"]):
            tally.skip("cron-dst")
        # the runner may look further ahead than robfig; compare the common horizon
        horizon = min(ours["next"][-1:] + theirs["next"][-1:], default=0)
        if len(ours["next"]) < FIRES or len(theirs["next"]) < FIRES:
            horizon = max(ours["next"][-1:] + theirs["next"][-1:], default=0)
        mine = [t for t in mine if t <= horizon]
        reference = [t for t in reference if t <= horizon]
        if mine != reference:
            tally.differ(case, ours, theirs)


def _number(r: random.Random, low: int, high: int) -> str:
    roll = r.random()
    if roll < 0.04:
        return r.choice(BAD_DIGITS)
    if roll < 0.08:
        return str(r.choice([low - 1, high + 1, 7, 99, 64]))
    if roll < 0.11:
        return r.choice(["+", "0", "00"]) + str(r.randint(low, high))
    return str(r.randint(low, high))


def _item(r: random.Random, low: int, high: int, names: list[str]) -> str:
    def value() -> str:
        if names and r.random() < 0.3:
            name = r.choice(names)
            return name.upper() if r.random() < 0.3 else name
        return _number(r, low, high)

    roll = r.random()
    if roll < 0.15:
        return r.choice(["*", "?", "*/1"])
    if roll < 0.3:
        return f"*/{r.randint(0, high + 2)}" if r.random() > 0.05 else f"*/{r.choice(BAD_DIGITS)}"
    if roll < 0.5:
        return value()
    if roll < 0.7:
        return f"{value()}-{value()}"
    if roll < 0.82:
        return f"{value()}/{r.randint(0, high)}"
    if roll < 0.92:
        return f"{value()}-{value()}/{r.randint(1, 9)}"
    return r.choice(["", "*-3", "1-2-3", "1/2/3", "-", "/", "x", "?/2", f"{low}-"])


FIELD_RANGES = [
    (0, 59, []),
    (0, 23, []),
    (1, 31, []),
    (1, 12, ["jan", "feb", "mar", "jun", "aug", "dec"]),
    (0, 6, ["sun", "mon", "wed", "fri", "sat"]),
]


def generated_schedule(r: random.Random) -> str:
    roll = r.random()
    if roll < 0.04:
        return r.choice(["@yearly", "@monthly", "@weekly", "@daily", "@hourly", "@midnight"])
    if roll < 0.08:
        amount = r.choice(["1h", "90s", "1.5m", "0s", "-5m", "250ms", "2h45m", "1h 2m", "3d", "1"])
        return "@every " + amount
    fields = []
    for index, (low, high, names) in enumerate(FIELD_RANGES):
        if index < 2 and r.random() < 0.5:  # a fixed minute or hour: runs days apart
            fields.append(str(r.randint(low, high)))
            continue
        if r.random() < 0.4:
            fields.append("*")
            continue
        fields.append(",".join(_item(r, low, high, names) for _ in range(r.randint(1, 3))))
    if r.random() < 0.03:
        fields = fields[: r.randint(3, 4)] if r.random() < 0.5 else [*fields, "*"]
    joined = fields[0]
    for f in fields[1:]:
        joined += (r.choice(SPACES) if r.random() < 0.1 else " ") + f
    return joined


def test_hand_picked_cron_cases_agree(reference: Reference) -> None:
    r = rng("cron-hand-picked")
    tally = Tally("cron hand-picked")
    cases = [(s, z, r.randint(START_LOW, START_HIGH)) for s in HAND_PICKED for z in ZONES[:4]]
    compare(tally, cases, reference)
    tally.check(len(HAND_PICKED) * 4)


def test_generated_cron_cases_agree(reference: Reference) -> None:
    r = rng("cron-generated")
    tally = Tally("cron generated")
    cases = [
        (generated_schedule(r), r.choice(ZONES), r.randint(START_LOW, START_HIGH))
        for _ in range(3000)
    ]
    compare(tally, cases, reference)
    tally.check(3000)
    accepted = sum(1 for s, z, _ in cases[:300] if runner_answer(s, z, START_LOW)["ok"])
    assert accepted > 60, "the generator should produce mostly valid schedules"


def test_time_zone_names_agree(reference: Reference) -> None:
    r = rng("cron-zones")
    names = sorted(zoneinfo.available_timezones())
    picked = r.sample(names, min(400, len(names)))
    mutated = []
    for name in picked[:150]:
        mutated += [name.lower(), name.upper(), name + "/", "/" + name, name.replace("/", "//")]
    odd = [
        "", "Local", "local", "UTC", "utc", "Etc/UTC", "GMT", "Z", "Europe/../Europe/Berlin",
        "./UTC", "-UTC", "Etc/GMT+5", "Etc/GMT-14", "EST5EDT", "America/Argentina/ComodRivadavia",
        "America/Port-au-Prince", "Antarctica/DumontDUrville", "A" * 15, "posixrules", "Factory",
        "zone.tab", "tzdata.zi", "leapseconds", "Europe/Berlin ", " Europe/Berlin",
        "Europe\\Berlin", "Europe/Berlín", "UTC\x00", "Etc/Unknown",
    ]  # fmt: skip
    tally = Tally("time zones")
    cases = [("0 3 * * *", z, START_LOW) for z in picked + mutated + odd]
    compare(tally, cases, reference, times=False)
    tally.check(400)


def test_dst_difference_is_real(reference: Reference) -> None:
    """cron-dst: CronJob skips a daily 02:30 in Berlin's spring gap; the runner runs it at 03:00."""
    start = int(datetime.datetime(2024, 3, 30, 12, tzinfo=UTC).timestamp())
    theirs = reference.ask(
        "cron", schedule="30 2 * * *", timeZone="Europe/Berlin", start=start, count=2
    )
    ours = runner_answer("30 2 * * *", "Europe/Berlin", start)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")

    def wall(ts: int) -> str:
        return datetime.datetime.fromtimestamp(ts, berlin).strftime("%m-%d %H:%M")

    assert [wall(t) for t in theirs["next"]] == ["04-01 02:30", "04-02 02:30"]
    assert [wall(t) for t in ours["next"][:2]] == ["03-31 03:00", "04-01 02:30"]

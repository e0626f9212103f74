"""Cron schedules: fields, macros, day rules, time zones and daylight-saving transitions."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from runner.spec.cron import parse_cron
from runner.spec.errors import SpecError

UTC = datetime.UTC


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def run(expr: str, tz: str, start: datetime.datetime, n: int, back: bool = False) -> list[str]:
    schedule = parse_cron(expr, tz)
    out: list[str] = []
    t = start
    for _ in range(n):
        t = schedule.previous_before(t) if back else schedule.next_after(t)
        out.append(t.isoformat())
    return out


def test_every_fifteen_minutes() -> None:
    assert run("*/15 * * * *", "UTC", at(2024, 1, 1, 0, 7, 30), 3) == [
        "2024-01-01T00:15:00+00:00",
        "2024-01-01T00:30:00+00:00",
        "2024-01-01T00:45:00+00:00",
    ]


def test_next_after_is_strictly_after() -> None:
    schedule = parse_cron("0 * * * *", "UTC")
    assert schedule.next_after(at(2024, 1, 1, 5, 0)) == at(2024, 1, 1, 6, 0)
    assert schedule.previous_before(at(2024, 1, 1, 5, 0)) == at(2024, 1, 1, 4, 0)
    assert schedule.previous_before(at(2024, 1, 1, 5, 0, 1)) == at(2024, 1, 1, 5, 0)


@pytest.mark.parametrize(
    ("macro", "first"),
    [
        ("@hourly", "2024-03-05T11:00:00+00:00"),
        ("@daily", "2024-03-06T00:00:00+00:00"),
        ("@midnight", "2024-03-06T00:00:00+00:00"),
        ("@weekly", "2024-03-10T00:00:00+00:00"),
        ("@monthly", "2024-04-01T00:00:00+00:00"),
        ("@yearly", "2025-01-01T00:00:00+00:00"),
        ("@annually", "2025-01-01T00:00:00+00:00"),
    ],
)
def test_macros(macro: str, first: str) -> None:
    assert run(macro, "UTC", at(2024, 3, 5, 10, 30), 1) == [first]


def test_ranges_lists_steps_and_names() -> None:
    assert run("0 9-17/4 * jan-mar mon-fri", "UTC", at(2024, 1, 5, 12, 0), 4) == [
        "2024-01-05T13:00:00+00:00",
        "2024-01-05T17:00:00+00:00",
        "2024-01-08T09:00:00+00:00",  # Saturday and Sunday skipped
        "2024-01-08T13:00:00+00:00",
    ]
    assert run("5,10 0 1 * *", "UTC", at(2024, 1, 1), 3) == [
        "2024-01-01T00:05:00+00:00",
        "2024-01-01T00:10:00+00:00",
        "2024-02-01T00:05:00+00:00",
    ]
    assert run("30 1/6 * * *", "UTC", at(2024, 1, 1), 4) == [
        "2024-01-01T01:30:00+00:00",
        "2024-01-01T07:30:00+00:00",
        "2024-01-01T13:30:00+00:00",
        "2024-01-01T19:30:00+00:00",
    ]


def test_sunday_is_zero_and_seven_is_refused_as_cronjob_does() -> None:
    assert run("0 0 * * 0", "UTC", at(2024, 1, 1), 1) == run(
        "0 0 * * sun", "UTC", at(2024, 1, 1), 1
    )
    assert run("0 0 * * SUN", "UTC", at(2024, 1, 1), 1) == ["2024-01-07T00:00:00+00:00"]
    with pytest.raises(SpecError, match=r"7 is out of range 0-6 .*\(Sunday is 0\)"):
        parse_cron("0 0 * * 7")


def test_value_slash_step_runs_to_the_end_of_the_field() -> None:
    # 1/2 in day of week is 1-6/2: Monday, Wednesday, Friday (never Sunday)
    assert run("0 0 * * 1/2", "UTC", at(2024, 1, 1), 4) == [
        "2024-01-03T00:00:00+00:00",
        "2024-01-05T00:00:00+00:00",
        "2024-01-08T00:00:00+00:00",
        "2024-01-10T00:00:00+00:00",
    ]


def test_question_mark_is_a_wildcard() -> None:
    assert run("0 0 ? * ?", "UTC", at(2024, 1, 1), 2) == run("0 0 * * *", "UTC", at(2024, 1, 1), 2)


def test_day_of_month_or_day_of_week_when_both_restricted() -> None:
    # 2024-01-01 is a Monday: the 1st of the month OR any Monday
    assert run("0 9 1 * mon", "UTC", at(2024, 1, 1), 6) == [
        "2024-01-01T09:00:00+00:00",
        "2024-01-08T09:00:00+00:00",
        "2024-01-15T09:00:00+00:00",
        "2024-01-22T09:00:00+00:00",
        "2024-01-29T09:00:00+00:00",
        "2024-02-01T09:00:00+00:00",
    ]


def test_star_step_counts_as_restricted_so_the_day_fields_are_ored() -> None:
    # CronJob: "*/2" sets no wildcard bit, so odd days OR Mondays (2024-01-08 is a Monday)
    assert run("0 0 */2 * 1", "UTC", at(2024, 1, 1), 5) == [
        "2024-01-03T00:00:00+00:00",
        "2024-01-05T00:00:00+00:00",
        "2024-01-07T00:00:00+00:00",
        "2024-01-08T00:00:00+00:00",
        "2024-01-09T00:00:00+00:00",
    ]


@pytest.mark.parametrize("day_field", ["*", "?", "*/1", "5,*", "*-3"])
def test_a_bare_wildcard_anywhere_in_the_field_means_and(day_field: str) -> None:
    # only Mondays: the day-of-month field is unrestricted
    assert run(f"0 0 {day_field} * 1", "UTC", at(2024, 1, 1), 2) == [
        "2024-01-08T00:00:00+00:00",
        "2024-01-15T00:00:00+00:00",
    ]


def test_empty_list_items_are_ignored_and_an_empty_field_never_fires() -> None:
    assert run("0 0 1,,15 * *", "UTC", at(2024, 1, 1), 2) == run(
        "0 0 1,15 * *", "UTC", at(2024, 1, 1), 2
    )
    never = parse_cron("0 0 , * *")
    assert never.never
    assert never.next_after(at(2024, 1, 1)) is None
    assert never.previous_before(at(2024, 1, 1)) is None


def test_valid_schedule_that_never_fires() -> None:
    schedule = parse_cron("0 0 30 2 *", "UTC")
    assert schedule.never
    assert schedule.next_after(at(2024, 1, 1)) is None
    assert schedule.previous_before(at(2024, 1, 1)) is None


def test_every_descriptor() -> None:
    schedule = parse_cron("@every 1h30m", "UTC")
    assert schedule.every == 5400
    start = datetime.datetime(2024, 1, 1, 0, 0, 10, 500_000, tzinfo=UTC)
    assert schedule.next_after(start) == at(2024, 1, 1, 1, 30, 10)
    assert schedule.previous_before(at(2024, 1, 1, 12)) == at(2024, 1, 1, 10, 30)
    assert parse_cron("@every 2.9s").every == 2  # CronJob truncates to whole seconds
    for short in ("@every 0s", "@every 500ms", "@every -1h"):
        with pytest.raises(SpecError, match="under one second"):
            parse_cron(short)


@pytest.mark.parametrize(
    "text", ["@DAILY", " @daily", "@daily ", "@every  1h", "@every", "@reboot"]
)
def test_descriptors_are_taken_exactly_as_written(text: str) -> None:
    with pytest.raises(SpecError):
        parse_cron(text)


@pytest.mark.parametrize(
    "text", ["TZ=UTC 0 0 * * *", "CRON_TZ=Europe/Berlin 0 0 * * *", "TZ=UTC", "0 0 * * TZ"]
)
def test_time_zone_inside_the_schedule_is_refused(text: str) -> None:
    with pytest.raises(SpecError, match="contains TZ") as info:
        parse_cron(text, "UTC", "spec.source.cron.schedule")
    assert info.value.fix == "set spec.source.cron.timeZone instead"


@pytest.mark.parametrize(
    "text",
    ["0 \u00b2 * * *", "\u0663 * * * *", "0 0 * * \u0661", "0 0 \uff11 * *", "*/\u0662 * * * *"],
)
def test_non_ascii_digits_are_refused_with_a_spec_error(text: str) -> None:
    with pytest.raises(SpecError, match="bad"):
        parse_cron(text)


def test_signs_and_leading_zeros_as_cronjob_reads_numbers() -> None:
    assert run("+5 007 * * *", "UTC", at(2024, 1, 1), 1) == ["2024-01-01T07:05:00+00:00"]
    with pytest.raises(SpecError, match="negative"):
        parse_cron("*/-1 * * * *")


def test_february_29_skips_to_the_next_leap_year() -> None:
    assert run("0 0 29 2 *", "UTC", at(2097, 1, 1), 2) == [
        "2104-02-29T00:00:00+00:00",
        "2108-02-29T00:00:00+00:00",
    ]


def test_time_zone_wall_clock() -> None:
    assert run("0 2 * * *", "Europe/Berlin", at(2024, 1, 10, 12), 1) == [
        "2024-01-11T02:00:00+01:00"
    ]
    assert run("0 2 * * *", "Europe/Berlin", at(2024, 7, 10, 12), 1) == [
        "2024-07-11T02:00:00+02:00"
    ]


def test_spring_forward_gap_fires_once_at_the_end_of_the_gap() -> None:
    # Berlin 2024-03-31: 02:00 CET jumps to 03:00 CEST
    assert run("30 2 * * *", "Europe/Berlin", at(2024, 3, 30, 12), 2) == [
        "2024-03-31T03:00:00+02:00",
        "2024-04-01T02:30:00+02:00",
    ]
    assert run("*/30 * * * *", "Europe/Berlin", at(2024, 3, 31, 0, 0), 4) == [
        "2024-03-31T01:30:00+01:00",
        "2024-03-31T03:00:00+02:00",
        "2024-03-31T03:30:00+02:00",
        "2024-03-31T04:00:00+02:00",
    ]


def test_fall_back_overlap_fixed_time_fires_once() -> None:
    # Berlin 2024-10-27: 03:00 CEST goes back to 02:00 CET
    assert run("30 2 * * *", "Europe/Berlin", at(2024, 10, 26, 12), 2) == [
        "2024-10-27T02:30:00+02:00",
        "2024-10-28T02:30:00+01:00",
    ]


def test_fall_back_overlap_unrestricted_hour_fires_in_both_passes() -> None:
    expected = [
        "2024-10-27T02:00:00+02:00",
        "2024-10-27T02:30:00+02:00",
        "2024-10-27T02:00:00+01:00",
        "2024-10-27T02:30:00+01:00",
        "2024-10-27T03:00:00+01:00",
    ]
    assert run("0,30 * * * *", "Europe/Berlin", at(2024, 10, 26, 23, 50), 5) == expected
    assert run("0,30 * * * *", "Europe/Berlin", at(2024, 10, 27, 2, 10), 5, back=True) == [
        "2024-10-27T03:00:00+01:00",
        *expected[3::-1],
    ]


def test_half_hour_shift_zone() -> None:
    # Lord Howe falls back 30 minutes: 02:00 +11:00 becomes 01:30 +10:30
    assert run("*/30 * * * *", "Australia/Lord_Howe", at(2024, 4, 6, 14, 0), 3) == [
        "2024-04-07T01:30:00+11:00",
        "2024-04-07T01:30:00+10:30",
        "2024-04-07T02:00:00+10:30",
    ]


def test_results_are_in_the_schedule_zone_and_inputs_may_be_any_zone() -> None:
    schedule = parse_cron("0 12 * * *", "America/New_York")
    tokyo = datetime.datetime(2024, 6, 1, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    result = schedule.next_after(tokyo)
    assert result.isoformat() == "2024-05-31T12:00:00-04:00"  # Tokyo midnight is 11:00 there
    assert result.tzinfo == ZoneInfo("America/New_York")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_cron("* * * * *").next_after(datetime.datetime(2024, 1, 1))


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("* * *", "a schedule has 5 fields, '* * *' has 3"),
        ("", "empty schedule"),
        ("  ", "a schedule has 5 fields, '  ' has 0"),
        ("61 * * * *", "61 is out of range 0-59 in the minute field of '61 * * * *'"),
        ("0 24 * * *", "24 is out of range 0-23 in the hour field of '0 24 * * *'"),
        ("0 0 0 * *", "0 is out of range 1-31 in the day of month field of '0 0 0 * *'"),
        ("0 0 * 13 *", "13 is out of range 1-12 in the month field of '0 0 * 13 *'"),
        ("0 0 * * 8", "8 is out of range 0-6 in the day of week field of '0 0 * * 8'"),
        ("@reboot", "unknown schedule descriptor '@reboot'"),
        ("5-1 * * * *", "range '5-1' runs backwards in the minute field of '5-1 * * * *'"),
        ("*/0 * * * *", "step 0 in the minute field of '*/0 * * * *'"),
        ("0 0 * * foo", "bad value 'foo' in the day of week field of '0 0 * * foo'"),
        ("1-2-3 * * * *", "too many '-' in '1-2-3' in the minute field of '1-2-3 * * * *'"),
        ("1/2/3 * * * *", "too many '/' in '1/2/3' in the minute field of '1/2/3 * * * *'"),
    ],
)
def test_schedule_errors(expr: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_cron(expr, "UTC", "spec.source.cron.schedule", "spec.source.cron.timeZone")
    assert info.value.path == "spec.source.cron.schedule"
    assert info.value.message == message


def test_time_zone_errors_name_the_time_zone_field() -> None:
    with pytest.raises(SpecError) as info:
        parse_cron(
            "* * * * *", "Europe/Berln", "spec.source.cron.schedule", "spec.source.cron.timeZone"
        )
    assert info.value.path == "spec.source.cron.timeZone"
    assert info.value.message == "unknown time zone 'Europe/Berln'"
    assert info.value.fix is not None and info.value.fix.startswith("did you mean Europe/Berlin")
    for bad in ("Nowhere/At_All", "../etc/passwd"):
        with pytest.raises(SpecError, match="unknown time zone"):
            parse_cron("* * * * *", bad, "s", "tz")

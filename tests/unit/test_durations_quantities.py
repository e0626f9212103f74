"""Go-style durations and Kubernetes quantities."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runner.spec.durations import format_duration, parse_duration, parse_duration_ns
from runner.spec.errors import SpecError
from runner.spec.quantities import parse_quantity


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("0s", 0.0),
        ("500ms", 0.5),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("2h45m30s", 9930.0),
        ("1.5s", 1.5),
        (".5m", 30.0),
        ("+10s", 10.0),
        ("250us", 0.00025),
        ("1µs", 0.000001),
        ("1000ns", 0.000001),
        ("1\u03bcs", 0.000001),  # Greek mu, which Go takes too
        ("+0", 0.0),
        ("-0", 0.0),  # zero, not negative
        ("-0s", 0.0),
        ("1.s", 1.0),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "f") == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10", "duration '10' has a number without a unit"),
        ("-1s", "duration '-1s' must not be negative"),
        ("1d", "duration '1d' has an unknown unit 'd'"),
        ("", "duration '' is empty"),
        ("-", "duration '-' has no number"),
        ("1h 30m", "duration '1h 30m' has an unknown unit 'h '"),
        ("h", "duration 'h' has no number at 'h'"),
        (" 1s", "duration ' 1s' has no number at ' 1s'"),  # Go does not trim
        ("\u0663s", "duration '\u0663s' has no number at '\u0663s'"),
        ("9223372036854775808ns", "duration '9223372036854775808ns' is too large"),
    ],
)
def test_duration_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_duration(text, "spec.options.retry.maxDelay")
    assert info.value.path == "spec.options.retry.maxDelay"
    assert info.value.message == message
    assert (
        info.value.fix == "write a number with a unit (ns, us, ms, s, m, h), e.g. 500ms, 30s, 1h30m"
    )


def test_duration_nanoseconds_follow_go_arithmetic() -> None:
    assert parse_duration_ns("1.000000001s") == 1_000_000_001
    assert parse_duration_ns("0.1ns") == 0  # below a nanosecond: truncated, as Go does
    assert parse_duration_ns("-1.5h", allow_negative=True) == -5_400_000_000_000
    assert parse_duration_ns("9223372036854775807ns") == 2**63 - 1


def test_duration_must_be_a_string() -> None:
    with pytest.raises(SpecError) as info:
        parse_duration(30, "f")  # type: ignore[arg-type]
    assert info.value.message == "a duration must be a string, got int"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.5, "500ms"), (1, "1s"), (90, "1m30s"), (3600, "1h"), (5400, "1h30m")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500Mi", Decimal(500 * 2**20)),
        ("2", Decimal(2)),
        ("100m", Decimal("0.1")),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("1e3", Decimal(1000)),
        ("1E3", Decimal(1000)),
        ("1E", Decimal(10**18)),
        ("2k", Decimal(2000)),
        ("-2k", Decimal(-2000)),
        (".5", Decimal("0.5")),
        ("1Ki", Decimal(1024)),
        ("3n", Decimal("3e-9")),
        ("12u", Decimal("0.000012")),
        ("1.5e-2", Decimal("0.015")),
        ("1.5Ki", Decimal(1536)),
        ("0.0000000001", Decimal("1e-9")),  # rounded up to a nanounit
        ("-0.0000000001", Decimal("-1e-9")),
        ("8Ei", Decimal(2**63 - 1)),  # binary values are capped
        ("1e20", Decimal(10**20)),  # decimal ones are not
        # apimachinery's quirks, followed: a sign or a point alone is 0, so is a bare suffix
        (".", Decimal(0)),
        ("+", Decimal(0)),
        ("-", Decimal(0)),
        ("Mi", Decimal(0)),
        ("1.", Decimal(1)),
        ("007", Decimal(7)),
        (7, Decimal(7)),
        (0.1, Decimal("0.1")),
    ],
)
def test_quantities(text: str | int | float, value: Decimal) -> None:
    assert parse_quantity(text) == value


def test_equal_quantities_compare_equal() -> None:
    assert parse_quantity("100m") == parse_quantity("0.1")
    assert parse_quantity("1Gi") > parse_quantity("1G")
    assert parse_quantity("1024Mi") == parse_quantity("1Gi")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1.2.3", "not a number with an optional suffix"),
        ("1mi", "unknown suffix 'mi'"),
        ("1 Gi", "not a number with an optional suffix"),
        (" 2", "not a number with an optional suffix"),
        ("1e", "unknown suffix 'e'"),
        ("abc", "not a number with an optional suffix"),
        ("", "empty"),
        ("1KiB", "not a number with an optional suffix"),
        ("\u0663", "not a number with an optional suffix"),
        (".e-10", "no digits"),
        ("1e1001", "exponent 1001 is beyond +-1000"),
    ],
)
def test_quantity_errors(text: str, why: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_quantity(text, "spec.runner.resources.limits.memory")
    assert info.value.path == "spec.runner.resources.limits.memory"
    assert info.value.message == f"invalid quantity {text!r}: {why}"


def test_quantity_rejects_booleans() -> None:
    with pytest.raises(SpecError) as info:
        parse_quantity(True, "f")
    assert info.value.message == "a quantity must be a number or a string, got a boolean"

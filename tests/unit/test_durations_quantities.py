"""Go-style durations and Kubernetes quantities."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runner.spec.durations import format_duration, parse_duration
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
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "f") == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10", "duration '10' has a number without a unit"),
        ("-1s", "duration '-1s' must not be negative"),
        ("1d", "unknown unit 'd' in duration '1d'"),
        ("", "empty duration"),
        ("1h 30m", "invalid duration '1h 30m' at ' 30m'"),
        ("h", "invalid duration 'h' at 'h'"),
    ],
)
def test_duration_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_duration(text, "spec.options.retry.maxDelay")
    assert info.value.path == "spec.options.retry.maxDelay"
    assert info.value.message == message
    assert info.value.fix == "write a number with a unit (ms, s, m, h), e.g. 500ms, 30s, 1h30m"


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


@pytest.mark.parametrize("text", ["1.2.3", "Mi", "1mi", "1 Gi", "1e", "abc", "", "1KiB"])
def test_quantity_errors(text: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_quantity(text, "spec.runner.resources.limits.memory")
    assert info.value.path == "spec.runner.resources.limits.memory"
    assert info.value.message == f"invalid quantity {text!r}"


def test_quantity_rejects_booleans() -> None:
    with pytest.raises(SpecError) as info:
        parse_quantity(True, "f")
    assert info.value.message == "a quantity must be a number or a string, got a boolean"

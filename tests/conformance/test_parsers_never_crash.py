"""Every spec parser, fed arbitrary Unicode, raises nothing but SpecError.

A parser that raises anything else (ValueError from int(), IndexError, a
RecursionError) would reach the user as a traceback instead of exit 2 with the
field. The inputs are random strings built from the parsers' own syntax
characters, digits of every script, spaces of every kind, surrogates, combining
marks and anything else in the Basic Multilingual Plane and beyond, plus
mutations of valid inputs. The seed is the session's (printed at start).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from runner.spec import jsonpath
from runner.spec.cron import load_time_zone, parse_cron
from runner.spec.durations import parse_duration, parse_duration_ns
from runner.spec.errors import SpecError
from runner.spec.quantities import parse_quantity
from runner.spec.selectors import parse_field_selector, parse_label_selector
from tests.conformance.reference import SEED, rng

CASES_PER_PARSER = 3000

SYNTAX = "*?/-,@ =!()<>\\.[]{}$'\"|:;&~^#%+_0123456789eEKiMmunkGTPhsµμ"
ODD = [
    "²", "٣", "３", "३", "۵", "𝟘", "¹", "Ⅻ",  # digits and number-likes of other scripts
    "\u00a0", "\u2003", "\u3000", "\x1c", "\x85", "\u200b", "\ufeff", "\t", "\n", "\x0b",
    "\u0130", "\u212a", "\u0307", "\u0301", "ß", "ﬀ",  # case-mapping oddities, combining marks
    "\ud800", "\udfff",  # lone surrogates
    "\x00", "\x7f", "\uffff", "\U0001f600", "\U0010ffff",
]  # fmt: skip
SEEDS = [
    "0 2 * * *", "@every 1h30m", "*/15 9-17 * jan-mar mon-fri", "@daily",
    "app=web,tier!=db,env in (prod,staging),!legacy", "x in (a,)", "n>5",
    "metadata.name=web,status.phase!=Running", "a=b\\,c",
    "500Mi", "1.5Gi", "1e3", "100m", "-0.5", "1h30m", "1.5μs", "-0",
    "{.metadata.name}", "{.items[*]['metadata.name', 'status.capacity']}",
    "{.status.conditions[?(@.type==\"Ready\")].status}", "{.a.b\\.c}", "{..name}", "{[1,3]}",
    "Europe/Berlin", "UTC",
]  # fmt: skip


def _char(r: random.Random) -> str:
    roll = r.random()
    if roll < 0.5:
        return r.choice(SYNTAX)
    if roll < 0.7:
        return r.choice(ODD)
    if roll < 0.85:
        return chr(r.randint(0x20, 0x7E))
    if roll < 0.97:
        return chr(r.randint(0xA0, 0xFFFF))
    return chr(r.randint(0x10000, 0x10FFFF))


def arbitrary(r: random.Random) -> str:
    if r.random() < 0.4:  # a valid input, mutated
        text = list(r.choice(SEEDS))
        for _ in range(r.randint(1, 4)):
            spot = r.randint(0, len(text))
            action = r.random()
            if action < 0.4:
                text.insert(spot, _char(r))
            elif action < 0.7 and text:
                del text[min(spot, len(text) - 1)]
            elif text:
                text[min(spot, len(text) - 1)] = _char(r)
        return "".join(text)
    length = r.choice([0, 1, 2, 3, 5, 8, 13, 30, 80]) if r.random() < 0.9 else r.randint(200, 3000)
    return "".join(_char(r) for _ in range(length))


def _jsonpath_compile() -> Callable[[str, str], Any]:
    compile_path = getattr(jsonpath, "compile_path", None)
    assert compile_path is not None, "runner.spec.jsonpath has no public compile_path"
    return compile_path  # type: ignore[no-any-return]


PARSERS: dict[str, Callable[[str], Any]] = {
    "cron": lambda text: parse_cron(text, "UTC", "schedule", "timeZone"),
    "cron time zone": lambda text: parse_cron("0 2 * * *", text, "schedule", "timeZone"),
    "time zone": lambda text: load_time_zone(text, "timeZone"),
    "label selector": lambda text: parse_label_selector(text, "labelSelector"),
    "field selector": lambda text: parse_field_selector(text, "fieldSelector"),
    "quantity": lambda text: parse_quantity(text, "quantity"),
    "duration": lambda text: parse_duration(text, "duration"),
    "duration (ns)": lambda text: parse_duration_ns(text, "duration", allow_negative=True),
    "jsonpath": lambda text: _jsonpath_compile()(text, "path"),
}


@pytest.mark.parametrize("name", list(PARSERS))
def test_parser_raises_only_spec_errors(name: str) -> None:
    parse = PARSERS[name]
    r = rng(f"never-crash:{name}")
    crashes: dict[str, str] = {}
    for _ in range(CASES_PER_PARSER):
        text = arbitrary(r)
        try:
            parse(text)
        except SpecError as err:
            assert err.path, f"{name}: SpecError without a field path for {text!r}"
        except Exception as exc:  # the point of the test: anything else is a bug
            crashes.setdefault(type(exc).__name__, f"{text!r}: {exc!r}")
    assert not crashes, (
        f"{name} raised something other than SpecError (KT_CONFORMANCE_SEED={SEED}): {crashes}"
    )

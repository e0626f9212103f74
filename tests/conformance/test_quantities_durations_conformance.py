"""Quantities and durations: the runner against resource.ParseQuantity and time.ParseDuration.

Quantities must agree on accept/refuse, on the exact value (after apimachinery's
rounding up to the nanounit and its cap on binary values) and on order against
other quantities; durations on accept/refuse and the value in nanoseconds.
"""

from __future__ import annotations

import random
from decimal import Decimal

from runner.spec.durations import parse_duration, parse_duration_ns
from runner.spec.errors import SpecError
from runner.spec.quantities import MAX_EXPONENT, parse_quantity
from tests.conformance.compare import Tally
from tests.conformance.reference import Reference, rng

BAD_DIGITS = ["٣", "²", "３", "३", "۵", "𝟘"]

QUANTITY_HAND_PICKED = [
    # issue 9
    "٣",
    # apimachinery's documented forms and its quirks
    "0", "1", "-1", "+1", "100m", "0.1", "500Mi", "1.5Gi", "1Ki", "1Ei", "8Ei", "-8Ei", "16Ei",
    "1e3", "1E3", "1e+3", "1e-3", "1E", "1e", "1e0", "2k", "2K", "1ki", "1KI", "1Kib", "1mi",
    "1M", "1m", "1u", "1n", "0.5n", "0.0000000001", "-0.0000000001", "1.", ".5", ".", "+", "-",
    "-0", "+0", "00", "007", "Mi", "Ki", ".Ki", ".Ei", ".Pi", ".Ti", ".e-10", ".e5", "-.e-10",
    "1.5.5", "1..5", "1 Mi", " 1", "1 ", "", "e3", "ee3", "1e3e3", "1e3Ki", "1Mie3", "5.Ki",
    "1.5Ki", "0.5Ki", "0.1Ki", "1e-9", "1e-10", "123456789012345678", "1234567890123456789",
    "12345678901234567890123456789", "9223372036854775807", "9223372036854775808",
    "9223372036854775807Ki", "99999999999999999999Ei", "1e1000", "1e-1000", "1e1001",
    "1e4294967296", "1e9223372036854775807", "1e9223372036854775808", "0.000000000000000000001",
    "1.000000001", "1.0000000001", "-1.0000000001", "3.14159265358979323846", "1e18", "1e19",
    "1Pi", "1.5Pi", "100Ti", "10Ti", "1e-9n", "\u0661Ki", "1\u00a0",
]  # fmt: skip

DURATION_HAND_PICKED = [
    # issue 9
    "1μs", "1µs", "+0", "-0", "٣s",
    # time.ParseDuration's documented forms and edges
    "0", "00", "0s", "-0s", "+0s", "300ms", "-1.5h", "2h45m", "1h30m", "1.5h", ".5s", "1.s",
    ".s", "-.s", "s", "", "-", "+", "1", "1d", "1S", "1H", "1 s", " 1s", "1s ", "1h 2m",
    "1us", "1ns", "1.0000000001s", "0.1ns", "0.9ns", "9223372036854775807ns",
    "9223372036854775808ns", "-9223372036854775808ns", "-9223372036854775809ns",
    "2562047h47m16.854775807s", "2562047h47m16.854775808s", "2562048h", "1.123456789123456789h",
    "1.00000000000000000000000000001s", "123456789012345678901234567890ns", "1h1h", "1m1h",
    "1µ", "1μ", "1u", "1\u00b5S", "1sm", "1.2.3s", "1e3s", "0x10s", "+-1s", "--1s", "1_000s",
]  # fmt: skip

QUANTITY_SUFFIXES = ["", "", "", *"mkMGTPEnu", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
QUANTITY_NEAR = ["K", "ki", "KI", "mi", "e", "E+", "ee3", "Kib", "i", "MM", "Ki3", "e3.5", " "]
DURATION_UNITS = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
DURATION_NEAR = ["", "d", "S", "H", "Ms", "µ", "μ", "u s", "sec", "min", " ", "ms "]


def _digits(r: random.Random, most: int) -> str:
    return "".join(r.choice("0123456789") for _ in range(r.randint(0, most)))


def generated_quantity(r: random.Random) -> str:
    sign = r.choice(["", "", "", "+", "-"])
    whole = _digits(r, 6) if r.random() < 0.85 else _digits(r, 25)
    if r.random() < 0.2:
        whole = "0" * r.randint(1, 3) + whole
    point = "." + _digits(r, 12) if r.random() < 0.35 else ""
    roll = r.random()
    if roll < 0.6:
        suffix = r.choice(QUANTITY_SUFFIXES)
    elif roll < 0.85:
        power = r.randint(-40, 40) if r.random() < 0.95 else r.randint(-3000, 3000)
        suffix = r.choice("eE") + r.choice(["", "+"] if power >= 0 else [""]) + str(power)
    else:
        suffix = r.choice(QUANTITY_NEAR)
    text = sign + whole + point + suffix
    if r.random() < 0.03:
        spot = r.randint(0, len(text))
        text = text[:spot] + r.choice(BAD_DIGITS) + text[spot:]
    return text


def generated_duration(r: random.Random) -> str:
    if r.random() < 0.03:
        return r.choice(["0", "+0", "-0", "00", ""])
    text = r.choice(["", "", "", "+", "-"])
    for _ in range(r.randint(1, 4)):
        whole = _digits(r, 4) if r.random() < 0.9 else _digits(r, 22)
        fraction = "." + _digits(r, 10) if r.random() < 0.3 else ""
        unit = r.choice(DURATION_UNITS) if r.random() < 0.92 else r.choice(DURATION_NEAR)
        text += whole + fraction + unit
    if r.random() < 0.03:
        spot = r.randint(0, len(text))
        text = text[:spot] + r.choice(BAD_DIGITS) + text[spot:]
    return text


def _exponent_beyond_limit(text: str) -> bool:
    for marker in ("e", "E"):
        _, found, power = text.rpartition(marker)
        if found and power.lstrip("+-").isdigit() and power.isascii():
            return abs(int(power)) > MAX_EXPONENT
    return False


def compare_quantities(tally: Tally, texts: list[str], ref: Reference, seed: str) -> None:
    r = rng(seed)
    others = [r.sample(texts, min(4, len(texts))) for _ in texts]
    answers = ref.ask_many(
        {"op": "quantity", "quantity": t, "compare": o} for t, o in zip(texts, others, strict=True)
    )
    for text, against, theirs in zip(texts, others, answers, strict=True):
        assert "error" not in theirs, theirs
        tally.cases += 1
        try:
            ours: Decimal | None = parse_quantity(text, "q")
        except SpecError:
            ours = None
        if (ours is not None) != theirs["ok"]:
            if theirs["ok"] and _exponent_beyond_limit(text):
                tally.skip("quantity-exponent")
            else:
                tally.differ(text, ours, theirs)
            continue
        if ours is None:
            continue
        if ours != Decimal(theirs["exact"]):
            tally.differ(text, ours, theirs)
            continue
        for other, order in zip(against, theirs["compare"], strict=True):
            try:
                value = parse_quantity(other, "q")
            except SpecError:
                value = None
            if order is None or value is None:
                continue
            mine = (ours > value) - (ours < value)
            if mine != order:
                tally.differ((text, other), mine, order)


def compare_durations(tally: Tally, texts: list[str], ref: Reference) -> None:
    answers = ref.ask_many({"op": "duration", "duration": t} for t in texts)
    for text, theirs in zip(texts, answers, strict=True):
        assert "error" not in theirs, theirs
        tally.cases += 1
        try:
            ours: int | None = parse_duration_ns(text, "d", allow_negative=True)
        except SpecError:
            ours = None
        expected = theirs["nanoseconds"] if theirs["ok"] else None
        if ours != expected:
            tally.differ(text, ours, theirs)
            continue
        if ours is not None and ours < 0:
            # where the spec wants a length of time, a negative one is refused on purpose
            try:
                parse_duration(text, "d")
            except SpecError:
                tally.skip("duration-negative")
            else:
                tally.differ(text, "accepted as a length of time", "negative")


def test_hand_picked_quantities_agree(reference: Reference) -> None:
    tally = Tally("quantities, hand-picked")
    compare_quantities(tally, QUANTITY_HAND_PICKED, reference, "quantities-hand-picked")
    tally.check(len(QUANTITY_HAND_PICKED))


def test_generated_quantities_agree(reference: Reference) -> None:
    r = rng("quantities-generated")
    texts = [generated_quantity(r) for _ in range(5000)]
    tally = Tally("quantities, generated")
    compare_quantities(tally, texts, reference, "quantities-generated-compare")
    tally.check(5000)


def test_hand_picked_durations_agree(reference: Reference) -> None:
    tally = Tally("durations, hand-picked")
    compare_durations(tally, DURATION_HAND_PICKED, reference)
    tally.check(len(DURATION_HAND_PICKED))


def test_generated_durations_agree(reference: Reference) -> None:
    r = rng("durations-generated")
    tally = Tally("durations, generated")
    compare_durations(tally, [generated_duration(r) for _ in range(5000)], reference)
    tally.check(5000)

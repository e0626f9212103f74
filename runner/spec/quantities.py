"""Kubernetes quantities (``500Mi``, ``2``, ``100m``, ``1.5Gi``, ``1e3``) as exact Decimals.

Order filters (``greaterThan``) compare resource requests and similar values the
way Kubernetes reads them, and the runner's ``resources`` are checked before a
Deployment is rendered; Decimal keeps ``100m`` and ``0.1`` exactly equal. The
text is read exactly as apimachinery's ``resource.ParseQuantity`` reads it
(checked by the conformance suite), quirks included: ``.`` and ``+`` are 0, ``1.``
and ``1.Ki`` are valid, ``E`` alone is exa (10^18) while ``e3`` is an exponent,
values are rounded up to the nanounit and binary-suffixed values are capped at
2^63-1. One deliberate difference: exponents beyond +-1000 are refused (the
reference wraps them at 32 bits).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from runner.spec.errors import SpecError
from runner.spec.integers import INT64_MAX as _INT64_MAX
from runner.spec.integers import parse_int64

if TYPE_CHECKING:
    from decimal import Decimal

#: decimal suffix -> power of ten; binary suffix -> power of two
DECIMAL_SUFFIXES: dict[str, int] = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
BINARY_SUFFIXES: dict[str, int] = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
#: the largest exponent (``1e1000``) the runner takes; see the module docstring
MAX_EXPONENT = 1000

_FIX = "write a number with an optional suffix, e.g. 2, 100m, 500Mi, 1.5Gi, 1e3"
_DIGITS = "0123456789"
_SUFFIX_CHARS = "eEinumkKMGTP"


#: sign, leading zeros, whole digits, fraction digits, suffix: a subset of what _split reads
_PLAIN = re.compile(
    r"([+-]?)(0*)([0-9]*)(?:\.([0-9]*))?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?"
)


class _Bad(Exception):
    """Why the text is not a quantity."""


def parse_quantity(text: str | int | float, field: str = "") -> Decimal:
    """``text`` as a Decimal; numbers are accepted as they are. Raises SpecError at ``field``."""
    from decimal import Decimal

    if isinstance(text, bool):
        raise SpecError(field, "a quantity must be a number or a string, got a boolean", _FIX)
    if isinstance(text, int):
        return Decimal(text)
    if isinstance(text, float):
        return Decimal(repr(text))
    if not isinstance(text, str):
        raise SpecError(field, f"a quantity must be a string, got {type(text).__name__}", _FIX)
    try:
        return _parse(text)
    except _Bad as bad:
        raise SpecError(field, f"invalid quantity {text!r}: {bad}", _FIX) from None


def _scan_digits(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _DIGITS:
        pos += 1
    return pos


def _split(text: str) -> tuple[bool, str, str, bool, str]:
    """(negative, whole digits without leading zeros, fraction digits, any digit, suffix)."""
    negative = text[0] == "-"
    start = 1 if text[0] in "+-" else 0
    pos = start
    while pos < len(text) and text[pos] == "0":
        pos += 1
    if pos == len(text):  # only a sign and zeros: zero
        return negative, "", "", True, ""
    end = _scan_digits(text, pos)
    whole = text[pos:end]
    fraction = ""
    if end < len(text) and text[end] == ".":
        fraction_end = _scan_digits(text, end + 1)
        fraction = text[end + 1 : fraction_end]
        end = fraction_end
    any_digit = end > start and any(c in _DIGITS for c in text[start:end])
    pos = end
    while pos < len(text) and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < len(text) and text[pos] in "+-":
        pos += 1
    if _scan_digits(text, pos) != len(text):
        raise _Bad("not a number with an optional suffix")
    return negative, whole, fraction, any_digit, text[end:]


def _parse(text: str) -> Decimal:
    from decimal import Decimal

    if not text:
        raise _Bad("empty")
    if text == "0":
        return Decimal(0)
    plain = _PLAIN.fullmatch(text)
    if plain and (plain[2] or plain[3] or plain[4]):  # the usual shapes, read in one go
        negative, whole, fraction, any_digit = plain[1] == "-", plain[3], plain[4] or "", True
        suffix = plain[5] or ""
    else:
        negative, whole, fraction, any_digit, suffix = _split(text)
    binary = suffix in BINARY_SUFFIXES
    if suffix in DECIMAL_SUFFIXES:
        exponent = DECIMAL_SUFFIXES[suffix]
    elif binary:
        exponent = BINARY_SUFFIXES[suffix]
    else:
        parsed = parse_int64(suffix[1:]) if len(suffix) > 1 and suffix[0] in "eE" else None
        if parsed is None:
            raise _Bad(f"unknown suffix {suffix!r}")
        if abs(parsed) > MAX_EXPONENT:
            raise _Bad(f"exponent {parsed} is beyond +-{MAX_EXPONENT}")
        exponent = parsed
    digits = (whole or "0") + fraction
    # apimachinery reads most values with int64 arithmetic and the rest as a decimal
    # string; that string must hold a digit (so "." is 0 but ".e-10" is refused)
    if binary:
        fast = not fraction and 15 - len(whole or "0") - exponent * 3 // 10 - 1 >= 0
    else:
        fast = 18 - len(digits) >= 0 and exponent - len(fraction) >= -9
    if fast:  # exact without rounding or a cap: the common case, kept cheap
        if binary:
            return Decimal((-1 if negative else 1) * (int(whole or "0") << exponent))
        return Decimal(f"{'-' if negative else ''}{digits}E{exponent - len(fraction)}")
    if not any_digit:
        raise _Bad("no digits")
    from decimal import ROUND_UP, localcontext

    with localcontext() as ctx:
        ctx.prec = len(digits) + 2 * MAX_EXPONENT + 64  # every operation below is exact
        ctx.Emax, ctx.Emin = 10 * MAX_EXPONENT + len(digits), -10 * MAX_EXPONENT - len(digits)
        value = Decimal(digits).scaleb(-len(fraction))
        value = value * (2**exponent) if binary else value.scaleb(exponent)
        if value:  # anything below a nanounit rounds up to it
            value = value.quantize(Decimal("1e-9"), rounding=ROUND_UP).normalize()
        if binary and value > _INT64_MAX:
            value = Decimal(_INT64_MAX)
        return -value if negative and value else value

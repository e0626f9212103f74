"""Whole numbers as Go's ``strconv.ParseInt(text, 10, 64)`` reads them.

Label selectors (``gt``/``lt`` values), quantity exponents and JSONPath
indexes and literals are parsed by the API server and kubectl with that one
rule; the parsers here share this copy of it, so they agree with each other and
with Go (tests/conformance).
"""

from __future__ import annotations

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def parse_int64(text: str) -> int | None:
    """``text`` as a signed 64-bit integer: an optional sign, then ASCII digits; else None."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    value = -int(digits) if text[0] == "-" else int(digits)
    return value if INT64_MIN <= value <= INT64_MAX else None

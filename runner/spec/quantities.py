"""Kubernetes quantities (``500Mi``, ``2``, ``100m``, ``1.5Gi``, ``1e3``) as exact Decimals.

Order filters (``greaterThan``) compare resource requests and similar values the
way Kubernetes reads them, and the runner's ``resources`` are checked before a
Deployment is rendered; Decimal keeps ``100m`` and ``0.1`` exactly equal.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from runner.spec.errors import SpecError

if TYPE_CHECKING:
    from decimal import Decimal

#: suffix -> multiplier (binary SI, decimal SI), exact as Decimal reads them; decimal
#: exponents (e3, E-2) are handled apart. Plain numbers and text, so that importing this
#: module (the spec parser does) does not load ``decimal``: only a spec with quantities does.
SUFFIXES: dict[str, int | str] = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "n": "1e-9",
    "u": "1e-6",
    "m": "1e-3",
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}

_QUANTITY = re.compile(
    r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)"
)
_FIX = "write a number with an optional suffix, e.g. 2, 100m, 500Mi, 1.5Gi, 1e3"


def parse_quantity(text: str | int | float, field: str = "") -> Decimal:
    """``text`` as a Decimal; numbers are accepted as they are. Raises SpecError at ``field``."""
    from decimal import Decimal, InvalidOperation

    if isinstance(text, bool):
        raise SpecError(field, "a quantity must be a number or a string, got a boolean", _FIX)
    if isinstance(text, int):
        return Decimal(text)
    if isinstance(text, float):
        return Decimal(repr(text))
    if not isinstance(text, str):
        raise SpecError(field, f"a quantity must be a string, got {type(text).__name__}", _FIX)
    m = _QUANTITY.fullmatch(text.strip())
    if m is None:
        raise SpecError(field, f"invalid quantity {text!r}", _FIX)
    number, exponent, suffix = m.groups()
    try:
        value = Decimal(number)
        if exponent:
            return value.scaleb(int(exponent[1:]))
        return value * Decimal(SUFFIXES[suffix or ""])
    except (InvalidOperation, ValueError, OverflowError):
        raise SpecError(field, f"invalid quantity {text!r}", _FIX) from None

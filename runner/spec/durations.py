"""Go-style durations (``500ms``, ``30s``, ``1h30m``), read exactly as Go's ``time.ParseDuration``.

Durations in the spec (retry delays, the cron catch-up window, timeouts,
``@every`` schedules) are written as Kubernetes and Go write them. The text is
read into whole nanoseconds with Go's own arithmetic (fractions go through a
float64 exactly as Go does), so a value agrees with Go's to the nanosecond;
the conformance suite checks it against the real ``time.ParseDuration``. Lengths
of time in the spec must not be negative (``-0`` is zero, not negative).
"""

from __future__ import annotations

from runner.spec.errors import SpecError

#: unit -> nanoseconds; both micro signs Go takes (U+00B5 MICRO SIGN, U+03BC GREEK MU)
UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}

_FIX = "write a number with a unit (ns, us, ms, s, m, h), e.g. 500ms, 30s, 1h30m"
_DIGITS = "0123456789"
_MAX = 1 << 63  # magnitude bound (the negative end of an int64)
_INT64_MAX = _MAX - 1


class _Bad(Exception):
    """Why the text is not a duration (turned into a SpecError by the caller)."""


def _leading_int(text: str, pos: int) -> tuple[int, int]:
    value = 0
    while pos < len(text) and text[pos] in _DIGITS:
        if value > _MAX // 10:
            raise _Bad("is too large")
        value = value * 10 + ord(text[pos]) - 48
        if value > _MAX:
            raise _Bad("is too large")
        pos += 1
    return value, pos


def _leading_fraction(text: str, pos: int) -> tuple[int, float, int]:
    """Digits after the point: (value, scale, end); digits past int64 precision are dropped."""
    value, scale, overflow = 0, 1.0, False
    while pos < len(text) and text[pos] in _DIGITS:
        if not overflow:
            if value > _INT64_MAX // 10:
                overflow = True
            else:
                candidate = value * 10 + ord(text[pos]) - 48
                if candidate > _MAX:
                    overflow = True
                else:
                    value, scale = candidate, scale * 10
        pos += 1
    return value, scale, pos


def _nanoseconds(text: str) -> int:
    pos, negative = 0, False
    if text[:1] in ("-", "+"):
        negative, pos = text[0] == "-", 1
    if text[pos:] == "0":
        return 0
    if pos == len(text):
        raise _Bad("is empty" if not text else "has no number")
    total = 0
    while pos < len(text):
        start = pos
        whole, pos = _leading_int(text, pos)
        has_whole = pos != start
        fraction, scale, has_fraction = 0, 1.0, False
        if pos < len(text) and text[pos] == ".":
            after = pos + 1
            fraction, scale, pos = _leading_fraction(text, after)
            has_fraction = pos != after
        if not has_whole and not has_fraction:
            raise _Bad(f"has no number at {text[start:]!r}")
        unit_start = pos
        while pos < len(text) and text[pos] != "." and text[pos] not in _DIGITS:
            pos += 1
        unit = text[unit_start:pos]
        if not unit:
            raise _Bad("has a number without a unit")
        if unit not in UNITS:
            raise _Bad(f"has an unknown unit {unit!r}")
        factor = UNITS[unit]
        if whole > _MAX // factor:
            raise _Bad("is too large")
        part = whole * factor
        if fraction > 0:
            part += int(float(fraction) * (float(factor) / scale))
            if part > _MAX:
                raise _Bad("is too large")
        total += part
        if total > _MAX:
            raise _Bad("is too large")
    if negative:
        return -total
    if total > _INT64_MAX:
        raise _Bad("is too large")
    return total


def parse_duration_ns(text: str, field: str = "", allow_negative: bool = False) -> int:
    """``text`` in whole nanoseconds, as Go reads it; raises SpecError at ``field``."""
    if not isinstance(text, str):
        raise SpecError(field, f"a duration must be a string, got {type(text).__name__}", _FIX)
    try:
        value = _nanoseconds(text)
    except _Bad as bad:
        raise SpecError(field, f"duration {text!r} {bad}", _FIX) from None
    if value < 0 and not allow_negative:
        raise SpecError(field, f"duration {text!r} must not be negative", _FIX)
    return value


def parse_duration(text: str, field: str = "") -> float:
    """``text`` in seconds; raises SpecError at ``field`` (negative durations are refused)."""
    return parse_duration_ns(text, field) / 1e9


def format_duration(seconds: float) -> str:
    """Seconds as a short Go-style duration (``90`` -> ``1m30s``), for describe output."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms" if seconds else "0s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    frac = seconds - whole
    secs_text = f"{secs + frac:g}s" if secs or frac else ""
    return f"{hours}h" * bool(hours) + f"{minutes}m" * bool(minutes) + secs_text or "0s"

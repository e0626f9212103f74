"""Go-style durations (``500ms``, ``30s``, ``1h30m``), the unit kubectl users already know.

Durations in the spec (retry delays, the cron catch-up window, timeouts) are
written as Kubernetes and Go write them; they become float seconds here so the
engine never parses a string.
"""

from __future__ import annotations

import re

from runner.spec.errors import SpecError

#: unit -> seconds
UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}

_FIX = "write a number with a unit (ms, s, m, h), e.g. 500ms, 30s, 1h30m"
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str, field: str = "") -> float:
    """``text`` in seconds; raises SpecError at ``field`` (negative durations are rejected)."""
    if not isinstance(text, str):
        raise SpecError(field, f"a duration must be a string, got {type(text).__name__}", _FIX)
    body = text.strip()
    if body == "0":
        return 0.0
    if body.startswith("-"):
        raise SpecError(field, f"duration {text!r} must not be negative", _FIX)
    body = body.removeprefix("+")
    if not body:
        raise SpecError(field, "empty duration", _FIX)
    total = 0.0
    pos = 0
    while pos < len(body):
        m = _PART.match(body, pos)
        if m is None:
            rest = body[pos:]
            number = re.match(r"[\d.]+", rest)
            unit = re.match(r"[A-Za-zµ]*", rest[number.end() :] if number else "")
            if number and number.end() == len(rest):
                message = f"duration {text!r} has a number without a unit"
            elif number and unit and unit.group():
                message = f"unknown unit {unit.group()!r} in duration {text!r}"
            else:
                message = f"invalid duration {text!r} at {rest!r}"
            raise SpecError(field, message, _FIX)
        total += float(m.group(1)) * UNITS[m.group(2)]
        pos = m.end()
    return total


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

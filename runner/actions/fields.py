"""Reading raw action fields: type checks and unknown-key checks that name the field path.

Every action module parses a raw mapping from the Trigger spec; these helpers
keep the wording of the errors uniform (``spec.actions[1].webhook.method: must
be one of ...; use POST``) so each module only states what it accepts.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any

from runner.spec.errors import SpecError, type_name


def mapping(raw: Any, field: str) -> Mapping[str, Any]:
    """``raw`` as a mapping with string keys, or a SpecError at ``field``."""
    if not isinstance(raw, Mapping):
        raise SpecError(field, f"must be an object, got {type_name(raw)}")
    for key in raw:
        if not isinstance(key, str):
            raise SpecError(field, f"has a non-string key {key!r}", "quote the key")
    return raw


def check_keys(raw: Mapping[str, Any], field: str, allowed: Collection[str]) -> None:
    """Reject any key of ``raw`` that is not in ``allowed``, suggesting the closest one."""
    for key in raw:
        if key in allowed:
            continue
        close = difflib.get_close_matches(key, list(allowed), n=1)
        fix = f"did you mean {close[0]}?" if close else f"use one of: {', '.join(sorted(allowed))}"
        raise SpecError(f"{field}.{key}", "unknown field", fix)


def string(raw: Mapping[str, Any], key: str, field: str, *, default: str | None = None) -> str:
    """A required non-empty string at ``raw[key]`` (``default`` when given and absent)."""
    if key not in raw or raw[key] is None:
        if default is not None:
            return default
        raise SpecError(f"{field}.{key}", "is required")
    return _nonempty(raw[key], f"{field}.{key}")


def optional_string(raw: Mapping[str, Any], key: str, field: str) -> str | None:
    """A non-empty string at ``raw[key]``, or None when absent."""
    if raw.get(key) is None:
        return None
    return _nonempty(raw[key], f"{field}.{key}")


def boolean(raw: Mapping[str, Any], key: str, field: str, *, default: bool = False) -> bool:
    """A boolean at ``raw[key]`` (``default`` when absent)."""
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise SpecError(f"{field}.{key}", f"must be true or false, got {type_name(value)}")
    return value


def integer(raw: Mapping[str, Any], key: str, field: str, *, low: int, high: int) -> int | None:
    """An integer in ``[low, high]`` at ``raw[key]``, or None when absent."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{field}.{key}", f"must be an integer, got {type_name(value)}")
    if not low <= value <= high:
        raise SpecError(f"{field}.{key}", f"must be between {low} and {high}, got {value}")
    return value


def choice(
    raw: Mapping[str, Any], key: str, field: str, choices: Collection[str], *, default: str
) -> str:
    """One of ``choices`` at ``raw[key]`` (``default`` when absent)."""
    value = raw.get(key)
    if value is None:
        return default
    if value not in choices:
        raise SpecError(
            f"{field}.{key}",
            f"must be one of {', '.join(choices)}, got {value!r}",
            f"use {default}" if default else None,
        )
    return str(value)


def string_list(raw: Mapping[str, Any], key: str, field: str) -> tuple[str, ...]:
    """A required non-empty list of non-empty strings at ``raw[key]``."""
    value = raw.get(key)
    if value is None:
        raise SpecError(f"{field}.{key}", "is required")
    if not isinstance(value, list) or not value:
        raise SpecError(f"{field}.{key}", "must be a non-empty list of strings")
    return tuple(_nonempty(item, f"{field}.{key}[{i}]") for i, item in enumerate(value))


def exactly_one(raw: Mapping[str, Any], field: str, keys: Collection[str]) -> str:
    """The one key of ``keys`` that ``raw`` sets (a true ``consumers`` counts as set)."""
    present = [k for k in keys if raw.get(k) not in (None, False)]
    if len(present) != 1:
        listed = ", ".join(keys)
        found = f"got {', '.join(present)}" if present else "got none"
        raise SpecError(field, f"needs exactly one of {listed}; {found}")
    return present[0]


def _nonempty(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise SpecError(field, f"must be a string, got {type_name(value)}")
    if not value.strip():
        raise SpecError(field, "must not be empty")
    return value

"""Spec errors that name the bad field and say how to fix it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SpecError(ValueError):
    """One problem in a Trigger spec, at a field path like ``spec.actions[1].webhook.url``."""

    def __init__(self, path: str, message: str, fix: str | None = None) -> None:
        self.path = path
        self.message = message
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text}; {self.fix}" if self.fix else text

    def at(self, prefix: str) -> SpecError:
        """The same error, re-rooted under ``prefix`` (used when parsing nested parts)."""
        path = (
            f"{prefix}.{self.path}"
            if self.path and not self.path.startswith("[")
            else (prefix + self.path)
        )
        return SpecError(path, self.message, self.fix)


class SpecErrors(ValueError):
    """Every problem found in one spec, so a user fixes them in one round."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def type_name(value: Any) -> str:
    """A YAML-ish name for the type of ``value``, for "must be X, got Y" messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__

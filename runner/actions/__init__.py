"""The action registry: every action kind, one row each.

Each kind lives in its own module (a frozen config, ``parse``, ``permissions``,
``run``); the table below is the only place that lists them, so adding a kind is
one module and one row. The spec parser looks keys up here.

A row names where its ``ActionKind`` lives rather than importing it: a kind's
module is imported the first time the kind is looked up, so a runner whose
spec only logs never loads smtplib (email) or urllib3 (webhook, chat): one
runner runs per trigger, and its memory bar is in docs/runner.md. Listing the
keys (``in``, ``sorted``, ``len``) imports nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from runner.actions.base import ActionKind

#: spec key -> ``module:attribute`` of its ActionKind, in the order the docs list them
_KINDS: dict[str, str] = {
    "patch": "runner.actions.patch:KIND",
    "apply": "runner.actions.apply:APPLY",
    "create": "runner.actions.apply:CREATE",
    "delete": "runner.actions.delete:KIND",
    "rolloutRestart": "runner.actions.rollout:KIND",
    "bumpApplicationRevision": "runner.actions.kubevela:KIND",
    "webhook": "runner.actions.webhook:KIND",
    "slack": "runner.actions.chat:SLACK",
    "teams": "runner.actions.chat:TEAMS",
    "discord": "runner.actions.chat:DISCORD",
    "email": "runner.actions.email:KIND",
    "log": "runner.actions.log:KIND",
}


class ActionRegistry(Mapping[str, ActionKind]):
    """A read-only mapping of spec key -> ActionKind that imports each kind on first lookup."""

    def __init__(self, rows: Mapping[str, str]) -> None:
        self._rows = dict(rows)
        self._loaded: dict[str, ActionKind] = {}

    def __getitem__(self, key: str) -> ActionKind:
        kind = self._loaded.get(key)
        if kind is not None:
            return kind
        module, _, attribute = self._rows[key].partition(":")  # KeyError for an unknown kind
        kind = getattr(importlib.import_module(module), attribute)
        if not isinstance(kind, ActionKind) or kind.key != key:
            raise TypeError(f"action registry row {key!r} ({self._rows[key]}) is not that kind")
        self._loaded[key] = kind  # the import lock makes a concurrent first lookup safe
        return kind

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __repr__(self) -> str:
        return f"ActionRegistry({', '.join(self._rows)})"


ACTIONS: Mapping[str, ActionKind] = ActionRegistry(_KINDS)

__all__ = ["ACTIONS", "ActionRegistry"]

"""The action registry: every action kind, one row each.

Each kind lives in its own module (a frozen config, ``parse``, ``permissions``,
``run``); this table is the only place that lists them, so adding a kind is
one module and one row. The spec parser looks keys up here.
"""

from __future__ import annotations

from runner.actions import (
    apply,
    chat,
    delete,
    email,
    kubevela,
    log,
    patch,
    rollout,
    webhook,
)
from runner.actions.base import ActionKind

ACTIONS: dict[str, ActionKind] = {
    kind.key: kind
    for kind in (
        patch.KIND,
        apply.APPLY,
        apply.CREATE,
        delete.KIND,
        rollout.KIND,
        kubevela.KIND,
        webhook.KIND,
        chat.SLACK,
        chat.TEAMS,
        chat.DISCORD,
        email.KIND,
        log.KIND,
    )
}

__all__ = ["ACTIONS"]

"""The contract every action kind fulfils, and the errors actions raise.

An action module defines a frozen config dataclass, a ``parse`` that checks the
raw spec (raising ``SpecError`` with the field path), a ``permissions`` that
states the RBAC its config needs, and a ``run`` that performs it for one event.
The registry in ``runner.actions`` lists every kind in one table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from runner.event import Event
from runner.permissions import Permission

if TYPE_CHECKING:
    from runner.kube.client import KubeClient


class ActionError(Exception):
    """An action failed. ``retryable`` says whether trying again can help."""

    retryable = False

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RetryableActionError(ActionError):
    """Timeouts, 5xx, 429, conflicts, a receiver that is down: try again later."""

    retryable = True


class PermanentActionError(ActionError):
    """Bad request, forbidden, not found: retrying cannot help."""


class SecretReader(Protocol):
    """Reads one key of a Secret in the trigger's namespace; the value is never logged."""

    def __call__(self, name: str, key: str) -> str: ...


@dataclass(frozen=True)
class ActionContext:
    """What an action may use while it runs."""

    client: KubeClient
    read_secret: SecretReader
    trigger_name: str
    trigger_namespace: str
    log: logging.Logger


@dataclass(frozen=True)
class ParseContext:
    """What parsing needs to know beyond the raw field."""

    trigger_namespace: str
    #: the watched kind's apiVersion/kind, or None for a cron source (no event object)
    source_api_version: str | None
    source_kind: str | None
    #: namespaces the source watches (None: all namespaces); event objects come from these
    source_namespaces: tuple[str, ...] | None


@dataclass(frozen=True)
class ActionKind:
    """One row of the action registry."""

    key: str  # the spec key: "webhook", "rolloutRestart", ...
    parse: Callable[[Mapping[str, Any], str, ParseContext], Any]  # raw, field path -> config
    permissions: Callable[[Any, ParseContext], list[Permission]]
    run: Callable[[Any, Event, ActionContext], str]  # returns a one-line summary

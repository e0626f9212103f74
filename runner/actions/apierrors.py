"""API server errors as action errors: the one place an ``ApiError`` becomes retryable or not.

Kubernetes actions (patch, apply, delete, ...) call the runner's client and
let this module decide: the client's own ``retryable`` flag (429, 409, 5xx, no
connection) says whether trying again can help, and a throttled request keeps
the delay the server asked for. Messages are the API server's, which name
objects but never carry credentials.
"""

from __future__ import annotations

from runner.actions.base import ActionError, PermanentActionError, RetryableActionError
from runner.kube.errors import ApiError


def action_error(exc: ApiError, doing: str) -> ActionError:
    """The action error for ``exc`` raised while ``doing`` (e.g. "patching ConfigMap shop/web")."""
    message = f"{doing} failed: {exc}"
    if exc.retryable:
        return RetryableActionError(message, retry_after=exc.retry_after)
    return PermanentActionError(message)

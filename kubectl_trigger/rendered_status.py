"""The status ``create``/``apply`` write when they render a new generation of a trigger.

There is no controller: until the new runner starts and reports, the Trigger's
conditions would still be those of the old runner, Ready=True for the previous
generation. So right after writing a new spec (and before its runner
Deployment), the plugin writes every condition for the new generation:
Ready=False ``RunnerStarting``, Watching=Unknown, SpecInSync=True (rendered by
the plugin), each with the new ``observedGeneration``. The new runner turns
Ready True once its source watches; the old one, stopping, sees the spec is no
longer its own and leaves the conditions alone (runner.sync.SpecSync.last_look).

The write uses the user's rights (``triggers/status``, in the aggregated
admin and edit roles); a user without them gets no error, the runner reports
alone.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kubectl_trigger import session
from runner.conditions import (
    READY,
    RENDERED,
    RUNNER_STARTING,
    SPEC_IN_SYNC,
    WATCHING,
)

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

STARTING = RUNNER_STARTING


def conditions(generation: int, previous: Any, now: str) -> list[dict[str, Any]]:
    """The three conditions for a just-rendered ``generation``."""
    old = {c.get("type"): c for c in previous or [] if isinstance(c, Mapping) and c.get("type")}
    wanted = [
        (
            READY,
            "False",
            STARTING,
            f"generation {generation} was rendered; its runner is starting",
        ),
        (
            WATCHING,
            "Unknown",
            STARTING,
            f"the runner of generation {generation} has not reported yet",
        ),
        (
            SPEC_IN_SYNC,
            "True",
            RENDERED,
            f"kubectl trigger rendered generation {generation} into the runner's pod template",
        ),
    ]
    out = []
    for type_, status, reason, message in wanted:
        before = old.get(type_) or {}
        since = before.get("lastTransitionTime") if before.get("status") == status else None
        out.append(
            {
                "type": type_,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": since or now,
                "observedGeneration": generation,
            }
        )
    return out


def mark_rendered(client: KubeClient, written: Mapping[str, Any], before: Any) -> bool:
    """After ``written`` (the Trigger as the API server returned it) replaced ``before``
    (None: it is new): write the conditions of its new generation. True if written."""
    from runner.kube.errors import ApiError, ConnectionFailed, Forbidden, NotFound

    meta = written.get("metadata") or {}
    generation = meta.get("generation")
    old_generation = ((before or {}).get("metadata") or {}).get("generation")
    if not isinstance(generation, int) or generation == old_generation:
        return False
    kind = str(written.get("kind") or "Trigger")
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    previous = (written.get("status") or {}).get("conditions")
    body = {"status": {"conditions": conditions(generation, previous, now)}}
    try:
        client.patch(
            session.known(kind),
            str(meta.get("name")),
            body,
            meta.get("namespace") or None,
            patch_type="merge",
            subresource="status",
        )
    except (Forbidden, NotFound):
        return False  # no right to write status (the runner reports alone), or gone
    except (ApiError, ConnectionFailed, OSError) as exc:
        from kubectl_trigger import output

        output.warn(f"could not mark {kind} {meta.get('name')} as starting: {exc}")
        return False
    return True

"""The ``SpecInSync`` condition: does the Trigger still hold the spec its runner runs?

The runner runs the spec rendered into its pod template and never a later edit
of the Trigger object (``runner.rendered``). When someone changes the Trigger by
other means (kubectl edit or patch, a controller), nothing new runs; this says
so in the Trigger's status and with one Warning Event, and tells how to render
the change: ``kubectl trigger apply -f``. The object is read at start and then
every ``RUNNER_SYNC_SECONDS`` (default 30): one GET, the runner already holds
``get`` on its own Trigger.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from runner import API_VERSION
from runner.conditions import EDITED as EDITED
from runner.conditions import IN_SYNC as IN_SYNC
from runner.conditions import RENDERED as RENDERED
from runner.conditions import SPEC_IN_SYNC
from runner.rendered import Rendered
from runner.spec.model import TriggerConfig

CONDITION = SPEC_IN_SYNC
DEFAULT_INTERVAL = 30.0


class SpecSync:
    """Compares the live Trigger with the rendered spec and reports the outcome."""

    def __init__(
        self,
        client: Any,
        config: TriggerConfig,
        rendered: Rendered,
        status: Any,  # runner.status.StatusWriter
        events: Any,  # runner.k8s_events.EventRecorder
        log: logging.Logger,
        interval: float | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.rendered = rendered
        self.status = status
        self.events = events
        self.log = log
        env = os.environ.get("RUNNER_SYNC_SECONDS", "")
        self.interval = interval or (float(env) if env else DEFAULT_INTERVAL)
        self._last: bool | None = None

    def observe(self, live: Mapping[str, Any]) -> bool:
        """Report whether ``live`` (the Trigger as read now) matches what runs."""
        ok = self.rendered.in_sync(live)
        if not ok and superseded(live):  # apply rendered a newer spec: not an edit
            self.status.hold_conditions()
            self._last = ok
            return ok
        self.status.hold_conditions(False)
        if self.status.written_by_another(live):
            # a runner being replaced wrote its final RunnerStopped after our Ready, say
            self.log.info("the Trigger's conditions were written by someone else; writing ours")
            self.status.rewrite_conditions()
        generation = _generation(live)
        # conditions carry the generation they were computed against (status.py)
        self.status.observe_generation(generation)
        if ok:
            self.status.set_condition(
                CONDITION,
                True,
                IN_SYNC,
                f"the runner runs the spec of generation {self.rendered.generation or generation}",
            )
        else:
            message = self._message(generation)
            self.status.set_condition(CONDITION, False, EDITED, message)
            if self._last is not False:
                from runner.k8s_events import WARNING

                self.log.warning("%s", message)
                self.events.record(WARNING, EDITED, message)
        self._last = ok
        return ok

    def _message(self, generation: Any) -> str:
        kind = self.config.kind
        return (
            f"the {kind}'s spec (generation {generation}) is not the one its runner was "
            f"rendered from (generation {self.rendered.generation or 'unknown'}): it was "
            "changed without kubectl trigger; the runner keeps running the rendered spec. "
            f"Run kubectl trigger apply -f <file> to render and run the new spec"
        )

    def check(self) -> None:
        """Read the Trigger once and report."""
        live = self._read()
        if live is not None:
            self.observe(live)

    def last_look(self) -> None:
        """Before the final status write: a runner whose spec is no longer the Trigger's
        leaves the conditions alone (the plugin rendered a newer spec and its runner
        reports now; or they already say SpecNotRendered), and so does one whose
        conditions were overwritten since its last write (a successor pod reports now)."""
        live = self._read()
        if live is None:
            return
        if self.rendered.in_sync(live) and not self.status.written_by_another(live):
            self.status.observe_generation(_generation(live))
        else:  # a successor of the same spec may already report: its word stands
            self.status.hold_conditions()

    def _read(self) -> Mapping[str, Any] | None:
        from runner.kube.errors import ApiError, ConnectionFailed

        info = self.client.resource(API_VERSION, self.config.kind)
        namespace = None if self.config.cluster_scoped else self.config.namespace
        try:
            return dict(self.client.get(info, self.config.name, namespace=namespace))
        except (ApiError, ConnectionFailed, OSError) as exc:
            self.log.debug("spec sync check skipped: %s", exc)
            return None

    def run(self, stop: threading.Event) -> None:
        """Check every ``interval`` seconds until ``stop`` is set."""
        while not stop.wait(self.interval):
            try:
                self.check()
            except Exception as exc:  # a check must never stop the runner
                self.log.warning("spec sync check failed: %s", exc)


def superseded(live: Mapping[str, Any]) -> bool:
    """Whether the plugin rendered the live Trigger's current generation (its SpecInSync
    says so, for that generation): its own runner reports, not this one."""
    generation = _generation(live)
    for cond in (live.get("status") or {}).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == CONDITION:
            return bool(
                cond.get("reason") == RENDERED and cond.get("observedGeneration") == generation
            )
    return False


def _generation(live: Mapping[str, Any]) -> Any:
    """The object's ``metadata.generation`` (None when it has none)."""
    return (live.get("metadata") or {}).get("generation")

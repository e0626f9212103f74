"""Events from a schedule: one ``cron`` event at each scheduled time, in the trigger's time zone.

A restarted runner must neither lose a run nor repeat one. The checkpoint
keeps the last scheduled time whose actions finished (as epoch seconds, under
the stream name ``cron``, tracked by the engine's ``Progress`` exactly like a
resourceVersion). After a restart, if the newest scheduled time before now is
later than that and no older than ``catchUpWindow``, it fires once; older
misses are skipped (a backlog of missed runs never fires in a burst).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any

from runner.event import Event
from runner.sources.base import SourceContext
from runner.sources.index import rv_int

STREAM = "cron"
KEY = "cron"


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class CronTicker:
    """The source for ``spec.source.cron``."""

    def __init__(
        self,
        config: Any,
        ctx: SourceContext,
        clock: Callable[[], datetime.datetime] = _utcnow,
    ) -> None:
        self.config = config
        self.ctx = ctx
        self.clock = clock
        from zoneinfo import ZoneInfo  # here: runners of resource sources never need it

        zone = config.time_zone
        self.zone = zone if isinstance(zone, datetime.tzinfo) else ZoneInfo(str(zone or "UTC"))
        self.schedule = config.schedule
        self.window = float(config.catch_up_window or 0.0)
        restored = ((ctx.restored or {}).get("resourceVersions") or {}).get(STREAM)
        self.restored_epoch = rv_int(str(restored or ""))
        self.last_emitted = ""  # epoch seconds of the newest tick emitted (the "resourceVersion")
        self._ready = False

    def run(self, stop: threading.Event) -> None:
        """Fire at every scheduled time until ``stop`` is set."""
        now = self.start(self.clock())
        while not stop.is_set():
            due = self.next_due(now)
            if due is None:  # a valid schedule that never fires (0 0 30 2 *): idle until stopped
                stop.wait()
                return
            wait = (due - self.clock()).total_seconds()
            if wait > 0:
                if stop.wait(min(wait, 60.0)):
                    return
                if self.clock() < due:
                    continue  # woke early (the wait is capped so clock jumps are noticed)
            self.fire(due)
            now = due

    def start(self, now: datetime.datetime) -> datetime.datetime:
        """Catch up on a missed run (if any) and mark the source ready; returns ``now``."""
        self.last_emitted = str(int(now.timestamp()))
        missed = self.missed_run(now)
        if missed is not None:
            self.ctx.log.info("catching up on the run missed at %s", missed.isoformat())
            self.fire(missed)
            self.last_emitted = str(int(now.timestamp()))
        self._ready = True
        due = self.next_due(now)
        if due is None:
            self.ctx.report(True, "NeverFires", "the schedule matches no date, so it never fires")
        else:
            self.ctx.report(True, "Scheduled", f"next run at {due.isoformat()}")
        return now

    def missed_run(self, now: datetime.datetime) -> datetime.datetime | None:
        """The newest scheduled time missed while down, if within the catch-up window."""
        if self.restored_epoch is None or self.window <= 0:
            return None
        previous = self.schedule.previous_before(now.astimezone(self.zone))
        if previous is None:
            return None
        at = int(previous.timestamp())
        if at <= self.restored_epoch or (now - previous).total_seconds() > self.window:
            return None
        return previous  # type: ignore[no-any-return]

    def next_due(self, now: datetime.datetime) -> datetime.datetime | None:
        """The first scheduled time after ``now``; None if the schedule never fires."""
        return self.schedule.next_after(now.astimezone(self.zone))  # type: ignore[no-any-return]

    def fire(self, at: datetime.datetime) -> None:
        """Emit the tick for scheduled time ``at``."""
        rv = str(int(at.timestamp()))
        if not self.ctx.emit(Event("cron", KEY, None, rv, at.astimezone(datetime.UTC))):
            self.ctx.progress.hold(STREAM, rv)
        self.last_emitted = rv

    def ready(self) -> bool:
        """True once started (after any catch-up)."""
        return self._ready

    def checkpoint(self) -> dict[str, Any] | None:
        """The last tick emitted; the engine lowers it below unfinished ticks."""
        if not self.last_emitted:
            return None
        return {"resourceVersions": {STREAM: self.last_emitted}}

    def request_relist(self) -> None:
        """Nothing to relist for a schedule."""

"""The cron source: ticks at scheduled times, and catches up once on a run missed while down."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from runner.checkpoint import Progress
from runner.event import Event
from runner.metrics import Metrics
from runner.sources.base import SourceContext
from runner.sources.cron import CronTicker

UTC = datetime.UTC


class EveryTenMinutes:
    """Stand-in for the parsed schedule ``*/10 * * * *``."""

    def next_after(self, dt: datetime.datetime) -> datetime.datetime:
        base = dt.replace(second=0, microsecond=0)
        return base + datetime.timedelta(minutes=10 - base.minute % 10)

    def previous_before(self, dt: datetime.datetime) -> datetime.datetime:
        base = dt.replace(second=0, microsecond=0)
        back = base.minute % 10 or (10 if dt == base else 0)
        return base - datetime.timedelta(minutes=back)


@dataclass(frozen=True)
class Config:
    schedule: Any
    time_zone: str = "UTC"
    catch_up_window: float = 0.0


def make(window: float, restored_epoch: int | None) -> tuple[CronTicker, list[Event]]:
    events: list[Event] = []
    restored = {"resourceVersions": {"cron": str(restored_epoch)}} if restored_epoch else None
    ctx = SourceContext(
        emit=lambda e: events.append(e) is None,
        progress=Progress(),
        metrics=Metrics(),
        log=logging.getLogger("test"),
        restored=restored,
    )
    return CronTicker(Config(EveryTenMinutes(), "UTC", window), ctx), events


def at(hh: int, mm: int, ss: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 3, 1, hh, mm, ss, tzinfo=UTC)


def test_next_due_and_fire() -> None:
    ticker, events = make(0, None)
    assert ticker.next_due(at(12, 3)) == at(12, 10)
    ticker.fire(at(12, 10))
    assert [(e.type, e.key, e.resource_version, e.time) for e in events] == [
        ("cron", "cron", str(int(at(12, 10).timestamp())), at(12, 10))
    ]
    assert ticker.checkpoint() == {"resourceVersions": {"cron": str(int(at(12, 10).timestamp()))}}


def test_missed_run_within_window_fires_once_on_start() -> None:
    last = int(at(11, 50).timestamp())
    ticker, events = make(window=600, restored_epoch=last)
    ticker.start(at(12, 7))  # 12:00 was missed, 7 minutes ago
    assert [e.time for e in events] == [at(12, 0)]
    assert ticker.ready()


def test_missed_run_outside_window_is_skipped() -> None:
    ticker, events = make(window=60, restored_epoch=int(at(11, 50).timestamp()))
    ticker.start(at(12, 7))
    assert events == []


def test_no_catch_up_without_checkpoint_or_when_already_handled() -> None:
    ticker, events = make(window=3600, restored_epoch=None)
    ticker.start(at(12, 7))
    ticker2, events2 = make(window=3600, restored_epoch=int(at(12, 0).timestamp()))
    ticker2.start(at(12, 7))
    assert events == [] and events2 == []


def test_first_checkpoint_is_the_start_time() -> None:
    ticker, _ = make(0, None)
    ticker.start(at(12, 7, 30))
    assert ticker.checkpoint() == {
        "resourceVersions": {"cron": str(int(at(12, 7, 30).timestamp()))}
    }


def test_a_schedule_that_never_fires_idles_until_stopped() -> None:
    import threading

    from runner.spec.cron import parse_cron

    reports: list[tuple[bool, str, str]] = []
    events: list[Event] = []
    ctx = SourceContext(
        emit=lambda e: events.append(e) is None,
        progress=Progress(),
        metrics=Metrics(),
        log=logging.getLogger("test"),
        report=lambda ok, reason, message: reports.append((ok, reason, message)),
    )
    ticker = CronTicker(Config(parse_cron("0 0 30 2 *"), "UTC", 3600), ctx)
    stop = threading.Event()
    thread = threading.Thread(target=ticker.run, args=(stop,))
    thread.start()
    for _ in range(200):  # wait for start() to report (at most 2 s)
        if reports:
            break
        stop.wait(0.01)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert reports == [(True, "NeverFires", "the schedule matches no date, so it never fires")]
    assert events == []
    assert ticker.ready()


def test_every_schedule_ticks_a_period_after_the_last_tick_and_catches_up_once() -> None:
    from runner.spec.cron import parse_cron

    events: list[Event] = []
    restored = {"resourceVersions": {"cron": str(int(at(11, 0).timestamp()))}}
    ctx = SourceContext(
        emit=lambda e: events.append(e) is None,
        progress=Progress(),
        metrics=Metrics(),
        log=logging.getLogger("test"),
        restored=restored,
    )
    ticker = CronTicker(Config(parse_cron("@every 90s"), "UTC", 3600), ctx)
    ticker.start(at(12, 0, 30))  # down for an hour: one catch-up run, a period before now
    assert [e.time for e in events] == [at(11, 59)]
    assert ticker.next_due(at(12, 0, 30)) == at(12, 2)

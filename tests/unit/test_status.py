"""The status writer: merge patches with only changed fields; counters continue; conditions."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

from runner.k8s_events import EventRecorder
from runner.metrics import ACTIONS_SUCCEEDED, EVENTS_MATCHED, Metrics
from runner.status import StatusWriter


@dataclass
class FakeClient:
    patches: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)

    def resource(self, api_version: str, kind: str) -> str:
        return kind

    def patch(
        self, info: Any, name: str, body: Any, namespace: str | None = None, **kw: Any
    ) -> Any:
        self.patches.append((name, body, kw.get("subresource")))
        return {}

    def create(self, info: Any, body: Any, namespace: str | None = None) -> Any:
        self.created.append(body)
        return body


def writer(client: FakeClient, metrics: Metrics, checkpoint: Any = None) -> StatusWriter:
    return StatusWriter(
        client,  # type: ignore[arg-type]
        "t",
        "ns",
        3,
        metrics,
        logging.getLogger("test"),
        previous={"counters": {"eventsMatched": 10, "actionsSucceeded": 4}},
        checkpoint=lambda: dict(checkpoint) if checkpoint is not None else None,
        clock=lambda: 1_700_000_000.0,
    )


def test_counters_continue_and_only_changes_are_written() -> None:
    client, metrics = FakeClient(), Metrics()
    status = writer(client, metrics, {"resourceVersions": {"ns": "5"}, "time": "a"})
    status.set_condition("Ready", True, "Running", "watching")
    metrics.inc(EVENTS_MATCHED, 2)
    metrics.inc(ACTIONS_SUCCEEDED, 2)
    assert status.flush()
    name, body, sub = client.patches[0]
    assert (name, sub) == ("t", "status")
    st = body["status"]
    assert st["counters"]["eventsMatched"] == 12 and st["counters"]["actionsSucceeded"] == 6
    assert st["observedGeneration"] == 3 and st["checkpoint"]["resourceVersions"] == {"ns": "5"}
    assert st["conditions"][0]["type"] == "Ready" and st["conditions"][0]["status"] == "True"
    assert not status.flush()  # nothing changed
    metrics.inc(EVENTS_MATCHED)
    assert status.flush()
    assert set(client.patches[1][1]["status"]) == {"counters"}


def test_checkpoint_time_alone_is_not_worth_a_write() -> None:
    client, metrics = FakeClient(), Metrics()
    record = {"resourceVersions": {"ns": "5"}, "time": "a"}
    status = writer(client, metrics, record)
    status.flush()
    record["time"] = "b"
    assert not status.flush()
    record["resourceVersions"] = {"ns": "6"}
    assert status.flush()


def test_condition_transition_time_moves_only_on_status_change() -> None:
    client, metrics = FakeClient(), Metrics()
    status = writer(client, metrics)
    times = itertools.count(1.0)
    status.clock = lambda: next(times) + 1_700_000_000.0
    status.set_condition("Watching", True, "Watching", "a")
    first = status.build()["conditions"][0]["lastTransitionTime"]
    status.set_condition("Watching", True, "Watching", "b")  # message only
    assert status.build()["conditions"][0]["lastTransitionTime"] == first
    status.set_condition("Watching", False, "WatchFailed", "c")
    assert status.build()["conditions"][0]["lastTransitionTime"] != first


def test_events_are_aggregated_per_reason() -> None:
    client = FakeClient()
    trigger = {"metadata": {"name": "t", "namespace": "ns", "uid": "u1"}}
    recorder = EventRecorder(client, trigger, logging.getLogger("test"), clock=lambda: 100.0)  # type: ignore[arg-type]
    for i in range(5):
        recorder.record("Normal", "Fired", f"update ns/a{i}")
    recorder.record("Warning", "ActionFailed", "boom")
    assert recorder.flush() == 2
    assert [(e["reason"], e["count"], e["message"]) for e in client.created] == [
        ("Fired", 5, "update ns/a4"),
        ("ActionFailed", 1, "boom"),
    ]
    assert client.created[0]["involvedObject"]["uid"] == "u1"
    recorder.record("Normal", "Fired", "update ns/b")
    assert recorder.flush() == 1
    assert len(client.created) == 2  # the same Event, its count raised
    assert client.patches[-1][1]["count"] == 6

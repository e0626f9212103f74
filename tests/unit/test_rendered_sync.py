"""The rendered spec the runner runs, and the SpecInSync condition it reports."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from runner import API_VERSION
from runner.rendered import (
    ENV_GENERATION,
    ENV_SPEC,
    ENV_SPEC_DIGEST,
    RenderedSpecError,
    from_env,
    spec_digest,
)
from runner.spec.parse import parse_trigger
from runner.sync import CONDITION, EDITED, IN_SYNC, SpecSync

SPEC = {"source": {"cron": {"schedule": "* * * * *"}}, "actions": [{"log": {"message": "x"}}]}


def test_the_digest_ignores_key_order_and_whole_floats() -> None:
    # the API server returns 2 for a 2.0 it stored, and keys in its own order
    a = {"options": {"rateLimit": {"perSecond": 2.0, "burst": 5}}, **SPEC}
    b = {**SPEC, "options": {"rateLimit": {"burst": 5, "perSecond": 2}}}
    assert spec_digest(a) == spec_digest(b)
    assert spec_digest(a) != spec_digest({**a, "options": {"rateLimit": {"perSecond": 2.5}}})


def test_from_env() -> None:
    assert from_env({}) is None
    got = from_env({ENV_SPEC: '{"a": 1}', ENV_SPEC_DIGEST: "d", ENV_GENERATION: "3"})
    assert got is not None and (got.spec, got.digest, got.generation) == ({"a": 1}, "d", 3)
    got = from_env({ENV_SPEC: "{}", ENV_GENERATION: ""})
    assert got is not None and got.generation is None
    with pytest.raises(RenderedSpecError, match=ENV_SPEC):
        from_env({ENV_SPEC: "[1]"})
    with pytest.raises(RenderedSpecError, match="not JSON"):
        from_env({ENV_SPEC: "{"})


class Status:
    def __init__(self) -> None:
        self.conditions: dict[str, tuple[bool, str, str]] = {}

    def set_condition(self, type_: str, ok: bool, reason: str, message: str) -> None:
        self.conditions[type_] = (ok, reason, message)

    def observe_generation(self, generation: Any) -> None:
        self.generation = generation

    def hold_conditions(self, hold: bool = True) -> None:
        self.held = hold

    def written_by_another(self, live: Any) -> bool:
        return False


class Events:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, str]] = []

    def record(self, type_: str, reason: str, message: str) -> None:
        self.recorded.append((type_, reason, message))


def test_spec_in_sync_reports_an_edit_once_and_recovers() -> None:
    obj = {"apiVersion": API_VERSION, "kind": "Trigger", "metadata": {"name": "t"}, "spec": SPEC}
    config = parse_trigger(obj, default_namespace="shop")
    rendered = from_env({ENV_SPEC: "{}", ENV_SPEC_DIGEST: spec_digest(SPEC), ENV_GENERATION: "1"})
    assert rendered is not None
    status, events = Status(), Events()
    sync = SpecSync(None, config, rendered, status, events, logging.getLogger("t"), interval=1)

    def live(spec: dict[str, Any], generation: int) -> dict[str, Any]:
        return {"metadata": {"generation": generation}, "spec": spec}

    assert sync.observe(live(SPEC, 1))
    assert status.conditions[CONDITION][:2] == (True, IN_SYNC)
    edited = {**SPEC, "actions": [{"log": {"message": "edited"}}]}
    assert not sync.observe(live(edited, 2))
    assert not sync.observe(live(edited, 2))
    ok, reason, message = status.conditions[CONDITION]
    assert (ok, reason) == (False, EDITED)
    assert "generation 2" in message and "kubectl trigger apply -f" in message
    assert len(events.recorded) == 1  # one Warning per change, not one per check
    assert sync.observe(live(SPEC, 3))  # edited back: in sync again
    assert status.conditions[CONDITION][0] is True


class StatusClient:
    """Records status patches; ``live`` is the Trigger a GET returns."""

    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []
        self.live: dict[str, Any] = {}

    def resource(self, api_version: str, kind: str) -> str:
        return kind

    def patch(self, info: Any, name: str, body: Any, **kw: Any) -> Any:
        self.patches.append(body["status"])
        return {}

    def get(self, info: Any, name: str, namespace: str | None = None) -> Any:
        return self.live


def running_in_sync() -> tuple[StatusClient, Any, SpecSync, dict[str, Any]]:
    """A real StatusWriter and SpecSync of generation 1, the Trigger read once and in sync."""
    from runner.metrics import Metrics
    from runner.status import StatusWriter

    obj = {"apiVersion": API_VERSION, "kind": "Trigger", "metadata": {"name": "t"}, "spec": SPEC}
    config = parse_trigger(obj, default_namespace="shop")
    rendered = from_env({ENV_SPEC: "{}", ENV_SPEC_DIGEST: spec_digest(SPEC), ENV_GENERATION: "1"})
    assert rendered is not None
    client, log = StatusClient(), logging.getLogger("t")
    status = StatusWriter(client, "t", "shop", 1, Metrics(), log)  # type: ignore[arg-type]
    sync = SpecSync(client, config, rendered, status, Events(), log, interval=1)
    live = {"metadata": {"generation": 1}, "spec": SPEC}
    sync.observe(live)
    return client, status, sync, live


def test_a_runner_writes_its_conditions_again_when_another_overwrote_them() -> None:
    """A replaced pod's final RunnerStopped landing after its successor's Ready=True."""
    client, status, sync, live = running_in_sync()
    status.set_condition("Watching", True, "Watching", "watching ConfigMap in shop")
    assert status.flush()
    ours = client.patches[-1]["conditions"]
    assert (ours[0]["type"], ours[0]["status"]) == ("Ready", "True")

    # nothing else wrote: reading the object changes nothing
    client.live = {**live, "status": {"conditions": ours}}
    sync.check()
    assert not status.flush()

    # the replaced runner's last write lands after ours
    stopped = [
        {**c, "status": "False", "reason": "RunnerStopped"} if c["type"] == "Ready" else c
        for c in ours
    ]
    client.live = {**live, "status": {"conditions": stopped}}
    sync.check()
    assert status.flush()
    assert client.patches[-1]["conditions"] == ours
    # and, reading it back as written, no more writes
    client.live = {**live, "status": {"conditions": ours}}
    sync.check()
    assert not status.flush()


def test_a_stopping_runner_leaves_conditions_another_wrote_since_its_last_write() -> None:
    from runner.status import RUNNER_STOPPED

    client, status, sync, live = running_in_sync()
    status.set_condition("Watching", False, "SourceUnavailable", "the CRD is gone")
    assert status.flush()
    ours = client.patches[-1]["conditions"]
    # its successor reports Ready=True meanwhile
    theirs = [{**c, "status": "True", "reason": "Running"} for c in ours]
    client.live = {**live, "status": {"conditions": theirs}}
    sync.last_look()
    status.fail(RUNNER_STOPPED, "the runner stopped")
    status.flush()
    assert all("conditions" not in patch for patch in client.patches[1:])

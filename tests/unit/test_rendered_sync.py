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

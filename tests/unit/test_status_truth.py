"""Ready tells the truth: derived by the runner, written for the current generation,
checked against the runner pods by get/describe (issue 8 items 1, 2 and 6)."""

from __future__ import annotations

import logging
from typing import Any

from kubectl_trigger import naming, readiness, rendered_status
from kubectl_trigger.commands.get import _last_error
from runner.metrics import Metrics
from runner.oneline import shorten
from runner.status import StatusWriter


class Client:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    def resource(self, api_version: str, kind: str) -> str:
        return kind

    def patch(
        self, info: Any, name: str, body: Any, namespace: str | None = None, **kw: Any
    ) -> Any:
        self.patches.append(body["status"])
        return {}


def writer(client: Client, previous: dict[str, Any] | None = None) -> StatusWriter:
    return StatusWriter(
        client,  # type: ignore[arg-type]
        "t",
        "ns",
        2,
        Metrics(),
        logging.getLogger("test"),
        previous=previous,
        clock=lambda: 1_700_000_000.0,
    )


def conditions(status: StatusWriter) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status.build()["conditions"]}


def test_ready_follows_watching_and_spec_in_sync() -> None:
    status = writer(Client())
    status.set_condition("SpecInSync", True, "RenderedSpecRunning", "gen 2")
    assert conditions(status)["Ready"]["reason"] == "RunnerStarting"  # not watching yet
    status.set_condition("Watching", True, "Watching", "watching v1/ConfigMap")
    ready = conditions(status)["Ready"]
    assert (ready["status"], ready["reason"]) == ("True", "Running")
    status.set_condition("Watching", False, "WatchFailed", "NotFound: widgets")
    ready = conditions(status)["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "SourceUnavailable")
    assert "widgets" in ready["message"]
    status.set_condition("Watching", True, "Watching", "watching again")
    status.set_condition("SpecInSync", False, "SpecChangedOutsidePlugin", "edited")
    assert conditions(status)["Ready"]["reason"] == "SpecNotRendered"
    status.set_condition("SpecInSync", True, "RenderedSpecRunning", "gen 2")
    status.fail("RunnerStopped", "stopping")
    ready = conditions(status)["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "RunnerStopped")


def test_a_previous_runs_ready_true_is_not_written_back() -> None:
    previous = {
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "Running", "observedGeneration": 1},
            {"type": "Watching", "status": "True", "reason": "Watching", "observedGeneration": 1},
        ]
    }
    client = Client()
    status = writer(client, previous)
    status.flush()
    ready = {c["type"]: c for c in client.patches[0]["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "RunnerStarting")


def test_a_new_generation_rewrites_every_condition() -> None:
    client = Client()
    status = writer(client)
    status.set_condition("SpecInSync", True, "RenderedSpecRunning", "gen 2")
    status.set_condition("Watching", True, "Watching", "w")
    assert status.flush()
    assert {c["observedGeneration"] for c in client.patches[-1]["conditions"]} == {2}
    assert not status.flush()
    status.observe_generation(3)  # nothing else changed
    assert status.flush()
    written = client.patches[-1]["conditions"]
    assert {c["observedGeneration"] for c in written} == {3}
    assert [c["status"] for c in written] == ["True", "True", "True"]


def test_held_conditions_are_not_written() -> None:
    client = Client()
    status = writer(client)
    status.set_condition("Watching", True, "Watching", "w")
    status.hold_conditions()
    status.fail("RunnerStopped", "stopping")
    assert status.flush()
    assert "conditions" not in client.patches[-1]


def test_last_error_has_a_short_summary() -> None:
    status = writer(Client())
    status.error("webhook", "ns/a", "POST https://hooks.example/x failed: " + "x" * 300)
    error = status.build()["lastError"]
    assert error["summary"].startswith("webhook: POST https://hooks.example/x failed")
    assert len(error["summary"]) == 80 and error["summary"].endswith("\u2026")
    cell = _last_error({"status": {"lastError": error}})
    assert len(cell) == 60 and cell.endswith("\u2026")
    old = {"status": {"lastError": {"action": "log", "message": "boom\nagain"}}}
    assert _last_error(old) == "log: boom again"
    assert shorten("a  b\n c", 10) == "a b c"


def trigger(**status: Any) -> dict[str, Any]:
    return {
        "kind": "Trigger",
        "metadata": {"name": "web", "namespace": "shop", "generation": 2},
        "spec": {"source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}}},
        "status": status,
    }


def ready_cond(status: str, reason: str, generation: int = 2) -> dict[str, Any]:
    return {"type": "Ready", "status": status, "reason": reason, "observedGeneration": generation}


def pod(ready: bool = True, waiting: str = "", generation: str = "2") -> dict[str, Any]:
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return {
        "metadata": {"labels": naming.Ref.trigger("shop", "web").labels()},
        "spec": {
            "containers": [
                {"name": "runner", "env": [{"name": "TRIGGER_GENERATION", "value": generation}]}
            ]
        },
        "status": {
            "phase": "Running",
            "containerStatuses": [{"ready": ready, "restartCount": 4, "state": state}],
        },
    }


def test_get_shows_true_only_for_the_current_generation_and_a_ready_pod() -> None:
    good = trigger(conditions=[ready_cond("True", "Running")])
    assert readiness.assess(good, [pod()]).status == "True"
    assert readiness.assess(good, None).status == "True"  # pods not readable: the condition
    crash = readiness.assess(good, [pod(ready=False, waiting="CrashLoopBackOff")])
    assert (crash.status, crash.reason) == ("False", "CrashLoopBackOff")
    assert "4 restarts" in crash.message
    assert readiness.assess(good, [pod(ready=False)]).reason == "RunnerNotReady"
    # running again for a moment between two back-offs, after the runner reported failing
    failing = trigger(conditions=[ready_cond("False", "RunnerFailed")])
    between = pod()
    between["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"exitCode": 2}}
    assert readiness.assess(failing, [between]).reason == "CrashLoopBackOff"
    assert readiness.assess(good, [between]).status == "True"  # restarted once, fine now
    assert readiness.assess(good, []).reason == "NoRunnerPod"
    stale = trigger(conditions=[ready_cond("True", "Running", generation=1)])
    assert readiness.assess(stale, [pod()]).reason == "StatusOutdated"
    edited = readiness.assess(stale, [pod(generation="1")])
    assert (edited.status, edited.reason) == ("False", "SpecNotRendered")
    assert readiness.assess(trigger(), None).reason == "RunnerStarting"
    invalid = trigger(conditions=[ready_cond("False", "SpecInvalid")])
    assert readiness.assess(invalid, [pod(waiting="CrashLoopBackOff")]).reason == "SpecInvalid"


def test_pods_are_matched_to_their_trigger_by_labels() -> None:
    other = pod()
    other["metadata"]["labels"] = naming.Ref.trigger("shop-web", "x").labels()
    cluster = pod()
    cluster["metadata"]["labels"] = naming.Ref.cluster("web").labels()
    grouped = readiness.by_trigger([pod(), other, cluster, {"metadata": {"labels": {}}}])
    assert len(grouped[readiness.key_of(trigger())]) == 1
    ct = {"kind": "ClusterTrigger", "metadata": {"name": "web"}}
    assert len(grouped[readiness.key_of(ct)]) == 1


def test_the_plugin_marks_a_new_generation_starting() -> None:
    previous = [{"type": "SpecInSync", "status": "True", "lastTransitionTime": "T0"}]
    got = {c["type"]: c for c in rendered_status.conditions(5, previous, "T1")}
    assert (got["Ready"]["status"], got["Ready"]["reason"]) == ("False", "RunnerStarting")
    assert got["Watching"]["status"] == "Unknown"
    assert (
        got["SpecInSync"]["lastTransitionTime"] == "T0"
        and got["Ready"]["lastTransitionTime"] == "T1"
    )
    assert {c["observedGeneration"] for c in got.values()} == {5}


def test_an_old_runner_keeps_quiet_once_apply_rendered_a_newer_spec() -> None:
    from runner.sync import superseded

    live = {
        "metadata": {"generation": 3},
        "status": {"conditions": rendered_status.conditions(3, [], "T")},
    }
    assert superseded(live)
    live["metadata"]["generation"] = 4  # then edited with kubectl: not rendered
    assert not superseded(live)
    assert not superseded({"metadata": {"generation": 1}})


def test_an_exiting_runner_reports_only_for_the_spec_it_was_rendered_from(
    monkeypatch: Any,
) -> None:
    from runner.rendered import ENV_SPEC_DIGEST, spec_digest
    from runner.status import report_exit

    spec = {"source": {"cron": {"schedule": "* * * * *"}}}
    live = {
        "metadata": {"name": "t", "namespace": "ns", "generation": 4},
        "spec": spec,
        "status": {"conditions": [ready_cond("True", "Running", generation=4)]},
    }

    class Reading(Client):
        def get(self, info: Any, name: str, namespace: str | None = None) -> Any:
            return live

    client = Reading()
    monkeypatch.setenv(ENV_SPEC_DIGEST, "not-this-spec")
    assert not report_exit(client, "Trigger", "ns", "t", "boom", logging.getLogger("t"))  # type: ignore[arg-type]
    assert client.patches == []
    monkeypatch.setenv(ENV_SPEC_DIGEST, spec_digest(spec))
    assert report_exit(client, "Trigger", "ns", "t", "boom", logging.getLogger("t"))  # type: ignore[arg-type]
    written = {c["type"]: c for c in client.patches[0]["conditions"]}
    assert (written["Ready"]["status"], written["Ready"]["reason"]) == ("False", "RunnerFailed")
    assert written["Ready"]["message"] == "boom"
    assert {c["observedGeneration"] for c in written.values()} == {4}
    assert "observedGeneration" not in client.patches[0]  # it runs no generation any more

"""READY for a trigger whose runner never came, and for pods that claim another namespace.

create/apply write ``Ready=False RunnerStarting`` before the runner Deployment; an operator
who kills the command in between (or deletes the Deployment) left a trigger that said
"starting" forever. And a pod's labels may claim any namespace: only its own counts.
"""

from __future__ import annotations

import datetime
from typing import Any

from kubectl_trigger import naming, readiness


def _trigger(since: datetime.timedelta) -> dict[str, Any]:
    stamp = datetime.datetime.now(datetime.UTC) - since
    cond = {
        "type": "Ready",
        "status": "False",
        "reason": "RunnerStarting",
        "observedGeneration": 1,
        "lastTransitionTime": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return {
        "kind": "Trigger",
        "metadata": {"name": "web", "namespace": "shop", "generation": 1},
        "status": {"conditions": [cond]},
    }


def _pod(namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"namespace": namespace, "labels": labels},
        "status": {"phase": "Running", "containerStatuses": [{"ready": True, "state": {}}]},
    }


def test_starting_with_no_runner_pod_past_the_grace_says_no_runner_and_how_to_render() -> None:
    stuck = readiness.assess(_trigger(datetime.timedelta(minutes=5)), [])
    assert (stuck.status, stuck.reason) == ("False", "NoRunnerPod")
    assert "kubectl trigger apply -f" in stuck.message
    fresh = readiness.assess(_trigger(datetime.timedelta(seconds=2)), [])
    assert fresh.reason == "RunnerStarting"
    unknown = readiness.assess(_trigger(datetime.timedelta(minutes=5)), None)
    assert unknown.reason == "RunnerStarting"  # pods not readable: the stored condition


def test_a_pod_counts_only_for_a_trigger_of_its_own_namespace() -> None:
    labels = naming.Ref.trigger("shop", "web").labels()
    assert readiness.pod_key(_pod("shop", labels)) == ("Trigger", "shop", "web")
    assert readiness.pod_key(_pod("mal", labels)) is None

"""The runner engine against the real API server: exact action counts, restarts, status, metrics.

The runner runs as a real subprocess (``python -m runner --trigger NS/NAME``)
with the test cluster's admin kubeconfig. Its ``log`` action's runs are counted
from the runner's own JSON log lines (``action ... ran for``, with ``event``,
``key`` and ``rv`` fields), so every assertion is about exact (event, object,
resourceVersion) triples. The harness is in ``tests/e2e/runner_support.py``.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cluster
from tests.e2e.runner_support import (
    API_VERSION,
    Fired,
    Runner,
    create_cm,
    delete_cm,
    label_cm,
    make_trigger,
    metric,
    patch_cm,
    run_in_image,
    settle,
    status,
)
from tests.polling import wait_for

pytestmark = pytest.mark.e2e


def test_runner_fires_exactly_once_per_change_and_reports(
    crd: Cluster, namespace: str, runner: Runner
) -> None:
    ns = namespace
    create_cm(crd, ns, "a")
    create_cm(crd, ns, "b")
    make_trigger(
        crd, ns, "engine", {"apiVersion": "v1", "kind": "ConfigMap", "changed": ["{.data}"]}
    )
    runner.start().wait_ready()
    time.sleep(1)
    assert runner.fired() == Counter()  # existing objects do not fire at start-up

    expected: Counter[Fired] = Counter()
    rv = create_cm(crd, ns, "c")
    expected[("create", f"{ns}/c", rv)] += 1
    settle(runner, expected, "the create")
    rv = patch_cm(crd, ns, "a", "2")
    expected[("update", f"{ns}/a", rv)] += 1
    settle(runner, expected, "the data change")
    label_cm(crd, ns, "b", "x=y")  # a label-only change: {.data} did not change
    time.sleep(1.5)
    assert runner.fired() == expected
    delete_cm(crd, ns, "c")
    wait_for(lambda: any(k[0] == "delete" for k in runner.fired()), 30, "the delete")
    deleted = [k for k in runner.fired() if k[0] == "delete"]
    assert [(k[0], k[1]) for k in deleted] == [("delete", f"{ns}/c")]
    expected[deleted[0]] += 1
    settle(runner, expected, "the delete")

    # a forced relist (SIGUSR1) finds nothing new: no duplicates
    assert runner.proc is not None
    runner.proc.send_signal(signal.SIGUSR1)
    wait_for(
        lambda: (
            "kubectl_trigger_runner_relists_total{" in runner.http("/metrics")[1]
            and metric(runner, "relists_total") >= 1
        ),
        20,
        "the relist",
    )
    time.sleep(1)
    assert runner.fired() == expected

    def counters_caught_up() -> dict[str, Any] | None:
        st = status(crd, ns, "engine")
        counters = st.get("counters") or {}
        return st if counters.get("actionsSucceeded") == 3 else None

    st = wait_for(counters_caught_up, 15, "status.counters to show 3 actions")
    assert st["counters"]["eventsMatched"] == 3 and st["counters"]["actionsFailed"] == 0
    conditions = {c["type"]: c["status"] for c in st["conditions"]}
    assert conditions == {"Ready": "True", "Watching": "True"}
    assert st["lastFired"] and st["checkpoint"]["resourceVersions"][ns]
    assert metric(runner, "events_matched_total") == 3
    assert metric(runner, "actions_succeeded_total") == 3
    assert runner.http("/healthz") == (200, "ok\n")

    assert runner.kill(signal.SIGTERM) == 0  # graceful
    final = status(crd, ns, "engine")
    assert {c["type"]: c["status"] for c in final["conditions"]}["Watching"] == "False"


def test_changes_while_killed_fire_exactly_once_after_restart(
    crd: Cluster, namespace: str, runner: Runner
) -> None:
    ns = namespace
    for name in ("a", "b", "c", "d"):
        create_cm(crd, ns, name)
    make_trigger(
        crd, ns, "engine", {"apiVersion": "v1", "kind": "ConfigMap", "changed": ["{.data}"]}
    )
    runner.start().wait_ready()
    expected: Counter[Fired] = Counter()
    rv = patch_cm(crd, ns, "a", "2")
    expected[("update", f"{ns}/a", rv)] += 1
    settle(runner, expected, "the first update")
    # the checkpoint must have moved past what was handled before the kill
    wait_for(
        lambda: (
            int(
                (status(crd, ns, "engine").get("checkpoint") or {})
                .get("resourceVersions", {})
                .get(ns, 0)
            )
            >= int(rv)
        ),
        15,
        "the checkpoint to pass the handled update",
    )
    runner.kill(signal.SIGKILL)

    # while down: an update, a delete, a create, a label-only change, two updates of one object
    rv_a = patch_cm(crd, ns, "a", "3")
    delete_cm(crd, ns, "b")
    rv_e = create_cm(crd, ns, "e")
    label_cm(crd, ns, "c", "only=labels")
    patch_cm(crd, ns, "d", "2")
    rv_d = patch_cm(crd, ns, "d", "3")

    runner.start().wait_ready()
    expected[("update", f"{ns}/a", rv_a)] += 1
    expected[("create", f"{ns}/e", rv_e)] += 1
    expected[("update", f"{ns}/d", rv_d)] += 1  # the newest state, once

    def caught_up() -> bool:
        fired = runner.fired()
        return all(fired[k] for k in expected) and any(k[0] == "delete" for k in fired)

    wait_for(caught_up, 30, "the catch-up")
    time.sleep(2)
    fired = runner.fired()
    deletes = [k for k in fired if k[0] == "delete"]
    assert [(k[0], k[1], fired[k]) for k in deletes] == [("delete", f"{ns}/b", 1)]
    expected[deletes[0]] += 1
    assert fired == expected

    # and after the catch-up the watch goes on as usual
    rv = patch_cm(crd, ns, "c", "9")
    expected[("update", f"{ns}/c", rv)] += 1
    settle(runner, expected, "an update after the catch-up")


def test_invalid_spec_exits_2_and_sets_ready_false(
    crd: Cluster, namespace: str, tmp_path: Path
) -> None:
    body = {
        "apiVersion": API_VERSION,
        "kind": "Trigger",
        "metadata": {"name": "broken", "namespace": namespace},
        "spec": {
            "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
            "filters": [{"path": "{.metadata.labels[", "exists": True}],
            "actions": [{"log": {"message": "x"}}],
        },
    }
    crd.kubectl("create", "-f", "-", input=json.dumps(body))
    proc = run_in_image(["--trigger", f"{namespace}/broken"], crd.kubeconfig, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "spec.filters[0]" in proc.stderr
    ready = {c["type"]: c for c in status(crd, namespace, "broken")["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "SpecInvalid")
    assert "spec.filters[0]" in ready["message"]

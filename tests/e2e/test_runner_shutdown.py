"""SIGTERM drains: an action in flight when the runner is told to stop still completes.

Kubernetes sends SIGTERM when it replaces a runner pod (``apply`` with a changed
spec, a node drain). A webhook that is halfway through must not be cut off, or
the receiver would see a request whose answer nobody reads and the checkpoint
would not know whether it ran.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.conftest import Cluster
from tests.e2e.action_receivers import HttpReceiver, Reply
from tests.e2e.runner_support import Runner, create_cm, make_trigger, patch_cm
from tests.polling import wait_for

pytestmark = pytest.mark.e2e

SLOW_REPLY = 3.0  # seconds the receiver holds each request before answering


def test_sigterm_waits_for_the_action_in_flight(
    crd: Cluster, namespace: str, runner: Runner
) -> None:
    create_cm(crd, namespace, "slow")
    with HttpReceiver() as receiver:
        receiver.reply = Reply(delay=SLOW_REPLY)
        make_trigger(
            crd,
            namespace,
            "engine",
            {"apiVersion": "v1", "kind": "ConfigMap", "events": ["update"]},
            actions=[
                {
                    "webhook": {
                        "url": f"{receiver.base}/hook",
                        "body": {"rv": "{{ .object.metadata.resourceVersion }}"},
                        "timeout": "10s",
                    }
                }
            ],
        )
        runner.start().wait_ready()
        rv = patch_cm(crd, namespace, "slow", "2")
        wait_for(lambda: receiver.requests, 15, "the webhook request to reach the receiver")
        asked_to_stop = time.monotonic()
        exit_code = runner.kill(signal.SIGTERM)
        took = time.monotonic() - asked_to_stop

    assert exit_code == 0
    assert took >= SLOW_REPLY - 1, "the runner exited before the receiver answered"
    assert [r.json() for r in receiver.requests] == [{"rv": rv}]
    messages = [line["message"] for line in runner.lines()]
    stop = messages.index("signal SIGTERM: shutting down")
    ran = [i for i, m in enumerate(messages) if "ran for update" in m]
    assert len(ran) == 1 and ran[0] > stop, "the action finished after SIGTERM, once"
    assert messages[-1] == "stopped"

"""Ctrl-C while ``create -f`` writes many triggers on its writer threads.

Python raises KeyboardInterrupt in the main thread at whatever instruction it is
on (and the signal itself may land on any thread). Wherever that is, the command
must end in the report of what was written and what was not
(kubectl_trigger.deploy._each): every write that ran reported, every other
trigger listed as not written, nothing escaping. Under load the former code let
it escape between two hand-outs (exit 130, nothing said). The e2e test
(test_operator_interruptions.py) sends Ctrl-C to the real command once.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from kubectl_trigger import deploy


@pytest.mark.parametrize("press_at", [0, 1, 3, 7, 40])
def test_ctrl_c_at_any_write_reports_every_trigger_written_or_not(press_at: int) -> None:
    ran: list[int] = []
    lock = threading.Lock()

    def write(item: int) -> list[int]:
        with lock:
            ran.append(item)
        if item == press_at:  # the user presses Ctrl-C as this write starts
            os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.002)
        return [item]

    try:
        results, left = deploy._each(write, list(range(100)), workers=4)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped the writer's report")
    written = [item for result in results for item in result]  # type: ignore[union-attr]
    assert written == sorted(ran)  # every write that ran is reported, in input order
    assert written + list(left) == list(range(100))  # every other one is listed as not written
    assert left, "Ctrl-C stopped nothing"


def test_a_bug_in_a_write_is_raised_once_the_others_are_done() -> None:
    done: list[int] = []

    def write(item: int) -> list[int]:
        if item == 2:
            raise RuntimeError("a bug")
        time.sleep(0.001)
        done.append(item)
        return [item]

    with pytest.raises(RuntimeError, match="a bug"):
        deploy._each(write, list(range(20)), workers=4)  # type: ignore[arg-type]
    assert sorted(done) == [i for i in range(20) if i != 2]

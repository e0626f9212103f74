"""Ctrl-C while ``create -f`` is still handing triggers to its writer threads.

Workers start writing while the main thread still submits the rest; a Ctrl-C
then must still end in the report of what was written and what was not
(kubectl_trigger.deploy._each), never escape between two submissions and leave
running writes unreported. The e2e test (test_operator_interruptions.py) sends
Ctrl-C at a random moment; this pins the moment inside the submissions.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from kubectl_trigger import deploy


class SlowToIterate(Sequence[int]):
    """Triggers handed out one every 5 ms, so the main thread is still submitting."""

    def __init__(self, count: int) -> None:
        self.items = list(range(count))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> int:  # type: ignore[override]
        return self.items[i]

    def __iter__(self) -> Iterator[int]:
        for item in self.items:
            time.sleep(0.005)
            yield item


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signal masks")
def test_ctrl_c_amid_submissions_reports_every_trigger_written_or_not() -> None:
    ran: list[int] = []
    lock = threading.Lock()

    def write(item: int) -> list[int]:
        with lock:
            ran.append(item)
        if item == 0:  # the first write: the user presses Ctrl-C now
            os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        return [item]

    triggers = SlowToIterate(100)
    try:
        results, left = deploy._each(write, triggers, workers=4)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped while triggers were being submitted")
    written = sorted(item for result in results for item in result)  # type: ignore[union-attr]
    assert written == sorted(ran)  # every write that ran is reported
    assert sorted(written + list(left)) == list(range(100))  # and every other one as left
    assert left, "Ctrl-C stopped nothing"

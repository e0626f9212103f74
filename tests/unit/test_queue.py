"""The keyed queue: coalescing per key, exclusivity, FIFO across keys, overflow, retries."""

from __future__ import annotations

import threading
import time

from runner.event import Event
from runner.queue import Item, KeyedQueue, PutResult


def ev(type_: str, key: str, rv: str) -> Event:
    return Event(type_, key, {"metadata": {"resourceVersion": rv}}, rv)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def take(q: KeyedQueue) -> Item:
    item = q.get(timeout=0)
    assert item is not None
    return item


def test_burst_on_one_key_coalesces_to_the_newest_event() -> None:
    q = KeyedQueue()
    assert q.put(ev("update", "ns/a", "1")) is PutResult.QUEUED
    assert q.put(ev("update", "ns/a", "2")) is PutResult.MERGED
    assert q.put(ev("update", "ns/a", "3")) is PutResult.MERGED
    assert len(q) == 1
    item = take(q)
    assert (item.event.type, item.event.resource_version, item.merged) == ("update", "3", 2)
    assert q.get(timeout=0) is None


def test_create_then_update_stays_a_create_with_the_newest_object() -> None:
    q = KeyedQueue()
    q.put(ev("create", "ns/a", "1"))
    q.put(ev("update", "ns/a", "2"))
    item = take(q)
    assert (item.event.type, item.event.resource_version) == ("create", "2")


def test_update_then_delete_becomes_the_delete() -> None:
    q = KeyedQueue()
    q.put(ev("update", "ns/a", "1"))
    q.put(ev("delete", "ns/a", "2"))
    assert [(i.event.type, i.event.resource_version) for i in [take(q)]] == [("delete", "2")]


def test_create_then_delete_are_both_kept_in_order() -> None:
    q = KeyedQueue()
    assert q.put(ev("create", "ns/a", "1")) is PutResult.QUEUED
    assert q.put(ev("delete", "ns/a", "2")) is PutResult.QUEUED
    first = take(q)
    assert first.event.type == "create"
    assert q.get(timeout=0) is None  # the key is busy until done()
    q.done(first)
    assert take(q).event.type == "delete"


def test_fifo_across_keys() -> None:
    q = KeyedQueue()
    for key in ("ns/a", "ns/b", "ns/c"):
        q.put(ev("update", key, "1"))
    q.put(ev("update", "ns/a", "2"))  # merges, keeps a's place
    assert [take(q).event.key for _ in range(3)] == ["ns/a", "ns/b", "ns/c"]


def test_key_in_flight_gets_its_newer_event_after_done() -> None:
    q = KeyedQueue()
    q.put(ev("update", "ns/a", "1"))
    q.put(ev("update", "ns/b", "1"))
    a1 = take(q)
    q.put(ev("update", "ns/a", "2"))  # a new entry: a1 is in flight, not mergeable
    q.put(ev("update", "ns/a", "3"))  # merges into the waiting a2
    assert take(q).event.key == "ns/b"
    assert q.get(timeout=0) is None
    q.done(a1)
    a = take(q)
    assert (a.event.key, a.event.resource_version) == ("ns/a", "3")


def test_full_queue_still_merges_but_drops_new_keys() -> None:
    q = KeyedQueue(maxsize=2)
    assert q.put(ev("update", "ns/a", "1")) is PutResult.QUEUED
    assert q.put(ev("update", "ns/b", "1")) is PutResult.QUEUED
    assert q.put(ev("update", "ns/c", "1")) is PutResult.DROPPED
    assert q.put(ev("update", "ns/a", "2")) is PutResult.MERGED
    assert (q.overflows, len(q)) == (1, 2)


def test_retry_waits_its_delay_without_blocking_other_keys() -> None:
    clock = FakeClock()
    q = KeyedQueue(clock=clock)
    q.put(ev("update", "ns/a", "1"))
    q.put(ev("update", "ns/b", "1"))
    a = take(q)
    a.attempt, a.matched = 1, True
    q.retry(a, 5.0)
    q.put(ev("update", "ns/a", "2"))  # parked behind the retry, never merged into it
    assert take(q).event.key == "ns/b"
    assert q.get(timeout=0) is None
    clock.now += 5.0
    again = take(q)
    assert (again.event.resource_version, again.attempt) == ("1", 1)
    assert q.get(timeout=0) is None  # a2 waits until the retry is done
    q.done(again)
    assert take(q).event.resource_version == "2"


def test_blocking_get_wakes_on_put_and_on_close() -> None:
    q = KeyedQueue()
    got: list[Item | None] = []
    thread = threading.Thread(target=lambda: got.append(q.get(timeout=5)))
    thread.start()
    time.sleep(0.05)
    q.put(ev("update", "ns/a", "1"))
    thread.join(2)
    assert got and got[0] is not None and got[0].event.key == "ns/a"

    closer = threading.Thread(target=lambda: got.append(q.get(timeout=5)))
    closer.start()
    time.sleep(0.05)
    q.close()
    closer.join(2)
    assert got[-1] is None and not closer.is_alive()
    assert q.put(ev("update", "ns/z", "1")) is PutResult.DROPPED


def test_get_times_out() -> None:
    q = KeyedQueue()
    start = time.monotonic()
    assert q.get(timeout=0.05) is None
    assert 0.04 <= time.monotonic() - start < 1.0


def test_many_threads_each_event_delivered_once_per_coalesced_entry() -> None:
    q = KeyedQueue()
    seen: dict[str, list[str]] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            item = q.get(timeout=0.05)
            if item is None:
                continue
            with lock:
                seen.setdefault(item.event.key, []).append(item.event.resource_version)
            q.done(item)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for rv in range(1, 201):
        for k in range(10):
            q.put(ev("update", f"ns/k{k}", str(rv)))
    deadline = time.monotonic() + 5
    while len(q) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join()
    for k in range(10):
        rvs = [int(r) for r in seen[f"ns/k{k}"]]
        assert rvs == sorted(rvs) and len(rvs) == len(set(rvs))  # in order, never twice
        assert rvs[-1] == 200  # the newest state always runs

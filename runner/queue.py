"""A bounded, keyed work queue between the source and the action workers.

Why keyed: a burst of changes to one object should run its actions once, for
the newest state, and two events for the same object must never run at the
same time or out of order. So:

- one waiting entry per key, updated to the newest event (see ``MERGES``);
  pairs that must not be merged (``create`` then ``delete``) queue one behind
  the other;
- a key that is in flight (or waiting for a retry) is *busy*: its newer events
  wait and are handed out only after ``done()``;
- keys are served first come, first served;
- a retry is parked until its delay is over without holding a worker, and its
  key stays busy meanwhile, so a failing action never blocks other keys.

Bounded without ever blocking the producer: a slow action must not stall the
watch. When full, events for keys that are already waiting still merge; an
event that would need a new entry is refused (``PutResult.DROPPED``) and the
source marks that key for a relist, which regenerates the event once the
queue has room. Nothing is lost, the checkpoint does not move past it.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from runner.event import Event

#: (waiting type, newer type) -> the merged entry's type. Missing pairs do not merge.
MERGES: dict[tuple[str, str], str] = {
    ("update", "update"): "update",
    ("create", "update"): "create",  # the object is still new to the actions
    ("update", "delete"): "delete",  # the last state is what matters
    ("create", "create"): "create",
    ("delete", "delete"): "delete",
    ("cron", "cron"): "cron",  # two missed ticks run once
}


class PutResult(enum.Enum):
    """What ``KeyedQueue.put`` did with an event."""

    QUEUED = "queued"  # a new entry
    MERGED = "merged"  # folded into a waiting entry for the same key
    DROPPED = "dropped"  # full (or closed): the caller must arrange a relist


@dataclass(slots=True)
class Item:
    """One event on its way through the actions; a retry resumes where it failed."""

    event: Event
    action_index: int = 0  # the next action to run
    attempt: int = 0  # failed tries of that action so far
    matched: bool = False  # the filters already held (retries skip them)
    merged: int = 0  # how many newer events were folded into this entry

    @property
    def fresh(self) -> bool:
        """Not started yet, so a newer event may replace it."""
        return self.action_index == 0 and self.attempt == 0 and not self.matched


class KeyedQueue:
    """Thread-safe keyed FIFO with coalescing, per-key exclusivity and delayed retries."""

    def __init__(self, maxsize: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.maxsize = max(1, maxsize)
        self._clock = clock
        self._cond = threading.Condition()
        self._waiting: dict[str, deque[Item]] = {}  # key -> its entries, oldest first
        self._ready: deque[str] = deque()  # keys that can be handed out, FIFO
        self._busy: set[str] = set()  # keys in flight or waiting for a retry
        self._delayed: list[tuple[float, int, Item]] = []  # heap of (due, seq, item)
        self._seq = itertools.count()
        self._size = 0  # entries in _waiting
        self._closed = False
        self.overflows = 0
        self.merges = 0

    def __len__(self) -> int:
        with self._cond:
            return self._size + len(self._delayed)

    @property
    def closed(self) -> bool:
        """True after ``close()``."""
        return self._closed

    def put(self, event: Event) -> PutResult:
        """Queue ``event`` without ever blocking; see the module docstring for the rules."""
        with self._cond:
            if self._closed:
                return PutResult.DROPPED
            entries = self._waiting.get(event.key)
            if entries:
                last = entries[-1]
                merged_type = MERGES.get((last.event.type, event.type))
                if last.fresh and merged_type is not None:
                    if merged_type != event.type:
                        event = _retype(event, merged_type)
                    last.event = event
                    last.merged += 1
                    self.merges += 1
                    return PutResult.MERGED
            if self._size >= self.maxsize:
                self.overflows += 1
                return PutResult.DROPPED
            if entries is None:
                entries = self._waiting[event.key] = deque()
            entries.append(Item(event))
            self._size += 1
            if len(entries) == 1 and event.key not in self._busy:
                self._ready.append(event.key)
                self._cond.notify()
            return PutResult.QUEUED

    def get(self, timeout: float | None = None) -> Item | None:
        """The next item, marking its key busy; None on timeout or once closed."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            while not self._closed:
                self._release_due()
                if self._ready:
                    key = self._ready.popleft()
                    entries = self._waiting[key]
                    item = entries.popleft()
                    if not entries:
                        del self._waiting[key]
                    self._size -= 1
                    self._busy.add(key)
                    return item
                now = self._clock()
                wait = None if deadline is None else deadline - now
                if self._delayed:
                    until_due = self._delayed[0][0] - now
                    wait = until_due if wait is None else min(wait, until_due)
                if wait is not None and wait <= 0:
                    if deadline is not None and self._clock() >= deadline:
                        return None
                    continue
                self._cond.wait(wait)
            return None

    def done(self, item: Item) -> None:
        """The worker finished ``item``: its key's next entry (if any) becomes ready."""
        key = item.event.key
        with self._cond:
            self._busy.discard(key)
            if key in self._waiting:
                self._ready.append(key)
                self._cond.notify()

    def retry(self, item: Item, delay: float) -> None:
        """Hand ``item`` out again after ``delay`` seconds; its key stays busy until then."""
        with self._cond:
            heapq.heappush(self._delayed, (self._clock() + delay, next(self._seq), item))
            self._cond.notify()

    def close(self) -> None:
        """Stop handing out work; waiting and delayed entries stay unfinished."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def pending_keys(self) -> set[str]:
        """Keys with a waiting, delayed or in-flight entry."""
        with self._cond:
            return set(self._waiting) | self._busy

    def _release_due(self) -> None:
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, item = heapq.heappop(self._delayed)
            key = item.event.key
            self._busy.discard(key)
            entries = self._waiting.get(key)
            if entries is None:
                entries = self._waiting[key] = deque()
            entries.appendleft(item)  # before any newer event for the same key
            self._size += 1
            self._ready.append(key)


def _retype(event: Event, type_: str) -> Event:
    return Event(type_, event.key, event.object, event.resource_version, event.time)

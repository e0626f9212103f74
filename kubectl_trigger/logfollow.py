"""Following a runner's log across restarts: what ``kubectl trigger logs -f`` streams.

A pod's log stream ends when its container stops, and a runner that restarts
gets a new container in its pod, or a new pod from its Deployment; ``kubectl
logs -f`` stops there. This follows the runner instead, until interrupted: it
checks the runner's pods about once a second, and when a newer container of
the runner is running (a higher restart count, or a newer pod) it says so on
stderr (``--- runner restarted (pod P, container restart N) ---``) and goes on
with that container's log from its first line. A stream that ends while its
container still runs (a dropped connection) is reopened from the last line's
time, so no line is printed twice.

Lines are always requested with their timestamps (that is how a resumed stream
skips what was printed); the timestamps are removed again unless the user asked
for them. The stream is read by a helper thread, so the pods can be checked
while no line arrives.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.kube.client import ByteStream, KubeClient

Pod = Mapping[str, Any]
#: How often the runner's pods are checked while following.
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Container:
    """One run of the runner container: which pod, and how often it restarted there."""

    pod: str
    uid: str
    restarts: int
    created: str  # the pod's creationTimestamp, to order pods
    has_log: bool  # running or terminated: there is a log to read
    running: bool

    def newer_than(self, other: Container) -> bool:
        """Whether this is a later run of the runner than ``other``."""
        if self.uid == other.uid:
            return self.restarts > other.restarts
        return self.created >= other.created


def container_of(pod: Pod, container: str) -> Container:
    """The runner container's current run in ``pod``."""
    meta = pod.get("metadata") or {}
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    status: Mapping[str, Any] = next((s for s in statuses if s.get("name") == container), {})
    state = status.get("state") or {}
    return Container(
        pod=str(meta.get("name", "")),
        uid=str(meta.get("uid", "")),
        restarts=int(status.get("restartCount") or 0),
        created=str(meta.get("creationTimestamp", "")),
        has_log="running" in state or "terminated" in state,
        running="running" in state,
    )


def latest(pods: Iterable[Pod], container: str) -> Container | None:
    """The runner's newest container that has a log, in a pod not being deleted."""
    found = [
        container_of(p, container)
        for p in pods
        if not (p.get("metadata") or {}).get("deletionTimestamp")
    ]
    ready = [c for c in found if c.has_log]
    return max(ready, key=lambda c: (c.created, c.restarts)) if ready else None


def time_key(stamp: str) -> str:
    """An RFC 3339 timestamp as a string that sorts by time (nanoseconds padded out)."""
    head, dot, rest = stamp.rstrip("Z").partition(".")
    return f"{head}.{(rest if dot else '').ljust(9, '0')}"


def split_stamp(line: str) -> tuple[str, str]:
    """``"<timestamp> <text>"`` (what ``timestamps=true`` gives) -> (timestamp, text)."""
    stamp, sep, text = line.partition(" ")
    if not sep or not stamp[:4].isdigit():
        return "", line
    return stamp, text


class Lines:
    """Bytes as they arrive -> whole lines (a partial line waits for its end)."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> list[str]:
        """The complete lines ``chunk`` finishes."""
        *whole, self._rest = (self._rest + chunk).split(b"\n")
        return [w.decode("utf-8", "replace") for w in whole]

    def flush(self) -> list[str]:
        """What is left at the end of the stream."""
        rest, self._rest = self._rest, b""
        return [rest.decode("utf-8", "replace")] if rest else []


@dataclass
class Follow:
    """Everything a follow needs; ``run`` streams until interrupted."""

    client: KubeClient
    namespace: str
    selector: str
    container: str
    query: dict[str, str]  # the user's options (tailLines, sinceSeconds) for the first stream
    timestamps: bool  # print each line's timestamp
    write: Callable[[str], None] = lambda text: _out(sys.stdout, text)  # a log line
    mark: Callable[[str], None] = lambda text: _out(sys.stderr, text + "\n")  # a marker
    poll: float = POLL_SECONDS

    def pods(self) -> list[dict[str, Any]]:
        """The runner's pods now."""
        from kubectl_trigger.errors import translated
        from kubectl_trigger.session import items, known

        with translated("list the runner's pods"):
            pages = self.client.list_pages(
                known("Pod"), self.namespace, label_selector=self.selector
            )
            return list(items(pages))

    def run(self, first: Pod) -> None:
        """Stream ``first``'s runner container, then every later one, until Ctrl-C."""
        from kubectl_trigger.errors import PluginError

        current = container_of(first, self.container)
        query = dict(self.query)
        last = ""  # time_key of the last line printed from the current container
        opened = False
        try:
            while True:
                try:
                    outcome, last = self._stream(current, query, last)
                except PluginError:
                    if not opened:
                        raise  # the first request failing is the command's error
                    time.sleep(self.poll)  # the pod went away while switching: look again
                    outcome = latest(self.pods(), self.container)
                    if outcome is None or not outcome.newer_than(current):
                        continue
                opened = True
                if isinstance(outcome, Container):
                    self.mark(
                        f"--- runner restarted (pod {outcome.pod}, "
                        f"container restart {outcome.restarts}) ---"
                    )
                    if outcome.uid != current.uid:
                        last = ""  # another pod: its lines are all new
                    current, query = outcome, {}
                else:  # the stream ended with the container still running: resume
                    query = {"sinceTime": last.split(".")[0] + "Z"} if last else {}
                    time.sleep(self.poll)
        except KeyboardInterrupt:
            return

    def _stream(self, current: Container, query: dict[str, str], last: str) -> tuple[Any, str]:
        """Print ``current``'s lines newer than ``last`` until it ends or a newer run starts.

        Returns (the newer Container, or None when the stream ended), the last line's time.
        """
        from kubectl_trigger.errors import translated

        path = f"/api/v1/namespaces/{self.namespace}/pods/{current.pod}/log"
        params = {**query, "container": self.container, "follow": "true", "timestamps": "true"}
        with translated(f"logs of pod {current.pod}"):
            stream = self.client.stream("GET", path, query=params)
        arrived: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_pump, args=(stream, arrived), daemon=True)
        reader.start()
        ended = False
        next_check = time.monotonic() + self.poll
        try:
            while True:
                try:
                    line = arrived.get(timeout=max(0.0, next_check - time.monotonic()))
                except queue.Empty:
                    line = ""
                if line is None:
                    ended = True
                elif line:
                    last = self._print(line, last)
                    continue
                if not ended and time.monotonic() < next_check:
                    continue
                next_check = time.monotonic() + self.poll
                newer = latest(self.pods(), self.container)
                if newer is not None and newer.newer_than(current):
                    for rest in _drain(arrived):
                        last = self._print(rest, last)
                    return newer, last
                same = newer is not None and (newer.uid, newer.restarts) == (
                    current.uid,
                    current.restarts,
                )
                if ended and same and newer is not None and newer.running:
                    return None, last  # the connection ended, not the container: resume
        finally:
            stream.interrupt()  # the reader thread closes it

    def _print(self, line: str, last: str) -> str:
        stamp, text = split_stamp(line)
        key = time_key(stamp) if stamp else last
        if stamp and last and key <= last:
            return last  # printed already, before the stream was resumed
        self.write((line if self.timestamps else text) + "\n")
        return key


def _out(stream: Any, text: str) -> None:
    stream.write(text)
    stream.flush()


def _pump(stream: ByteStream, out: queue.Queue[str | None]) -> None:
    """Read the stream into ``out`` line by line, then close it; ``None`` marks its end."""
    lines = Lines()
    try:
        for chunk in stream:
            for line in lines.feed(chunk):
                out.put(line)
        for line in lines.flush():
            out.put(line)
    except Exception:  # a broken or shut stream ends it; the follower decides what next
        pass
    finally:
        stream.close()
    out.put(None)


def _drain(arrived: queue.Queue[str | None]) -> list[str]:
    """The lines that already arrived from a stream that is being left."""
    lines: list[str] = []
    while True:
        try:
            line = arrived.get_nowait()
        except queue.Empty:
            return lines
        if line:
            lines.append(line)

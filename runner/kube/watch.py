"""One watch HTTP stream turned into decoded events, as they arrive, with nothing buffered.

The API server sends one JSON event per line over a chunked response; chunk
boundaries fall anywhere, so lines are reassembled here. The stream never
reconnects: when it ends, or raises ``Gone``, the caller relists and watches
again (it owns the resourceVersion bookkeeping). ``close`` may be called from
another thread to stop a blocked read, which is how a runner shuts down.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Generator, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from runner.kube.errors import ApiError, ConnectionFailed, error_from_status
from runner.kube.transport import HTTPException

if TYPE_CHECKING:
    from runner.kube.transport import Response

__all__ = ["WatchStream", "decode_events", "iter_lines"]

_READ_SIZE = 65536


def iter_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Complete lines from arbitrary chunks; the newline is dropped, a final partial line kept."""
    pending: list[bytes] = []
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            if pending:
                pending.append(chunk[start:end])
                line = b"".join(pending)
                pending.clear()
            else:
                line = chunk[start:end]
            yield line
            start = end + 1
        if start < len(chunk):
            pending.append(chunk[start:])
    if pending:
        yield b"".join(pending)


def decode_events(lines: Iterable[bytes]) -> Generator[dict[str, Any], None, None]:
    """Watch events from lines; an ERROR event raises (``Gone`` for an expired resourceVersion)."""
    for line in lines:
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            raise ApiError(0, "BadResponse", "a watch line is not JSON") from None
        if not isinstance(event, dict):
            raise ApiError(0, "BadResponse", "the watch stream sent something that is not an event")
        if event.get("type") == "ERROR":
            status = event.get("object")
            raise error_from_status(status if isinstance(status, dict) else {})
        yield event


def _chunks(response: Response) -> Iterator[bytes]:
    """Raw body pieces as soon as each arrives (never waiting to fill a buffer)."""
    while data := response.read1(_READ_SIZE):
        yield data


class WatchStream(Iterator[dict[str, Any]]):
    """Iterates watch events of one open response; closing releases the connection."""

    def __init__(self, response: Response, description: str) -> None:
        self._response = response
        self._description = description
        self._events = decode_events(iter_lines(_chunks(response)))
        self._lock = threading.Lock()
        self._closed = False
        self._busy = False
        self._finished = False

    def __iter__(self) -> WatchStream:
        return self

    def __next__(self) -> dict[str, Any]:
        with self._lock:
            closed = self._closed
            self._busy = not closed
        if closed:
            self._finish(reusable=False)
            raise StopIteration
        try:
            return next(self._events)
        except StopIteration:
            self._finish(reusable=True)
            raise
        except ApiError:
            self._finish(reusable=False)
            raise
        except (HTTPException, OSError, ValueError) as e:
            # ValueError: the fp was closed under us by close() from another thread
            self._finish(reusable=False)
            if self._closed:
                raise StopIteration from None
            raise ConnectionFailed(f"watch {self._description} broke: {e}") from e
        finally:
            with self._lock:
                self._busy = False
                closed = self._closed
            if closed:
                self._finish(reusable=False)

    def close(self) -> None:
        """Stop the stream; safe from any thread, and more than once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            busy = self._busy
        if busy:
            # another thread is blocked reading: wake it, it finishes the response
            with contextlib.suppress(OSError, ValueError, RuntimeError, AttributeError):
                self._response.shutdown()
        else:
            self._finish(reusable=False)

    def _finish(self, *, reusable: bool) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        if reusable:
            self._response.release()  # read to the end: back to the pool
        else:
            self._response.close()
        self._events.close()

    def __enter__(self) -> WatchStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

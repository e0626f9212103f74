"""Checkpoints: how a restarted runner catches up without repeating what it handled.

The record lives in the Trigger's ``status.checkpoint`` and stays small:

``resourceVersions``
    per watch stream (a namespace, or ``*`` for all namespaces), the
    resourceVersion below which every event has been fully handled: the
    smallest of the last version the stream saw and (the version of each
    unfinished event) - 1. ``Progress`` tracks unfinished events per key, so a
    killed runner never skips one.
``keys``
    the known keys, zlib-compressed and base64-encoded, one line per key:
    ``key<TAB>fp<TAB>rv`` with the low 32 bits of the changed-paths
    fingerprint (empty when unknown) and the resourceVersion only where it is
    above the stream's checkpoint (handled already, but after the frontier).
    Keys whose create is still unfinished are left out (so they count as new);
    unfinished keys carry no fingerprint (so they fire again). About 65 KiB for
    10,000 ConfigMaps; above ``MAX_KEYS_CHARS`` fingerprints are dropped, then
    the key list itself (then deletions made while the runner was down cannot be
    reported, and creates are told from updates by creationTimestamp).
``source``, ``time``
    a digest of the source spec (a changed source discards the checkpoint) and
    when the record was made.

Catch-up needs resourceVersions to compare as integers, which holds for every
etcd-backed API server; with any other kind the runner fires nothing on start
(unless ``fireOnStart``), as if there were no checkpoint.
"""

from __future__ import annotations

import base64
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.sources.index import TOMBSTONE, Entry, rv_int

#: Largest base64 text kept in ``status.checkpoint.keys``.
MAX_KEYS_CHARS = 128 * 1024
#: The fingerprint bits kept per key in the checkpoint (collisions: 1 in 4 billion).
FP_MASK = 0xFFFFFFFF
#: The stream name used when a source watches every namespace (or cluster-scoped kinds).
ALL_NAMESPACES = "*"


def stream_of(key: str, streams: frozenset[str]) -> str:
    """The stream a key belongs to: its namespace, or ``*`` when all are watched together."""
    if ALL_NAMESPACES in streams:
        return ALL_NAMESPACES
    namespace, _, _ = key.partition("/")
    return namespace


class Progress:
    """Unfinished events per key and per-stream holds, for computing a safe checkpoint.

    ``started`` before an event is queued, ``finished`` once its actions are
    done (or it was merged into a waiting event for the same key). A key's
    smallest unfinished resourceVersion stays until all its events are done.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # key -> [unfinished count, smallest unfinished rv (int or None), first event type]
        self._pending: dict[str, list[Any]] = {}
        self._holds: dict[str, int] = {}  # stream -> highest rv the checkpoint may reach
        self.drops = 0  # events dropped so far (a relist clears holds only if none came since)

    def started(self, key: str, resource_version: str, event_type: str) -> None:
        """An event for ``key`` is about to be queued."""
        rv = rv_int(resource_version)
        with self._lock:
            entry = self._pending.get(key)
            if entry is None:
                self._pending[key] = [1, rv, event_type]
                return
            entry[0] += 1
            if rv is None or entry[1] is None:
                entry[1] = None
            elif rv < entry[1]:
                entry[1] = rv

    def finished(self, key: str) -> None:
        """One event for ``key`` is done."""
        with self._lock:
            entry = self._pending.get(key)
            if entry is None:
                return
            entry[0] -= 1
            if entry[0] <= 0:
                del self._pending[key]

    def hold(self, stream: str, resource_version: str) -> None:
        """An event was dropped: keep the stream's checkpoint below it until a relist."""
        rv = rv_int(resource_version)
        with self._lock:
            self.drops += 1
            limit = (rv - 1) if rv is not None else -1
            self._holds[stream] = min(self._holds.get(stream, limit), limit)

    def release(self, stream: str, drops_before: int) -> bool:
        """A relist regenerated dropped events; lift the hold unless more were dropped since."""
        with self._lock:
            if self.drops != drops_before:
                return False
            self._holds.pop(stream, None)
            return True

    def pending(self) -> dict[str, tuple[int | None, str]]:
        """``key -> (smallest unfinished rv, first unfinished event type)``."""
        with self._lock:
            return {key: (entry[1], entry[2]) for key, entry in self._pending.items()}

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def frontier(
        self,
        last_seen: Mapping[str, str],
        pending: Mapping[str, tuple[int | None, str]] | None = None,
    ) -> dict[str, int]:
        """Per stream, the resourceVersion at or below which everything is handled.

        ``last_seen`` maps each stream to the newest resourceVersion it has
        seen (events and bookmarks). Streams without a numeric version are left
        out: they cannot be checkpointed.
        """
        if pending is None:
            pending = self.pending()
        streams = frozenset(last_seen)
        result: dict[str, int] = {}
        blocked: set[str] = set()
        for stream, seen in last_seen.items():
            value = rv_int(seen)
            if value is None:
                blocked.add(stream)
                continue
            result[stream] = value
        with self._lock:
            holds = dict(self._holds)
        for stream, limit in holds.items():
            if stream in result:
                result[stream] = min(result[stream], limit)
        for key, (rv, _) in pending.items():
            stream = stream_of(key, streams)
            if stream not in result:
                continue
            if rv is None:
                blocked.add(stream)
            elif rv - 1 < result[stream]:
                result[stream] = rv - 1
        for stream in blocked:
            result.pop(stream, None)
        return {stream: rv for stream, rv in result.items() if rv >= 0}


@dataclass(frozen=True, slots=True)
class KnownKey:
    """What a checkpoint says about one key."""

    fingerprint: int | None  # low 32 bits, None when unknown
    resource_version: int | None  # handled at this version (only above the frontier)


def encode_keys(
    entries: Mapping[str, Entry],
    pending: Mapping[str, tuple[int | None, str]],
    frontier: Mapping[str, int],
    streams: frozenset[str],
    max_chars: int = MAX_KEYS_CHARS,
) -> str | None:
    """The ``keys`` field for ``entries`` (an index snapshot); None if it does not fit."""
    full_lines: list[str] = []
    bare_lines: list[str] = []
    for key, (rv, fp) in entries.items():
        info = pending.get(key)
        if info is not None:
            if info[1] == "create":
                continue  # not handled yet: after a restart it must count as new
            full_lines.append(f"{key}\t\t")
            bare_lines.append(key)
            continue
        if rv == TOMBSTONE:
            full_lines.append(f"{key}\t\t")
            bare_lines.append(key)
            continue
        version = rv_int(rv)
        limit = frontier.get(stream_of(key, streams))
        above = version is not None and limit is not None and version > limit
        rv_text = str(version) if above else ""
        fp_text = "" if fp is None or not rv else f"{fp & FP_MASK:08x}"
        full_lines.append(f"{key}\t{fp_text}\t{rv_text}")
        bare_lines.append(key)
    for key, (_, first_type) in pending.items():
        if key not in entries and first_type != "create":
            full_lines.append(f"{key}\t\t")  # a delete still owed
            bare_lines.append(key)
    for lines in (full_lines, bare_lines):
        lines.sort()
        text = _pack("\n".join(lines))
        if len(text) <= max_chars:
            return text
    return None


def decode_keys(text: str) -> dict[str, KnownKey]:
    """Parse a ``keys`` field; an unreadable one yields an empty mapping."""
    try:
        raw = zlib.decompress(base64.b64decode(text)).decode()
    except (ValueError, zlib.error):
        return {}
    result: dict[str, KnownKey] = {}
    for line in raw.split("\n"):
        if not line:
            continue
        key, _, rest = line.partition("\t")
        fp_text, _, rv_text = rest.partition("\t")
        fp = int(fp_text, 16) if fp_text else None
        result[key] = KnownKey(fp, int(rv_text) if rv_text.isdigit() else None)
    return result


def _pack(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode("ascii")

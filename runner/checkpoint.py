"""Checkpoints: how a restarted runner catches up without repeating what it handled.

The record lives in the Trigger's ``status.checkpoint`` and stays small:

``resourceVersions``
    per watch stream (a namespace, or ``*`` for all namespaces), the
    resourceVersion below which every event has been fully handled: the
    smallest of the last version the stream saw and (the version of each
    unfinished event) - 1. ``Progress`` tracks unfinished events per key, so a
    killed runner never skips one.
``keys``
    the known keys (sorted, front-coded, zlib-compressed, base64-encoded; see
    ``_pack``) each with the low 32 bits of its changed-paths fingerprint (when
    known) and, where it is above the stream's checkpoint (handled already, but
    after the frontier), its resourceVersion. Keys whose create is unfinished
    are left out (so they count as new); keys with unfinished events carry no
    fingerprint (so they fire again). 10,000 ConfigMaps take about 1 KiB
    without changed paths and 53 KiB with them; above ``MAX_KEYS_CHARS`` the
    fingerprints are dropped, then the key list itself (then deletions made
    while the runner was down cannot be reported, and creates are told from
    updates by creationTimestamp).
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
from collections.abc import Callable, Iterable, Iterator, Mapping
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
    keys: list[str],
    lookup: Callable[[str], Entry | None],
    pending: Mapping[str, tuple[int | None, str]],
    frontier: Mapping[str, int],
    streams: frozenset[str],
    max_chars: int = MAX_KEYS_CHARS,
) -> str | None:
    """The ``keys`` field; None if it does not fit in ``max_chars``.

    ``keys`` are the index's keys (sorted here, in place) and ``lookup`` reads
    one entry; the text is built and compressed as a stream, so 10,000 keys
    cost no more than a few small buffers on top of the sorted key list.
    """
    keys.extend(k for k, (_, first) in pending.items() if first != "create" and lookup(k) is None)
    keys.sort()
    for with_details in (True, False):
        text = _pack(_rows(keys, lookup, pending, frontier, streams), with_details)
        if len(text) <= max_chars:
            return text
    return None


def _rows(
    keys: list[str],
    lookup: Callable[[str], Entry | None],
    pending: Mapping[str, tuple[int | None, str]],
    frontier: Mapping[str, int],
    streams: frozenset[str],
) -> Iterator[tuple[str, int | None, str]]:
    """(key, fingerprint, rv text) per key, as the module docstring describes."""
    for key in keys:
        info = pending.get(key)
        if info is not None:
            if info[1] != "create":  # an unfinished create is left out: it must count as new
                yield key, None, ""
            continue
        entry = lookup(key)
        if entry is None:
            continue  # removed meanwhile
        rv, fp = entry
        if rv == TOMBSTONE or not rv:
            yield key, None, ""
            continue
        version = rv_int(rv)
        limit = frontier.get(stream_of(key, streams))
        above = version is not None and limit is not None and version > limit
        yield key, fp, (str(version) if above else "")


def decode_keys(text: str) -> dict[str, KnownKey]:
    """Parse a ``keys`` field into a plain dict (tests, debugging); unreadable: empty."""
    try:
        return {key: KnownKey(fp, rv) for key, fp, rv in _decoded(text)}
    except ValueError:  # _Damaged, or a bad number in a damaged line
        return {}


class RestoredKeys:
    """A ``keys`` field as the first list after a restart reads it, in little memory.

    Lookups go through ``hash(key) -> rv << 33 | has_fp << 32 | fp`` (two ints per
    key, no strings); iterating decodes the text again for the deletes. A damaged
    field counts as empty.
    """

    __slots__ = ("_known", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._known: dict[int, int] = {}
        try:
            for key, fp, rv in _decoded(text):
                has_fp = (1 << 32 | fp) if fp is not None else 0
                self._known[hash(key)] = (rv or 0) << 33 | has_fp
        except ValueError:  # _Damaged, or a bad number in a damaged line
            self._known = {}
            self._text = ""

    def __len__(self) -> int:
        return len(self._known)

    def get(self, key: str) -> KnownKey | None:
        """What the checkpoint knows about ``key``, or None."""
        packed = self._known.get(hash(key))
        if packed is None:
            return None
        fp = packed & FP_MASK if packed & (1 << 32) else None
        return KnownKey(fp, (packed >> 33) or None)

    def __iter__(self) -> Iterator[str]:
        """Every key, in order (decoded again: nothing is kept for this)."""
        if self._text:
            return (key for key, _, _ in _decoded(self._text))
        return iter(())


class _Damaged(ValueError):
    """The key list cannot be read."""


def _decoded(text: str) -> Iterator[tuple[str, int | None, int | None]]:
    """(key, fingerprint, rv) per line, one at a time; raises ``_Damaged``."""
    try:
        raw = zlib.decompress(base64.b64decode(text))
        lines_part, _, fps = raw.partition(b"\0")
        body = lines_part.decode()
    except (ValueError, zlib.error) as exc:
        raise _Damaged(str(exc)) from None
    header, _, body = body.partition("\n")
    if header != _FORMAT:
        raise _Damaged(f"unknown format {header[:20]!r}")
    previous = ""
    offset = 0
    pos = 0
    while pos < len(body):
        end = body.find("\n", pos)
        if end < 0:
            end = len(body)
        parts = body[pos:end].split("\t")
        pos = end + 1
        if len(parts) != 4 or not parts[0]:
            raise _Damaged("bad line")
        key = previous[: int(parts[0], 16)] + parts[1]
        fp = None
        if parts[3] == "f":
            fp = int.from_bytes(fps[offset : offset + 4], "big")
            offset += 4
        yield key, fp, int(parts[2]) if parts[2].isdigit() else None
        previous = key


#: First line of the packed key list; bump it when the layout changes.
_FORMAT = "keys/v1"


def _pack(rows: Iterable[tuple[str, int | None, str]], with_details: bool) -> str:
    """Front-coded sorted keys (shared-prefix length in hex, suffix, rv, fingerprint flag),
    then a NUL and the fingerprints as 4 raw bytes each: random bytes do not compress, so
    they are kept apart from the text, which compresses very well."""
    packer = zlib.compressobj(9)
    out = [packer.compress(_FORMAT.encode())]
    fps = bytearray()
    previous = ""
    chunk: list[str] = []
    for key, fp, rv in rows:
        shared = 0
        for a, b in zip(previous, key, strict=False):
            if a != b:
                break
            shared += 1
        has_fp = with_details and fp is not None
        rv_text = rv if with_details else ""
        chunk.append(f"\n{shared:x}\t{key[shared:]}\t{rv_text}\t{'f' if has_fp else ''}")
        if has_fp:
            fps += (fp & FP_MASK).to_bytes(4, "big")  # type: ignore[operator]
        previous = key
        if len(chunk) >= 512:
            out.append(packer.compress("".join(chunk).encode()))
            chunk.clear()
    out.append(packer.compress("".join(chunk).encode() + b"\0" + bytes(fps)))
    out.append(packer.flush())
    return base64.b64encode(b"".join(out)).decode("ascii")

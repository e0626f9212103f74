"""Events from changes to Kubernetes objects: paginated list, then watch, then relist when needed.

Like kopf's watcher, the endless loop (``run``/``_run_stream``) is thin and
the finite steps it calls (``list_stream``, ``handle``) are where the logic is,
so they are unit-tested with scripted API responses.

Per stream (one per watched namespace, or one for all namespaces):

1. list in pages of 500, recording each object in the ``ObjectIndex`` and
   keeping no object. The first list fires nothing (unless ``fireOnStart``),
   except what the checkpoint says changed while the runner was down; a later
   list (a relist) fires only what changed since the index last saw it and a
   delete for every key that disappeared;
2. watch from the list's resourceVersion with bookmarks; a closed stream or a
   connection error re-watches from the last resourceVersion seen (with backoff
   and jitter); 410 Gone, a forced relist, or a queue overflow relists.

Objects in list pages lack ``apiVersion``/``kind``; they are filled in so an
action sees the same shape as from a watch. A delete found by a relist (the
watch missed it) carries a stub object with only apiVersion, kind, name and
namespace: its last state is unknown.

With a label or field selector, the API server also reports an object that was
changed so it no longer matches as deleted (a DELETED event carrying its
*previous*, still matching state, or its absence from a relist), so the event
alone cannot tell. Such a key is checked with a GET by name: gone (or another
object under that name) is a delete; still there means it left the selection,
which is dropped from the index without firing and counted in
``objects_left_selection_total``. An object that enters the selection arrives
as ADDED and fires ``create``: the watch cannot tell it from a new object.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.backoff import Backoff
from runner.checkpoint import ALL_NAMESPACES, FP_MASK, RestoredKeys
from runner.event import Event
from runner.kube.errors import ApiError, Gone, NotFound, error_from_status
from runner.memory import trim
from runner.metrics import (
    LEFT_SELECTION,
    LISTED_OBJECTS,
    RELISTS,
    WATCH_ERRORS,
    WATCH_RECONNECTS,
)
from runner.sources.base import SourceContext
from runner.sources.index import ObjectIndex, fingerprint, object_key, rv_int

PAGE_SIZE = 500
#: A watch request lasts at most this long before we reconnect (the server may end it sooner).
WATCH_TIMEOUT = 300
#: While a relist is owed but the queue is still full, re-check this often.
RELIST_RECHECK = 10
#: A watch that ended within this many seconds without an event counts as a failure (backoff).
MIN_HEALTHY_WATCH = 1.0


@dataclass
class Stream:
    """One list+watch loop: a namespace (or every namespace) and what it has seen."""

    namespace: str | None  # None: all namespaces, or a cluster-scoped kind
    name: str  # the checkpoint's name for it: the namespace, or "*"
    index: ObjectIndex = field(default_factory=ObjectIndex)
    resume_rv: str = ""  # the newest resourceVersion seen: the next watch starts here
    listed: bool = False
    watching: bool = False
    relist_requested: bool = False
    current: Any = None  # the open watch stream, so a forced relist can close it
    #: what the restored checkpoint knows: (resourceVersion, checkpoint time, keys or None)
    restored_rv: int | None = None


@dataclass(frozen=True)
class _Restored:
    time: datetime.datetime | None
    keys: RestoredKeys | None


class ResourceWatcher:
    """The source for ``spec.source.resource``."""

    def __init__(self, config: Any, ctx: SourceContext) -> None:
        if ctx.client is None:
            raise ValueError("a resource source needs a Kubernetes client")
        self.config = config
        self.ctx = ctx
        self.client = ctx.client
        self.info = self.client.resource(config.api_version, config.kind)
        self.changed = tuple(config.changed or ())
        self.events = frozenset(config.events)
        self.label_selector = _text(config.label_selector)
        self.field_selector = _text(config.field_selector)
        #: a selector hides objects that change to no longer match: "missing" is not "deleted"
        self.filtered = bool(self.label_selector or self.field_selector)
        if not self.info.namespaced or config.namespaces is None:
            self.streams = [Stream(None, ALL_NAMESPACES)]
        else:
            self.streams = [Stream(ns, ns) for ns in config.namespaces]
        self.stream_names = frozenset(s.name for s in self.streams)
        self._restored = self._restore(ctx.restored)

    # -- the engine's interface -------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """List and watch every stream until ``stop`` is set."""
        if len(self.streams) == 1:
            self._run_stream(self.streams[0], stop)
            return
        threads = [
            threading.Thread(
                target=self._run_stream, args=(s, stop), name=f"watch-{s.name}", daemon=True
            )
            for s in self.streams
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def ready(self) -> bool:
        """Every stream has listed once and is watching."""
        return all(s.listed and s.watching for s in self.streams)

    def request_relist(self) -> None:
        """Relist every stream now: the open watches are closed (safe from any thread)."""
        for stream in self.streams:
            stream.relist_requested = True
            current = stream.current
            if current is not None and hasattr(current, "close"):
                current.close()

    def checkpoint(self) -> dict[str, Any] | None:
        """Last-seen resourceVersions; the engine folds in progress and the key list."""
        seen = {s.name: s.resume_rv for s in self.streams if s.listed}
        return {"resourceVersions": seen} if seen else None

    def indexes(self) -> dict[str, ObjectIndex]:
        """Each stream's index by stream name (for the checkpoint's key list)."""
        return {s.name: s.index for s in self.streams}

    # -- the endless loop (thin) ------------------------------------------------------------

    def _run_stream(self, stream: Stream, stop: threading.Event) -> None:
        backoff = Backoff(initial=0.5, maximum=30.0)
        log = self.ctx.log
        while not stop.is_set():
            try:
                if not stream.listed or stream.relist_requested:
                    self.list_stream(stream)
                healthy = self.watch_stream(stream, stop)
                if healthy:
                    backoff.reset()
                else:
                    stop.wait(backoff.next())
                self.ctx.metrics.inc(WATCH_RECONNECTS)
            except Gone:
                log.info("watch expired (410 Gone); relisting", extra={"stream": stream.name})
                stream.relist_requested = True
                stream.watching = False
            except (ApiError, OSError) as exc:
                stream.watching = False
                self.ctx.metrics.inc(WATCH_ERRORS)
                delay = backoff.next()
                message = f"{type(exc).__name__}: {exc}"[:300]
                log.warning(
                    "watch failed; retrying in %.1fs: %s",
                    delay,
                    message,
                    extra={"stream": stream.name},
                )
                self.ctx.report(False, "WatchFailed", message)
                stop.wait(delay)

    def watch_stream(self, stream: Stream, stop: threading.Event) -> bool:
        """One watch request from ``stream.resume_rv`` until it ends; True if it was healthy."""
        timeout = RELIST_RECHECK if stream.relist_requested else WATCH_TIMEOUT
        started = time.monotonic()
        events = self.client.watch(
            self.info,
            stream.namespace,
            resource_version=stream.resume_rv,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            timeout_seconds=timeout,
            allow_bookmarks=True,
        )
        stream.current = events
        stream.watching = True
        if self.ready():
            self.ctx.report(True, "Watching", self._watching_message())
        got_any = False
        try:
            for raw in events:
                got_any = True
                self.handle(stream, raw)
                if stop.is_set():
                    break
                if stream.relist_requested and self.ctx.has_room():
                    break
        finally:
            stream.current = None
            close = getattr(events, "close", None)
            if close is not None:
                close()  # release the connection when we leave early
        return got_any or time.monotonic() - started >= MIN_HEALTHY_WATCH

    # -- the finite steps -------------------------------------------------------------------

    def list_stream(self, stream: Stream) -> str:
        """List ``stream`` page by page and fire what the index says changed; returns the rv."""
        first = not stream.listed
        drops_before = self.ctx.progress.drops
        started = time.monotonic()
        count = 0
        if not first:
            self.ctx.metrics.inc(RELISTS)
        seen: set[str] = set()
        list_rv = ""
        for page in self.client.list_pages(
            self.info,
            stream.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            limit=PAGE_SIZE,
        ):
            list_rv = str((page.get("metadata") or {}).get("resourceVersion") or list_rv)
            items = page.get("items") or ()
            count += len(items)
            self.ctx.metrics.inc(LISTED_OBJECTS, len(items))
            for obj in items:
                self._listed_object(stream, obj, seen, first)
            if isinstance(items, list):
                items.clear()  # free this page now, not when the client fetches the next one
        if first:
            gone = self._deleted_while_down(stream, seen)
        else:
            gone = [key for key in stream.index.key_list() if key not in seen]
        left = {key for key in gone if self._still_exists(key)}  # an error keeps the index as is
        if not first:
            stream.index.sweep(seen)
        for key in gone:
            if key in left:
                self._left_selection(stream, key)
            else:
                self._fire(stream, "delete", key, self._stub(key), list_rv)
        self.ctx.log.info(
            "%s %d objects in %.2fs",
            "listed" if first else "relisted",
            count,
            time.monotonic() - started,
            extra={
                "stream": stream.name,
                "objects": count,
                "list_seconds": round(time.monotonic() - started, 3),
                "resource_version": list_rv,
            },
        )
        stream.resume_rv = list_rv
        stream.listed = True
        stream.relist_requested = False
        self.ctx.progress.release(stream.name, drops_before)
        if first and all(s.listed for s in self.streams):
            self._restored = None  # caught up: the restored key list is no longer needed
        del seen
        if count >= PAGE_SIZE:
            trim()  # the pages (and the restored keys) are garbage now: give the memory back
        return list_rv

    def handle(self, stream: Stream, raw: Mapping[str, Any]) -> None:
        """Apply one raw watch event: update the index, fire what changed, move the resume rv."""
        kind = raw.get("type")
        obj = raw.get("object") or {}
        meta = obj.get("metadata") or {}
        if kind == "ERROR":  # a Status object; 410 becomes Gone, so the loop relists
            raise error_from_status(obj)
        rv = str(meta.get("resourceVersion") or "")
        if kind == "BOOKMARK":
            if rv:
                stream.resume_rv = rv
            return
        key = object_key(obj)
        if kind in ("ADDED", "MODIFIED"):
            change = stream.index.observe(key, rv, fingerprint(obj, self.changed))
        elif kind == "DELETED":
            if stream.index.get(key) is not None and self._still_exists(key, meta.get("uid")):
                stream.index.remove(key)
                self._left_selection(stream, key)
                change = None
            else:
                change = "delete" if stream.index.remove(key) else None
        else:
            return
        if change is not None:
            self._fire(stream, change, key, obj, rv)
        if rv:
            stream.resume_rv = rv

    # -- helpers ----------------------------------------------------------------------------

    def _listed_object(
        self, stream: Stream, obj: dict[str, Any], seen: set[str], first: bool
    ) -> None:
        obj.setdefault("apiVersion", self.info.api_version)
        obj.setdefault("kind", self.info.kind)
        meta = obj.get("metadata") or {}
        key = object_key(obj)
        rv = str(meta.get("resourceVersion") or "")
        seen.add(key)
        fp = fingerprint(obj, self.changed)
        change = stream.index.observe(key, rv, fp)
        if first:
            change = self._catch_up(stream, key, meta, rv, fp)
        if change is not None:
            self._fire(stream, change, key, obj, rv)

    def _catch_up(
        self, stream: Stream, key: str, meta: Mapping[str, Any], rv: str, fp: int | None
    ) -> str | None:
        """On the first list: what changed while the runner was down (or fireOnStart)."""
        since = stream.restored_rv
        restored = self._restored
        if since is None or restored is None:
            return "create" if self.config.fire_on_start else None
        version = rv_int(rv)
        if version is None or version <= since:
            return None
        if restored.keys is None:
            created = _parse_time(meta.get("creationTimestamp"))
            if created is not None and restored.time is not None:
                return "create" if created >= restored.time.replace(microsecond=0) else "update"
            return "update"
        known = restored.keys.get(key)
        if known is None:
            return "create"
        if known.resource_version is not None and version <= known.resource_version:
            return None
        if fp is not None and known.fingerprint is not None and fp & FP_MASK == known.fingerprint:
            return None
        return "update"

    def _deleted_while_down(self, stream: Stream, seen: set[str]) -> list[str]:
        restored = self._restored
        if stream.restored_rv is None or restored is None or restored.keys is None:
            return []
        return [
            key
            for key in restored.keys
            if key not in seen and _in_stream(key, stream, self.stream_names)
        ]

    def _still_exists(self, key: str, uid: str | None = None) -> bool:
        """Whether ``key``, reported gone by a filtered watch or relist, still exists (a GET).

        Without a selector, gone means deleted and nothing is asked. Another uid under
        the name means ours was deleted. Errors other than 404 propagate: the loop
        re-watches (or relists) and asks again, rather than guess.
        """
        if not self.filtered:
            return False
        namespace, _, name = key.rpartition("/")
        try:
            current = self.client.get(self.info, name, namespace or None)
        except NotFound:
            return False
        return uid is None or (current.get("metadata") or {}).get("uid") == uid

    def _left_selection(self, stream: Stream, key: str) -> None:
        self.ctx.metrics.inc(LEFT_SELECTION)
        self.ctx.log.debug(
            "%s left the selection; no delete fired", key, extra={"stream": stream.name, "key": key}
        )

    def _fire(self, stream: Stream, kind: str, key: str, obj: Mapping[str, Any], rv: str) -> None:
        if kind not in self.events:
            return
        if not self.ctx.emit(Event(kind, key, obj, rv)):
            stream.index.mark_unhandled(key, kind)
            self.ctx.progress.hold(stream.name, rv)
            stream.relist_requested = True

    def _stub(self, key: str) -> dict[str, Any]:
        namespace, _, name = key.rpartition("/")
        meta: dict[str, Any] = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        return {"apiVersion": self.info.api_version, "kind": self.info.kind, "metadata": meta}

    def _restore(self, restored: Mapping[str, Any] | None) -> _Restored | None:
        if not restored:
            return None
        versions = restored.get("resourceVersions") or {}
        any_stream = False
        for stream in self.streams:
            stream.restored_rv = rv_int(str(versions.get(stream.name) or ""))
            any_stream = any_stream or stream.restored_rv is not None
        if not any_stream:
            return None
        keys_text = restored.get("keys")
        keys = RestoredKeys(keys_text) if isinstance(keys_text, str) and keys_text else None
        return _Restored(_parse_time(restored.get("time")), keys)

    def _watching_message(self) -> str:
        names = ", ".join(s.name for s in self.streams)
        return f"watching {self.info.kind} in {names}"


def _in_stream(key: str, stream: Stream, names: Iterable[str]) -> bool:
    if stream.namespace is None:
        return True
    return key.startswith(stream.namespace + "/")


def _text(selector: Any) -> str | None:
    if selector is None:
        return None
    text = getattr(selector, "text", selector)
    return str(text) if text else None


def _parse_time(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed

"""The resource source's finite steps, driven by scripted list pages and watch events.

Exact outcomes: every test compares the full list of emitted (type, key,
resourceVersion) triples.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from runner.backoff import Backoff
from runner.checkpoint import Progress, encode_keys
from runner.event import Event
from runner.kube.errors import ConnectionFailed, Gone, NotFound
from runner.metrics import LEFT_SELECTION, RELISTS, Metrics
from runner.sources import resource as resource_mod
from runner.sources.base import SourceContext
from runner.sources.index import ObjectIndex, fingerprint
from runner.sources.resource import ResourceWatcher, Stream


@dataclass(frozen=True)
class Info:
    group: str = ""
    version: str = "v1"
    api_version: str = "v1"
    kind: str = "ConfigMap"
    plural: str = "configmaps"
    namespaced: bool = True
    verbs: frozenset[str] = frozenset({"list", "watch"})
    subresources: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Selector:
    text: str


@dataclass(frozen=True)
class Config:
    api_version: str = "v1"
    kind: str = "ConfigMap"
    namespaces: tuple[str, ...] | None = ("ns",)
    label_selector: Selector | None = None
    field_selector: Selector | None = None
    events: frozenset[str] = frozenset({"create", "update", "delete"})
    changed: tuple[Any, ...] = ()
    fire_on_start: bool = False


class DataPath:
    """Stand-in for a compiled ``{.data}``."""

    def values(self, obj: Any) -> list[Any]:
        return [obj["data"]] if "data" in obj else []


def cm(name: str, rv: int, data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv), **meta},
        "data": data if data is not None else {"k": "v"},
    }


def page(rv: int, *items: dict[str, Any], cont: str = "") -> dict[str, Any]:
    return {"metadata": {"resourceVersion": str(rv), "continue": cont}, "items": list(items)}


def watch_event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": {"apiVersion": "v1", "kind": "ConfigMap", **obj}}


def bookmark(rv: int) -> dict[str, Any]:
    return {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": str(rv)}}}


@dataclass
class FakeClient:
    lists: list[list[dict[str, Any]]] = field(default_factory=list)
    watches: list[list[Any]] = field(default_factory=list)
    list_calls: list[dict[str, Any]] = field(default_factory=list)
    watch_calls: list[dict[str, Any]] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # "ns/name" -> what GET sees
    get_calls: list[str] = field(default_factory=list)
    info: Info = field(default_factory=Info)
    on_exhausted: threading.Event | None = None

    def resource(self, api_version: str, kind: str) -> Info:
        return self.info

    def list_pages(self, info: Info, namespace: str | None = None, **kw: Any) -> Iterator[Any]:
        self.list_calls.append({"namespace": namespace, **kw})
        yield from self.lists.pop(0)

    def get(self, info: Info, name: str, namespace: str | None = None) -> dict[str, Any]:
        key = f"{namespace}/{name}" if namespace else name
        self.get_calls.append(key)
        if key not in self.objects:
            raise NotFound(404, "NotFound", f"{key} not found")
        return self.objects[key]

    def watch(self, info: Info, namespace: str | None = None, **kw: Any) -> Iterator[Any]:
        self.watch_calls.append({"namespace": namespace, **kw})
        if not self.watches:
            if self.on_exhausted is not None:
                self.on_exhausted.set()
            return
        for step in self.watches.pop(0):
            if isinstance(step, Exception):
                raise step
            yield step


@dataclass
class Harness:
    source: ResourceWatcher
    client: FakeClient
    progress: Progress
    metrics: Metrics
    emitted: list[tuple[str, str, str]]
    events: list[Event]
    refuse: set[str]  # keys whose next emit is refused (queue full)

    @property
    def stream(self) -> Stream:
        return self.source.streams[0]


def make(
    config: Config | None = None,
    client: FakeClient | None = None,
    restored: dict[str, Any] | None = None,
) -> Harness:
    client = client or FakeClient()
    progress = Progress()
    metrics = Metrics()
    emitted: list[tuple[str, str, str]] = []
    events: list[Event] = []
    refuse: set[str] = set()

    def emit(event: Event) -> bool:
        if event.key in refuse:
            refuse.discard(event.key)
            return False
        emitted.append((event.type, event.key, event.resource_version))
        events.append(event)
        return True

    ctx = SourceContext(
        emit=emit,
        progress=progress,
        metrics=metrics,
        log=logging.getLogger("test"),
        client=client,  # type: ignore[arg-type]
        restored=restored,
    )
    source = ResourceWatcher(config or Config(), ctx)
    return Harness(source, client, progress, metrics, emitted, events, refuse)


def test_first_list_fires_nothing_and_the_watch_fires_each_change() -> None:
    h = make()
    h.client.lists.append([page(10, cm("a", 5), cm("b", 6))])
    assert h.source.list_stream(h.stream) == "10"
    assert h.emitted == [] and h.stream.resume_rv == "10"
    for raw in (
        watch_event("ADDED", cm("c", 11)),
        watch_event("MODIFIED", cm("a", 12, {"k": "w"})),
        watch_event("ADDED", cm("b", 6)),  # a replay of what the list showed: nothing
        watch_event("DELETED", cm("b", 13)),
        bookmark(20),
    ):
        h.source.handle(h.stream, raw)
    assert h.emitted == [
        ("create", "ns/c", "11"),
        ("update", "ns/a", "12"),
        ("delete", "ns/b", "13"),
    ]
    assert h.stream.resume_rv == "20"
    assert h.client.list_calls[0]["limit"] == 500


def test_fire_on_start_fires_create_for_existing_objects() -> None:
    h = make(Config(fire_on_start=True))
    h.client.lists.append([page(10, cm("a", 5), cm("b", 6))])
    h.source.list_stream(h.stream)
    assert h.emitted == [("create", "ns/a", "5"), ("create", "ns/b", "6")]
    assert h.events[0].object is not None
    assert h.events[0].object["kind"] == "ConfigMap"  # filled in for list items
    assert h.events[0].object["apiVersion"] == "v1"


def test_pages_are_followed_and_the_watch_starts_at_the_list_version() -> None:
    h = make()
    h.client.lists.append(
        [page(30, cm("a", 1), cont="x"), page(30, cm("b", 2), cont="y"), page(30, cm("c", 3))]
    )
    h.client.watches.append([])
    h.source.list_stream(h.stream)
    h.source.watch_stream(h.stream, threading.Event())
    assert len(h.stream.index) == 3
    call = h.client.watch_calls[0]
    assert call["resource_version"] == "30" and call["allow_bookmarks"] is True


def test_relist_after_gone_fires_only_what_changed() -> None:
    h = make()
    h.client.lists.append([page(10, cm("a", 1), cm("b", 2), cm("c", 3))])
    h.source.list_stream(h.stream)
    # while the watch was gone: a modified, b untouched, c deleted, d created
    h.client.lists.append([page(50, cm("a", 40, {"k": "new"}), cm("b", 2), cm("d", 45))])
    h.source.list_stream(h.stream)
    assert h.emitted == [
        ("update", "ns/a", "40"),
        ("create", "ns/d", "45"),
        ("delete", "ns/c", "50"),
    ]
    stub = h.events[-1].object
    assert stub == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "ns"},
    }
    assert h.metrics.get(RELISTS) == 1 and h.stream.resume_rv == "50"


def test_changed_paths_ignore_other_changes_in_watch_and_relist() -> None:
    h = make(Config(changed=(DataPath(),)))
    h.client.lists.append([page(10, cm("a", 1, {"k": "v"}), cm("b", 2, {"k": "v"}))])
    h.source.list_stream(h.stream)
    relabelled = cm("a", 11, {"k": "v"}, labels={"x": "y"})
    h.source.handle(h.stream, watch_event("MODIFIED", relabelled))
    assert h.emitted == []
    h.source.handle(h.stream, watch_event("MODIFIED", cm("a", 12, {"k": "w"})))
    assert h.emitted == [("update", "ns/a", "12")]
    # a relist: b got a new label only, a unchanged since 12
    h.client.lists.append([page(20, cm("a", 12, {"k": "w"}), cm("b", 15, {"k": "v"}))])
    h.source.list_stream(h.stream)
    assert h.emitted == [("update", "ns/a", "12")]


def test_events_filter_hides_types_but_the_index_keeps_up() -> None:
    h = make(Config(events=frozenset({"update"})))
    h.client.lists.append([page(10)])
    h.source.list_stream(h.stream)
    h.source.handle(h.stream, watch_event("ADDED", cm("a", 11)))
    h.source.handle(h.stream, watch_event("MODIFIED", cm("a", 12)))
    h.source.handle(h.stream, watch_event("DELETED", cm("a", 13)))
    assert h.emitted == [("update", "ns/a", "12")]
    assert len(h.stream.index) == 0


def test_error_event_410_means_relist() -> None:
    h = make()
    with pytest.raises(Gone):
        h.source.handle(h.stream, {"type": "ERROR", "object": {"code": 410, "message": "too old"}})


def test_refused_event_is_regenerated_by_the_next_relist() -> None:
    h = make()
    h.client.lists.append([page(10, cm("a", 1), cm("b", 2))])
    h.source.list_stream(h.stream)
    h.refuse |= {"ns/a", "ns/b", "ns/c"}
    h.source.handle(h.stream, watch_event("MODIFIED", cm("a", 11)))
    h.source.handle(h.stream, watch_event("DELETED", cm("b", 12)))
    h.source.handle(h.stream, watch_event("ADDED", cm("c", 13)))
    assert h.emitted == [] and h.stream.relist_requested
    # the checkpoint may not pass the first refused event until the relist
    assert h.progress.frontier({"ns": h.stream.resume_rv}) == {"ns": 10}
    drops = h.progress.drops
    h.client.lists.append([page(20, cm("a", 11), cm("c", 13))])
    h.source.list_stream(h.stream)
    assert h.emitted == [
        ("update", "ns/a", "11"),
        ("create", "ns/c", "13"),
        ("delete", "ns/b", "20"),
    ]
    assert h.progress.drops == drops and h.progress.frontier({"ns": "20"}) == {"ns": 20}


def _checkpoint(entries: dict[str, tuple[str, int | None]], frontier: int) -> dict[str, Any]:
    index = ObjectIndex()
    index.load(entries.items())
    return {
        "resourceVersions": {"ns": str(frontier)},
        "time": "2026-01-01T00:00:00Z",
        "keys": encode_keys(index.key_list(), index.get, {}, {"ns": frontier}, frozenset({"ns"})),
    }


def test_catch_up_fires_exactly_what_changed_while_down() -> None:
    paths = (DataPath(),)
    same = cm("f", 140, {"k": "same"})
    restored = _checkpoint(
        {
            "ns/a": ("90", None),  # unchanged since: nothing
            "ns/b": ("95", None),  # modified while down (now 120): update
            "ns/d": ("80", None),  # deleted while down: delete
            "ns/e": ("110", None),  # handled at 110, after the frontier: nothing
            "ns/f": ("99", fingerprint(same, paths)),  # only metadata changed: nothing
        },
        frontier=100,
    )
    h = make(Config(changed=paths), restored=restored)
    h.client.lists.append(
        [page(200, cm("a", 90), cm("b", 120, {"k": "x"}), cm("c", 130), cm("e", 110), same)]
    )
    h.source.list_stream(h.stream)
    assert h.emitted == [
        ("update", "ns/b", "120"),
        ("create", "ns/c", "130"),
        ("delete", "ns/d", "200"),
    ]
    assert h.source._restored is None  # released once caught up


def test_catch_up_without_key_list_uses_creation_time_and_reports_no_deletes() -> None:
    restored = {"resourceVersions": {"ns": "100"}, "time": "2026-01-01T10:00:00Z", "keys": None}
    h = make(restored=restored)
    h.client.lists.append(
        [
            page(
                200,
                cm("old", 150, creationTimestamp="2026-01-01T09:00:00Z"),
                cm("new", 160, creationTimestamp="2026-01-01T10:05:00Z"),
                cm("untouched", 50, creationTimestamp="2025-01-01T00:00:00Z"),
            )
        ]
    )
    h.source.list_stream(h.stream)
    assert h.emitted == [("update", "ns/old", "150"), ("create", "ns/new", "160")]


def test_checkpoint_of_another_stream_does_not_apply() -> None:
    restored = {"resourceVersions": {"other": "100"}, "keys": None}
    h = make(Config(fire_on_start=False), restored=restored)
    h.client.lists.append([page(200, cm("a", 150))])
    h.source.list_stream(h.stream)
    assert h.emitted == []


def test_loop_rewatches_from_last_version_and_relists_on_gone(monkeypatch: Any) -> None:
    class NoWait(Backoff):
        def next(self) -> float:
            super().next()
            return 0.0

    monkeypatch.setattr(resource_mod, "Backoff", NoWait)
    stop = threading.Event()
    client = FakeClient(on_exhausted=stop)
    client.lists += [[page(10, cm("a", 1))], [page(40, cm("a", 35), cm("b", 2))]]
    client.watches += [
        [watch_event("MODIFIED", cm("a", 11)), ConnectionFailed("reset by peer")],
        [bookmark(30), Gone(410, "Expired", "too old")],
    ]
    h = make(client=client)
    h.source._run_stream(h.stream, stop)
    assert [c["resource_version"] for c in client.watch_calls] == ["10", "11", "40"]
    assert h.emitted == [
        ("update", "ns/a", "11"),
        ("update", "ns/a", "35"),
        ("create", "ns/b", "2"),
    ]
    assert len(client.list_calls) == 2


def test_all_namespaces_uses_one_stream() -> None:
    h = make(Config(namespaces=None))
    assert [(s.namespace, s.name) for s in h.source.streams] == [(None, "*")]
    h2 = make(Config(namespaces=("a", "b")))
    assert [s.name for s in h2.source.streams] == ["a", "b"]


# -- selectors: leaving the selection is not a delete ------------------------------------------

SELECTED = Config(label_selector=Selector("app=web"))


def test_without_a_selector_a_deleted_event_is_a_delete_and_nothing_is_asked() -> None:
    h = make()
    h.client.lists.append([page(10, cm("a", 1, uid="u-a"))])
    h.source.list_stream(h.stream)
    h.source.handle(h.stream, watch_event("DELETED", cm("a", 11, uid="u-a")))
    assert h.emitted == [("delete", "ns/a", "11")] and h.client.get_calls == []


def test_deleted_event_for_an_object_that_still_exists_is_leaving_the_selection() -> None:
    h = make(SELECTED)
    h.client.lists.append([page(10, cm("a", 1, uid="u-a"), cm("b", 2, uid="u-b"))])
    h.source.list_stream(h.stream)
    # a relabelled out: the API server sends DELETED with the *previous* (matching) labels
    h.client.objects["ns/a"] = cm("a", 11, uid="u-a", labels={"app": "api"})
    h.source.handle(h.stream, watch_event("DELETED", cm("a", 11, uid="u-a", labels={"app": "web"})))
    assert h.emitted == [] and "ns/a" not in h.stream.index
    assert h.metrics.get(LEFT_SELECTION) == 1 and h.stream.resume_rv == "11"
    # b really deleted: the GET says 404
    h.source.handle(h.stream, watch_event("DELETED", cm("b", 12, uid="u-b")))
    assert h.emitted == [("delete", "ns/b", "12")]
    assert h.client.get_calls == ["ns/a", "ns/b"] and h.metrics.get(LEFT_SELECTION) == 1
    # a relabelled back in: the API server sends ADDED, which fires create
    h.source.handle(h.stream, watch_event("ADDED", cm("a", 13, uid="u-a")))
    assert h.emitted == [("delete", "ns/b", "12"), ("create", "ns/a", "13")]


def test_deleted_then_recreated_under_the_same_name_is_a_delete() -> None:
    h = make(Config(field_selector=Selector("metadata.name=a")))
    h.client.lists.append([page(10, cm("a", 1, uid="old"))])
    h.source.list_stream(h.stream)
    h.client.objects["ns/a"] = cm("a", 12, uid="new")
    h.source.handle(h.stream, watch_event("DELETED", cm("a", 11, uid="old")))
    assert h.emitted == [("delete", "ns/a", "11")] and h.metrics.get(LEFT_SELECTION) == 0


def test_deleted_event_for_an_unknown_key_asks_nothing() -> None:
    h = make(SELECTED)
    h.client.lists.append([page(10)])
    h.source.list_stream(h.stream)
    h.source.handle(h.stream, watch_event("DELETED", cm("x", 11, uid="u-x")))
    assert h.emitted == [] and h.client.get_calls == [] and h.metrics.get(LEFT_SELECTION) == 0


def test_a_failed_get_keeps_the_key_so_the_rewatch_asks_again() -> None:
    h = make(SELECTED)
    h.client.lists.append([page(10, cm("a", 1, uid="u-a"))])
    h.source.list_stream(h.stream)

    def down(*args: Any, **kw: Any) -> dict[str, Any]:
        raise ConnectionFailed("reset by peer")

    h.client.get = down  # type: ignore[method-assign]
    with pytest.raises(ConnectionFailed):
        h.source.handle(h.stream, watch_event("DELETED", cm("a", 11, uid="u-a")))
    assert "ns/a" in h.stream.index and h.stream.resume_rv == "10" and h.emitted == []


def test_relist_tells_deleted_from_relabelled_with_a_get_each() -> None:
    h = make(SELECTED)
    h.client.lists.append([page(10, cm("a", 1), cm("b", 2), cm("c", 3))])
    h.source.list_stream(h.stream)
    # while the watch was gone: a relabelled out, b deleted, c untouched
    h.client.objects["ns/a"] = cm("a", 20, labels={"app": "api"})
    h.client.lists.append([page(30, cm("c", 3))])
    h.source.list_stream(h.stream)
    assert h.emitted == [("delete", "ns/b", "30")]
    assert h.client.get_calls == ["ns/a", "ns/b"]  # only for keys missing from the relist
    assert h.metrics.get(LEFT_SELECTION) == 1
    assert sorted(h.stream.index.snapshot()) == ["ns/c"]


def test_a_failed_get_during_a_relist_leaves_the_index_for_the_retry() -> None:
    h = make(SELECTED)
    h.client.lists.append([page(10, cm("a", 1), cm("b", 2))])
    h.source.list_stream(h.stream)
    h.stream.relist_requested = True
    calls = 0

    def flaky(info: Info, name: str, namespace: str | None = None) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionFailed("reset by peer")
        raise NotFound(404, "NotFound", "gone")

    h.client.get = flaky  # type: ignore[method-assign]
    h.client.lists += [[page(30, cm("b", 2))], [page(31, cm("b", 2))]]
    with pytest.raises(ConnectionFailed):
        h.source.list_stream(h.stream)
    assert "ns/a" in h.stream.index and h.stream.relist_requested and h.emitted == []
    h.source.list_stream(h.stream)
    assert h.emitted == [("delete", "ns/a", "31")]


def test_restart_from_checkpoint_does_not_fire_delete_for_objects_that_left() -> None:
    restored = _checkpoint({"ns/a": ("90", None), "ns/b": ("91", None)}, frontier=100)
    h = make(SELECTED, restored=restored)
    h.client.objects["ns/a"] = cm("a", 150, labels={"app": "api"})  # relabelled while down
    h.client.lists.append([page(200)])  # both missing from the filtered list; b was deleted
    h.source.list_stream(h.stream)
    assert h.emitted == [("delete", "ns/b", "200")]
    assert h.metrics.get(LEFT_SELECTION) == 1

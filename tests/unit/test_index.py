"""The object index: create/update/no-op decisions, fingerprints, sweeps, and its memory cost."""

from __future__ import annotations

import tracemalloc
from typing import Any

from runner.sources.index import (
    TOMBSTONE,
    ObjectIndex,
    fingerprint,
    object_key,
    rv_newer,
)


class Path:
    """A stand-in for runner.spec's compiled JSONPath: one dotted field."""

    def __init__(self, dotted: str) -> None:
        self.parts = dotted.split(".")

    def values(self, obj: Any) -> list[Any]:
        for part in self.parts:
            if not isinstance(obj, dict) or part not in obj:
                return []
            obj = obj[part]
        return [obj]


def cm(name: str, rv: str, data: dict[str, str] | None = None, ns: str = "ns") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": ns, "resourceVersion": rv, "labels": {"x": rv}},
        "data": data or {},
    }


def test_object_key() -> None:
    assert object_key(cm("a", "1")) == "ns/a"
    assert object_key({"metadata": {"name": "node-1"}}) == "node-1"


def test_rv_newer_compares_integers_and_falls_back_to_difference() -> None:
    assert rv_newer("10", "9") and not rv_newer("9", "10") and not rv_newer("5", "5")
    assert rv_newer("b", "a") and rv_newer("a", "b")


def test_observe_create_update_noop_and_stale() -> None:
    idx = ObjectIndex()
    assert idx.observe("ns/a", "5", None) == "create"
    assert idx.observe("ns/a", "5", None) is None  # same version: a replay
    assert idx.observe("ns/a", "4", None) is None  # stale
    assert idx.observe("ns/a", "6", None) == "update"
    assert idx.get("ns/a") == ("6", None)


def test_changed_paths_fire_only_when_their_values_change() -> None:
    paths = [Path("data")]
    idx = ObjectIndex()
    first = cm("a", "1", {"k": "v"})
    assert idx.observe("ns/a", "1", fingerprint(first, paths)) == "create"
    relabelled = cm("a", "2", {"k": "v"})  # only a label changed
    assert idx.observe("ns/a", "2", fingerprint(relabelled, paths)) is None
    assert idx.get("ns/a")[0] == "2"  # the version still moves on
    changed = cm("a", "3", {"k": "w"})
    assert idx.observe("ns/a", "3", fingerprint(changed, paths)) == "update"


def test_fingerprint_is_order_independent_and_none_without_paths() -> None:
    paths = [Path("data")]
    a = {"data": {"x": "1", "y": "2"}}
    b = {"data": {"y": "2", "x": "1"}}
    assert fingerprint(a, paths) == fingerprint(b, paths)
    assert fingerprint(a, paths) != fingerprint({"data": {"x": "1"}}, paths)
    assert fingerprint(a, []) is None


def test_remove_and_sweep() -> None:
    idx = ObjectIndex()
    for name in "abc":
        idx.observe(f"ns/{name}", "1", None)
    assert idx.remove("ns/a") and not idx.remove("ns/a")
    assert idx.sweep({"ns/b"}) == ["ns/c"]
    assert list(idx.keys()) == ["ns/b"]


def test_mark_unhandled_makes_the_next_sight_fire_again() -> None:
    idx = ObjectIndex()
    idx.observe("ns/u", "1", 7)
    idx.observe("ns/c", "1", None)
    idx.observe("ns/d", "1", None)
    idx.mark_unhandled("ns/u", "update")  # a dropped update
    idx.mark_unhandled("ns/c", "create")  # a dropped create
    idx.remove("ns/d")
    idx.mark_unhandled("ns/d", "delete")  # a dropped delete
    assert idx.observe("ns/u", "1", 7) == "update"
    assert idx.observe("ns/c", "1", None) == "create"
    assert idx.get("ns/d") == (TOMBSTONE, None) and "ns/d" not in idx
    assert idx.sweep({"ns/u", "ns/c"}) == ["ns/d"]


def test_memory_per_10k_entries_is_small() -> None:
    """About 1.3 MiB for 10,000 keys with fingerprints (rv strings from a real-looking range)."""
    paths = [Path("data")]
    keys = [f"bench-namespace/config-{i:05d}" for i in range(10_000)]
    objs = [cm(k.split("/")[1], str(2_000_000 + i), {"k": str(i)}) for i, k in enumerate(keys)]
    fps = [fingerprint(o, paths) for o in objs]
    rvs = [o["metadata"]["resourceVersion"] for o in objs]
    del objs
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    idx = ObjectIndex()
    for key, rv, fp in zip(keys, rvs, fps, strict=True):
        # fresh copies, as a watch would decode them (not shared with the lists above)
        idx.observe("".join(key), "".join(rv), fp)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"index: {used / 1024 / 1024:.2f} MiB per 10,000 entries")
    assert len(idx) == 10_000
    assert used < 2 * 1024 * 1024

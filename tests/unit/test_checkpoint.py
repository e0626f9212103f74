"""Checkpoint bookkeeping: the frontier never passes an unfinished event; the key list codec."""

from __future__ import annotations

from runner.checkpoint import (
    MAX_KEYS_CHARS,
    KnownKey,
    Progress,
    decode_keys,
    encode_keys,
    stream_of,
)


def test_frontier_is_last_seen_without_pending_work() -> None:
    assert Progress().frontier({"ns": "50"}) == {"ns": 50}


def test_frontier_stays_below_the_oldest_unfinished_event_of_each_stream() -> None:
    p = Progress()
    p.started("a/x", "20", "update")
    p.started("a/x", "25", "update")  # a second event for the same key: 20 still rules
    p.started("b/y", "40", "create")
    assert p.frontier({"a": "50", "b": "60"}) == {"a": 19, "b": 39}
    p.finished("a/x")
    assert p.frontier({"a": "50", "b": "60"}) == {"a": 19, "b": 39}
    p.finished("a/x")
    assert p.frontier({"a": "50", "b": "60"}) == {"a": 50, "b": 39}


def test_hold_keeps_the_frontier_until_a_clean_relist() -> None:
    p = Progress()
    p.hold("ns", "30")
    assert p.frontier({"ns": "80"}) == {"ns": 29}
    drops = p.drops
    p.hold("ns", "35")  # dropped again during the relist
    assert not p.release("ns", drops)
    assert p.frontier({"ns": "90"}) == {"ns": 29}
    assert p.release("ns", p.drops)
    assert p.frontier({"ns": "90"}) == {"ns": 90}


def test_non_numeric_versions_cannot_be_checkpointed() -> None:
    p = Progress()
    assert p.frontier({"ns": "abc"}) == {}
    p.started("ns/a", "xyz", "update")
    assert p.frontier({"ns": "10"}) == {}


def test_stream_of() -> None:
    assert stream_of("ns/a", frozenset({"ns", "other"})) == "ns"
    assert stream_of("ns/a", frozenset({"*"})) == "*"


def test_keys_round_trip_with_pending_work() -> None:
    entries = {
        "ns/handled": ("90", 0x1122334455667788),
        "ns/recent": ("120", 0xAB),  # handled after the frontier: keeps its version
        "ns/busy": ("130", 7),  # an update in flight: no fingerprint, fires again
        "ns/fresh": ("140", 9),  # its create is unfinished: left out, counts as new
    }
    pending = {"ns/busy": (125, "update"), "ns/fresh": (140, "create"), "ns/gone": (150, "delete")}
    text = encode_keys(list(entries), entries.get, pending, {"ns": 100}, frozenset({"ns"}))
    assert text is not None
    assert decode_keys(text) == {
        "ns/handled": KnownKey(0x55667788, None),
        "ns/recent": KnownKey(0xAB, 120),
        "ns/busy": KnownKey(None, None),
        "ns/gone": KnownKey(None, None),  # the delete is owed
    }


def test_keys_for_10k_objects_fit_and_overflow_degrades() -> None:
    import random

    rng = random.Random(1)
    entries = {f"bench/config-{i:05d}": (str(1000 + i), rng.getrandbits(64)) for i in range(10_000)}
    text = encode_keys(list(entries), entries.get, {}, {"bench": 50_000}, frozenset({"bench"}))
    assert text is not None and len(text) < MAX_KEYS_CHARS
    print(f"checkpoint keys for 10k objects: {len(text) / 1024:.1f} KiB")
    # too big with fingerprints: the bare key list is kept
    bare = encode_keys(
        list(entries), entries.get, {}, {"bench": 50_000}, frozenset({"bench"}), max_chars=40_000
    )
    assert bare is not None and all(k.fingerprint is None for k in decode_keys(bare).values())
    assert encode_keys(list(entries), entries.get, {}, {}, frozenset({"bench"}), 100) is None


def test_garbage_keys_decode_to_nothing() -> None:
    assert decode_keys("not base64!") == {}


def test_restored_keys_answer_like_the_plain_decoding() -> None:
    from runner.checkpoint import RestoredKeys

    entries = {"ns/a": ("90", 0xDEADBEEF12345678), "ns/b": ("120", None), "ns/c": ("95", 5)}
    text = encode_keys(list(entries), entries.get, {}, {"ns": 100}, frozenset({"ns"}))
    assert text is not None
    restored = RestoredKeys(text)
    plain = decode_keys(text)
    assert len(restored) == 3 and list(restored) == ["ns/a", "ns/b", "ns/c"]
    assert {key: restored.get(key) for key in plain} == plain
    assert restored.get("ns/zzz") is None

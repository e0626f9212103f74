"""The runner under faults: API server restart with a forced 410, a webhook receiver down for 30 s.

DESIGN.md's bar: after each fault, exact action counts. Actions are counted by
(object, resourceVersion): the ``log`` action's runs from the runner's JSON log
lines, webhook requests from a real local receiver. What "should fire" is
precise because of two documented rules: the keyed queue folds a waiting
update into a newer one for the same object (counted in
``events_coalesced_total``), and a relist after 410 Gone sees only each
object's latest state. So: no (object, resourceVersion) fires twice, nothing
fires that should not, each object's newest state fires, what should have
fired but did not is exactly what the runner counted as coalesced, and its
other counters agree. (The runner killed and restarted is
``test_runner_engine.test_changes_while_killed_fire_exactly_once_after_restart``.)
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runner.kube import ApiError, Conflict, KubeClient, load_kubeconfig
from tests.conftest import Cluster
from tests.e2e.action_receivers import HttpReceiver, free_port
from tests.e2e.runner_support import Runner, make_trigger, metric
from tests.polling import wait_for

pytestmark = pytest.mark.e2e

OBJECTS = 100
UPDATES = 1000
LABEL = {"fault-test": "watched"}
#: fast enough that the rate limit never holds actions back
UNLIMITED = {"rateLimit": {"perSecond": 100000, "burst": 100000}}


@pytest.fixture
def kube(cluster: Cluster) -> Iterator[KubeClient]:
    """A client for the test's own writes (kubectl per write would take minutes)."""
    with KubeClient(load_kubeconfig(cluster.kubeconfig), timeout=10) as client:
        yield client


class Writer(threading.Thread):
    """Updates ConfigMaps in the given order and records each resourceVersion, through outages.

    Each write is a merge patch with the object's last resourceVersion as a
    precondition, so a write whose answer was lost in the outage and that is
    then retried cannot apply twice: the retry gets 409, and a read tells
    whether the lost write landed. Before each update numbered in ``stops``
    the writer waits until the test lets it go on (``reached``, ``go``).
    """

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        sequence: list[str],
        stops: tuple[int, ...],
    ) -> None:
        super().__init__(name="writer", daemon=True)
        self.client = client
        self.cm = client.resource("v1", "ConfigMap")
        self.namespace = namespace
        self.sequence = sequence
        self.stops = {i: (threading.Event(), threading.Event()) for i in stops}
        self.last = {
            name: client.get(self.cm, name, namespace)["metadata"]["resourceVersion"]
            for name in set(sequence)
        }
        self.updates: list[tuple[str, int]] = []  # (name, resourceVersion), in write order
        self.done = 0
        self.errors = 0  # failed tries while the API server was away
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            for i, name in enumerate(self.sequence):
                if i in self.stops:
                    reached, go = self.stops[i]
                    reached.set()
                    go.wait(120)
                rv = self._update(name, str(i))
                self.last[name] = rv
                self.updates.append((name, int(rv)))
                self.done += 1
        except BaseException as exc:  # reported by the test thread
            self.failure = exc
            for reached, _ in self.stops.values():
                reached.set()

    def reached(self, i: int) -> None:
        """Wait until the writer stopped before update ``i``."""
        assert self.stops[i][0].wait(60) and self.failure is None, self.failure

    def go(self, i: int) -> None:
        """Let the writer go on from update ``i``."""
        self.stops[i][1].set()

    def _update(self, name: str, value: str) -> str:
        body = {"metadata": {"resourceVersion": self.last[name]}, "data": {"n": value}}
        deadline = time.monotonic() + 60
        landed_maybe = False
        while True:
            try:
                if landed_maybe:
                    obj = self.client.get(self.cm, name, self.namespace)
                    if (obj.get("data") or {}).get("n") != value:
                        raise AssertionError(f"{name} changed under the writer: {obj['data']}")
                else:
                    obj = self.client.patch(self.cm, name, body, self.namespace)
                return str(obj["metadata"]["resourceVersion"])
            except Conflict:
                landed_maybe = True  # the precondition failed: our earlier try landed
            except ApiError:
                self.errors += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def restart_api_server_with_410(
    cluster: Cluster, kube: KubeClient, namespace: str, while_down: Callable[[], None]
) -> float:
    """Restart the API server so that the runner's resumed watch must get 410 Gone.

    The last write before the restart goes to a ConfigMap outside the runner's
    label selector, so the runner's newest resourceVersion is older than the
    one the restarted API server's watch cache starts at. (A bookmark could
    still tell the runner the newer version, but the API server sends one per
    watch only every minute, and the runner's watch is younger than that.)
    ``while_down`` runs once the API server refuses requests. Returns how long
    the restart took.
    """
    cm = kube.resource("v1", "ConfigMap")
    kube.patch(cm, "unwatched", {"data": {"bumped": "yes"}}, namespace)
    failures: list[BaseException] = []

    def restart() -> None:
        try:
            cluster.restart("kube-apiserver")
        except BaseException as exc:  # re-raised in the test thread
            failures.append(exc)

    def down() -> bool:
        try:
            kube.request("GET", "/version", timeout=2)
        except ApiError:
            return True
        return False

    started = time.monotonic()
    thread = threading.Thread(target=restart, name="restart", daemon=True)
    thread.start()
    wait_for(down, 30, "the API server to go down")
    while_down()
    thread.join(120)
    assert not failures and not thread.is_alive(), failures
    return time.monotonic() - started


def test_api_server_restart_and_410_fire_every_change_once(
    crd: Cluster, namespace: str, runner: Runner, kube: KubeClient
) -> None:
    """1,000 updates to 100 objects, the API server restarted midway, a forced 410.

    The runner is paused (SIGSTOP) from the first half's end until well after
    the API server is back, so the relist after the 410 must find changes the
    watch never delivered, some objects updated twice meanwhile. That makes
    the expected runs exact: every update the watch delivers (before the
    outage, and after the relist's resourceVersion), plus, for each object
    changed in between, its state at the relist; less only what the queue
    coalesced (counted by the runner).
    """
    cm = kube.resource("v1", "ConfigMap")
    names = [f"cm-{i:03d}" for i in range(OBJECTS)]
    for name in names:
        meta = {"name": name, "namespace": namespace, "labels": LABEL}
        kube.create(cm, {"metadata": meta, "data": {"n": "-"}})
    kube.create(cm, {"metadata": {"name": "unwatched", "namespace": namespace}})
    make_trigger(
        crd,
        namespace,
        "engine",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "labelSelector": "fault-test=watched",
            "events": ["update"],
            "changed": ["{.data}"],
        },
        actions=[{"log": {"message": "{{ .object.metadata.name }} n={{ .object.data.n }}"}}],
        options=UNLIMITED,
    )
    runner.start().wait_ready()
    assert runner.proc is not None
    started = time.monotonic()

    # round-robin, but while the runner is away three quarters of the objects change twice and
    # the rest not at all, so the relist must skip states and must not fire unchanged objects
    half, away = UPDATES // 2, OBJECTS * 3 // 4
    hidden = half + 2 * away
    sequence = [names[i % OBJECTS] for i in range(half)]
    sequence += [names[i % away] for i in range(2 * away)]
    sequence += [names[i % OBJECTS] for i in range(UPDATES - hidden)]
    writer = Writer(kube, namespace, sequence, stops=(half, hidden))
    writer.start()
    writer.reached(half)
    wait_for(lambda: metric(runner, "events_seen_total") == half, 30, "the first half seen")
    runner.proc.send_signal(signal.SIGSTOP)
    try:
        # the writer goes on once the API server is down, and retries until it is back
        restart_seconds = restart_api_server_with_410(crd, kube, namespace, lambda: writer.go(half))
        writer.reached(hidden)
    finally:
        runner.proc.send_signal(signal.SIGCONT)
    writer.go(hidden)  # the rest races with the runner's reconnect, 410 and relist
    writer.join(120)
    assert writer.failure is None, writer.failure
    assert writer.done == UPDATES
    key = f"{namespace}/{{}}".format
    finals = {key(name): rv for name, rv in writer.updates}  # the last write wins

    def quiet() -> bool:
        """Each object's last update ran and the runner has nothing left to do."""
        fired = {(k, int(rv)) for _, k, rv in runner.fired()}
        return set(finals.items()) <= fired and metric(runner, "queue_depth") == 0

    wait_for(quiet, 60, "every object's last update to fire")
    elapsed = time.monotonic() - started

    # the forced 410 really happened, once, and its relist read every object once
    lines = runner.lines()
    gone = [line for line in lines if "410 Gone" in str(line.get("message"))]
    relisted = [line for line in lines if str(line.get("message")).startswith("relisted")]
    assert len(gone) == len(relisted) == metric(runner, "relists_total") == 1
    assert metric(runner, "listed_objects_total") == 2 * OBJECTS
    at_relist = int(relisted[0]["resource_version"])

    # what should fire: the watch's updates, and each object's state at the relist
    watched = {
        (key(n), rv) for i, (n, rv) in enumerate(writer.updates) if i < half or rv > at_relist
    }
    changed_while_away: dict[str, int] = {}
    for n, rv in writer.updates[half:]:
        if rv <= at_relist:
            changed_while_away[key(n)] = rv
    should = watched | set(changed_while_away.items())
    skipped = UPDATES - len(should)
    assert skipped >= away  # the relist really skipped states the watch never showed

    runs = [
        (line["event"], line["key"], int(line["rv"]))
        for line in lines
        if line.get("logger") == "runner.delivery" and "ran for" in str(line.get("message"))
    ]
    fired = Counter((k, rv) for _, k, rv in runs)
    assert {event for event, _, _ in runs} == {"update"}
    assert [run for run, count in fired.items() if count > 1] == []  # none twice
    assert set(fired) <= should  # nothing that should not
    assert set(finals.items()) <= set(fired)  # every object's newest state
    for name in names:  # one object's runs in the order of its versions
        versions = [rv for _, k, rv in runs if k == key(name)]
        assert versions == sorted(versions), name

    # the rest is exactly what the queue coalesced, and the runner's counters agree
    seen = metric(runner, "events_seen_total")
    coalesced = metric(runner, "events_coalesced_total")
    assert seen == len(should)
    assert len(fired) == len(should) - coalesced
    assert metric(runner, "events_matched_total") == len(fired)
    assert metric(runner, "actions_succeeded_total") == len(fired)
    assert metric(runner, "actions_failed_total") == metric(runner, "queue_overflows_total") == 0

    print(
        f"\n{UPDATES} updates of {OBJECTS} objects: {len(fired)} ran, {skipped} hidden by the "
        f"outage ({len(changed_while_away)} objects fired from the relist, "
        f"{sum(rv > at_relist for _, rv in writer.updates)} updates after it), {coalesced:.0f} "
        f"coalesced; API server restart {restart_seconds:.1f}s, writer retries "
        f"{writer.errors}; all ran {elapsed:.1f}s after the first write"
    )


HOOKED = 10  # objects whose changes go to the webhook
DOWN_SECONDS = 30.0
#: retries that outlast the outage: each wait is at most maxDelay, so 100 tries take about 100 s
PATIENT = {"retry": {"attempts": 100, "initialDelay": "500ms", "maxDelay": "2s"}}


def retries(runner: Runner) -> list[dict[str, Any]]:
    """The runner's log lines for failed tries that it will retry."""
    return [line for line in runner.lines() if "failed (try" in str(line.get("message"))]


def retried_keys(runner: Runner) -> set[str]:
    return {line["key"] for line in retries(runner)}


def test_webhook_receiver_down_30s_retries_arrive_once_and_watch_keeps_up(
    crd: Cluster, namespace: str, runner: Runner, kube: KubeClient
) -> None:
    """Nothing listens on the webhook's port for 30 s, while the objects keep changing.

    Each object's first change fails and waits for its retry in the queue; its
    later changes queue behind it and coalesce into one (the newest), and the
    watch sees every one of them at once. When a receiver comes up on the
    port, exactly two requests per object arrive, in order: the first change
    and the newest state.
    """
    cm = kube.resource("v1", "ConfigMap")
    names = [f"hook-{i}" for i in range(HOOKED)]
    for name in names:
        kube.create(cm, {"metadata": {"name": name, "namespace": namespace}, "data": {"n": "-"}})
    port = free_port()
    body = {
        "event": "{{ .event }}",
        "name": "{{ .object.metadata.name }}",
        "rv": "{{ .object.metadata.resourceVersion }}",
        "n": "{{ .object.data.n }}",
    }
    make_trigger(
        crd,
        namespace,
        "engine",
        {"apiVersion": "v1", "kind": "ConfigMap", "events": ["update"]},
        actions=[{"webhook": {"url": f"http://127.0.0.1:{port}/hook", "body": body}}],
        options={**UNLIMITED, **PATIENT},
    )
    runner.start().wait_ready()

    def update(name: str, n: str) -> str:
        return str(
            kube.patch(cm, name, {"data": {"n": n}}, namespace)["metadata"]["resourceVersion"]
        )

    first = {name: update(name, "0") for name in names}
    down_since = time.monotonic()
    wait_for(lambda: len(retried_keys(runner)) == HOOKED, 10, "every first change to fail and wait")
    # two more rounds while the receiver stays down: the watch keeps up, the actions wait
    last: dict[str, str] = {}
    seen_while_down = []
    for round_ in (1, 2):
        time.sleep(max(0.0, down_since + 10 * round_ - time.monotonic()))
        for name in names:
            update(name, f"{round_}a")
            last[name] = update(name, f"{round_}b")
        expected_seen = HOOKED * (1 + 2 * round_)
        wait_for(
            lambda: metric(runner, "events_seen_total") == expected_seen,  # noqa: B023
            5,
            f"the watch to see round {round_} while the receiver is down",
        )
        seen_while_down.append(expected_seen)
    assert metric(runner, "actions_succeeded_total") == 0
    assert metric(runner, "events_coalesced_total") == HOOKED * 3  # all behind the first change

    time.sleep(max(0.0, down_since + DOWN_SECONDS - time.monotonic()))  # the outage itself
    with HttpReceiver(port=port) as receiver:
        up = time.monotonic()
        wait_for(
            lambda: (
                metric(runner, "actions_succeeded_total") == 2 * HOOKED
                and metric(runner, "queue_depth") == 0
            ),
            20,
            "every retried and queued request to arrive",
        )
        arrived = time.monotonic() - up
        requests = list(receiver.requests)

    got = [(r.method, r.path, r.json()) for r in requests]
    assert {tuple(sorted(b)) for _, _, b in got} == {("event", "n", "name", "rv")}
    sent = Counter(
        (method, path, b["event"], b["name"], b["rv"], b["n"]) for method, path, b in got
    )
    assert sent == Counter(
        ("POST", "/hook", "update", name, rv, n)
        for name in names
        for rv, n in ((first[name], "0"), (last[name], "2b"))
    )  # each exactly once
    for name in names:  # and one object's requests in order
        assert [b["rv"] for _, _, b in got if b["name"] == name] == [first[name], last[name]]

    # only the first changes were retried, each for the whole outage (a wait is at most 2 s)
    retried = [line for line in runner.lines() if "failed (try" in str(line.get("message"))]
    assert {(line["key"], line["rv"]) for line in retried} == {
        (f"{namespace}/{name}", rv) for name, rv in first.items()
    }
    tries = Counter(line["key"] for line in retried)
    assert min(tries.values()) >= DOWN_SECONDS / 2
    assert metric(runner, "action_retries_total") == len(retried)
    assert metric(runner, "actions_failed_total") == 0
    assert metric(runner, "events_matched_total") == 2 * HOOKED

    print(
        f"\nreceiver down {up - down_since:.1f}s: {len(retried)} retries "
        f"({min(tries.values())}-{max(tries.values())} per object), events seen while down "
        f"{seen_while_down}, {len(requests)} requests arrived within {arrived:.1f}s of it coming up"
    )

"""Every source mode and filter operator, end to end: a real runner against the real API server.

Each test writes a Trigger whose only action is ``log``, runs ``python -m
runner --trigger NS/NAME`` (``Runner`` from runner_support), makes
changes with kubectl and asserts the exact (event, key[, resourceVersion]) set
the runner's actions ran for, read from its JSON log.

Proving that something did *not* fire: the source decides create/update/delete,
``changed`` paths and namespaces synchronously, in watch order, and counts every
event it queues in ``events_seen_total``; filters run in the workers, and the
filter triggers here have one worker, so events are handled in arrival order.
So each test ends with a sentinel change that must fire, waits for it, and only
then checks the exact set (and the exact ``events_seen_total``): an absence is
proven by a later event having been handled, not guessed from a sleep.
"""

from __future__ import annotations

import datetime
import json
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from runner.main import source_digest
from tests.conftest import Cluster
from tests.e2e.runner_support import (
    API_VERSION,
    Fired,
    Runner,
    create_cm,
    delete_cm,
    label_cm,
    metric,
    patch_cm,
    rv_of,
    status,
)
from tests.polling import wait_for

pytestmark = pytest.mark.e2e

Pair = tuple[str, str]  # (event, key)

#: A small CRD whose plural is not its kind's lowercase plural: only discovery resolves it.
WIDGET_GROUP = "e2e.kubectl-trigger.dev"
WIDGET_API_VERSION = f"{WIDGET_GROUP}/v1"
WIDGET_PLURAL = "widgetries"
WIDGET_CRD_NAME = f"{WIDGET_PLURAL}.{WIDGET_GROUP}"
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": WIDGET_CRD_NAME},
    "spec": {
        "group": WIDGET_GROUP,
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": WIDGET_PLURAL, "singular": "widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                        },
                    }
                },
            }
        ],
    },
}
#: The ConfigMap the controller manager adds to every namespace.
ROOT_CA = "kube-root-ca.crt"
#: Filter triggers: one worker (events are filtered in arrival order), no rate-limit waits.
SERIAL = {"workers": 1, "rateLimit": {"perSecond": 1000, "burst": 1000}}


# -- helpers ------------------------------------------------------------------------------


class Runners:
    """Starts runners (one log directory each) and stops every one at the end of the test."""

    def __init__(self, cluster: Cluster, tmp_path: Path) -> None:
        self.cluster = cluster
        self.tmp_path = tmp_path
        self.started: list[Runner] = []

    def start(self, namespace: str, name: str, kind: str = "Trigger") -> Runner:
        log_dir = self.tmp_path / f"{namespace}-{name}"
        log_dir.mkdir()
        runner = Runner(self.cluster, namespace, name, log_dir, kind).start()
        self.started.append(runner)
        return runner

    def stop_all(self) -> None:
        for runner in self.started:
            if runner.proc is not None and runner.proc.poll() is None:
                runner.kill(signal.SIGTERM)


@pytest.fixture
def runners(crd: Cluster, tmp_path: Path) -> Iterator[Runners]:
    handle = Runners(crd, tmp_path)
    yield handle
    handle.stop_all()


def wait_settled(cluster: Cluster, namespace: str) -> str:
    """Wait for the ConfigMap every namespace gets (``kube-root-ca.crt``); returns its rv.

    The controller manager creates it shortly after the namespace: a runner started
    before it appears would see its create.
    """
    wait_for(
        lambda: (
            cluster.kubectl("get", "configmap", ROOT_CA, "-n", namespace, check=False).returncode
            == 0
        ),
        30,
        f"{ROOT_CA} in {namespace}",
    )
    return rv_of(cluster, namespace, ROOT_CA)


@pytest.fixture
def ns(cluster: Cluster, namespace: str) -> str:
    """The test's namespace, once its own ConfigMap is there."""
    wait_settled(cluster, namespace)
    return namespace


@pytest.fixture
def more_namespaces(cluster: Cluster, ns: str) -> Iterator[list[str]]:
    """Three more fresh namespaces beside ``ns``, deleted afterwards (no wait)."""
    names = [f"{ns}-{suffix}" for suffix in ("b", "c", "d")]
    for name in names:
        cluster.kubectl("create", "namespace", name)
    for name in names:
        wait_settled(cluster, name)
    yield names
    for name in names:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def widgets(cluster: Cluster) -> Cluster:
    """The Widget CRD, established and served."""
    name = WIDGET_CRD_NAME
    if cluster.kubectl("get", "crd", name, check=False).returncode != 0:
        cluster.kubectl("create", "-f", "-", input=json.dumps(WIDGET_CRD))
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
    wait_for(
        lambda: (
            WIDGET_PLURAL
            in cluster.kubectl("api-resources", f"--api-group={WIDGET_GROUP}", "-o", "name").stdout
        ),
        30,
        "the Widget CRD to appear in discovery",
    )
    return cluster


def write_trigger(
    cluster: Cluster,
    namespace: str,
    name: str,
    source: dict[str, Any],
    filters: list[Any] | None = None,
    options: dict[str, Any] | None = None,
    kind: str = "Trigger",
) -> None:
    """A Trigger (or ClusterTrigger: ``namespace`` unused) whose one action logs the event."""
    spec: dict[str, Any] = {
        "source": source,
        "actions": [{"log": {"message": "{{ .event }} {{ .object.metadata.name }} {{ .time }}"}}],
    }
    if filters is not None:
        spec["filters"] = filters
    if options is not None:
        spec["options"] = options
    body = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": name} | ({"namespace": namespace} if kind == "Trigger" else {}),
        "spec": spec,
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(body))


def configmaps(**source: Any) -> dict[str, Any]:
    return {"resource": {"apiVersion": "v1", "kind": "ConfigMap", **source}}


def pairs(runner: Runner) -> Counter[Pair]:
    """(event, key) of every action run so far."""
    counted: Counter[Pair] = Counter()
    for (event, key, _), n in runner.fired().items():
        counted[(event, key)] += n
    return counted


def settle(get: Callable[[], Counter[Any]], expected: Counter[Any], what: str) -> None:
    """Wait until ``get()`` is exactly ``expected`` (callers fire a sentinel last), re-check."""
    deadline = time.monotonic() + 30
    while (got := get()) != expected:
        if time.monotonic() > deadline or got - expected:  # too slow, or something extra
            pytest.fail(f"{what}: expected {dict(expected)}, got {dict(got)}")
        time.sleep(0.1)
    time.sleep(0.5)
    assert get() == expected, what


def settle_pairs(runner: Runner, expected: Counter[Pair], what: str) -> None:
    settle(lambda: pairs(runner), expected, what)


def settle_fired(runner: Runner, expected: Counter[Fired], what: str) -> None:
    settle(runner.fired, expected, what)


def checkpoint_streams(cluster: Cluster, namespace: str, name: str) -> set[str] | None:
    versions = (status(cluster, namespace, name).get("checkpoint") or {}).get("resourceVersions")
    return set(versions) if versions else None


def apply_list(cluster: Cluster, items: list[dict[str, Any]]) -> None:
    """Create every object in one call, in list order."""
    body = {"apiVersion": "v1", "kind": "List", "items": items}
    cluster.kubectl("create", "-f", "-", input=json.dumps(body))


def widget(namespace: str, name: str, spec: dict[str, Any], **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": WIDGET_API_VERSION,
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    }


def patch_widget(cluster: Cluster, namespace: str, name: str, spec: dict[str, Any]) -> str:
    out = cluster.kubectl(
        "patch",
        WIDGET_CRD_NAME,
        name,
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": spec}),
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    )
    return out.stdout.strip()


# -- resource source ----------------------------------------------------------------------


def test_each_event_type_fires_only_its_own_events(crd: Cluster, ns: str, runners: Runners) -> None:
    for kind in ("create", "update", "delete"):
        write_trigger(crd, ns, f"on-{kind}", configmaps(events=[kind]))
    on = {kind: runners.start(ns, f"on-{kind}") for kind in ("create", "update", "delete")}
    for runner in on.values():
        runner.wait_ready()

    rv_create = create_cm(crd, ns, "x")
    wait_for(lambda: on["create"].fired(), 30, "the create")  # so create+update never merge
    rv_update = patch_cm(crd, ns, "x", "2")
    wait_for(lambda: on["update"].fired(), 30, "the update")
    delete_cm(crd, ns, "x")
    # sentinels: a second object goes through all three after x, so x is fully handled
    rv_create_s = create_cm(crd, ns, "s")
    wait_for(lambda: len(on["create"].fired()) == 2 or None, 30, "the sentinel create")
    rv_update_s = patch_cm(crd, ns, "s", "2")
    wait_for(lambda: len(on["update"].fired()) == 2 or None, 30, "the sentinel update")
    delete_cm(crd, ns, "s")

    settle_fired(
        on["create"],
        Counter({("create", f"{ns}/x", rv_create): 1, ("create", f"{ns}/s", rv_create_s): 1}),
        "creates only",
    )
    settle_fired(
        on["update"],
        Counter({("update", f"{ns}/x", rv_update): 1, ("update", f"{ns}/s", rv_update_s): 1}),
        "updates only",
    )
    settle_pairs(
        on["delete"],
        Counter({("delete", f"{ns}/x"): 1, ("delete", f"{ns}/s"): 1}),
        "deletes only",
    )
    # a delete carries the deletion's own resourceVersion, newer than the last update
    delete_rvs = {key: int(rv) for _, key, rv in on["delete"].fired()}
    assert delete_rvs[f"{ns}/x"] > int(rv_update) and delete_rvs[f"{ns}/s"] > int(rv_update_s)
    for kind, runner in on.items():
        assert metric(runner, "events_seen_total") == 2, kind  # nothing else was even queued


def test_changed_paths_fire_only_when_a_watched_path_changes(
    crd: Cluster, ns: str, runners: Runners
) -> None:
    crd.kubectl(
        "create", "configmap", "quiet", "-n", ns, "--from-literal=watched=1", "--from-literal=o=1"
    )
    crd.kubectl(
        "create", "configmap", "loud", "-n", ns, "--from-literal=watched=1", "--from-literal=o=1"
    )
    write_trigger(
        crd,
        ns,
        "changed",
        configmaps(events=["update"], changed=["{.data.watched}", "{.metadata.labels.tier}"]),
    )
    runner = runners.start(ns, "changed")
    runner.wait_ready()

    def patch(name: str, data: dict[str, str]) -> str:
        out = crd.kubectl(
            "patch", "configmap", name, "-n", ns, "-p", json.dumps({"data": data}),
            "-o", "jsonpath={.metadata.resourceVersion}",
        )  # fmt: skip
        return out.stdout.strip()

    # "quiet" gets changes outside the watched paths; "loud" a watched one after each
    patch("quiet", {"o": "2"})
    label_cm(crd, ns, "quiet", "app=other")
    rv_data = patch("loud", {"watched": "2"})
    settle_fired(runner, Counter({("update", f"{ns}/loud", rv_data): 1}), "the data change")
    crd.kubectl("annotate", "configmap", "quiet", "-n", ns, "note=x")
    patch("quiet", {"watched": "1", "o": "3"})  # a new version, the watched value unchanged
    rv_label = label_cm(crd, ns, "loud", "tier=web")
    expected = Counter(
        {("update", f"{ns}/loud", rv_data): 1, ("update", f"{ns}/loud", rv_label): 1}
    )
    settle_fired(runner, expected, "the watched label change")
    rv_quiet = label_cm(crd, ns, "quiet", "tier=db")  # now "quiet" changes a watched path too
    expected[("update", f"{ns}/quiet", rv_quiet)] += 1
    settle_fired(runner, expected, "the watched label on the quiet one")
    assert metric(runner, "events_seen_total") == 3


def test_label_and_field_selectors_are_applied_by_the_api_server(
    crd: Cluster, ns: str, runners: Runners
) -> None:
    labels = {
        "web-front": "app=web,tier=front",
        "web-db": "app=web,tier=db",
        "web-bare": "app=web",
        "api": "app=api",
        "target": "app=api",
    }
    for name, label in labels.items():
        create_cm(crd, ns, name)
        crd.kubectl("label", "configmap", name, "-n", ns, *label.split(","))
    write_trigger(crd, ns, "by-label", configmaps(labelSelector="app=web,tier!=db"))
    write_trigger(crd, ns, "by-field", configmaps(fieldSelector="metadata.name=target"))
    by_label = runners.start(ns, "by-label")
    by_field = runners.start(ns, "by-field")
    by_label.wait_ready()
    by_field.wait_ready()
    # the runner keeps no selector logic: it only ever saw what the API server selected
    assert metric(by_label, "listed_objects_total") == 2  # web-front, web-bare
    assert metric(by_label, "indexed_objects") == 2
    assert metric(by_field, "listed_objects_total") == 1
    assert metric(by_field, "indexed_objects") == 1

    def create_labelled(name: str, **labels: str) -> str:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels},
        }
        out = crd.kubectl(
            "create", "-n", ns, "-f", "-", "-o", "jsonpath={.metadata.resourceVersion}",
            input=json.dumps(body),
        )  # fmt: skip
        return out.stdout.strip()

    create_labelled("new-db", app="web", tier="db")
    patch_cm(crd, ns, "api", "2")
    patch_cm(crd, ns, "web-db", "2")
    rv_target = patch_cm(crd, ns, "target", "2")
    rv_new = create_labelled("new-web", app="web")
    rv_front = patch_cm(crd, ns, "web-front", "2")  # the sentinel for by-label

    settle_fired(by_field, Counter({("update", f"{ns}/target", rv_target): 1}), "by field")
    settle_fired(
        by_label,
        Counter(
            {("create", f"{ns}/new-web", rv_new): 1, ("update", f"{ns}/web-front", rv_front): 1}
        ),
        "by label",
    )
    assert metric(by_label, "events_seen_total") == 2
    assert metric(by_field, "events_seen_total") == 1


def test_namespace_modes_one_list_and_all(
    crd: Cluster, ns: str, more_namespaces: list[str], runners: Runners
) -> None:
    a = ns
    b, c, d = more_namespaces
    mine = {a, b, c, d}
    # other namespaces are a ClusterTrigger's (cluster-scoped: names unique to this test)
    some_name, every_name = f"{a}-some", f"{a}-every"
    write_trigger(crd, a, "one", configmaps(events=["create"]))  # default: the Trigger's own
    cluster_kind = "ClusterTrigger"
    write_trigger(
        crd, a, some_name, configmaps(events=["create"], namespaces=[b, c]), kind=cluster_kind
    )
    write_trigger(
        crd, a, every_name, configmaps(events=["create"], namespaces=["*"]), kind=cluster_kind
    )
    one = runners.start(a, "one")
    some = runners.start(a, some_name, cluster_kind)
    every = runners.start(a, every_name, cluster_kind)
    try:
        _namespace_modes(crd, a, b, c, d, mine, (one, some, every), (some_name, every_name))
    finally:  # cluster-scoped: deleting the test's namespaces does not remove them
        crd.kubectl("delete", "clustertrigger", some_name, every_name, "--wait=false", check=False)


def _namespace_modes(
    crd: Cluster,
    a: str,
    b: str,
    c: str,
    d: str,
    mine: set[str],
    started: tuple[Runner, Runner, Runner],
    names: tuple[str, str],
) -> None:
    one, some, every = started
    some_name, every_name = names
    for runner in (one, some, every):
        runner.wait_ready()

    rvs = {ns: create_cm(crd, ns, "x") for ns in (d, c, b, a)}  # a last: the sentinel for one

    def created(*namespaces: str) -> Counter[Fired]:
        return Counter({("create", f"{n}/x", rvs[n]): 1 for n in namespaces})

    def mine_only(runner: Runner) -> Counter[Fired]:
        return Counter({k: n for k, n in runner.fired().items() if k[1].split("/")[0] in mine})

    wait_for(lambda: mine_only(every) == created(a, b, c, d) or None, 30, "all namespaces")
    settle_fired(one, created(a), "the Trigger's namespace")
    settle_fired(some, created(b, c), "the listed namespaces")
    assert mine_only(every) == created(a, b, c, d)
    # one checkpoint stream per watched namespace, or "*" for all of them
    for name, streams in (("one", {a}), (some_name, {b, c}), (every_name, {"*"})):
        deadline = time.monotonic() + 15
        while (got := checkpoint_streams(crd, a, name)) != streams:
            assert time.monotonic() < deadline, f"checkpoint streams of {name}: {got}"
            time.sleep(0.2)


def test_custom_resource_kind_resolved_through_discovery(
    crd: Cluster, widgets: Cluster, ns: str, runners: Runners
) -> None:
    write_trigger(
        crd,
        ns,
        "widgets",
        {
            "resource": {
                "apiVersion": WIDGET_API_VERSION,
                "kind": "Widget",
                "changed": ["{.spec.size}"],
            }
        },
    )
    runner = runners.start(ns, "widgets")
    runner.wait_ready()
    apply_list(crd, [widget(ns, "w1", {"size": 1, "color": "red"})])
    wait_for(lambda: runner.fired(), 30, "the widget's create")
    rv_size = patch_widget(crd, ns, "w1", {"size": 2})
    wait_for(lambda: len(runner.fired()) == 2 or None, 30, "the size change")
    patch_widget(crd, ns, "w1", {"color": "blue"})  # not a watched path
    crd.kubectl("delete", WIDGET_CRD_NAME, "w1", "-n", ns, "--wait=false")
    settle_pairs(
        runner,
        Counter({("create", f"{ns}/w1"): 1, ("update", f"{ns}/w1"): 1, ("delete", f"{ns}/w1"): 1}),
        "create, size update, delete",
    )
    assert ("update", f"{ns}/w1", rv_size) in runner.fired()
    assert metric(runner, "events_seen_total") == 3  # the color change was never queued
    logged = [
        line["message"].split(" ")[:2]
        for line in runner.lines()
        if line.get("logger") == "runner.action"
    ]
    assert logged == [["create", "w1"], ["update", "w1"], ["delete", "w1"]]


def test_start_up_fires_existing_objects_only_with_fire_on_start(
    crd: Cluster, ns: str, runners: Runners
) -> None:
    rv_ca = rv_of(crd, ns, ROOT_CA)
    rv_a = create_cm(crd, ns, "a")
    rv_b = create_cm(crd, ns, "b")
    write_trigger(crd, ns, "quiet", configmaps())
    write_trigger(crd, ns, "loud", configmaps(fireOnStart=True))
    quiet = runners.start(ns, "quiet")
    loud = runners.start(ns, "loud")
    quiet.wait_ready()
    loud.wait_ready()
    rv_c = create_cm(crd, ns, "c")  # the sentinel: the first list is long done
    sentinel = ("create", f"{ns}/c", rv_c)
    settle_fired(quiet, Counter({sentinel: 1}), "only the new object")
    settle_fired(
        loud,
        Counter(
            {
                ("create", f"{ns}/{ROOT_CA}", rv_ca): 1,
                ("create", f"{ns}/a", rv_a): 1,
                ("create", f"{ns}/b", rv_b): 1,
                sentinel: 1,
            }
        ),
        "each existing object once, then the new one",
    )


# -- cron source --------------------------------------------------------------------------

ZONE = "Asia/Kathmandu"  # UTC+05:45: a schedule read in UTC (or a whole-hour zone) misses


def _cron_trigger(
    cluster: Cluster, namespace: str, name: str, schedule: str, window: str, last_run: int
) -> None:
    """A cron Trigger whose checkpoint says the last completed run was at ``last_run``."""
    write_trigger(
        cluster,
        namespace,
        name,
        {"cron": {"schedule": schedule, "timeZone": ZONE, "catchUpWindow": window}},
    )
    trigger = cluster.get_json("trigger", name, "-n", namespace)
    checkpoint = {
        "source": source_digest(trigger),
        "time": datetime.datetime.fromtimestamp(last_run, datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        "resourceVersions": {"cron": str(last_run)},
    }
    cluster.kubectl(
        "patch", "trigger", name, "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"checkpoint": checkpoint}}),
    )  # fmt: skip


def _schedule(*times: datetime.datetime) -> str:
    """Daily at these wall-clock times (their minutes x their hours; callers keep them close)."""
    minutes = sorted({t.minute for t in times})
    hours = sorted({t.hour for t in times})
    return f"{','.join(map(str, minutes))} {','.join(map(str, hours))} * * *"


def _ticks(runner: Runner) -> list[str]:
    return [line["message"] for line in runner.lines() if line.get("logger") == "runner.action"]


def _stamp(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_cron_in_a_time_zone_catches_up_once_then_fires_on_schedule(
    crd: Cluster, ns: str, runners: Runners
) -> None:
    zone = ZoneInfo(ZONE)
    now = datetime.datetime.now(zone)
    missed = (now - datetime.timedelta(minutes=2)).replace(second=0, microsecond=0)
    due = (now + datetime.timedelta(seconds=68)).replace(second=0, microsecond=0)  # >= 8 s away
    # the checkpoint is an hour before the missed run; the window reaches back 10 minutes
    _cron_trigger(crd, ns, "tick", _schedule(missed, due), "10m", int(missed.timestamp()) - 3600)
    runner = runners.start(ns, "tick")
    runner.wait_ready()
    assert metric(runner, "events_seen_total") == 1  # queued before the source was ready
    caught_up = ("cron", "cron", str(int(missed.timestamp())))
    wait_for(lambda: runner.fired(), 15, "the catch-up run")
    assert runner.fired() == Counter({caught_up: 1})
    assert _ticks(runner) == [f"cron  {_stamp(missed)}"]

    on_time = ("cron", "cron", str(int(due.timestamp())))
    wait = (due - datetime.datetime.now(zone)).total_seconds() + 20
    wait_for(lambda: runner.fired()[on_time] or None, wait, f"the run at {due.isoformat()}")
    assert runner.fired() == Counter({caught_up: 1, on_time: 1})
    assert _ticks(runner) == [f"cron  {_stamp(missed)}", f"cron  {_stamp(due)}"]

    def checkpointed() -> str | None:
        versions = (status(crd, ns, "tick").get("checkpoint") or {}).get("resourceVersions")
        return (versions or {}).get("cron")

    wait_for(lambda: int(checkpointed() or 0) >= int(due.timestamp()) or None, 15, "the checkpoint")


def test_cron_run_missed_outside_the_window_is_not_caught_up(
    crd: Cluster, ns: str, runners: Runners
) -> None:
    zone = ZoneInfo(ZONE)
    missed = (datetime.datetime.now(zone) - datetime.timedelta(minutes=20)).replace(
        second=0, microsecond=0
    )
    _cron_trigger(crd, ns, "late", _schedule(missed), "5m", int(missed.timestamp()) - 3600)
    runner = runners.start(ns, "late")
    runner.wait_ready()
    # a catch-up is queued before the source reports ready, so this is final, not a guess
    assert metric(runner, "events_seen_total") == 0
    assert runner.fired() == Counter()
    messages = [line.get("message", "") for line in runner.lines()]
    assert not [m for m in messages if "catching up" in m or "source changed" in m]


def test_cron_schedule_that_never_fires_is_valid_and_says_so(
    crd: Cluster, ns: str, runners: Runners
) -> None:
    """``0 0 30 2 *``: CronJob takes it and never runs it; so does the runner, without spinning."""
    write_trigger(crd, ns, "never", {"cron": {"schedule": "0 0 30 2 *", "timeZone": ZONE}})
    runner = runners.start(ns, "never")
    runner.wait_ready()

    def never_fires() -> dict[str, Any] | None:
        conditions = status(crd, ns, "never").get("conditions") or []
        watching = [c for c in conditions if c.get("type") == "Watching"]
        return watching[0] if watching and watching[0].get("reason") == "NeverFires" else None

    condition = wait_for(never_fires, 20, "the Watching condition to say NeverFires")
    assert condition["status"] == "True"
    assert condition["message"] == "the schedule matches no date, so it never fires"
    assert runner.fired() == Counter()


# -- filters ------------------------------------------------------------------------------


def run_filter_cases(
    cluster: Cluster,
    namespace: str,
    runners: Runners,
    cases: dict[str, Any],
    objects: dict[str, tuple[str, dict[str, Any]]],
) -> Runner:
    """One trigger filtering Widgets: each object is judged by the filter of its ``case`` label.

    The trigger's filter is ``any`` of ``all: [case label equals C, <filter of C>]``;
    objects are created (in order, after a ready runner) and a ``sentinel`` last.
    """
    branches = [
        {"all": [{"path": "{.metadata.labels.case}", "equals": case}, test]}
        for case, test in {
            **cases,
            "sentinel": {"path": "{.metadata.name}", "exists": True},
        }.items()
    ]
    write_trigger(
        cluster,
        namespace,
        "filters",
        {"resource": {"apiVersion": WIDGET_API_VERSION, "kind": "Widget", "events": ["create"]}},
        filters=[{"any": branches}],
        options=SERIAL,
    )
    runner = runners.start(namespace, "filters")
    runner.wait_ready()
    items = [widget(namespace, name, spec, case=case) for name, (case, spec) in objects.items()]
    apply_list(cluster, [*items, widget(namespace, "sentinel", {}, case="sentinel")])
    wait_for(
        lambda: ("create", f"{namespace}/sentinel") in pairs(runner) or None, 30, "the sentinel"
    )
    return runner


def matched(runner: Runner, namespace: str) -> set[str]:
    keys = pairs(runner)
    assert set(keys.values()) == {1}, keys  # each at most once
    return {key.removeprefix(f"{namespace}/") for _, key in keys} - {"sentinel"}


def test_filters_exists_equals_not_equals_in_matches(
    crd: Cluster, widgets: Cluster, ns: str, runners: Runners
) -> None:
    cases = {
        "exists": {"path": "{.spec.opt}", "exists": True},
        "absent": {"path": "{.spec.opt}", "exists": False},
        "equals": {"path": "{.spec.replicas}", "equals": "3"},
        "equals-bool": {"path": "{.spec.flag}", "equals": True},
        "not-equals": {"path": "{.spec.colors[*]}", "notEquals": "red"},
        "in": {"path": "{.spec.tier}", "in": ["web", "api"]},
        "matches": {"path": "{.spec.image}", "matches": r":1\.2[0-9]$"},
    }
    objects: dict[str, tuple[str, dict[str, Any]]] = {
        "exists-set": ("exists", {"opt": "x"}),
        "exists-empty": ("exists", {"opt": ""}),  # an empty value is still a value
        "exists-unset": ("exists", {}),
        "absent-unset": ("absent", {"other": 1}),
        "absent-set": ("absent", {"opt": "x"}),
        "equals-int": ("equals", {"replicas": 3}),  # numbers compare as kubectl prints them
        "equals-text": ("equals", {"replicas": "3"}),
        "equals-other": ("equals", {"replicas": 4}),
        "equals-unset": ("equals", {}),
        "bool-true": ("equals-bool", {"flag": True}),
        "bool-false": ("equals-bool", {"flag": False}),
        "colors-none-red": ("not-equals", {"colors": ["blue", "green"]}),
        "colors-one-red": ("not-equals", {"colors": ["blue", "red"]}),
        "colors-unset": ("not-equals", {}),  # a missing path is false, notEquals included
        "in-web": ("in", {"tier": "web"}),
        "in-api": ("in", {"tier": "api"}),
        "in-db": ("in", {"tier": "db"}),
        "matches-tag": ("matches", {"image": "nginx:1.25"}),
        "matches-search": ("matches", {"image": "registry/app:1.21"}),  # search, not fullmatch
        "matches-no": ("matches", {"image": "nginx:1.19"}),
        "matches-suffix": ("matches", {"image": "nginx:1.25-alpine"}),
    }
    runner = run_filter_cases(crd, ns, runners, cases, objects)
    assert matched(runner, ns) == {
        "exists-set",
        "exists-empty",
        "absent-unset",
        "equals-int",
        "equals-text",
        "bool-true",
        "colors-none-red",
        "in-web",
        "in-api",
        "matches-tag",
        "matches-search",
    }
    assert metric(runner, "events_seen_total") == len(objects) + 1
    assert metric(runner, "filter_errors_total") == 0


def test_filters_greater_and_less_than_numbers_quantities_timestamps(
    crd: Cluster, widgets: Cluster, ns: str, runners: Runners
) -> None:
    cases = {
        "gt-number": {"path": "{.spec.replicas}", "greaterThan": 5},
        "lt-number": {"path": "{.spec.ratio}", "lessThan": 0.5},
        "gt-quantity": {"path": "{.spec.memory}", "greaterThan": "500Mi"},
        "lt-quantity": {"path": "{.spec.cpu}", "lessThan": "1"},
        "gt-time": {"path": "{.spec.at}", "greaterThan": "2024-05-01T00:00:00Z"},
        "lt-time": {"path": "{.spec.at}", "lessThan": "2024-05-01T00:00:00Z"},
        "created": {"path": "{.metadata.creationTimestamp}", "greaterThan": "2020-01-01T00:00:00Z"},
    }
    objects: dict[str, tuple[str, dict[str, Any]]] = {
        "gt-7": ("gt-number", {"replicas": 7}),
        "gt-5": ("gt-number", {"replicas": 5}),  # strictly greater
        "gt-text-12": ("gt-number", {"replicas": "12"}),
        "lt-quarter": ("lt-number", {"ratio": 0.25}),
        "lt-half": ("lt-number", {"ratio": 0.5}),
        "lt-three-quarters": ("lt-number", {"ratio": 0.75}),
        "mem-1gi": ("gt-quantity", {"memory": "1Gi"}),
        "mem-600m-decimal": ("gt-quantity", {"memory": "600M"}),  # 600e6 > 500 * 2^20
        "mem-500mi": ("gt-quantity", {"memory": "500Mi"}),
        "mem-256mi": ("gt-quantity", {"memory": "256Mi"}),
        "cpu-100m": ("lt-quantity", {"cpu": "100m"}),
        "cpu-1": ("lt-quantity", {"cpu": 1}),
        "cpu-2": ("lt-quantity", {"cpu": "2"}),
        "at-later": ("gt-time", {"at": "2024-05-01T00:00:01Z"}),
        "at-offset-earlier": ("gt-time", {"at": "2024-05-01T01:30:00+02:00"}),  # 04-30 23:30Z
        "at-offset-later": ("gt-time", {"at": "2024-04-30T23:30:00-01:00"}),  # 05-01 00:30Z
        "before": ("lt-time", {"at": "2024-04-30T23:59:59Z"}),
        "after": ("lt-time", {"at": "2024-05-02T00:00:00Z"}),
        "created-now": ("created", {}),
    }
    runner = run_filter_cases(crd, ns, runners, cases, objects)
    assert matched(runner, ns) == {
        "gt-7",
        "gt-text-12",
        "lt-quarter",
        "mem-1gi",
        "mem-600m-decimal",
        "cpu-100m",
        "at-later",
        "at-offset-later",
        "before",
        "created-now",
    }
    assert metric(runner, "events_seen_total") == len(objects) + 1
    assert metric(runner, "filter_errors_total") == 0


def test_filter_groups_errors_and_missing_paths(
    crd: Cluster, widgets: Cluster, ns: str, runners: Runners
) -> None:
    web = {"path": "{.spec.tier}", "equals": "web"}
    many = {"path": "{.spec.replicas}", "greaterThan": 5}
    cases = {
        "all": {"all": [web, many]},
        "any": {"any": [web, many]},
        "not": {"not": web},
        "compare": many,
        "not-compare": {"not": many},
        "any-error-first": {"any": [many, web]},
    }
    objects: dict[str, tuple[str, dict[str, Any]]] = {
        "all-both": ("all", {"tier": "web", "replicas": 9}),
        "all-one": ("all", {"tier": "web", "replicas": 1}),
        "any-first": ("any", {"tier": "web", "replicas": 1}),
        "any-second": ("any", {"tier": "db", "replicas": 9}),
        "any-neither": ("any", {"tier": "db", "replicas": 1}),
        "not-db": ("not", {"tier": "db"}),
        "not-web": ("not", {"tier": "web"}),
        "not-unset": ("not", {}),  # equals on a missing path is false, so not holds
        # comparisons that cannot be made are errors: non-matches, counted
        "compare-text": ("compare", {"replicas": "many"}),  # error 1
        "compare-bool": ("compare", {"replicas": True}),  # error 2
        "compare-unset": ("compare", {}),  # a missing path: false, not an error
        "compare-ok": ("compare", {"replicas": 6}),
        "not-error": ("not-compare", {"replicas": "many"}),  # error 3: never a pass under not
        "not-unset-compare": ("not-compare", {}),
        "any-error": ("any-error-first", {"tier": "web", "replicas": "many"}),  # error 4
        "any-no-error": ("any-error-first", {"tier": "web", "replicas": 1}),
    }
    runner = run_filter_cases(crd, ns, runners, cases, objects)
    assert matched(runner, ns) == {
        "all-both",
        "any-first",
        "any-second",
        "not-db",
        "not-unset",
        "compare-ok",
        "not-unset-compare",
        "any-no-error",
    }
    assert metric(runner, "events_seen_total") == len(objects) + 1
    assert metric(runner, "filter_errors_total") == 4
    # not-unset, compare-unset and not-unset-compare compared a path the object lacks
    assert metric(runner, "filter_missing_paths_total") == 3
    warned = sorted(
        str(line.get("key", "")).removeprefix(f"{ns}/")
        for line in runner.lines()
        if line.get("logger") == "runner.delivery" and "filter error" in line.get("message", "")
    )
    assert warned == ["any-error", "compare-bool", "compare-text", "not-error"]

    def recorded() -> tuple[int, int] | None:
        counters = status(crd, ns, "filters").get("counters") or {}
        events = crd.get_json("events", "-n", ns, "--field-selector", "reason=FilterError")["items"]
        got = (int(counters.get("filterErrors", -1)), sum(int(e.get("count") or 1) for e in events))
        return got if got == (4, 4) else None

    wait_for(recorded, 20, "status.counters.filterErrors and FilterError Events to count 4")


def test_leaving_the_label_selection_is_not_a_delete(
    crd: Cluster, ns: str, runners: Runners
) -> None:
    """Relabelled out fires nothing (counted); deleted fires delete; relabelled in fires create.

    The API server reports an object that stops matching as DELETED, carrying its
    previous (still matching) labels; the runner asks with a GET whether it exists.
    Checked on the watch, then across a restart (the first list against the checkpoint).
    """
    for name, app in (
        ("leaves", "web"),
        ("deleted", "web"),
        ("enters", "api"),
        ("sentinel", "web"),
        ("leaves-while-down", "web"),
        ("deleted-while-down", "web"),
    ):
        create_cm(crd, ns, name)
        label_cm(crd, ns, name, f"app={app}")
    write_trigger(crd, ns, "selected", configmaps(labelSelector="app=web"), options=SERIAL)
    runner = runners.start(ns, "selected")
    runner.wait_ready()
    assert metric(runner, "indexed_objects") == 5

    label_cm(crd, ns, "leaves", "app=api")
    delete_cm(crd, ns, "deleted")
    rv_enters = label_cm(crd, ns, "enters", "app=web")
    patch_cm(crd, ns, "sentinel", "2")  # handled after the three above: proves their outcome
    expected = Counter(
        {
            ("delete", f"{ns}/deleted"): 1,
            ("create", f"{ns}/enters"): 1,
            ("update", f"{ns}/sentinel"): 1,
        }
    )
    settle_pairs(runner, expected, "relabel out, delete, relabel in")
    assert runner.fired()[("create", f"{ns}/enters", rv_enters)] == 1
    assert metric(runner, "objects_left_selection_total") == 1
    assert metric(runner, "events_seen_total") == 3
    assert metric(runner, "indexed_objects") == 4  # enters, sentinel, the two *-while-down

    # while the runner is down: one relabelled out, one deleted; both missing from its first list
    assert runner.kill(signal.SIGTERM) == 0
    label_cm(crd, ns, "leaves-while-down", "app=api")
    delete_cm(crd, ns, "deleted-while-down")
    runner.start().wait_ready()
    patch_cm(crd, ns, "sentinel", "3")
    expected.update({("delete", f"{ns}/deleted-while-down"): 1, ("update", f"{ns}/sentinel"): 1})
    settle_pairs(runner, expected, "after the restart")
    assert metric(runner, "objects_left_selection_total") == 1  # this run's counter
    assert metric(runner, "indexed_objects") == 2  # enters, sentinel

"""Every file in examples/ does what its comment says, on the real control plane.

Each test creates an example with the plugin as a user would (``kubectl trigger
create -f examples/X.yaml``, the runner pod run from the runner image by the pod
emulator), causes the event with kubectl and asserts the effect: a restarted
Deployment, a bumped Application, a payload at a local HTTP receiver, a mail at a
local SMTP server, objects created in a new namespace, a scaled Deployment, a Job.

Crashing pods and failing Jobs are real: their containers run on this machine
(``localhost/kt-test/...`` images, see docs/devcluster.md) and exit non-zero, so
the pod emulator reports CrashLoopBackOff or Failed and the job controller marks
the Job Failed. Where an example cannot meet a local receiver as written (a
nightly schedule, an SMTP host), the test changes exactly that field and
nothing else, and says so.

``EFFECT_TESTS`` maps every example to the test that checks its effect; a test
fails when an example has none.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

from runner.spec.cron import parse_cron
from tests.conftest import Cluster
from tests.e2e.action_receivers import (
    HttpReceiver,
    Received,
    SmtpRecorder,
    self_signed,
    smtp_server,
    temp_dir,
)
from tests.e2e.plugin_support import (  # noqa: F401 - fixture
    get_or_none,
    installed,
    plugin,
)
from tests.e2e.runner_support import status
from tests.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SYSTEM = "kubectl-trigger-system"
TEST_IMAGE = "localhost/kt-test/example"  # the pod emulator runs its command on the host
SIMULATED_IMAGE = "registry.example/shop/web"  # kwok only pretends to run it
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
PUBLISH_VERSION = "app.oam.dev/publishVersion"
LAST_IMAGE = "examples.kubectl-trigger.dev/last-image"

#: example file -> the test that applies it and checks its effect
EFFECT_TESTS = {
    "restart-on-configmap-change.yaml": "test_restart_on_configmap_change",
    "kubevela-bump-revision.yaml": "test_kubevela_bump_revision",
    "slack-on-crashloop.yaml": "test_slack_on_crashloop",
    "namespace-defaults.yaml": "test_new_namespace_gets_defaults_and_ops_hear_of_it",
    "cluster-notify-new-namespace.yaml": "test_new_namespace_gets_defaults_and_ops_hear_of_it",
    "nightly-scale-down.yaml": "test_nightly_scale_down",
    "cron-create-job.yaml": "test_cron_create_job",
    "webhook-on-image-change.yaml": "test_webhook_on_image_change",
    "email-on-job-failure.yaml": "test_email_on_job_failure",
    "webhook-on-pod-failure.yaml": "test_webhook_on_pod_failure",
    "template-shared-actions.yaml": (
        "tests/e2e/test_plugin_runner.py::test_runner_runs_the_template_expansion"
    ),
}


# -- helpers ------------------------------------------------------------------------------


def example_docs(name: str) -> list[dict[str, Any]]:
    """The documents of examples/NAME."""
    return [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]


def triggers_in(docs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind, name) of each Trigger and ClusterTrigger."""
    kinds = ("Trigger", "ClusterTrigger")
    return [(d["kind"], d["metadata"]["name"]) for d in docs if d["kind"] in kinds]


def wait_ready(cluster: Cluster, kind: str, namespace: str, name: str) -> None:
    """Until the runner of ``name`` (its home ``namespace``) reports Ready in the status."""

    def ready() -> bool:
        conditions = status(cluster, namespace, name).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    wait_for(ready, 90, f"{kind} {name}'s runner to report Ready")


class CreateExample(Protocol):
    def __call__(
        self, name: str, namespace: str, docs: list[dict[str, Any]] | None = None
    ) -> None: ...


@pytest.fixture
def create_example(cluster: Cluster) -> Iterator[CreateExample]:
    """``create(file, namespace, docs=None)``: ``kubectl trigger create`` and wait until Ready.

    ``docs`` replaces the file's text (a test's one-field change); the runner runs
    from the default image. Everything created is deleted with ``kubectl trigger
    delete -f`` at the end.
    """
    made: list[tuple[str, str]] = []

    def create(name: str, namespace: str, docs: list[dict[str, Any]] | None = None) -> None:
        if docs is None:
            plugin(cluster, "create", "-f", str(EXAMPLES / name), "-n", namespace)
            docs = example_docs(name)
        else:
            text = yaml.safe_dump_all(docs, sort_keys=False)
            plugin(cluster, "create", "-f", "-", "-n", namespace, input=text)
        made.append((yaml.safe_dump_all(docs, sort_keys=False), namespace))
        for kind, trigger in triggers_in(docs):
            home = SYSTEM if kind == "ClusterTrigger" else namespace
            wait_ready(cluster, kind, home, trigger)

    yield create
    for text, namespace in reversed(made):
        plugin(cluster, "delete", "-f", "-", "-n", namespace, "--ignore-not-found", input=text)


def secret(cluster: Cluster, namespace: str, name: str, **data: str) -> None:
    literals = [f"--from-literal={k}={v}" for k, v in data.items()]
    cluster.kubectl("create", "secret", "generic", name, "-n", namespace, *literals)


def apply(cluster: Cluster, obj: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))


def deployment(
    namespace: str,
    name: str,
    *,
    replicas: int = 1,
    image: str = f"{SIMULATED_IMAGE}:1.0",
    labels: dict[str, str] | None = None,
    env_from_configmap: str | None = None,
) -> dict[str, Any]:
    """A Deployment whose pods kwok simulates."""
    container: dict[str, Any] = {"name": name, "image": image}
    if env_from_configmap:
        container["envFrom"] = [{"configMapRef": {"name": env_from_configmap}}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container]},
            },
        },
    }


def process_pod(namespace: str, name: str, script: str, restart: str) -> dict[str, Any]:
    """A pod whose one container really runs ``python -c script`` on this machine."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "restartPolicy": restart,
            "containers": [
                {"name": "main", "image": f"{TEST_IMAGE}:1", "command": ["python", "-c", script]}
            ],
        },
    }


def template_annotation(cluster: Cluster, namespace: str, name: str, key: str) -> str | None:
    dep = get_or_none(cluster, "deployment", name, "-n", namespace) or {}
    meta = dep.get("spec", {}).get("template", {}).get("metadata", {})
    return (meta.get("annotations") or {}).get(key)


def annotation(cluster: Cluster, kind: str, name: str, namespace: str, key: str) -> str | None:
    obj = get_or_none(cluster, kind, name, "-n", namespace) or {}
    return (obj.get("metadata", {}).get("annotations") or {}).get(key)


def requests_for(receiver: HttpReceiver, path: str) -> list[Received]:
    return [r for r in receiver.requests if r.path == path]


def with_schedule(docs: list[dict[str, Any]], schedule: str) -> list[dict[str, Any]]:
    """The example with only its cron schedule changed (a test cannot wait for the night)."""
    changed = copy.deepcopy(docs)
    for doc in changed:
        if doc["kind"] == "Trigger":
            doc["spec"]["source"]["cron"]["schedule"] = schedule
    return changed


def assert_fires_once_a_night(docs: list[dict[str, Any]], hour: int) -> None:
    """The file's own schedule fires at ``hour``:00 local time, every day."""
    cron = docs[0]["spec"]["source"]["cron"]
    schedule = parse_cron(cron["schedule"], cron.get("timeZone", "UTC"))
    start = datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC)
    first = schedule.next_after(start)
    assert first is not None
    fires = [first]
    for _ in range(3):
        nxt = schedule.next_after(fires[-1])
        assert nxt is not None
        fires.append(nxt)
    assert [(f.hour, f.minute) for f in fires] == [(hour, 0)] * 4
    assert [(b - a) for a, b in itertools.pairwise(fires)] == [datetime.timedelta(days=1)] * 3


# -- tests --------------------------------------------------------------------------------


def test_every_example_has_an_effect_test_and_a_line_in_the_index() -> None:
    assert sorted(EFFECT_TESTS) == sorted(p.name for p in EXAMPLES.glob("*.yaml"))
    index = (EXAMPLES / "README.md").read_text()
    assert [f for f in EFFECT_TESTS if f"[{f}]({f})" not in index] == []
    here = Path(__file__).read_text()
    for test in EFFECT_TESTS.values():
        path, _, name = test.rpartition("::")
        source = (REPO / path).read_text() if path else here
        assert f"def {name}(" in source, f"{test} does not exist"


def test_restart_on_configmap_change(
    cluster: Cluster, namespace: str, create_example: CreateExample
) -> None:
    cluster.kubectl("create", "configmap", "web-config", "-n", namespace, "--from-literal=a=1")
    cluster.kubectl(
        "label", "configmap", "web-config", "-n", namespace,
        "triggers.kubectl-trigger.dev/restart-consumers=true",
    )  # fmt: skip
    cluster.kubectl("create", "configmap", "api-config", "-n", namespace, "--from-literal=a=1")
    apply(cluster, deployment(namespace, "web", env_from_configmap="web-config"))
    apply(cluster, deployment(namespace, "api", env_from_configmap="api-config"))
    create_example("restart-on-configmap-change.yaml", namespace)

    cluster.kubectl("patch", "configmap", "web-config", "-n", namespace, "-p", '{"data":{"a":"2"}}')
    first = wait_for(
        lambda: template_annotation(cluster, namespace, "web", RESTARTED_AT),
        30,
        "the consumer Deployment web to be restarted",
    )
    datetime.datetime.strptime(first, "%Y-%m-%dT%H:%M:%SZ")  # RFC 3339 UTC, as kubectl writes
    time.sleep(1.1)  # restartedAt has whole seconds: the next restart must show a new value
    cluster.kubectl("patch", "configmap", "web-config", "-n", namespace, "-p", '{"data":{"a":"3"}}')
    wait_for(
        lambda: template_annotation(cluster, namespace, "web", RESTARTED_AT) not in (None, first),
        30,
        "a second change to restart web again",
    )
    # api uses another ConfigMap: untouched
    assert template_annotation(cluster, namespace, "api", RESTARTED_AT) is None


def application(namespace: str, name: str, configmap: str) -> dict[str, Any]:
    """A KubeVela Application whose component mounts ``configmap``."""
    return {
        "apiVersion": "core.oam.dev/v1beta1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "components": [
                {
                    "name": name,
                    "type": "webservice",
                    "properties": {"image": f"{SIMULATED_IMAGE}:1.0"},
                    "traits": [
                        {
                            "type": "storage",
                            "properties": {
                                "configMap": [{"name": configmap, "mountPath": "/etc/app"}]
                            },
                        }
                    ],
                }
            ]
        },
    }


@pytest.mark.usefixtures("kubevela")
def test_kubevela_bump_revision(
    cluster: Cluster, namespace: str, create_example: CreateExample
) -> None:
    apply(cluster, application(namespace, "shop", "shop-config"))
    apply(cluster, application(namespace, "blog", "blog-config"))
    for name in ("shop", "blog"):
        cluster.kubectl(
            "create", "configmap", f"{name}-config", "-n", namespace, "--from-literal=a=1"
        )
        cluster.kubectl(
            "label", "configmap", f"{name}-config", "-n", namespace, f"app.oam.dev/name={name}"
        )
    cluster.kubectl("create", "configmap", "unlabelled", "-n", namespace, "--from-literal=a=1")
    create_example("kubevela-bump-revision.yaml", namespace)

    def version() -> str | None:
        return annotation(cluster, "application", "shop", namespace, PUBLISH_VERSION)

    patch = '{"data":{"a":"2"}}'
    cluster.kubectl("patch", "configmap", "shop-config", "-n", namespace, "-p", patch)
    first = wait_for(version, 30, "the Application shop to get a publishVersion")
    assert first.startswith("kt-") and len(first) == len("kt-20260101-000000-abcdef")
    cluster.kubectl(
        "patch", "configmap", "shop-config", "-n", namespace, "-p", '{"data":{"a":"3"}}'
    )
    wait_for(lambda: version() not in (None, first), 30, "a second change to bump it again")
    # blog mentions another ConfigMap; an unlabelled ConfigMap fires nothing
    cluster.kubectl("patch", "configmap", "unlabelled", "-n", namespace, "-p", patch)
    time.sleep(1.5)
    assert annotation(cluster, "application", "blog", namespace, PUBLISH_VERSION) is None


def test_slack_on_crashloop(
    cluster: Cluster, namespace: str, create_example: CreateExample
) -> None:
    hook = "/services/T000/B000/XXXX"
    with HttpReceiver() as receiver:
        secret(cluster, namespace, "slack-hook", url=receiver.base + hook)
        create_example("slack-on-crashloop.yaml", namespace)
        apply(cluster, process_pod(namespace, "steady", "import time; time.sleep(600)", "Always"))
        apply(cluster, process_pod(namespace, "crasher", "raise SystemExit(3)", "Always"))

        posted = wait_for(lambda: requests_for(receiver, hook), 60, "a Slack post")
        text = posted[0].json()["text"]
        assert f"Pod {namespace}/crasher is in CrashLoopBackOff (container main," in text
        assert posted[0].json() == {"text": text}  # Slack's incoming-webhook shape
        # the pod really is backing off, as the runner saw it
        pod = cluster.get_json("pod", "crasher", "-n", namespace)
        assert pod["status"]["containerStatuses"][0]["restartCount"] >= 1
        assert all("steady" not in r.json()["text"] for r in receiver.requests)


@pytest.fixture
def new_namespaces(cluster: Cluster) -> Iterator[list[str]]:
    """Namespaces a test creates; deleted at the end."""
    names: list[str] = []
    yield names
    for name in names:
        cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


def test_new_namespace_gets_defaults_and_ops_hear_of_it(
    cluster: Cluster, namespace: str, create_example: CreateExample, new_namespaces: list[str]
) -> None:
    """Two ClusterTriggers on Namespaces; runners and Secret in the controlled namespace."""
    with HttpReceiver() as receiver:
        cluster.kubectl("delete", "secret", "ops-hook", "-n", SYSTEM, "--ignore-not-found")
        secret(cluster, SYSTEM, "ops-hook", url=receiver.base + "/namespaces")
        try:
            create_example("namespace-defaults.yaml", namespace)
            create_example("cluster-notify-new-namespace.yaml", namespace)
            suffix = uuid.uuid4().hex[:6]
            system_like, team = f"kube-example-{suffix}", f"team-{suffix}"
            for name in (system_like, team):
                new_namespaces.append(name)
                cluster.kubectl("create", "namespace", name)

            policy = wait_for(
                lambda: get_or_none(cluster, "networkpolicy", "default-deny-ingress", "-n", team),
                30,
                f"the NetworkPolicy in {team}",
            )
            assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
            quota = wait_for(
                lambda: get_or_none(cluster, "resourcequota", "default-quota", "-n", team),
                30,
                f"the ResourceQuota in {team}",
            )
            assert quota["spec"]["hard"] == {
                "limits.memory": "32Gi",
                "pods": "50",
                "requests.cpu": "8",
                "requests.memory": "16Gi",
            }
            posted = wait_for(lambda: requests_for(receiver, "/namespaces"), 30, "the ops webhook")
            assert posted[0].json() == {"text": f"namespace {team} was created"}
            time.sleep(1.5)  # the kube- namespace came first: by now it would have fired
            assert len(requests_for(receiver, "/namespaces")) == 1
            for kind in ("networkpolicies", "resourcequotas"):
                assert cluster.get_json(kind, "-n", system_like)["items"] == []
        finally:
            cluster.kubectl("delete", "secret", "ops-hook", "-n", SYSTEM, "--ignore-not-found")


def replicas(cluster: Cluster, namespace: str, name: str) -> int:
    return int(cluster.get_json("deployment", name, "-n", namespace)["spec"]["replicas"])


def test_nightly_scale_down(
    cluster: Cluster, namespace: str, create_example: CreateExample
) -> None:
    docs = example_docs("nightly-scale-down.yaml")
    assert_fires_once_a_night(docs, hour=22)
    labels = {"scale-down-at-night": "true"}
    apply(cluster, deployment(namespace, "preview", replicas=2, labels=labels))
    apply(cluster, deployment(namespace, "web", replicas=2))

    create_example("nightly-scale-down.yaml", namespace, with_schedule(docs, "@every 2s"))
    wait_for(lambda: replicas(cluster, namespace, "preview") == 0, 30, "preview scaled to 0")
    assert replicas(cluster, namespace, "web") == 2  # not labelled
    trigger = cluster.get_json("trigger", "nightly-scale-down", "-n", namespace)
    assert trigger["spec"]["actions"] == docs[0]["spec"]["actions"]  # as the file says


def test_cron_create_job(cluster: Cluster, namespace: str, create_example: CreateExample) -> None:
    docs = example_docs("cron-create-job.yaml")
    assert_fires_once_a_night(docs, hour=2)
    create_example("cron-create-job.yaml", namespace, with_schedule(docs, "@every 2s"))

    jobs = wait_for(
        lambda: cluster.get_json("jobs", "-n", namespace, "-l", "app=nightly-report")["items"],
        30,
        "the nightly report Job",
    )
    job = jobs[0]
    assert job["metadata"]["name"].startswith("nightly-report-")
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:2] == ["sh", "-c"] and command[2].startswith("echo report at 20")
    datetime.datetime.strptime(command[2].removeprefix("echo report at "), "%Y-%m-%dT%H:%M:%SZ")


def test_webhook_on_image_change(
    cluster: Cluster, namespace: str, create_example: CreateExample
) -> None:
    image = SIMULATED_IMAGE
    with HttpReceiver() as receiver:
        secret(cluster, namespace, "deploy-hook", url=receiver.base + "/deployments")
        apply(cluster, deployment(namespace, "web", image=f"{image}:1.0"))
        create_example("webhook-on-image-change.yaml", namespace)

        def remembered() -> str | None:
            return annotation(cluster, "deployment", "web", namespace, LAST_IMAGE)

        wait_for(lambda: remembered() == f"{image}:1.0", 30, "web's image remembered at start")
        runners = cluster.get_json(
            "deployments", "-n", namespace, "-l", "app.kubernetes.io/managed-by=kubectl-trigger"
        )["items"]
        assert len(runners) == 2  # the two triggers' runners: left alone by the selector
        assert all(LAST_IMAGE not in (r["metadata"].get("annotations") or {}) for r in runners)
        cluster.kubectl("set", "image", "deployment/web", f"web={image}:1.1", "-n", namespace)
        posted = wait_for(lambda: requests_for(receiver, "/deployments"), 30, "the first post")
        assert posted[0].json() == {
            "deployment": f"{namespace}/web",
            "oldImage": f"{image}:1.0",
            "newImage": f"{image}:1.1",
        }
        wait_for(lambda: remembered() == f"{image}:1.1", 30, "the new image remembered")
        cluster.kubectl("set", "image", "deployment/web", f"web={image}:1.2", "-n", namespace)
        posted = wait_for(lambda: requests_for(receiver, "/deployments")[1:], 30, "the second post")
        assert (posted[0].json()["oldImage"], posted[0].json()["newImage"]) == (
            f"{image}:1.1",
            f"{image}:1.2",
        )
        # scaling, status and the annotation itself change no image: no more posts
        cluster.kubectl("scale", "deployment/web", "--replicas=2", "-n", namespace)
        time.sleep(1.5)
        assert len(requests_for(receiver, "/deployments")) == 2


def job(namespace: str, name: str, script: str) -> dict[str, Any]:
    """A Job whose one pod really runs ``python -c script``, never retried."""
    pod = process_pod(namespace, name, script, "Never")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"backoffLimit": 0, "template": {"spec": pod["spec"]}},
    }


def job_condition(cluster: Cluster, namespace: str, name: str) -> str | None:
    conditions = (
        cluster.get_json("job", name, "-n", namespace).get("status", {}).get("conditions") or []
    )
    return next((c["type"] for c in conditions if c.get("status") == "True" and
                 c["type"] in ("Complete", "Failed")), None)  # fmt: skip


def test_email_on_job_failure(
    cluster: Cluster, namespace: str, create_example: CreateExample
) -> None:
    docs = example_docs("email-on-job-failure.yaml")
    cert = self_signed(temp_dir())
    password = uuid.uuid4().hex
    recorder = SmtpRecorder()
    for port in smtp_server(recorder, cert=cert, credentials=("alerts@example.com", password)):
        secret(cluster, namespace, "smtp-credentials", username="alerts@example.com",
               password=password)  # fmt: skip
        secret(cluster, namespace, "smtp-ca", **{"ca.crt": cert.cert_pem})
        # only where the mail goes changes: the local server, and its private CA
        local = copy.deepcopy(docs)
        smtp = local[0]["spec"]["actions"][0]["email"]["smtp"]
        smtp |= {"host": "127.0.0.1", "port": port, "tls": {"caSecretRef": {"name": "smtp-ca"}}}
        create_example("email-on-job-failure.yaml", namespace, local)

        apply(cluster, job(namespace, "import-ok", "print('imported')"))
        apply(cluster, job(namespace, "import-broken", "raise SystemExit(2)"))
        wait_for(lambda: recorder.mails, 60, "a mail about the failed Job")
        assert job_condition(cluster, namespace, "import-broken") == "Failed"
        wait_for(
            lambda: job_condition(cluster, namespace, "import-ok") == "Complete",
            30,
            "the other Job to complete",
        )
        time.sleep(1.5)
        assert len(recorder.mails) == 1
        mail = recorder.mails[0]
        assert mail.login == "alerts@example.com"
        assert (mail.mail_from, mail.rcpt_tos) == ("alerts@example.com", ["batch-team@example.com"])
        assert mail.message["Subject"] == f"Job {namespace}/import-broken failed"
        payload = mail.message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        body = payload.decode()
        assert "Failed pods: 1" in body
        assert f"kubectl -n {namespace} logs job/import-broken" in body


def test_webhook_on_pod_failure(
    cluster: Cluster, namespace: str, create_example: CreateExample
) -> None:
    with HttpReceiver() as receiver:
        secret(cluster, namespace, "alert-hook", url=receiver.base + "/alert")
        create_example("webhook-on-pod-failure.yaml", namespace)
        apply(cluster, process_pod(namespace, "batch-ok", "pass", "Never"))
        apply(cluster, process_pod(namespace, "batch-broken", "raise SystemExit(1)", "Never"))

        posted = wait_for(lambda: requests_for(receiver, "/alert"), 60, "the alert webhook")
        payload = posted[0].json()
        assert payload["text"] == f"Pod {namespace}/batch-broken failed"
        assert set(payload) == {"text", "reason"}
        phase = cluster.get_json("pod", "batch-broken", "-n", namespace)["status"]["phase"]
        assert phase == "Failed"
        wait_for(
            lambda: (
                cluster.get_json("pod", "batch-ok", "-n", namespace)["status"].get("phase")
                == "Succeeded"
            ),
            30,
            "the other pod to succeed",
        )
        time.sleep(1.5)
        assert len(requests_for(receiver, "/alert")) == 1

"""Acceptance tests of the local control plane itself (devcluster), against the real thing.

Everything else in the e2e tier trusts this cluster, so these tests check the
behaviours the rest relies on: watches, scheduling onto the simulated node, pod
logs through the API server, service-account tokens under RBAC, garbage
collection, and runner-like pods actually run by the pod emulator.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import urllib3

from devcluster import kwok, layout, processes
from devcluster.api import Api
from devcluster.layout import Layout
from tests.conftest import Cluster
from tests.polling import wait_for

pytestmark = pytest.mark.e2e


def logs_containing(cluster: Cluster, pod: str, namespace: str, needle: str) -> str | None:
    """The pod's logs if they contain ``needle`` yet, else None."""
    text = cluster.kubectl("logs", pod, "-n", namespace).stdout
    return text if needle in text else None


def admin_api(cluster: Cluster) -> Api:
    return Api.for_client(Layout.load(cluster.state_dir), "admin")


def deploy(cluster: Cluster, namespace: str, name: str, image: str) -> dict[str, Any]:
    """Create a one-replica Deployment and return its pod once Running."""
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))

    def running_pod() -> dict[str, Any] | None:
        pods = cluster.get_json("pods", "-n", namespace, "-l", f"app={name}")["items"]
        running = [p for p in pods if p.get("status", {}).get("phase") == "Running"]
        return running[0] if running else None

    return wait_for(running_pod, 60, f"a Running pod of Deployment {name}")


def test_watch_sees_objects_created_and_deleted(cluster: Cluster, namespace: str) -> None:
    api = admin_api(cluster)
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    start = api.get(path)["metadata"]["resourceVersion"]

    cluster.kubectl("create", "configmap", "watched", "-n", namespace, "--from-literal=k=v")
    assert cluster.get_json("configmap", "watched", "-n", namespace)["data"] == {"k": "v"}
    cluster.kubectl("delete", "configmap", "watched", "-n", namespace)

    seen = []
    for event in api.watch(path, resourceVersion=start, timeoutSeconds=10):
        seen.append((event["type"], event["object"]["metadata"]["name"]))
        if event["type"] == "DELETED":
            break
    assert seen == [("ADDED", "watched"), ("DELETED", "watched")]
    gone = cluster.kubectl("get", "configmap", "watched", "-n", namespace, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_deployment_pod_runs_on_the_simulated_node(cluster: Cluster, namespace: str) -> None:
    pod = deploy(cluster, namespace, "web", "registry.example/web:1")

    assert pod["spec"]["nodeName"] == layout.NODE_NAME
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
    assert pod["status"]["containerStatuses"][0]["state"]["running"]
    node = cluster.get_json("node", layout.NODE_NAME)
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == "127.0.0.1"
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "True"


def test_pod_logs_come_from_the_file_kwok_serves(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    pod = deploy(cluster, namespace, "logger", "registry.example/logger:1")
    name = pod["metadata"]["name"]

    default = cluster.kubectl("logs", name, "-n", namespace).stdout
    assert "simulated by kwok" in default

    marker = f"line-{secrets.token_hex(4)}"
    log_file = tmp_path / "main.log"
    log_file.write_text(
        kwok.cri_log_line("stdout", f"first {marker}") + kwok.cri_log_line("stderr", "second")
    )
    logs_object = kwok.pod_logs(pod, {"main": (log_file, tmp_path / "previous.log")})
    cluster.kubectl("create", "-f", "-", input=json.dumps(logs_object))

    text = wait_for(
        lambda: logs_containing(cluster, name, namespace, marker), 20, "kwok to serve our file"
    )
    assert text.splitlines() == [f"first {marker}", "second"]


def _as_token(cluster: Cluster, token: str, method: str, path: str) -> int:
    pool = urllib3.PoolManager(ca_certs=str(cluster.state_dir / "pki" / "ca.crt"), retries=False)
    body = json.dumps({"metadata": {"name": "x"}}).encode() if method == "POST" else None
    resp = pool.request(
        method,
        cluster.server + path,
        body=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    return resp.status


def test_service_account_token_is_held_to_rbac(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("create", "serviceaccount", "reader", "-n", namespace)
    token = cluster.kubectl("create", "token", "reader", "-n", namespace).stdout.strip()
    configmaps = f"/api/v1/namespaces/{namespace}/configmaps"

    assert _as_token(cluster, token, "GET", configmaps) == 403  # nothing granted yet

    cluster.kubectl(
        "create", "role", "read-cm", "-n", namespace, "--verb=get,list", "--resource=configmaps"
    )
    cluster.kubectl(
        "create",
        "rolebinding",
        "read-cm",
        "-n",
        namespace,
        "--role=read-cm",
        f"--serviceaccount={namespace}:reader",
    )
    wait_for(lambda: _as_token(cluster, token, "GET", configmaps) == 200, 10, "the grant")

    assert _as_token(cluster, token, "POST", configmaps) == 403  # create was not granted
    assert _as_token(cluster, token, "GET", f"/api/v1/namespaces/{namespace}/secrets") == 403
    assert _as_token(cluster, token, "GET", "/api/v1/namespaces/default/configmaps") == 403
    assert _as_token(cluster, "not-a-token", "GET", configmaps) == 401


def test_deleting_an_owner_garbage_collects_its_dependent(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("create", "configmap", "owner", "-n", namespace)
    cluster.kubectl("create", "configmap", "bystander", "-n", namespace)
    owner_uid = cluster.get_json("configmap", "owner", "-n", namespace)["metadata"]["uid"]
    dependent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "dependent",
            "namespace": namespace,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner_uid}
            ],
        },
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(dependent))

    cluster.kubectl("delete", "configmap", "owner", "-n", namespace)

    def dependent_gone() -> bool:
        probe = cluster.kubectl("get", "configmap", "dependent", "-n", namespace, check=False)
        return probe.returncode != 0 and "NotFound" in probe.stderr

    wait_for(dependent_gone, 60, "the garbage collector to delete the dependent")
    cluster.kubectl("get", "configmap", "bystander", "-n", namespace)  # untouched


EMULATED_POD = """
apiVersion: v1
kind: ServiceAccount
metadata: {{name: maker}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: make-configmaps}}
rules: [{{apiGroups: [""], resources: [configmaps], verbs: [create]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: maker}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: make-configmaps}}
subjects: [{{kind: ServiceAccount, name: maker, namespace: {namespace}}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: maker}}
spec:
  serviceAccountName: maker
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: localhost/kt-test/incluster-configmap:1
    command: [python, tests/e2e/fixtures/incluster_configmap.py]
    env:
    - name: POD_NAME
      valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
    - name: GREETING
      valueFrom: {{secretKeyRef: {{name: settings, key: greeting}}}}
    - name: CONFIGMAP_NAME
      valueFrom: {{configMapKeyRef: {{name: settings, key: target}}}}
"""


def test_pod_emulator_runs_a_pod_with_its_in_cluster_identity(
    cluster: Cluster, namespace: str
) -> None:
    greeting = f"hello-{secrets.token_hex(4)}"
    cluster.kubectl("create", "secret", "generic", "settings", "-n", namespace,
                    f"--from-literal=greeting={greeting}")  # fmt: skip
    cluster.kubectl("create", "configmap", "settings", "-n", namespace, "--from-literal=target=out")
    cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", input=EMULATED_POD.format(namespace=namespace)
    )

    def made() -> dict[str, Any] | None:
        probe = cluster.kubectl(
            "get", "configmap", "out", "-n", namespace, "-o", "json", check=False
        )
        return json.loads(probe.stdout) if probe.returncode == 0 else None

    configmap = wait_for(made, 60, "the emulated pod to create ConfigMap out")
    assert configmap["data"] == {"createdBy": "maker", "greeting": greeting}

    text = wait_for(
        lambda: logs_containing(cluster, "maker", namespace, "stderr works too"),
        20,
        "the pod's log lines",
    )
    lines = text.splitlines()
    # stdout and stderr are separate pipes: their lines may interleave either way.
    assert [line for line in lines if line != "stderr works too"] == [
        f"hello from maker in {namespace}",
        "created configmap out: HTTP 201",
    ]
    assert lines.count("stderr works too") == 1

    # Deleting the pod stops its process, and only then is the pod gone from the API.
    uid = cluster.get_json("pod", "maker", "-n", namespace)["metadata"]["uid"]
    pod_dir = Layout.load(cluster.state_dir).pods_dir / f"{namespace}_maker_{uid}"
    record = processes.read_record(pod_dir / "main.pid")
    assert processes.record_alive(record)
    cluster.kubectl("delete", "pod", "maker", "-n", namespace, "--timeout=30s")
    assert not processes.record_alive(record)
    assert cluster.kubectl("get", "pod", "maker", "-n", namespace, check=False).returncode != 0


IMAGE_PROBE = """
import json, os, ssl, urllib.request
sa = "/var/run/secrets/kubernetes.io/serviceaccount"
lines = open("/proc/self/status").read().splitlines()
status = dict(line.split(":\\t", 1) for line in lines if ":\\t" in line)
try:
    open("/app/runner/x", "w")
    writable = True
except OSError:
    writable = False
url = "https://%s:%s/apis/authentication.k8s.io/v1/selfsubjectreviews" % (
    os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"])
body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
request = urllib.request.Request(url, body.encode(), method="POST", headers={
    "Authorization": "Bearer " + open(sa + "/token").read(),
    "Content-Type": "application/json"})
context = ssl.create_default_context(cafile=sa + "/ca.crt")
review = json.load(urllib.request.urlopen(request, context=context))
print(json.dumps({
    "uid": os.getuid(), "cap_eff": int(status["CapEff"], 16), "app_writable": writable,
    "namespace": open(sa + "/namespace").read(), "hostname": os.uname().nodename,
    "user": review["status"]["userInfo"]["username"], "greeting": os.environ["GREETING"],
    "kubeconfig": os.environ.get("KUBECONFIG"), "python": os.path.realpath("/usr/bin/python"),
}))
"""


def test_runner_image_pods_run_from_the_image_rootfs(cluster: Cluster, namespace: str) -> None:
    """A runner-image pod runs inside the image this checkout builds: read-only, as 65532,
    no capabilities, its ServiceAccount token where Kubernetes mounts it."""
    from runner_image import build, recipe

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe", "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": "ghcr.io/kubectl-trigger/runner:0.1.0",
                    "command": ["python", "-c", IMAGE_PROBE],
                    "env": [{"name": "GREETING", "value": "hi"}],
                }
            ],
        },
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(pod))

    def finished() -> dict[str, Any] | None:
        got = cluster.get_json("pod", "probe", "-n", namespace)
        return got if got.get("status", {}).get("phase") in ("Succeeded", "Failed") else None

    final = wait_for(finished, 60, "the probe pod to finish")
    logs = cluster.kubectl("logs", "probe", "-n", namespace).stdout
    assert final["status"]["phase"] == "Succeeded", logs
    seen = json.loads(logs.strip().splitlines()[-1])
    assert seen == {
        "uid": 65532,
        "cap_eff": 0,
        "app_writable": False,
        "namespace": namespace,
        "hostname": "probe",
        "user": f"system:serviceaccount:{namespace}:default",
        "greeting": "hi",
        "kubeconfig": None,
        "python": "/usr/bin/python3.11",
    }
    # the imageID names the digest of a build of this checkout (runner/ may change meanwhile)
    (status,) = final["status"]["containerStatuses"]
    repository, digest = status["imageID"].split("@")
    assert repository == "ghcr.io/kubectl-trigger/runner"
    built = [
        build.manifest_digest(layout, recipe.version())
        for layout in build.cache_dir().glob("runner-*/oci")
    ]
    assert digest in built

"""KubeClient against the real local control plane: discovery, CRUD, lists, watches, auth.

Named *_e2e so its module name differs from tests/unit/test_kube_client.py (the test
directories are not packages, so pytest would refuse two modules of the same basename).
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from runner.kube import (
    ApiError,
    ClientConfig,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeClient,
    NotFound,
    ResourceNotFound,
    Unauthorized,
    in_cluster_config,
    load_kubeconfig,
)

pytestmark = pytest.mark.e2e

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 30, interval: float = 0.2) -> T:
    """``check()``'s first truthy result, retrying on falsy results and on errors."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
            last: Any = result
        except Exception as e:  # retried until the deadline, then re-raised
            if time.monotonic() > deadline:
                raise
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {last!r}")
        time.sleep(interval)


@pytest.fixture
def client(cluster: Any) -> Iterator[KubeClient]:
    with KubeClient(load_kubeconfig(cluster.kubeconfig)) as c:
        yield c


def deployment(name: str, image: str = "registry.example/web:1") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "web", "image": image},
                        {"name": "sidecar", "image": "registry.example/side:1"},
                    ]
                },
            },
        },
    }


# --- discovery -------------------------------------------------------------------------


def test_discovery_of_builtin_and_crd_kinds(client: KubeClient, namespace: str) -> None:
    cm = client.resource("v1", "ConfigMap")
    assert (cm.group, cm.plural, cm.namespaced) == ("", "configmaps", True)
    assert {"get", "list", "watch", "create", "patch", "delete"} <= cm.verbs
    deploy = client.resource("apps/v1", "Deployment")
    assert (deploy.group, deploy.plural) == ("apps", "deployments")
    assert {"status", "scale"} <= deploy.subresources
    assert client.resource("v1", "Namespace").namespaced is False
    with pytest.raises(ResourceNotFound, match='no kind "Widget" in apiVersion "v1"'):
        client.resource("v1", "Widget")

    group = f"e2e{secrets.token_hex(3)}.kubectl-trigger.dev"
    with pytest.raises(ResourceNotFound, match="CRD"):
        client.resource(f"{group}/v1", "Widget")
    crds = client.resource("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    client.create(crds, crd)
    try:

        def established() -> bool:
            conditions = client.get(crds, crd["metadata"]["name"]).get("status", {})
            return any(
                c["type"] == "Established" and c["status"] == "True"
                for c in conditions.get("conditions", [])
            )

        eventually(established)
        # the earlier miss is not cached: the new kind resolves once the server serves it
        widget = eventually(lambda: client.resource(f"{group}/v1", "Widget"))
        assert (widget.group, widget.version, widget.plural) == (group, "v1", "widgets")
        assert widget.namespaced and widget.subresources == frozenset({"status"})
        body = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w1"}}
        eventually(lambda: client.create(widget, body, namespace))
        assert client.get(widget, "w1", namespace)["kind"] == "Widget"
    finally:
        client.delete(crds, crd["metadata"]["name"])


# --- reads -----------------------------------------------------------------------------


def test_create_get_and_paginated_list(client: KubeClient, namespace: str) -> None:
    cm = client.resource("v1", "ConfigMap")
    for i in range(5):
        created = client.create(
            cm,
            {"metadata": {"name": f"cm-{i}", "labels": {"set": "e2e"}}, "data": {"i": str(i)}},
            namespace,
        )
        assert created["metadata"]["namespace"] == namespace
    client.create(cm, {"metadata": {"name": "other"}}, namespace)
    assert client.get(cm, "cm-3", namespace)["data"] == {"i": "3"}
    with pytest.raises(NotFound, match='configmaps "nope" not found'):
        client.get(cm, "nope", namespace)

    pages = list(client.list_pages(cm, namespace, label_selector="set=e2e", limit=2))
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    names = [item["metadata"]["name"] for p in pages for item in p["items"]]
    assert names == [f"cm-{i}" for i in range(5)]
    assert all(p["kind"] == "ConfigMapList" for p in pages)
    assert pages[-1]["metadata"]["resourceVersion"]

    # all namespaces, narrowed by a field selector
    everywhere = list(
        client.list_pages(cm, None, field_selector=f"metadata.namespace={namespace}", limit=4)
    )
    assert sum(len(p["items"]) for p in everywhere) >= 6  # plus kube-root-ca.crt


def test_dry_run_and_invalid(client: KubeClient, namespace: str) -> None:
    cm = client.resource("v1", "ConfigMap")
    result = client.create(cm, {"metadata": {"name": "dry"}}, namespace, dry_run=True)
    assert result["metadata"]["name"] == "dry"
    with pytest.raises(NotFound):
        client.get(cm, "dry", namespace)
    with pytest.raises(Invalid) as err:
        client.create(cm, {"metadata": {"name": "Not_Valid"}}, namespace)
    assert err.value.status == 422 and not err.value.retryable
    assert "Not_Valid" in err.value.message


# --- watch -----------------------------------------------------------------------------


def test_watch_sees_added_modified_deleted(client: KubeClient, namespace: str) -> None:
    cm = client.resource("v1", "ConfigMap")
    listed = next(client.list_pages(cm, namespace))
    rv = listed["metadata"]["resourceVersion"]
    with client.watch(cm, namespace, resource_version=rv, timeout_seconds=30) as stream:
        client.create(cm, {"metadata": {"name": "watched"}, "data": {"v": "1"}}, namespace)
        client.patch(cm, "watched", {"data": {"v": "2"}}, namespace)
        client.delete(cm, "watched", namespace)
        seen: list[tuple[str, int, dict[str, str]]] = []
        for ev in stream:
            if ev["type"] == "BOOKMARK":
                continue
            obj = ev["object"]
            if obj["metadata"]["name"] != "watched":
                continue
            seen.append((ev["type"], int(obj["metadata"]["resourceVersion"]), obj.get("data")))
            if ev["type"] == "DELETED":
                break
    assert [s[0] for s in seen] == ["ADDED", "MODIFIED", "DELETED"]
    assert [s[2] for s in seen[:2]] == [{"v": "1"}, {"v": "2"}]
    rvs = [s[1] for s in seen]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3
    assert rvs[0] > int(rv)


def test_watch_ends_when_server_closes_and_old_rv_is_gone(
    cluster: Any, client: KubeClient, namespace: str
) -> None:
    cm = client.resource("v1", "ConfigMap")
    rv = next(client.list_pages(cm, namespace))["metadata"]["resourceVersion"]
    started = time.monotonic()
    events = list(client.watch(cm, namespace, resource_version=rv, timeout_seconds=1))
    assert time.monotonic() - started < 10
    assert all(e["type"] == "BOOKMARK" for e in events)
    # A fresh cluster's watch cache still holds every revision, so only a restart
    # (which starts the cache at the current revision) makes `rv` reliably too old.
    client.create(cm, {"metadata": {"name": "after-rv", "namespace": namespace}})
    cluster.restart("kube-apiserver")
    with pytest.raises(Gone, match="too old resource version"):
        list(client.watch(cm, namespace, resource_version=rv, timeout_seconds=5))


# --- writes ----------------------------------------------------------------------------


def managers(obj: dict[str, Any]) -> dict[str, str]:
    return {m["manager"]: m["operation"] for m in obj["metadata"].get("managedFields", [])}


def test_server_side_apply_is_idempotent_and_tracks_field_manager(
    client: KubeClient, namespace: str
) -> None:
    cm = client.resource("v1", "ConfigMap")
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": namespace},
        "data": {"owned": "by-kt"},
    }
    first = client.apply(cm, body, field_manager="kt-e2e")
    assert first["data"] == {"owned": "by-kt"}
    assert managers(first) == {"kt-e2e": "Apply"}
    second = client.apply(cm, body, field_manager="kt-e2e")
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]

    other = {**body, "data": {"owned": "by-other"}}
    with pytest.raises(Conflict) as err:
        client.apply(cm, other, field_manager="someone-else", force=False)
    assert "conflict" in err.value.message.lower()
    taken = client.apply(cm, other, field_manager="someone-else", force=True)
    assert taken["data"] == {"owned": "by-other"}
    assert managers(taken) == {"someone-else": "Apply"}

    dry = client.apply(cm, {**body, "data": {"x": "y"}}, field_manager="kt-e2e", dry_run=True)
    assert dry["data"]["x"] == "y"
    assert "x" not in client.get(cm, "applied", namespace)["data"]


def test_server_side_apply_refuses_unknown_fields_of_a_crd(
    crd: Any, client: KubeClient, namespace: str
) -> None:
    """A field the schema lacks is an error for server-side apply, never pruned silently.

    The plugin writes Triggers by server-side apply, so no fieldValidation flag is needed;
    a plain create would prune the field.
    """
    triggers = client.resource("triggers.kubectl-trigger.dev/v1alpha1", "Trigger")
    body = {
        "apiVersion": "triggers.kubectl-trigger.dev/v1alpha1",
        "kind": "Trigger",
        "metadata": {"name": "strict", "namespace": namespace},
        "spec": {
            "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
            "actions": [{"log": {"message": "x"}}],
            "bogus": True,
        },
    }
    with pytest.raises(ApiError, match=r"\.spec\.bogus: field not declared in schema"):
        client.apply(triggers, body, field_manager="kt-e2e")
    with pytest.raises(NotFound):
        client.get(triggers, "strict", namespace)
    pruned = client.create(triggers, body)  # a plain create prunes it
    assert "bogus" not in pruned["spec"]


def test_patch_types(client: KubeClient, namespace: str) -> None:
    cm = client.resource("v1", "ConfigMap")
    client.create(cm, {"metadata": {"name": "p"}, "data": {"a": "1", "b": "2"}}, namespace)
    merged = client.patch(cm, "p", {"data": {"a": "10", "b": None}}, namespace)
    assert merged["data"] == {"a": "10"}
    patched = client.patch(
        cm,
        "p",
        [
            {"op": "add", "path": "/data/c", "value": "3"},
            {"op": "test", "path": "/data/a", "value": "10"},
        ],
        namespace,
        patch_type="json",
        field_manager="kt-e2e",
    )
    assert patched["data"] == {"a": "10", "c": "3"}
    assert "kt-e2e" in managers(patched)

    deploy = client.resource("apps/v1", "Deployment")
    client.create(deploy, deployment("web"), namespace)
    containers = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "web", "image": "registry.example/web:2"}]}
            }
        }
    }
    strategic = client.patch(deploy, "web", containers, namespace, patch_type="strategic")
    # strategic merge matches containers by name: the sidecar survives
    images = {c["name"]: c["image"] for c in strategic["spec"]["template"]["spec"]["containers"]}
    assert images == {"web": "registry.example/web:2", "sidecar": "registry.example/side:1"}
    replaced = client.patch(deploy, "web", containers, namespace, patch_type="merge")
    # a JSON merge patch replaces the whole list
    assert [c["name"] for c in replaced["spec"]["template"]["spec"]["containers"]] == ["web"]

    scaled = client.patch(deploy, "web", {"spec": {"replicas": 3}}, namespace, subresource="scale")
    assert scaled["kind"] == "Scale" and scaled["spec"]["replicas"] == 3


def test_replace_with_stale_resource_version_conflicts(client: KubeClient, namespace: str) -> None:
    cm = client.resource("v1", "ConfigMap")
    created = client.create(cm, {"metadata": {"name": "r"}, "data": {"v": "1"}}, namespace)
    fresh = client.replace(cm, {**created, "data": {"v": "2"}})
    assert fresh["data"] == {"v": "2"}
    with pytest.raises(Conflict) as err:
        client.replace(cm, {**created, "data": {"v": "3"}})
    assert err.value.retryable
    assert "modified" in err.value.message


def test_delete_propagation(client: KubeClient, namespace: str) -> None:
    deploy = client.resource("apps/v1", "Deployment")
    replicasets = client.resource("apps/v1", "ReplicaSet")
    cm = client.resource("v1", "ConfigMap")

    def replicaset_of(name: str) -> dict[str, Any] | None:
        for page in client.list_pages(replicasets, namespace, label_selector=f"app={name}"):
            for rs in page["items"]:
                return dict(rs)
        return None

    client.create(deploy, deployment("orphaned"), namespace)
    rs = eventually(lambda: replicaset_of("orphaned"))
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    client.delete(deploy, "orphaned", namespace, propagation_policy="Orphan")
    eventually(lambda: _gone(lambda: client.get(deploy, "orphaned", namespace)))
    # the ReplicaSet outlives its Deployment and loses its owner reference
    orphan = eventually(
        lambda: (r := replicaset_of("orphaned")) and not r["metadata"].get("ownerReferences") and r
    )
    assert orphan["metadata"]["name"] == rs["metadata"]["name"]

    client.create(deploy, deployment("foreground"), namespace)
    eventually(lambda: replicaset_of("foreground"))
    pending = client.delete(deploy, "foreground", namespace, propagation_policy="Foreground")
    assert pending is not None
    assert "foregroundDeletion" in pending["metadata"]["finalizers"]
    assert pending["metadata"]["deletionTimestamp"]
    eventually(lambda: _gone(lambda: client.get(deploy, "foreground", namespace)))
    eventually(lambda: replicaset_of("foreground") is None)

    client.create(cm, {"metadata": {"name": "d"}}, namespace)
    assert client.delete(cm, "d", namespace, dry_run=True) is None
    assert client.get(cm, "d", namespace)
    assert client.delete(cm, "d", namespace) is None
    with pytest.raises(NotFound):
        client.delete(cm, "d", namespace)


def _gone(get: Callable[[], Any]) -> bool:
    try:
        get()
    except NotFound:
        return True
    return False


# --- credentials -----------------------------------------------------------------------


def service_account_token(cluster: Any, namespace: str, name: str) -> str:
    cluster.kubectl("create", "serviceaccount", name, "-n", namespace)
    token = cluster.kubectl("create", "token", name, "-n", namespace, "--duration=10m")
    return str(token.stdout.strip())


def cluster_ca(cluster: Any) -> ClientConfig:
    return load_kubeconfig(cluster.kubeconfig)


def test_forbidden_with_a_serviceaccount_token(cluster: Any, namespace: str) -> None:
    token = service_account_token(cluster, namespace, "weak")
    admin = cluster_ca(cluster)
    weak = KubeClient(
        ClientConfig(
            server=admin.server,
            ca_file=admin.ca_file,
            ca_data=admin.ca_data,
            token=token,
            namespace=namespace,
        )
    )
    cm = weak.resource("v1", "ConfigMap")  # discovery is open to every authenticated user
    with pytest.raises(Forbidden) as err:
        next(weak.list_pages(cm, namespace))
    e = err.value
    assert e.status == 403 and not e.retryable
    assert f"system:serviceaccount:{namespace}:weak" in e.message
    assert 'cannot list resource "configmaps"' in e.message
    assert token not in str(e) and token not in repr(weak)
    with pytest.raises(Forbidden):
        weak.watch(cm, namespace, resource_version="0")

    cluster.kubectl(
        "create", "role", "read-cm", "--verb=list", "--resource=configmaps", "-n", namespace
    )
    cluster.kubectl(
        "create",
        "rolebinding",
        "read-cm",
        "--role=read-cm",
        f"--serviceaccount={namespace}:weak",
        "-n",
        namespace,
    )
    page = eventually(lambda: next(weak.list_pages(cm, namespace)))
    assert page["kind"] == "ConfigMapList"

    bogus = KubeClient(
        ClientConfig(
            server=admin.server, ca_file=admin.ca_file, ca_data=admin.ca_data, token="not-a-token"
        )
    )
    with pytest.raises(Unauthorized):
        bogus.request("GET", "/api/v1/namespaces")


def test_in_cluster_config_from_a_serviceaccount_dir(
    cluster: Any, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = service_account_token(cluster, namespace, "runner")
    admin = cluster_ca(cluster)
    sa_dir = tmp_path / "serviceaccount"
    sa_dir.mkdir()
    if admin.ca_file:
        shutil.copy(admin.ca_file, sa_dir / "ca.crt")
    else:
        (sa_dir / "ca.crt").write_text(admin.ca_data or "")
    (sa_dir / "namespace").write_text(namespace)
    (sa_dir / "token").write_text("expired-or-garbage")
    host_port = admin.server.removeprefix("https://")
    host, _, port = host_port.rpartition(":")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    monkeypatch.setenv("KT_SERVICEACCOUNT_DIR", str(sa_dir))

    config = in_cluster_config()
    assert config.namespace == namespace and config.server == admin.server
    client = KubeClient(config)
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}

    def whoami() -> str:
        result = client.request(
            "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body=review
        )
        return str(result["status"]["userInfo"]["username"])

    with pytest.raises(Unauthorized):
        whoami()
    # the kubelet rotates the file: after a 401 the client re-reads it and retries
    (sa_dir / "token").write_text(token + "\n")
    assert whoami() == f"system:serviceaccount:{namespace}:runner"

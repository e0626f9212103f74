"""Kubernetes actions against the local control plane: each sets exactly what it should.

The actions run with a real ``KubeClient`` as the admin user; RBAC for the
runner is proved elsewhere (access reviews). Event objects are read from the
API server, as a watch would deliver them.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from runner.actions import ACTIONS
from runner.actions.base import ActionContext, ParseContext, PermanentActionError
from runner.event import Event
from runner.kube.client import KubeClient
from tests.conftest import Cluster

pytestmark = pytest.mark.e2e

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
PUBLISH_VERSION = "app.oam.dev/publishVersion"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def kube(cluster: Cluster) -> KubeClient:
    return KubeClient.from_config(cluster.kubeconfig)


def apply(cluster: Cluster, namespace: str, *objects: dict[str, Any]) -> None:
    items = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(items))


def get(cluster: Cluster, namespace: str, kind: str, name: str) -> Any:
    return cluster.get_json(kind, name, "-n", namespace)


def configmap(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data,
    }


def deployment(name: str, pod_spec_extra: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "busybox:1.36"}
    container.update(pod_spec_extra.pop("container", {}))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container], **pod_spec_extra},
            },
        },
    }


def event_for(cluster: Cluster, namespace: str, kind: str, name: str) -> Event:
    obj = get(cluster, namespace, kind, name)
    meta = obj["metadata"]
    return Event("update", f"{namespace}/{name}", obj, meta["resourceVersion"])


def run(
    kube: KubeClient,
    key: str,
    raw: dict[str, Any],
    event: Event,
    namespace: str,
    source: tuple[str, str] | None = ("v1", "ConfigMap"),
) -> str:
    pctx = ParseContext(
        namespace, source[0] if source else None, source[1] if source else None, (namespace,)
    )
    config = ACTIONS[key].parse(raw, f"spec.actions[0].{key}", pctx)
    ctx = ActionContext(
        client=kube,
        read_secret=lambda name, key: "",
        trigger_name="t",
        trigger_namespace=namespace,
        log=logging.getLogger("test.actions.kube"),
    )
    return ACTIONS[key].run(config, event, ctx)


# -- patch ----------------------------------------------------------------------------------


def test_merge_patch_on_the_event_object(
    cluster: Cluster, namespace: str, kube: KubeClient
) -> None:
    apply(cluster, namespace, configmap("web-config", {"app": "web"}, color="blue"))
    ev = event_for(cluster, namespace, "configmap", "web-config")
    raw = {"patch": {"data": {"seen": "{{ .object.data.color }}-{{ .event }}"}}}
    assert run(kube, "patch", raw, ev, namespace) == f"patched ConfigMap {namespace}/web-config"
    assert get(cluster, namespace, "configmap", "web-config")["data"] == {
        "color": "blue",
        "seen": "blue-update",
    }


def test_json_patch_on_a_named_target(cluster: Cluster, namespace: str, kube: KubeClient) -> None:
    apply(
        cluster,
        namespace,
        configmap("web-config", color="blue"),
        configmap("web-config-copy", color="red", stale="yes"),
    )
    ev = event_for(cluster, namespace, "configmap", "web-config")
    raw = {
        "type": "json",
        "target": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": "{{ .object.metadata.name }}-copy",
        },
        "patch": [
            {"op": "replace", "path": "/data/color", "value": "{{ .object.data.color }}"},
            {"op": "remove", "path": "/data/stale"},
        ],
    }
    assert (
        run(kube, "patch", raw, ev, namespace) == f"patched ConfigMap {namespace}/web-config-copy"
    )
    assert get(cluster, namespace, "configmap", "web-config-copy")["data"] == {"color": "blue"}
    assert get(cluster, namespace, "configmap", "web-config")["data"] == {"color": "blue"}


def test_strategic_patch_by_selector(cluster: Cluster, namespace: str, kube: KubeClient) -> None:
    apply(
        cluster,
        namespace,
        configmap("web-config", color="blue"),
        deployment("web", {}, {"tier": "front"}),
        deployment("api", {}, {"tier": "front"}),
        deployment("db", {}, {"tier": "back"}),
    )
    ev = event_for(cluster, namespace, "configmap", "web-config")
    raw: dict[str, Any] = {
        "type": "strategic",
        "target": {"apiVersion": "apps/v1", "kind": "Deployment", "selector": "tier=front"},
        "patch": {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "env": [{"name": "COLOR", "value": "{{ .object.data.color }}"}],
                            }
                        ]
                    }
                }
            }
        },
    }
    summary = run(kube, "patch", raw, ev, namespace)
    assert summary == f"patched 2 Deployment: {namespace}/api, {namespace}/web"
    for name in ("web", "api"):
        [container] = get(cluster, namespace, "deployment", name)["spec"]["template"]["spec"][
            "containers"
        ]
        assert (container["name"], container["image"]) == ("app", "busybox:1.36")
        assert container["env"] == [{"name": "COLOR", "value": "blue"}]
    [untouched] = get(cluster, namespace, "deployment", "db")["spec"]["template"]["spec"][
        "containers"
    ]
    assert "env" not in untouched
    raw["target"]["selector"] = "tier=none"
    assert run(kube, "patch", raw, ev, namespace) == (
        "patched nothing: no Deployment matched selector tier=none"
    )


def test_template_injection_cannot_add_fields_to_a_patch(
    cluster: Cluster, namespace: str, kube: KubeClient
) -> None:
    evil = 'x", "admin": "true", "y": "{{ .trigger.name }}\n}'
    apply(cluster, namespace, configmap("web-config", color="blue"))
    ev = event_for(cluster, namespace, "configmap", "web-config")
    obj = dict(ev.object or {})
    obj["data"] = {"color": evil}
    ev = Event("update", ev.key, obj, ev.resource_version)
    for raw in (
        {"patch": {"data": {"copy": "c={{ .object.data.color }}"}}},
        {"patch": '{"data": {"copy2": "{{ .object.data.color }}"}}'},
    ):
        run(kube, "patch", raw, ev, namespace)
    assert get(cluster, namespace, "configmap", "web-config")["data"] == {
        "color": "blue",
        "copy": f"c={evil}",
        "copy2": evil,
    }


def test_patch_of_a_missing_object_is_permanent(
    cluster: Cluster, namespace: str, kube: KubeClient
) -> None:
    apply(cluster, namespace, configmap("web-config", color="blue"))
    ev = event_for(cluster, namespace, "configmap", "web-config")
    raw = {"target": {"apiVersion": "v1", "kind": "ConfigMap", "name": "nope"}, "patch": {"a": 1}}
    with pytest.raises(PermanentActionError) as info:
        run(kube, "patch", raw, ev, namespace)
    assert str(info.value).startswith(f"patching ConfigMap {namespace}/nope failed: ")


# -- apply / create -------------------------------------------------------------------------

JOB_SPEC = {
    "suspend": True,
    "template": {
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "run",
                    "image": "busybox:1.36",
                    "args": ["echo", "{{ .object.data.color }}"],
                }
            ],
        }
    },
}


def jobs(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    return list(cluster.get_json("jobs", "-n", namespace)["items"])


def test_apply_creates_a_job_named_for_the_event(
    cluster: Cluster, namespace: str, kube: KubeClient
) -> None:
    apply(cluster, namespace, configmap("web-config", color="blue"))
    ev = event_for(cluster, namespace, "configmap", "web-config")
    raw = {
        "template": {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": "run-{{ .object.metadata.name }}",
                "labels": {"made-by": "trigger"},
            },
            "spec": JOB_SPEC,
        }
    }
    assert run(kube, "apply", raw, ev, namespace) == f"applied Job {namespace}/run-web-config"
    assert run(kube, "apply", raw, ev, namespace) == f"applied Job {namespace}/run-web-config"
    [job] = jobs(cluster, namespace)
    assert job["metadata"]["name"] == "run-web-config"
    assert job["metadata"]["labels"]["made-by"] == "trigger"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["echo", "blue"]
    shown = cluster.get_json("job", "run-web-config", "-n", namespace, "--show-managed-fields")
    fields = shown["metadata"]["managedFields"]
    managers = {m["manager"] for m in fields if m["operation"] == "Apply"}
    assert managers == {"kubectl-trigger"}


def test_create_with_generate_name_makes_a_new_job_each_time(
    cluster: Cluster, namespace: str, kube: KubeClient
) -> None:
    apply(cluster, namespace, configmap("web-config", color="blue"))
    ev = event_for(cluster, namespace, "configmap", "web-config")
    raw = {
        "template": {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"generateName": "{{ .object.metadata.name }}-"},
            "spec": JOB_SPEC,
        }
    }
    summaries = [run(kube, "create", raw, ev, namespace) for _ in range(2)]
    names = sorted(j["metadata"]["name"] for j in jobs(cluster, namespace))
    assert len(set(names)) == 2 and all(re.fullmatch(r"web-config-[a-z0-9]{5}", n) for n in names)
    assert sorted(summaries) == [f"created Job {namespace}/{n}" for n in names]


def test_create_with_a_taken_name_is_permanent(
    cluster: Cluster, namespace: str, kube: KubeClient
) -> None:
    apply(cluster, namespace, configmap("web-config", color="blue"))
    ev = event_for(cluster, namespace, "configmap", "web-config")
    raw = {"template": {**configmap("made"), "data": {"from": "{{ .object.metadata.name }}"}}}
    assert run(kube, "create", raw, ev, namespace) == f"created ConfigMap {namespace}/made"
    with pytest.raises(PermanentActionError) as info:
        run(kube, "create", raw, ev, namespace)
    assert "use metadata.generateName for a new object per event" in str(info.value)
    assert get(cluster, namespace, "configmap", "made")["data"] == {"from": "web-config"}


# -- delete ---------------------------------------------------------------------------------


def test_delete_by_name_and_selector(cluster: Cluster, namespace: str, kube: KubeClient) -> None:
    apply(
        cluster,
        namespace,
        configmap("web-config", color="blue"),
        configmap("web-config-old"),
        configmap("a", {"batch": "x"}),
        configmap("b", {"batch": "x"}),
        configmap("keep", {"batch": "y"}),
    )
    ev = event_for(cluster, namespace, "configmap", "web-config")
    by_name = {
        "target": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": "{{ .object.metadata.name }}-old",
        }
    }
    assert (
        run(kube, "delete", by_name, ev, namespace)
        == f"deleted ConfigMap {namespace}/web-config-old"
    )
    assert (
        run(kube, "delete", by_name, ev, namespace)
        == f"deleted ConfigMap {namespace}/web-config-old"
    )
    by_selector = {
        "target": {"apiVersion": "v1", "kind": "ConfigMap", "selector": "batch=x"},
        "propagationPolicy": "Background",
    }
    assert (
        run(kube, "delete", by_selector, ev, namespace)
        == f"deleted 2 ConfigMap: {namespace}/a, {namespace}/b"
    )
    left = sorted(
        i["metadata"]["name"] for i in cluster.get_json("configmaps", "-n", namespace)["items"]
    )
    assert left == ["keep", "kube-root-ca.crt", "web-config"]


# -- rolloutRestart -------------------------------------------------------------------------


def restarted_at(cluster: Cluster, namespace: str, kind: str, name: str) -> str | None:
    obj = get(cluster, namespace, kind, name)
    annotations = obj["spec"]["template"]["metadata"].get("annotations") or {}
    return annotations.get(RESTARTED_AT)


def test_rollout_restart_consumers(cluster: Cluster, namespace: str, kube: KubeClient) -> None:
    ref = {"name": "web-config"}
    apply(
        cluster,
        namespace,
        configmap("web-config", color="blue"),
        configmap("other-config"),
        deployment("by-volume", {"volumes": [{"name": "c", "configMap": ref}]}, {}),
        deployment(
            "by-projected",
            {"volumes": [{"name": "c", "projected": {"sources": [{"configMap": ref}]}}]},
            {},
        ),
        deployment("by-env-from", {"container": {"envFrom": [{"configMapRef": ref}]}}, {}),
        deployment(
            "by-value-from",
            {
                "initContainers": [
                    {
                        "name": "init",
                        "image": "busybox:1.36",
                        "env": [
                            {
                                "name": "C",
                                "valueFrom": {
                                    "configMapKeyRef": {"name": "web-config", "key": "color"}
                                },
                            }
                        ],
                    }
                ]
            },
            {},
        ),
        deployment(
            "other", {"volumes": [{"name": "c", "configMap": {"name": "other-config"}}]}, {}
        ),
        deployment(
            "secret-of-same-name",
            {"volumes": [{"name": "c", "secret": {"secretName": "web-config"}}]},
            {},
        ),
        deployment("plain", {}, {}),
    )
    ev = event_for(cluster, namespace, "configmap", "web-config")
    summary = run(kube, "rolloutRestart", {"kind": "Deployment", "consumers": True}, ev, namespace)
    users = ["by-env-from", "by-projected", "by-value-from", "by-volume"]
    assert summary == "restarted 4 Deployment: " + ", ".join(f"{namespace}/{n}" for n in users)
    for name in users:
        assert STAMP.fullmatch(restarted_at(cluster, namespace, "deployment", name) or ""), name
    for name in ("other", "secret-of-same-name", "plain"):
        assert restarted_at(cluster, namespace, "deployment", name) is None, name


def test_rollout_restart_by_name_and_selector(
    cluster: Cluster, namespace: str, kube: KubeClient
) -> None:
    apply(
        cluster,
        namespace,
        configmap("web-config"),
        deployment("web", {}, {"tier": "front"}),
        deployment("api", {}, {"tier": "back"}),
        deployment("db", {}, {"tier": "data"}),
    )
    ev = event_for(cluster, namespace, "configmap", "web-config")
    assert run(kube, "rolloutRestart", {"kind": "Deployment", "name": "web"}, ev, namespace) == (
        f"restarted Deployment {namespace}/web"
    )
    assert run(
        kube, "rolloutRestart", {"kind": "Deployment", "selector": "tier=back"}, ev, namespace
    ) == (f"restarted Deployment {namespace}/api")
    assert restarted_at(cluster, namespace, "deployment", "web")
    assert restarted_at(cluster, namespace, "deployment", "api")
    assert restarted_at(cluster, namespace, "deployment", "db") is None
    assert run(
        kube, "rolloutRestart", {"kind": "Deployment", "consumers": True}, ev, namespace
    ) == (f"restarted nothing: no Deployment uses {namespace}/web-config")


# -- bumpApplicationRevision ----------------------------------------------------------------


def application(name: str, properties: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "core.oam.dev/v1beta1",
        "kind": "Application",
        "metadata": {"name": name, "labels": labels},
        "spec": {"components": [{"name": name, "type": "webservice", "properties": properties}]},
    }


def publish_version(cluster: Cluster, namespace: str, name: str) -> str | None:
    meta = get(cluster, namespace, "applications.core.oam.dev", name)["metadata"]
    return (meta.get("annotations") or {}).get(PUBLISH_VERSION)


@pytest.mark.usefixtures("kubevela")
def test_bump_application_revision(cluster: Cluster, namespace: str, kube: KubeClient) -> None:
    apply(
        cluster,
        namespace,
        configmap("web-config"),
        application("uses", {"configMapRef": "web-config"}, {}),
        application("similar", {"configMapRef": "web-config-2", "note": "web"}, {}),
        application("labelled", {}, {"team": "shop"}),
    )
    ev = event_for(cluster, namespace, "configmap", "web-config")
    summary = run(kube, "bumpApplicationRevision", {"consumers": True}, ev, namespace)
    assert re.fullmatch(
        rf"bumped Application {namespace}/uses to kt-\d{{8}}-\d{{6}}-[0-9a-f]{{6}}", summary
    ), summary
    first = publish_version(cluster, namespace, "uses")
    assert first and summary.endswith(first)
    assert publish_version(cluster, namespace, "similar") is None
    assert publish_version(cluster, namespace, "labelled") is None
    run(kube, "bumpApplicationRevision", {"name": "uses"}, ev, namespace)
    assert publish_version(cluster, namespace, "uses") not in (None, first)
    run(kube, "bumpApplicationRevision", {"selector": "team=shop"}, ev, namespace)
    assert publish_version(cluster, namespace, "labelled")
    assert publish_version(cluster, namespace, "similar") is None

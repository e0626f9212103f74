"""What create/apply render for one Trigger, checked exactly."""

from __future__ import annotations

import json

from kubectl_trigger import naming, render
from kubectl_trigger.rbac import Rule

SPEC = {
    "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
    "actions": [{"log": {"message": "hi"}}],
}
RULES = {"shop": [Rule("", ("configmaps",), ("get", "list", "watch"))]}
CLUSTER_RULES = {
    "kubectl-trigger-system": [Rule("", ("events",), ("create", "patch"))],
    "other": [Rule("", ("configmaps",), ("get",))],
    None: [Rule("apps", ("deployments",), ("get", "list"))],
}
TRIGGER = naming.Ref.trigger("shop", "web")
CLUSTER = naming.Ref.cluster("web")


def _input(**kw: object) -> render.RenderInput:
    base: dict[str, object] = {"ref": TRIGGER, "home": "shop", "spec": SPEC, "rules": RULES}
    return render.RenderInput(**{**base, **kw})  # type: ignore[arg-type]


def _refs(objs: list[dict]) -> list[tuple[str, str | None, str]]:
    return [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs]


def test_a_trigger_s_objects_live_in_its_namespace_owned_by_it() -> None:
    objs = render.derived_objects(_input(owner=render.Owner("web", "uid-1")))
    assert _refs(objs) == [
        ("ServiceAccount", "shop", "trigger-web"),
        ("Role", "shop", "trigger-web"),
        ("RoleBinding", "shop", "trigger-web"),
        ("Deployment", "shop", "trigger-web"),
    ]
    for o in objs:
        assert o["metadata"]["labels"] == naming.labels("shop", "web")
        assert o["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "triggers.kubectl-trigger.dev/v1alpha1",
                "kind": "Trigger",
                "name": "web",
                "uid": "uid-1",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    assert objs[2]["subjects"] == [
        {"kind": "ServiceAccount", "name": "trigger-web", "namespace": "shop"}
    ]


def test_a_cluster_trigger_s_objects_are_all_owned_by_it() -> None:
    inp = _input(
        ref=CLUSTER,
        home="kubectl-trigger-system",
        rules=CLUSTER_RULES,
        owner=render.Owner("web", "uid-2", "ClusterTrigger"),
    )
    objs = render.derived_objects(inp)
    assert _refs(objs) == [
        ("ServiceAccount", "kubectl-trigger-system", "clustertrigger-web"),
        ("Role", "kubectl-trigger-system", "clustertrigger-web"),
        ("RoleBinding", "kubectl-trigger-system", "clustertrigger-web"),
        ("Role", "other", "clustertrigger-web"),
        ("RoleBinding", "other", "clustertrigger-web"),
        ("ClusterRole", None, "clustertrigger-web"),
        ("ClusterRoleBinding", None, "clustertrigger-web"),
        ("Deployment", "kubectl-trigger-system", "clustertrigger-web"),
    ]
    for o in objs:
        assert o["metadata"]["labels"] == CLUSTER.labels()
        (owner,) = o["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("ClusterTrigger", "web", "uid-2")
    assert objs[6]["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "clustertrigger-web",
    }
    assert objs[6]["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": "clustertrigger-web",
            "namespace": "kubectl-trigger-system",
        }
    ]
    env = {e["name"]: e for e in objs[-1]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TRIGGER_KIND"]["value"] == "ClusterTrigger"


def test_the_pod_template_carries_the_rendered_spec() -> None:
    spec = {**SPEC, "actions": [{"log": {"message": "cost $(HOME) $$ {{ .object }}"}}]}
    dep = render.deployment(_input(spec=spec, spec_digest="abc", generation=7))
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    # every "$" doubled: the kubelet's $(VAR) expansion gives back the spec as rendered
    text = env["TRIGGER_SPEC"]["value"].replace("$$", "$")
    assert json.loads(text) == spec
    assert "$$(HOME)" in env["TRIGGER_SPEC"]["value"]
    assert env["TRIGGER_SPEC_DIGEST"]["value"] == "abc"
    assert env["TRIGGER_GENERATION"]["value"] == "7"
    assert env["TRIGGER_KIND"]["value"] == "Trigger"
    offline = render.deployment(_input())
    env = {e["name"]: e for e in offline["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TRIGGER_GENERATION"]["value"] == ""  # unknown before the Trigger exists


def test_no_owner_references_offline() -> None:
    assert all("ownerReferences" not in o["metadata"] for o in render.derived_objects(_input()))


def test_deployment_is_restricted_single_replica_recreate() -> None:
    dep = render.deployment(_input())
    spec = dep["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "trigger-web"
    assert pod["automountServiceAccountToken"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (c,) = pod["containers"]
    assert c["image"] == "ghcr.io/kubectl-trigger/runner:0.1.0"
    assert c["command"] == ["python", "-m", "runner"]
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert c["resources"] == {
        "requests": {"cpu": "10m", "memory": "48Mi"},
        "limits": {"memory": "64Mi"},
    }
    env = {e["name"]: e for e in c["env"]}
    assert env["TRIGGER_NAME"]["value"] == "web"
    assert env["TRIGGER_NAMESPACE"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.namespace"}
    }
    assert env["LOG_FORMAT"]["value"] == "json"
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["ports"][0]["containerPort"] == 8080
    assert spec["selector"]["matchLabels"] == naming.pod_selector("shop", "web")
    assert set(spec["selector"]["matchLabels"].items()) <= set(
        spec["template"]["metadata"]["labels"].items()
    )


def test_image_and_resources_come_from_spec_or_flag() -> None:
    spec = {**SPEC, "runner": {"image": "example/r:1", "resources": {"limits": {"cpu": "1"}}}}
    c = render.deployment(_input(spec=spec))["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "example/r:1"
    assert c["resources"]["limits"] == {"memory": "64Mi", "cpu": "1"}
    c = render.deployment(_input(spec=spec, image="flag/r:2"))["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert c["image"] == "flag/r:2"


def test_spec_hash_changes_only_with_spec_or_image() -> None:
    def hash_of(inp: render.RenderInput) -> str:
        return render.deployment(inp)["spec"]["template"]["metadata"]["annotations"][
            naming.ANNOTATION_SPEC_HASH
        ]

    same = {"actions": SPEC["actions"], "source": SPEC["source"]}  # other key order
    assert hash_of(_input()) == hash_of(_input(spec=same))
    assert hash_of(_input()) != hash_of(_input(image="other:1"))
    changed = {**SPEC, "actions": [{"log": {"message": "bye"}}]}
    assert hash_of(_input()) != hash_of(_input(spec=changed))
    canonical = json.dumps(
        {"image": render.runner_image(SPEC), "spec": SPEC}, sort_keys=True, separators=(",", ":")
    )
    import hashlib

    assert hash_of(_input()) == hashlib.sha256(canonical.encode()).hexdigest()


def test_trigger_object_keeps_user_spec_and_adds_annotations() -> None:
    user = {
        "apiVersion": "triggers.kubectl-trigger.dev/v1alpha1",
        "kind": "Trigger",
        "metadata": {
            "name": "web",
            "uid": "x",
            "resourceVersion": "5",
            "labels": {"a": "b"},
            "annotations": {naming.ANNOTATION_EXPANDED_SPEC: "{}"},  # from an older version
        },
        "spec": {"source": SPEC["source"], "actions": [{"use": {"name": "t"}}]},
        "status": {"counters": {}},
    }
    obj = render.trigger_object(user, TRIGGER, SPEC)
    assert obj["spec"] == user["spec"]
    assert "status" not in obj
    assert obj["metadata"]["labels"] == {"a": "b"}
    assert obj["metadata"]["namespace"] == "shop"
    assert "uid" not in obj["metadata"] and "resourceVersion" not in obj["metadata"]
    ann = obj["metadata"]["annotations"]
    assert ann[naming.ANNOTATION_SOURCE] == "ConfigMap"
    assert ann[naming.ANNOTATION_ACTIONS] == "log"
    # the expansion travels in the pod template only: an older annotation is dropped
    assert naming.ANNOTATION_EXPANDED_SPEC not in ann
    cluster = render.trigger_object({**user, "kind": "ClusterTrigger"}, CLUSTER, SPEC)
    assert cluster["kind"] == "ClusterTrigger"
    assert "namespace" not in cluster["metadata"]
    assert cluster["metadata"]["annotations"][naming.ANNOTATION_SOURCE] == (
        "ConfigMap (all namespaces)"
    )


def test_summaries() -> None:
    assert (
        render.source_summary({"source": {"cron": {"schedule": "0 2 * * *"}}}) == "cron 0 2 * * *"
    )
    res = {"apiVersion": "v1", "kind": "Pod", "namespaces": ["*"]}
    assert render.source_summary({"source": {"resource": res}}) == "Pod (all namespaces)"
    acts = [{"name": "a", "webhook": {}}, {"patch": {}, "name": "b"}]
    assert render.action_summary({"actions": acts}) == "webhook,patch"

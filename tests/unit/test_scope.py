"""A namespaced Trigger may need rights only in its own namespace; errors name the field."""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_trigger import rbac
from runner import API_VERSION
from runner.spec.parse import parse_trigger
from runner.spec.rbac import required_permissions
from runner.spec.scope import FIX, reach_errors, wide_writes

CM = {"apiVersion": "v1", "kind": "ConfigMap"}


def namespaced(api_version: str, kind: str) -> bool:
    return rbac.offline_resolver(api_version, kind).namespaced


def errors(spec: dict[str, Any], kind: str = "Trigger") -> list[str]:
    meta = {"name": "t"} | ({"namespace": "shop"} if kind == "Trigger" else {})
    obj = {"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": spec}
    config = parse_trigger(obj, default_namespace="kubectl-trigger-system")
    return [e.path for e in reach_errors(config, spec, namespaced)]


LOG = [{"log": {"message": "x"}}]
OUTSIDE: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "all-namespaces",
        {"source": {"resource": {**CM, "namespaces": ["*"]}}, "actions": LOG},
        ["spec.source.resource.namespaces"],
    ),
    (
        "other-namespace",
        {"source": {"resource": {**CM, "namespaces": ["shop", "bank"]}}, "actions": LOG},
        ["spec.source.resource.namespaces[1]"],
    ),
    (
        "cluster-scoped-source",
        {"source": {"resource": {"apiVersion": "v1", "kind": "Namespace"}}, "actions": LOG},
        ["spec.source.resource.kind"],
    ),
    (
        "patch-elsewhere",
        {
            "source": {"resource": CM},
            "actions": [
                {
                    "patch": {
                        "target": {**CM, "name": "x", "namespace": "bank"},
                        "patch": {"data": {"a": "b"}},
                    }
                }
            ],
        },
        ["spec.actions[0].patch.target.namespace"],
    ),
    (
        "templated-namespace",
        {
            "source": {"cron": {"schedule": "* * * * *"}},
            "actions": [
                {
                    "apply": {
                        "template": {
                            **CM,
                            "metadata": {"name": "x", "namespace": "ns-{{ .time.minute }}"},
                        }
                    }
                }
            ],
        },
        ["spec.actions[0].apply.template.metadata.namespace"],
    ),
    (
        "cluster-scoped-target",
        {
            "source": {"resource": CM},
            "actions": [
                {
                    "delete": {
                        "target": {"apiVersion": "v1", "kind": "Namespace", "name": "x"},
                    }
                }
            ],
        },
        ["spec.actions[0].delete.target.kind"],
    ),
]


@pytest.mark.parametrize(("spec", "fields"), [o[1:] for o in OUTSIDE], ids=[o[0] for o in OUTSIDE])
def test_a_trigger_reaching_outside_is_refused_naming_the_field(
    spec: dict[str, Any], fields: list[str]
) -> None:
    assert errors(spec) == fields
    assert errors(spec, "ClusterTrigger") == []  # the same spec is fine as a ClusterTrigger


def test_the_fix_points_to_cluster_trigger() -> None:
    assert "kind: ClusterTrigger" in FIX


def test_staying_home_is_fine() -> None:
    spec = {
        "source": {"resource": {**CM, "namespaces": ["shop"]}},
        "actions": [
            {"patch": {"target": {**CM, "name": "x", "namespace": "shop"}, "patch": {"a": 1}}},
            {"rolloutRestart": {"kind": "Deployment", "selector": "app=web"}},
            {"delete": {"target": {**CM, "selector": "a=b"}}},
        ],
    }
    assert errors(spec) == []


def test_a_cluster_trigger_defaults_to_every_namespace() -> None:
    obj = {
        "apiVersion": API_VERSION,
        "kind": "ClusterTrigger",
        "metadata": {"name": "t"},
        "spec": {
            "source": {"resource": CM},
            "actions": [{"delete": {"target": {**CM, "name": "{{ .object.metadata.name }}"}}}],
        },
    }
    config = parse_trigger(obj, default_namespace="kubectl-trigger-system")
    assert config.cluster_scoped and config.namespace == "kubectl-trigger-system"
    assert config.source.namespaces is None  # type: ignore[union-attr]
    perms = required_permissions(config)
    assert wide_writes(config, namespaced, perms) == ["delete ConfigMap (v1), in every namespace"]
    own = [p for p in perms if p.kind.startswith("ClusterTrigger")]
    assert {(p.kind, p.namespace, p.names) for p in own} == {
        ("ClusterTrigger", None, ("t",)),
        ("ClusterTrigger/status", None, ("t",)),
    }


def test_a_cluster_trigger_has_no_namespace() -> None:
    obj = {
        "apiVersion": API_VERSION,
        "kind": "ClusterTrigger",
        "metadata": {"name": "t", "namespace": "shop"},
        "spec": {"source": {"resource": CM}, "actions": LOG},
    }
    with pytest.raises(ValueError, match=r"metadata.namespace: a ClusterTrigger is cluster-scoped"):
        parse_trigger(obj)

"""Permissions become deterministic, least-privilege rules per scope."""

from __future__ import annotations

import pytest

from kubectl_trigger import rbac
from kubectl_trigger.errors import BadInput
from runner.permissions import Permission


def P(
    api: str, kind: str, verbs: set[str], ns: str | None, names: tuple[str, ...] = ()
) -> Permission:
    return Permission(api, kind, frozenset(verbs), ns, names)


def test_rules_are_merged_and_sorted_per_scope() -> None:
    perms = [
        P("v1", "ConfigMap", {"watch", "list", "get"}, "shop"),
        P("apps/v1", "Deployment", {"get", "list", "patch"}, "shop"),
        P("v1", "Secret", {"get"}, "shop", ("hooks",)),
        P("v1", "ConfigMap", {"get"}, "shop"),  # duplicate verbs merge
        P("v1", "Pod", {"get", "list", "watch"}, "shop"),
        P("apps/v1", "Deployment", {"get", "list", "watch"}, None),
    ]
    rules = rbac.plan_rules(perms, rbac.offline_resolver)
    assert list(rules) == ["shop", None]
    assert [r.to_dict() for r in rules["shop"]] == [
        {"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["hooks"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "patch"]},
    ]
    assert [r.to_dict() for r in rules[None]] == [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch"]},
    ]


def test_subresources_and_cluster_scoped_kinds() -> None:
    perms = [
        P("triggers.kubectl-trigger.dev/v1alpha1", "Trigger/status", {"patch"}, "a", ("t",)),
        P("v1", "Node", {"get"}, "a"),  # cluster-scoped: always a cluster rule
    ]
    rules = rbac.plan_rules(perms, rbac.offline_resolver)
    assert rules["a"][0].to_dict() == {
        "apiGroups": ["triggers.kubectl-trigger.dev"],
        "resources": ["triggers/status"],
        "verbs": ["patch"],
        "resourceNames": ["t"],
    }
    assert rules[None][0].to_dict() == {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}


def test_wildcards_are_refused() -> None:
    with pytest.raises(BadInput, match="wildcard"):
        rbac.plan_rules([P("v1", "ConfigMap", {"*"}, "a")], rbac.offline_resolver)


def test_self_permissions_are_name_restricted() -> None:
    rules = rbac.plan_rules(rbac.self_permissions("shop", "web"), rbac.offline_resolver)
    assert [r.to_dict() for r in rules["shop"]] == [
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {
            "apiGroups": ["triggers.kubectl-trigger.dev"],
            "resources": ["triggers"],
            "verbs": ["get"],
            "resourceNames": ["web"],
        },
        {
            "apiGroups": ["triggers.kubectl-trigger.dev"],
            "resources": ["triggers/status"],
            "verbs": ["get", "patch", "update"],
            "resourceNames": ["web"],
        },
    ]

"""required_permissions: the source, each action, the Trigger itself and Events; merged."""

from __future__ import annotations

from typing import Any

from runner import API_VERSION
from runner.permissions import Permission
from runner.spec.parse import parse_trigger
from runner.spec.rbac import merge_permissions, required_permissions
from tests.unit.spec_stubs import STUB_ACTIONS


def config(spec: dict[str, Any]) -> Any:
    obj = {
        "apiVersion": API_VERSION,
        "kind": "Trigger",
        "metadata": {"name": "restart-web", "namespace": "shop"},
        "spec": spec,
    }
    return parse_trigger(obj, STUB_ACTIONS)


SELF = [
    Permission(API_VERSION, "Trigger", frozenset({"get"}), "shop", ("restart-web",)),
    Permission(
        API_VERSION,
        "Trigger/status",
        frozenset({"get", "patch", "update"}),
        "shop",
        ("restart-web",),
    ),
]
EVENTS = Permission("v1", "Event", frozenset({"create", "patch"}), "shop")
WATCH = frozenset({"get", "list", "watch"})


def test_resource_source_in_its_namespaces_plus_actions_and_self() -> None:
    cfg = config(
        {
            "source": {
                "resource": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": ["a", "b"]}
            },
            "actions": [{"rolloutRestart": {"kind": "Deployment"}}, {"log": {"message": "x"}}],
        }
    )
    assert required_permissions(cfg, STUB_ACTIONS) == [
        Permission("apps/v1", "Deployment", frozenset({"get", "list", "patch"}), "shop"),
        *SELF,
        Permission("v1", "ConfigMap", WATCH, "a"),
        Permission("v1", "ConfigMap", WATCH, "b"),
        EVENTS,
    ]


def test_all_namespaces_is_none() -> None:
    cfg = config(
        {
            "source": {
                "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespaces": ["*"]}
            },
            "actions": [{"log": {"message": "x"}}],
        }
    )
    assert required_permissions(cfg, STUB_ACTIONS) == [
        Permission("apps/v1", "Deployment", WATCH, None),
        *SELF,
        EVENTS,
    ]


def test_cron_needs_only_self_and_events() -> None:
    cfg = config(
        {"source": {"cron": {"schedule": "@hourly"}}, "actions": [{"log": {"message": "x"}}]}
    )
    assert required_permissions(cfg, STUB_ACTIONS) == [*SELF, EVENTS]


def test_action_permission_merges_with_the_source_watch() -> None:
    cfg = config(
        {
            "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
            "actions": [{"patch": {}}],
        }
    )
    assert required_permissions(cfg, STUB_ACTIONS) == [
        *SELF,
        Permission("v1", "ConfigMap", frozenset({"get", "list", "watch", "patch"}), "shop"),
        EVENTS,
    ]


def test_merge_unites_verbs_and_names_and_drops_covered_grants() -> None:
    perms = [
        Permission("v1", "Secret", frozenset({"get"}), "shop", ("a",)),
        Permission("v1", "Secret", frozenset({"get"}), "shop", ("b", "a")),
        Permission("v1", "ConfigMap", frozenset({"get"}), "shop"),
        Permission("v1", "ConfigMap", frozenset({"list"}), "shop"),
        Permission("v1", "ConfigMap", frozenset({"get"}), "shop", ("x",)),
        Permission("v1", "Pod", frozenset({"get", "list"}), None),
        Permission("v1", "Pod", frozenset({"get"}), "shop"),
        Permission("v1", "Pod", frozenset({"delete"}), "shop"),
    ]
    assert merge_permissions(perms) == [
        Permission("v1", "ConfigMap", frozenset({"get", "list"}), "shop"),
        Permission("v1", "Pod", frozenset({"get", "list"}), None),
        Permission("v1", "Pod", frozenset({"delete"}), "shop"),
        Permission("v1", "Secret", frozenset({"get"}), "shop", ("a", "b")),
    ]


def test_named_grants_are_not_broader_than_any_name() -> None:
    perms = [
        Permission("v1", "Secret", frozenset({"get", "list"}), "shop", ("a",)),
        Permission("v1", "Secret", frozenset({"get"}), "shop"),
    ]
    assert merge_permissions(perms) == [
        Permission("v1", "Secret", frozenset({"get"}), "shop"),
        Permission("v1", "Secret", frozenset({"list"}), "shop", ("a",)),
    ]


def test_merge_keeps_named_grants_with_other_verbs() -> None:
    perms = [
        Permission("v1", "Secret", frozenset({"get"}), "shop", ("a",)),
        Permission("v1", "Secret", frozenset({"list"}), "shop"),
    ]
    assert merge_permissions(perms) == [
        Permission("v1", "Secret", frozenset({"list"}), "shop"),
        Permission("v1", "Secret", frozenset({"get"}), "shop", ("a",)),
    ]


def test_docs_example_with_the_real_registry() -> None:
    import runner.actions
    from tests.unit.test_parse import docs_examples

    if not getattr(runner.actions, "ACTIONS", None):
        import pytest

        pytest.skip("the action registry (runner.actions.ACTIONS) has not landed yet")
    cfg = parse_trigger(docs_examples()[0])
    perms = required_permissions(cfg)
    assert Permission("v1", "ConfigMap", WATCH, "shop") in perms
    assert Permission(API_VERSION, "Trigger", frozenset({"get"}), "shop", (cfg.name,)) in perms
    status_verbs = frozenset({"get", "patch", "update"})
    assert Permission(API_VERSION, "Trigger/status", status_verbs, "shop", (cfg.name,)) in perms
    assert any(p.kind == "Deployment" and "patch" in p.verbs for p in perms)

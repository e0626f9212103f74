"""Names and labels of derived objects."""

from __future__ import annotations

from kubectl_trigger import naming


def test_short_names_are_prefixed() -> None:
    assert naming.derived_name("web") == "trigger-web"
    assert naming.cluster_name("shop", "web") == "trigger-shop-web"


def test_long_names_are_truncated_with_a_hash() -> None:
    long = "a" * 80
    name = naming.derived_name(long)
    assert len(name) == 63
    assert name.startswith("trigger-aaaa")
    assert name != naming.derived_name("a" * 81)  # different inputs, different names
    assert naming.derived_name(long) == name  # deterministic


def test_label_values_are_valid() -> None:
    assert naming.label_value("web.v2") == "web.v2"
    assert len(naming.label_value("x" * 200)) == 63
    labels = naming.labels("shop", "web")
    assert labels == {
        "app.kubernetes.io/name": "kubectl-trigger",
        "app.kubernetes.io/component": "runner",
        "app.kubernetes.io/managed-by": "kubectl-trigger",
        "triggers.kubectl-trigger.dev/trigger": "web",
        "triggers.kubectl-trigger.dev/trigger-namespace": "shop",
    }
    assert naming.selector("shop", "web") == (
        "app.kubernetes.io/managed-by=kubectl-trigger,"
        "triggers.kubectl-trigger.dev/trigger=web,"
        "triggers.kubectl-trigger.dev/trigger-namespace=shop"
    )

"""Names and labels of derived objects."""

from __future__ import annotations

from kubectl_trigger import naming


def test_short_names_are_prefixed() -> None:
    assert naming.derived_name("web") == "trigger-web"
    assert naming.Ref.trigger("shop", "web").derived_name == "trigger-web"
    assert naming.Ref.cluster("web").derived_name == "clustertrigger-web"


def test_names_and_selectors_are_unique_per_kind_namespace_and_name() -> None:
    # issue 8 item 7: s6-x/y-z and s6-x-y/z once both became trigger-s6-x-y-z
    refs = [
        naming.Ref.trigger("s6-x", "y-z"),
        naming.Ref.trigger("s6-x-y", "z"),
        naming.Ref.cluster("y-z"),
        naming.Ref.cluster("s6-x-y-z"),
        naming.Ref.trigger("s6-x", "clustertrigger-y-z"),
    ]
    # objects sharing a namespace never share a name; cluster-scoped ones are ClusterTriggers'
    homes = {r: (r.namespace or "kubectl-trigger-system") for r in refs}
    placed = {(homes[r], r.derived_name) for r in refs}
    assert len(placed) == len(refs)
    assert len({r.derived_name for r in refs if r.cluster_scoped}) == 2
    assert len({r.selector() for r in refs}) == len(refs)
    for r in refs:
        for other in refs:
            assert r.owns(other.labels()) == (r == other), (r, other)


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

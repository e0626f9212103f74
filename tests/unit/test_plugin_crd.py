"""The committed CRD manifests are exactly what kubectl_trigger.crd generates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubectl_trigger import crd
from kubectl_trigger.commands import get

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", ["manifests/crd.yaml", "kubectl_trigger/manifests/crd.yaml"])
def test_committed_crd_matches_generator(path: str) -> None:
    committed = (ROOT / path).read_text(encoding="utf-8")
    assert committed == crd.render_yaml(), f"{path} is stale: run `make crd`"


def test_crds_are_structural_without_refs() -> None:
    text = crd.render_yaml()
    assert "$ref" not in text
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert [d["spec"]["names"]["kind"] for d in docs] == [
        "Trigger",
        "ClusterTrigger",
        "TriggerTemplate",
    ]

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            if "properties" in node or "items" in node:
                assert "type" in node, f"{path}: a structural node needs a type"
            if "type" not in node and not path.endswith(("additionalProperties", "jsonPath")):
                assert node.get("x-kubernetes-preserve-unknown-fields") or node.get(
                    "x-kubernetes-int-or-string"
                ), f"{path}: untyped node without preserve-unknown-fields/int-or-string"
            for key in ("properties",):
                for name, child in (node.get(key) or {}).items():
                    walk(child, f"{path}.{name}")
            if isinstance(node.get("items"), dict):
                walk(node["items"], f"{path}[]")
            if isinstance(node.get("additionalProperties"), dict):
                walk(node["additionalProperties"], f"{path}{{}}")

    for d in docs:
        walk(d["spec"]["versions"][0]["schema"]["openAPIV3Schema"], d["metadata"]["name"])


def test_trigger_crd_has_status_short_name_and_columns() -> None:
    trigger = crd.trigger_crd()
    version = trigger["spec"]["versions"][0]
    assert trigger["metadata"]["name"] == "triggers.triggers.kubectl-trigger.dev"
    assert trigger["spec"]["names"]["shortNames"] == ["trg"]
    assert version["subresources"] == {"status": {}}
    names = [c["name"] for c in version["additionalPrinterColumns"]]
    assert names == [
        "Source",
        "Actions",
        "Ready",
        "Reason",
        "Synced",
        "Fired",
        "Last Fired",
        "Age",
        "Failed",
        "Seen",
        "Last Error",
    ]


def test_cluster_trigger_crd_is_the_trigger_crd_cluster_scoped() -> None:
    trigger, cluster = crd.trigger_crd(), crd.cluster_trigger_crd()
    assert cluster["metadata"]["name"] == "clustertriggers.triggers.kubectl-trigger.dev"
    assert cluster["spec"]["scope"] == "Cluster" and trigger["spec"]["scope"] == "Namespaced"
    assert cluster["spec"]["names"]["shortNames"] == ["ctrg"]
    schemas = [c["spec"]["versions"][0]["schema"]["openAPIV3Schema"] for c in (trigger, cluster)]
    assert schemas[0]["properties"] == schemas[1]["properties"]
    assert (
        cluster["spec"]["versions"][0]["additionalPrinterColumns"]
        == trigger["spec"]["versions"][0]["additionalPrinterColumns"]
    )


def test_get_columns_are_the_crd_printer_columns() -> None:
    assert list(get.COLUMNS) == [c[0] for c in crd.TRIGGER_COLUMNS]
    assert tuple(c[0] for c in crd.TRIGGER_COLUMNS) == get.WIDE
    assert tuple(c[0] for c in crd.TRIGGER_COLUMNS if c[3] == 0) == get.NORMAL


def test_every_action_key_is_in_the_schema() -> None:
    actions = crd.trigger_spec()["properties"]["actions"]["items"]
    assert set(actions["properties"]) == {"name", *crd.ACTION_SCHEMAS}
    rule = actions["x-kubernetes-validations"][0]
    assert rule["rule"].endswith("== 1")
    assert all(f"has(self.{k})" in rule["rule"] for k in crd.ACTION_SCHEMAS)

"""The CLI through typer's CliRunner: offline commands, flag checks, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kubectl_trigger.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
runner = CliRunner()

GOOD = """\
apiVersion: triggers.kubectl-trigger.dev/v1alpha1
kind: Trigger
metadata: {name: web}
spec:
  source: {resource: {apiVersion: v1, kind: ConfigMap}}
  actions: [{log: {message: "{{ .object.metadata.name }} changed"}}]
"""


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_validates_and_renders_offline(path: Path) -> None:
    code, out, err = invoke("validate", "--offline", "-f", str(path), "-n", "demo")
    assert code == 0, err
    assert out.endswith(" is valid\n")
    code, out, err = invoke("render", "--offline", "-f", str(path), "-n", "demo")
    assert code == 0, err
    docs = [d for d in yaml.safe_load_all(out) if d]
    kinds = [d["kind"] for d in docs if d["kind"] != "TriggerTemplate"]
    assert kinds[0] in ("Trigger", "ClusterTrigger") and kinds[-1] == "Deployment"
    assert {"ServiceAccount", "Role", "RoleBinding"} <= set(kinds)
    # a Trigger's objects all in its namespace; a ClusterTrigger's runner in the controlled one
    home = "demo" if kinds[0] == "Trigger" else "kubectl-trigger-system"
    for doc in docs:
        if doc["kind"] in ("Role", "RoleBinding") and kinds[0] == "ClusterTrigger":
            continue  # where its rights are: the namespaces it reaches, and default (Events)
        assert doc["metadata"].get("namespace", home) == home, doc["kind"]
    if kinds[0] == "Trigger":
        assert not {"ClusterRole", "ClusterRoleBinding"} & set(kinds)
    for role in (d for d in docs if d["kind"] in ("Role", "ClusterRole")):
        assert all("*" not in r["verbs"] and "*" not in r["resources"] for r in role["rules"])


def test_render_from_stdin_has_the_spec_hash() -> None:
    code, out, _ = invoke("render", "--offline", "-f", "-", "-n", "a", input=GOOD)
    assert code == 0
    dep = [d for d in yaml.safe_load_all(out) if d][-1]
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert len(annotations["triggers.kubectl-trigger.dev/spec-hash"]) == 64


def test_bad_yaml_is_exit_2_naming_the_line() -> None:
    code, out, err = invoke("validate", "--offline", "-f", "-", input="kind: [\n")
    assert code == 2
    assert out == ""
    assert "<stdin>:2:1: invalid YAML" in err


def test_invalid_spec_names_the_field() -> None:
    bad = GOOD.replace("{log:", "{noSuchAction:")
    code, _, err = invoke("validate", "--offline", "-f", "-", input=bad)
    assert code == 2
    assert "spec.actions[0]" in err
    assert "nothing was created or changed" in err


def test_wrong_kind_and_missing_name() -> None:
    code, _, err = invoke(
        "validate",
        "--offline",
        "-f",
        "-",
        input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    assert code == 2 and "kind: expected Trigger, ClusterTrigger or TriggerTemplate" in err
    code, _, err = invoke(
        "validate",
        "--offline",
        "-f",
        "-",
        input=GOOD.replace("metadata: {name: web}", "metadata: {}"),
    )
    assert code == 2 and "metadata.name: required" in err


def test_unknown_top_level_fields_are_named_not_dropped() -> None:
    typo = GOOD.replace("spec:", "spce:")
    code, out, err = invoke("validate", "--offline", "-f", "-", input=typo)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "error: invalid input (2 problems); nothing was created or changed",
        "  - <stdin>: spce: unknown field; did you mean spec?",
        "  - <stdin>: spec: required; a mapping with source and actions",
    ]
    extra = GOOD + "sepc: {}\nlabels: {app: web}\n"
    template = "apiVersion: triggers.kubectl-trigger.dev/v1alpha1\nkind: TriggerTemplate\n"
    template += "metadata: {name: t}\nspec: {}\nstatus: {}\n"
    code, out, err = invoke("validate", "--offline", "-f", "-", input=extra + "---\n" + template)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "error: invalid input (3 problems); nothing was created or changed",
        "  - <stdin>#2: status: unknown field; known fields: apiVersion, kind, metadata, spec",
        "  - <stdin>#1: sepc: unknown field; did you mean spec?",
        "  - <stdin>#1: labels: unknown field; known fields: apiVersion, kind, metadata, spec, "
        "status",
    ]


def test_namespace_flag_conflicting_with_document() -> None:
    doc = GOOD.replace("metadata: {name: web}", "metadata: {name: web, namespace: a}")
    code, _, err = invoke("validate", "--offline", "-f", "-", "-n", "b", input=doc)
    assert code == 2
    assert "metadata.namespace 'a' does not match --namespace 'b'" in err


def test_duplicate_trigger_in_input() -> None:
    code, _, err = invoke("validate", "--offline", "-f", "-", input=GOOD + "---\n" + GOOD)
    assert code == 2 and "appears twice" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("create",), "-f"),
        (("create", "-f", "x.yaml", "--dry-run", "maybe"), "--dry-run"),
        (("get", "-o", "table"), "-o"),
        (("logs", "x", "--since", "5 minutes"), "--since"),
    ],
)
def test_usage_errors_are_exit_2_naming_the_flag(args: tuple[str, ...], needle: str) -> None:
    code, _, err = invoke(*args)
    assert code == 2
    assert needle in err


def test_help_lists_every_command() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for name in (
        "create",
        "apply",
        "get",
        "list",
        "describe",
        "logs",
        "delete",
        "render",
        "validate",
        "test",
        "run",
        "install",
        "uninstall",
        "version",
    ):
        assert name in out


def test_version_client_needs_no_cluster() -> None:
    code, out, _ = invoke("version", "--client")
    assert code == 0
    assert out.splitlines() == [
        "Plugin Version: 0.1.0",
        "Runner Image: ghcr.io/kubectl-trigger/runner:0.1.0",
        "Trigger API: triggers.kubectl-trigger.dev/v1alpha1",
    ]


def test_no_kubeconfig_is_exit_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    code, _, err = invoke("get")
    assert code == 4
    assert "kubeconfig" in err


def test_install_dry_run_client_prints_the_crds() -> None:
    code, out, _ = invoke("install", "--dry-run", "client")
    assert code == 0
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("CustomResourceDefinition", "triggers.triggers.kubectl-trigger.dev"),
        ("CustomResourceDefinition", "clustertriggers.triggers.kubectl-trigger.dev"),
        ("CustomResourceDefinition", "triggertemplates.triggers.kubectl-trigger.dev"),
        ("ValidatingAdmissionPolicy", "kubectl-trigger-controlled-namespace"),
        ("ValidatingAdmissionPolicyBinding", "kubectl-trigger-controlled-namespace"),
        ("Namespace", "kubectl-trigger-system"),
        ("ClusterRole", "kubectl-trigger-admin"),
        ("ClusterRole", "kubectl-trigger-edit"),
        ("ClusterRole", "kubectl-trigger-view"),
    ]
    annotations = docs[1]["metadata"]["annotations"]
    assert annotations["triggers.kubectl-trigger.dev/system-namespace"] == "kubectl-trigger-system"
    assert docs[1]["spec"]["scope"] == "Cluster"
    assert set(docs[6]["metadata"]["labels"]) >= {"rbac.authorization.k8s.io/aggregate-to-admin"}
    labels = docs[7]["metadata"]["labels"]
    assert labels["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert labels["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"
    assert "rbac.authorization.k8s.io/aggregate-to-view" in docs[8]["metadata"]["labels"]
    # ClusterTriggers are aggregated into no built-in role
    for role in docs[6:]:
        assert all("clustertriggers" not in r["resources"] for r in role["rules"])
    code, out, _ = invoke("install", "--dry-run", "client", "--system-namespace", "ops-triggers")
    assert code == 0 and "name: ops-triggers" in out
    guard = next(
        d for d in yaml.safe_load_all(out) if d and d["kind"] == "ValidatingAdmissionPolicy"
    )
    assert guard["spec"]["matchConditions"][0]["expression"].endswith(" in ['ops-triggers']")
    assert "namespace ops-triggers is a controlled namespace" in out
    code, _, err = invoke("install", "--dry-run", "client", "--system-namespace", "Bad_NS")
    assert code == 2 and "--system-namespace" in err


def test_template_from_the_same_input_is_expanded() -> None:
    template = """\
apiVersion: triggers.kubectl-trigger.dev/v1alpha1
kind: TriggerTemplate
metadata: {name: notify}
spec:
  actions: [{log: {message: "from template"}}]
---
"""
    uses = GOOD.replace(
        '[{log: {message: "{{ .object.metadata.name }} changed"}}]', "[{use: {name: notify}}]"
    )
    code, out, err = invoke("render", "--offline", "-f", "-", "-n", "a", input=template + uses)
    assert code == 0, err
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert [d["kind"] for d in docs[:2]] == ["TriggerTemplate", "Trigger"]
    trig = docs[1]
    assert trig["spec"]["actions"] == [{"use": {"name": "notify"}}]
    (dep,) = [d for d in docs if d["kind"] == "Deployment"]
    env = {
        e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    expanded = yaml.safe_load(env["TRIGGER_SPEC"].replace("$$", "$"))
    assert expanded["actions"] == [{"log": {"message": "from template"}}]

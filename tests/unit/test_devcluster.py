"""Fast checks of the devcluster's pure parts: PKI, env building, allowlist, stages, supervision."""

from __future__ import annotations

import base64
import io
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from devcluster import cluster, images, kwok, layout, pki, podenv, processes
from devcluster.api import ApiError
from devcluster.podemu import ContainerLog


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_pki_serving_cert_covers_local_names_and_chains_to_the_ca(tmp_path: Path) -> None:
    pki.generate(tmp_path)
    ca, serving = _cert(tmp_path / "ca.crt"), _cert(tmp_path / "serving.crt")
    serving.verify_directly_issued_by(ca)
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1"}
    assert "kubernetes.default.svc" in sans.get_values_for_type(x509.DNSName)
    assert pki.pki_complete(tmp_path)


def test_pki_admin_is_in_system_masters_and_sa_keys_match(tmp_path: Path) -> None:
    pki.generate(tmp_path)
    admin = _cert(tmp_path / "admin.crt")
    admin.verify_directly_issued_by(_cert(tmp_path / "ca.crt"))
    orgs = [a.value for a in admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == ["system:masters"]
    private = serialization.load_pem_private_key((tmp_path / "sa.key").read_bytes(), None)
    public = serialization.load_pem_public_key((tmp_path / "sa.pub").read_bytes())
    assert private.public_key().public_numbers() == public.public_numbers()  # type: ignore[union-attr]


def test_kubeconfig_points_at_server_and_client_files(tmp_path: Path) -> None:
    doc = yaml.safe_load(pki.kubeconfig("https://127.0.0.1:1", tmp_path, "scheduler"))
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:1"
    assert doc["users"][0]["name"] == "system:kube-scheduler"
    assert doc["users"][0]["user"]["client-key"] == str(tmp_path / "scheduler.key")


@pytest.mark.parametrize(
    ("image", "emulated"),
    [
        ("ghcr.io/kubectl-trigger/runner:0.1.0", True),
        ("ghcr.io/kubectl-trigger/runner", True),
        ("ghcr.io/kubectl-trigger/runner@sha256:" + "a" * 64, True),
        ("localhost/kt-test/anything:1", True),
        ("ghcr.io/kubectl-trigger/runner-evil:1", False),
        ("docker.io/library/python:3.11", False),
        ("localhost/other/x", False),
    ],
)
def test_allowlist(image: str, emulated: bool) -> None:
    assert (images.lookup(image) is not None) is emulated
    assert bool(re.search(images.PATTERN, image)) is emulated  # what kwok's stages use


def test_stages_leave_emulated_pods_to_the_emulator() -> None:
    stages = {s["metadata"]["name"]: s for s in kwok.stages(17250)}
    assert set(stages) == {
        "node-initialize",
        "node-heartbeat",
        "pod-ready",
        "pod-complete",
        "pod-delete",
    }
    for name in ("pod-delete", "pod-complete"):
        exprs = stages[name]["spec"]["selector"]["matchExpressions"]
        assert {"key": kwok.EMULATED_QUERY, "operator": "NotIn", "values": ["true"]} in exprs
    assert "Port: 17250" in stages["node-initialize"]["spec"]["next"]["statusTemplate"]


def test_cri_log_line_format() -> None:
    line = kwok.cri_log_line("stderr", "boom")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z stderr F boom\n", line)


def test_container_log_pump_writes_cri_lines(tmp_path: Path) -> None:
    out = ContainerLog(tmp_path / "c.log")
    out.pump("stdout", io.BytesIO(b"one\ntwo without newline"))
    lines = (tmp_path / "c.log").read_text().splitlines()
    assert [line.split(" ", 3)[1:] for line in lines] == [
        ["stdout", "F", "one"],
        ["stdout", "F", "two without newline"],
    ]


def test_expand_follows_kubernetes_rules() -> None:
    assert podenv.expand("$(A)-$$(A)-$(MISSING)", {"A": "x"}) == "x-$(A)-$(MISSING)"


def test_argv_runs_test_images_with_the_project_interpreter_and_the_runner_in_its_image() -> None:
    container = {"name": "c", "image": "localhost/kt-test/x", "command": ["python3", "-c"]}
    assert podenv.argv({**container, "args": ["print($(V))"]}, {"V": "1"}) == [
        sys.executable,
        "-c",
        "print(1)",
    ]
    # the runner image's entrypoint, run by the image's own python inside its rootfs
    runner = {"name": "r", "image": "ghcr.io/kubectl-trigger/runner:0.1.0", "args": ["--x"]}
    assert podenv.argv(runner, {}) == ["python", "-m", "runner", "--x"]
    with pytest.raises(podenv.ContainerConfigError, match="must give `command`"):
        podenv.argv({"name": "c", "image": "localhost/kt-test/x"}, {})


POD: dict[str, Any] = {
    "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"app": "web"}},
    "spec": {"nodeName": "kt-node", "serviceAccountName": "runner"},
}


class FakeApi:
    """Answers GETs for one Secret and one ConfigMap; 404 otherwise."""

    objects: ClassVar[dict[str, dict[str, Any]]] = {
        "/api/v1/namespaces/ns/secrets/s": {"data": {"k": base64.b64encode(b"secret!").decode()}},
        "/api/v1/namespaces/ns/configmaps/c": {"data": {"k": "plain", "other": "o"}},
    }

    def get(self, path: str) -> dict[str, Any]:
        if path not in self.objects:
            raise ApiError(404, "GET", path, "not found")
        return self.objects[path]


def test_pod_env_resolves_refs_and_downward_api() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "c"}, "prefix": "CM_"}],
        "env": [
            {"name": "PLAIN", "value": "v-$(CM_k)"},
            {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {
                "name": "OPT",
                "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k", "optional": True}},
            },
        ],
    }
    env = podenv.pod_env(FakeApi(), POD, container)  # type: ignore[arg-type]
    assert env == {
        "CM_k": "plain",
        "CM_other": "o",
        "PLAIN": "v-plain",
        "NAME": "p",
        "SA": "runner",
        "APP": "web",
        "S": "secret!",
    }
    missing = {"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "no"}}}]}
    with pytest.raises(podenv.ContainerConfigError, match="has no key"):
        podenv.pod_env(FakeApi(), POD, missing)  # type: ignore[arg-type]


def test_full_env_keeps_host_credentials_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "/admin/kubeconfig")
    declared = {"PYTHONUNBUFFERED": "0", "RUNNER_METRICS_ADDRESS": "0.0.0.0:9090"}
    env = podenv.full_env(declared, POD, 16443, Path("/sa"))
    assert "KUBECONFIG" not in env
    assert env["PYTHONUNBUFFERED"] == "0"  # the pod overrides image defaults
    assert env["RUNNER_METRICS_ADDRESS"] == "127.0.0.1:0"  # the emulator overrides the pod
    assert env["KUBERNETES_SERVICE_PORT"] == "16443"
    assert env["KT_SERVICEACCOUNT_DIR"] == "/sa"


def test_full_env_in_the_image_has_no_host_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/host/bin")
    monkeypatch.setenv("HOME", "/root")
    declared = {"TRIGGER_SPEC": "{}", "RUNNER_METRICS_ADDRESS": "0.0.0.0:8080"}
    env = podenv.full_env(declared, POD, 16443, Path("/sa"), in_image=True)
    # the image's ENV and HOME come from the sandbox; the token is at the standard mount
    assert env == {
        "HOSTNAME": "p",
        "TRIGGER_SPEC": "{}",
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": "16443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "16443",
        "RUNNER_METRICS_ADDRESS": "127.0.0.1:0",
    }


def test_wants_token_respects_automount_unless_a_token_volume_asks() -> None:
    off = {"spec": {"automountServiceAccountToken": False}}
    assert not podenv.wants_token(off)
    projected = {"projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}
    assert podenv.wants_token({"spec": {**off["spec"], "volumes": [projected]}})
    assert podenv.wants_token({"spec": {}})


def test_bad_port_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KT_APISERVER_PORT", "high")
    with pytest.raises(ValueError, match="KT_APISERVER_PORT"):
        layout.ports_from_env()


def test_process_supervision_start_and_stop(tmp_path: Path) -> None:
    script = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    pid = processes.start("sleeper", [sys.executable, "-c", script], tmp_path, tmp_path)
    assert processes.running_pid(tmp_path, "sleeper") == pid
    deadline = time.monotonic() + 10
    while len(processes.group_members(pid)) < 2:  # the python child and its sleep
        assert time.monotonic() < deadline, "the grandchild never started"
        time.sleep(0.02)
    assert processes.stop(tmp_path, "sleeper", grace=5)
    assert processes.group_members(pid) == []  # the grandchild went too
    assert processes.running_pid(tmp_path, "sleeper") is None


def test_port_in_use() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert processes.port_in_use(port)
    assert not processes.port_in_use(port)


def test_condition_of_an_object_that_has_no_conditions_yet() -> None:
    """A CRD read just after its creation has no status.conditions (a race seen in CI)."""
    assert cluster._condition({"metadata": {}}, "Established") is False
    assert cluster._condition({"status": {"conditions": None}}, "Established") is False
    established = {"status": {"conditions": [{"type": "Established", "status": "True"}]}}
    assert cluster._condition(established, "Established") is True
    assert cluster._condition(established, "NamesAccepted") is False

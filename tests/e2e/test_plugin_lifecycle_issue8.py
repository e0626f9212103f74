"""Issue 8's lifecycle items, each against the real API server.

``test`` with Secret-sourced values (3), README's Install as written (4),
``uninstall`` and a cluster without the CRDs (5), warnings about referenced
Secrets on ``create`` (6), ``delete -f`` of what ``create -f`` made (8), ``logs
-f`` across a runner restart (9), ``kubectl trigger <TAB>`` through the real
kubectl (10), and many triggers from one file written concurrently, each all
or nothing (11).
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.plugin_support import (  # noqa: F401 - fixture
    FAKE_IMAGE,
    GROUP,
    REPO,
    get_or_none,
    installed,
    labelled,
    plugin,
    plugin_argv,
    running_pod,
    submit,
    submit_text,
    trigger_yaml,
)
from tests.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

EXAMPLES = REPO / "examples"
LOG_SPEC = {
    "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
    "actions": [{"log": {"message": "x"}}],
}
FAILED_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web-1", "labels": {"app": "web"}},
    "status": {"phase": "Failed", "reason": "Evicted"},
}
SECRET_URL = "https://hooks.example/services/T0KEN-in-the-path"
INSTALL_HINT = "the Trigger CRD is not installed in this cluster; run: kubectl trigger install"


def _secret(cluster: Cluster, namespace: str, name: str, **data: str) -> None:
    cluster.kubectl("delete", "secret", name, "-n", namespace, "--ignore-not-found")
    literals = [f"--from-literal={k}={v}" for k, v in data.items()]
    cluster.kubectl("create", "secret", "generic", name, "-n", namespace, *literals)


def _token_kubeconfig(cluster: Cluster, namespace: str, account: str, path: Path) -> str:
    """A kubeconfig for ServiceAccount ``account``, which holds no rights at all."""
    cluster.kubectl("create", "serviceaccount", account, "-n", namespace)
    token = cluster.kubectl("create", "token", account, "-n", namespace).stdout.strip()
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    server = dict(admin["clusters"][0]["cluster"])
    if "certificate-authority" in server:  # make the CA path absolute for the new file
        ca = Path(server.pop("certificate-authority"))
        ca = ca if ca.is_absolute() else Path(cluster.kubeconfig).parent / ca
        server["certificate-authority-data"] = base64.b64encode(ca.read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": server}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": account}}],
        "current-context": "c",
    }
    path.write_text(yaml.safe_dump(config))
    return str(path)


# --- 3: test reads secret-sourced values, and never reports a failure that would not happen


def test_test_uses_secret_values_it_may_read_and_never_shows_them(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    example = str(EXAMPLES / "webhook-on-pod-failure.yaml")
    pod = tmp_path / "pod.yaml"
    pod.write_text(yaml.safe_dump(FAILED_POD))
    run = ("test", "-f", example, "--object", str(pod), "-n", namespace)

    # the Secret as the example's comment creates it: the action would work
    _secret(cluster, namespace, "alert-hook", url=SECRET_URL)
    proc = plugin(cluster, *run)
    assert "would fail" not in proc.stdout and "not checked" not in proc.stdout
    assert "POST <secret alert-hook/url>" in proc.stdout
    assert f"Secret {namespace}/alert-hook key 'url': read with your rights" in proc.stdout
    assert '"text": "Pod ' in proc.stdout  # the rendered body is shown
    assert "T0KEN" not in proc.stdout + proc.stderr and "hooks.example" not in proc.stdout

    # a value the runner would refuse: a real failure, reported as one
    _secret(cluster, namespace, "alert-hook", url="not a url")
    proc = plugin(cluster, *run)
    assert "would fail: secret alert-hook/url does not hold an http(s) URL" in proc.stdout

    # a missing key is a real failure too
    _secret(cluster, namespace, "alert-hook", other="x")
    proc = plugin(cluster, *run)
    assert f"would fail: Secret {namespace}/alert-hook key 'url'" in proc.stdout
    assert "no such key" in proc.stdout

    # not read (--offline, or no rights): said so, and no failure is claimed
    _secret(cluster, namespace, "alert-hook", url=SECRET_URL)
    proc = plugin(cluster, *run, "--offline")
    assert "would fail" not in proc.stdout
    assert f"Secret {namespace}/alert-hook key 'url': not read (--offline)" in proc.stdout
    nobody = _token_kubeconfig(cluster, namespace, "nobody", tmp_path / "nobody.yaml")
    proc = plugin(cluster, *run, "--kubeconfig", nobody)
    assert proc.returncode == 0
    assert "would fail" not in proc.stdout
    assert f"Secret {namespace}/alert-hook key 'url': not read (you may not read it" in proc.stdout
    assert "T0KEN" not in proc.stdout + proc.stderr


# --- 4: README's Install section runs as written


def _readme_install_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Install", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README's Install section has no sh block"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    installs_the_plugin = ("pip ", "kubectl krew ")  # this checkout's plugin is the one used
    return [line for line in lines if line and not line.startswith(installs_the_plugin)]


def test_readme_install_section_runs_in_order(cluster: Cluster) -> None:
    commands = _readme_install_commands()
    assert any(c.startswith("kubectl trigger create") for c in commands)
    namespaces = {m for c in commands for m in re.findall(r"-n (\S+)", c)}
    for ns in namespaces:  # the reader's cluster does not have them yet
        cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true")
    try:
        for command in commands:
            words = command.split()
            assert words[0] == "kubectl", command
            if words[1] == "trigger":
                proc = plugin(cluster, *words[2:], check=False)
            else:
                proc = cluster.kubectl(*words[1:], check=False)
            assert proc.returncode == 0, f"{command}\n{proc.stdout}{proc.stderr}"
    finally:
        for ns in namespaces:
            cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false")


# --- 5: uninstall keeps users' triggers unless told; without the CRDs every command says so


def _crds(cluster: Cluster) -> list[str]:
    out = cluster.kubectl("get", "crd", "-o", "name").stdout.split()
    return sorted(n.split("/", 1)[1] for n in out if n.endswith(GROUP))


@pytest.fixture
def reinstalled(cluster: Cluster) -> Iterator[Cluster]:
    """The CRDs are installed again after the test, whatever it did to them."""
    yield cluster
    plugin(cluster, "install")


def test_uninstall_refuses_while_triggers_exist_and_dry_run_changes_nothing(
    cluster: Cluster, namespace: str, reinstalled: Cluster
) -> None:
    plugin(cluster, "create", "-f", str(EXAMPLES / "template-shared-actions.yaml"), "-n", namespace)
    before = _crds(cluster)
    assert f"triggers.{GROUP}" in before

    refused = plugin(cluster, "uninstall", check=False)
    assert refused.returncode == 1
    assert "--delete-triggers" in refused.stderr
    assert f"{namespace}/log-secret-changes" in refused.stderr
    assert f"{namespace}/log-change" in refused.stderr  # the TriggerTemplate
    assert _crds(cluster) == before
    assert get_or_none(cluster, "trigger", "log-secret-changes", "-n", namespace)

    dry = plugin(cluster, "uninstall", "--dry-run", "--delete-triggers")
    listed = dry.stdout
    for crd in before:
        assert f"customresourcedefinition.apiextensions.k8s.io/{crd}" in listed
    assert f"trigger.{GROUP}/log-secret-changes (namespace {namespace})" in listed
    assert f"triggertemplate.{GROUP}/log-change (namespace {namespace})" in listed
    assert "deployment.apps/" in listed and "serviceaccount/" in listed  # derived objects
    assert "(dry run)" in listed
    assert _crds(cluster) == before
    assert get_or_none(cluster, "trigger", "log-secret-changes", "-n", namespace)
    assert labelled(cluster, "deployments,serviceaccounts", namespace, "log-secret-changes")


def test_without_the_crds_every_command_says_to_install(
    cluster: Cluster, namespace: str, tmp_path: Path, reinstalled: Cluster
) -> None:
    submit(cluster, "create", namespace, "web", LOG_SPEC)
    gone = plugin(cluster, "uninstall", "--delete-triggers")
    assert f"trigger.{GROUP}/web (namespace {namespace}) deleted" in gone.stdout
    assert _crds(cluster) == []

    file = tmp_path / "t.yaml"
    file.write_text(trigger_yaml("web", LOG_SPEC))
    for args in (
        ("get", "-A"),
        ("get", "-n", namespace),
        ("get", "web", "-n", namespace),
        ("describe", "web", "-n", namespace),
        ("logs", "web", "-n", namespace),
        ("delete", "web", "-n", namespace),
        ("create", "-f", str(file), "-n", namespace, "--image", FAKE_IMAGE),
        ("apply", "-f", str(file), "-n", namespace, "--image", FAKE_IMAGE),
    ):
        proc = plugin(cluster, *args, check=False)
        assert proc.returncode == 3, (args, proc.stdout, proc.stderr)
        assert INSTALL_HINT in proc.stderr, (args, proc.stderr)
        assert "404 page not found" not in proc.stderr
    assert (
        cluster.kubectl("get", "serviceaccounts", "-n", namespace, "-o", "name").stdout.find(
            "trigger-web"
        )
        == -1
    )  # create wrote nothing


# --- 6: create and apply warn about missing or unreadable Secrets, and still succeed


def test_create_warns_for_each_missing_secret_or_key(cluster: Cluster, namespace: str) -> None:
    spec = {
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
        "actions": [
            {"name": "hook", "webhook": {"url": {"secretKeyRef": {"name": "hooks", "key": "url"}}}},
            {
                "name": "chat",
                "slack": {"url": {"secretKeyRef": {"name": "chat", "key": "url"}}, "text": "hi"},
            },
            {"name": "fine", "webhook": {"url": {"secretKeyRef": {"name": "ok", "key": "url"}}}},
        ],
    }
    _secret(cluster, namespace, "chat", other="x")  # exists, without the key
    _secret(cluster, namespace, "ok", url=SECRET_URL)
    proc = submit(cluster, "create", namespace, "w", spec)
    assert proc.returncode == 0
    warnings = [line for line in proc.stderr.splitlines() if "Warning" in line]
    assert len(warnings) == 2, proc.stderr
    assert f"Secret {namespace}/hooks key 'url'" in warnings[0]
    assert "does not exist" in warnings[0] and "spec.actions[0] (hook)" in warnings[0]
    assert f"Secret {namespace}/chat key 'url'" in warnings[1] and "no such key" in warnings[1]
    assert "T0KEN" not in proc.stderr
    assert get_or_none(cluster, "trigger", "w", "-n", namespace)

    _secret(cluster, namespace, "hooks", url=SECRET_URL)
    _secret(cluster, namespace, "chat", url=SECRET_URL)
    again = submit(cluster, "apply", namespace, "w", spec)
    assert "Warning" not in again.stderr


# --- 8: delete -f removes what create -f made; --ignore-not-found reports nothing missing


def test_delete_file_removes_templates_too_and_ignore_not_found_is_silent(
    cluster: Cluster, namespace: str
) -> None:
    example = str(EXAMPLES / "template-shared-actions.yaml")
    plugin(cluster, "create", "-f", example, "-n", namespace, "--image", FAKE_IMAGE)
    assert get_or_none(cluster, "triggertemplate", "log-change", "-n", namespace)

    proc = plugin(cluster, "delete", "-f", example, "-n", namespace)
    assert f"trigger.{GROUP}/log-secret-changes deleted" in proc.stdout
    assert f"triggertemplate.{GROUP}/log-change deleted" in proc.stdout
    assert get_or_none(cluster, "triggertemplate", "log-change", "-n", namespace) is None
    assert get_or_none(cluster, "trigger", "log-secret-changes", "-n", namespace) is None

    missing = plugin(cluster, "delete", "-f", example, "-n", namespace, check=False)
    assert missing.returncode == 3 and "not found" in missing.stderr
    quiet = plugin(cluster, "delete", "-f", example, "-n", namespace, "--ignore-not-found")
    assert quiet.stdout == ""
    quiet = plugin(cluster, "delete", "nope", "-n", namespace, "--ignore-not-found")
    assert quiet.stdout == "" and "nope" not in quiet.stderr

    # one there, one not: only the one there is reported
    submit(cluster, "create", namespace, "here", LOG_SPEC)
    both = plugin(cluster, "delete", "here", "gone", "-n", namespace, "--ignore-not-found")
    assert both.stdout == f"trigger.{GROUP}/here deleted\n"

    # without the flag, as kubectl: what exists is deleted, the missing one named, exit 3
    submit(cluster, "create", namespace, "here", LOG_SPEC)
    partly = plugin(cluster, "delete", "gone", "here", "-n", namespace, check=False)
    assert partly.returncode == 3, partly.stderr
    assert partly.stdout == f"trigger.{GROUP}/here deleted\n"
    assert "gone" in partly.stderr and "not found" in partly.stderr
    assert get_or_none(cluster, "trigger", "here", "-n", namespace) is None


# --- 9: logs -f follows the runner across a restart until interrupted


class Lines:
    """A process's merged stdout and stderr, line by line, read by a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        out = proc.stdout

        def pump() -> None:
            for line in out:
                self._queue.put(line)

        threading.Thread(target=pump, daemon=True).start()

    def until(self, pattern: str, timeout: float) -> str:
        """Read until a line matching ``pattern``; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line
        pytest.fail(f"no line matching {pattern!r} in {timeout}s; got:\n{''.join(self.seen)}")


#: runner image -> a line its log surely has: kwok's stand-in text, or the real runner's JSON
RUNNERS = {"kwok": "simulated by kwok", "runner": r'^\{".*"message"'}


@pytest.mark.parametrize("image", list(RUNNERS))
def test_logs_follow_goes_on_across_a_runner_restart(
    cluster: Cluster, namespace: str, image: str
) -> None:
    if image == "kwok":
        submit(cluster, "create", namespace, "web", LOG_SPEC)
    else:  # the default image: the pod emulator runs the real runner
        plugin(cluster, "create", "-f", "-", "-n", namespace, input=trigger_yaml("web", LOG_SPEC))
    logged = RUNNERS[image]
    first = wait_for(lambda: running_pod(cluster, namespace, "web"), 60, "the runner pod Running")
    env = {**os.environ, "KUBECONFIG": cluster.kubeconfig}
    proc = subprocess.Popen(
        [*plugin_argv(), "logs", "web", "-n", namespace, "-f"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        lines = Lines(proc)
        lines.until(logged, 30)
        cluster.kubectl("delete", "pod", first["metadata"]["name"], "-n", namespace, "--wait=false")
        marker = lines.until(r"^--- runner restarted \(pod ", 90)
        second = wait_for(lambda: running_pod(cluster, namespace, "web"), 60, "a new runner pod")
        assert second["metadata"]["name"] != first["metadata"]["name"]
        assert f"(pod {second['metadata']['name']}, container restart 0) ---" in marker
        lines.until(logged, 30)  # the new pod's log follows the marker
        assert proc.poll() is None  # still following
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


# --- 10: kubectl trigger <TAB>, through the real kubectl (1.26+ asks kubectl_complete-trigger)


def _console_script(name: str) -> str:
    """The ``module:function`` pip installs as console script ``name`` (from pyproject.toml)."""
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    return str(scripts[name])


def _plugin_path(tmp_path: Path, completion: str) -> dict[str, str]:
    """A PATH with only the plugin and the completion executable ``completion`` on it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    plugin_exe = bin_dir / "kubectl-trigger"
    plugin_exe.write_text(f'#!/bin/sh\nexec {" ".join(plugin_argv())} "$@"\n')
    plugin_exe.chmod(0o755)
    if completion == "krew":  # the script shipped for the krew archive, beside the plugin
        (bin_dir / "kubectl_complete-trigger").symlink_to(
            REPO / "hack" / "kubectl_complete-trigger"
        )
    else:  # what pip's console script runs
        module, function = _console_script("kubectl_complete-trigger").split(":")
        exe = bin_dir / "kubectl_complete-trigger"
        exe.write_text(
            f"#!{sys.executable}\nimport sys\nfrom {module} import {function}\n"
            f"sys.argv[0] = 'kubectl_complete-trigger'\nsys.exit({function}())\n"
        )
        exe.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "KUBECONFIG": ""}


def _complete(cluster: Cluster, env: dict[str, str], *words: str) -> tuple[list[str], str]:
    proc = subprocess.run(
        [str(cluster.bin_dir / "kubectl"), "__complete", *words],  # no flag before `trigger`
        capture_output=True,
        text=True,
        env={**env, "KUBECONFIG": cluster.kubeconfig},
        timeout=60,
        check=True,
    )
    *candidates, directive = proc.stdout.splitlines()
    return [c.split("\t")[0] for c in candidates], directive


@pytest.mark.parametrize("install", ["pip", "krew"])
def test_kubectl_completes_commands_flags_and_trigger_names(
    cluster: Cluster, namespace: str, tmp_path: Path, install: str
) -> None:
    submit(cluster, "create", namespace, "alpha", LOG_SPEC)
    submit(cluster, "create", namespace, "beta", LOG_SPEC)
    env = _plugin_path(tmp_path, install)

    commands, directive = _complete(cluster, env, "trigger", "")
    assert {"create", "apply", "get", "describe", "logs", "delete", "install"} <= set(commands)
    assert directive == ":4"
    assert _complete(cluster, env, "trigger", "de")[0] == ["describe", "delete"]
    flags, _ = _complete(cluster, env, "trigger", "get", "--all")
    assert flags == ["--all-namespaces"]
    assert _complete(cluster, env, "trigger", "get", "-o", "")[0] == [
        "yaml",
        "json",
        "name",
        "wide",
    ]
    names, directive = _complete(cluster, env, "trigger", "describe", "-n", namespace, "")
    assert names == ["alpha", "beta"] and directive == ":4"
    assert _complete(cluster, env, "trigger", "logs", "-n", namespace, "b")[0] == ["beta"]
    spaces, _ = _complete(cluster, env, "trigger", "get", "-n", namespace[:8])
    assert namespace in spaces
    _, files = _complete(cluster, env, "trigger", "create", "-f", "")
    assert files == ":0"  # the shell completes file names

    # ClusterTriggers: after the type, and as TYPE/NAME
    cluster_trigger = trigger_yaml(f"{namespace}-c", LOG_SPEC).replace(
        "kind: Trigger", "kind: ClusterTrigger"
    )
    plugin(cluster, "create", "-f", "-", "--image", FAKE_IMAGE, input=cluster_trigger)
    try:
        after_type = _complete(cluster, env, "trigger", "describe", "clustertrigger", namespace)
        assert after_type[0] == [f"{namespace}-c"]
        slashed = _complete(cluster, env, "trigger", "logs", f"clustertrigger/{namespace}")
        assert slashed[0] == [f"clustertrigger/{namespace}-c"]
    finally:
        plugin(cluster, "delete", "clustertrigger", f"{namespace}-c")


# --- 11: many triggers from one file are written concurrently, each all or nothing


def test_many_triggers_from_one_file_each_all_or_nothing(cluster: Cluster, namespace: str) -> None:
    count, allowed = 12, 10
    cluster.kubectl(
        "create",
        "quota",
        "ten-runners",
        "-n",
        namespace,
        f"--hard=count/deployments.apps={allowed}",
    )
    text = "---\n".join(trigger_yaml(f"t{i:02d}", LOG_SPEC) for i in range(count))
    proc = submit_text(cluster, "create", namespace, text, check=False)
    assert proc.returncode != 0, proc.stderr  # as kubectl: non-zero when any failed
    assert f"2 of {count} triggers failed" in proc.stderr
    assert proc.stderr.count("exceeded quota") == 2
    created = re.findall(rf"^trigger\.{re.escape(GROUP)}/(t\d\d) created$", proc.stdout, re.M)
    assert len(created) == allowed and created == sorted(created)  # in input order
    live = json.loads(cluster.kubectl("get", "triggers", "-n", namespace, "-o", "json").stdout)
    assert sorted(t["metadata"]["name"] for t in live["items"]) == created
    accounts = cluster.kubectl("get", "serviceaccounts", "-n", namespace, "-o", "name").stdout
    for i in range(count):
        name = f"t{i:02d}"
        has_runner = bool(labelled(cluster, "deployments", namespace, name))
        assert has_runner == (name in created), name
        if name not in created:  # rolled back: nothing of it is left
            assert not labelled(cluster, "serviceaccounts,roles,rolebindings", namespace, name)
    assert accounts.count("serviceaccount/") >= allowed

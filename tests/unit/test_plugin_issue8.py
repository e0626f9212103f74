"""Unit tier for issue 8's plugin pieces: one-line errors, completion, log following, secrets.

The behaviour against a real API server is in tests/e2e/test_plugin_lifecycle_issue8.py;
these pin the pure parts (parsing, ordering, redaction) and every command's error path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubectl_trigger import cli, completion, logfollow, secretrefs, simulate
from kubectl_trigger.secretrefs import Lookup
from kubectl_trigger.session import Session

REPO = Path(__file__).resolve().parents[2]

# --- one line for an unexpected exception

#: Makes the plugin fail the way a bug would, at a point every command passes through.
BUG = """
import kubectl_trigger.options, kubectl_trigger.pipeline, kubectl_trigger.inputs
def boom(*a, **k):
    raise KeyError("metadata")
kubectl_trigger.options.session = boom
kubectl_trigger.options.check_files = boom
kubectl_trigger.inputs.load = boom
"""


def _run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sitecustomize.py").write_text(BUG)
    environ = {**os.environ, "PYTHONPATH": f"{tmp_path}:{REPO}", "KUBECONFIG": "/nonexistent"}
    return subprocess.run(
        [sys.executable, "-m", "kubectl_trigger", *args],
        capture_output=True,
        text=True,
        env={**environ, **(env or {})},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("get",),
        ("get", "-A", "-o", "wide"),
        ("describe", "x"),
        ("logs", "x", "-f"),
        ("delete", "x"),
        ("create", "-f", "t.yaml"),
        ("apply", "-f", "t.yaml"),
        ("render", "-f", "t.yaml"),
        ("validate", "-f", "t.yaml"),
        ("test", "-f", "t.yaml"),
        ("run", "-f", "t.yaml"),
        ("install", "--dry-run", "server"),
        ("uninstall",),
        ("version",),
    ],
)
def test_a_bug_in_any_command_is_one_line_and_exit_1(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = _run(tmp_path, *args)
    if proc.returncode == 0:
        pytest.skip(f"{args[0]} does not reach the injected failure")  # e.g. version offline
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        f"kubectl trigger: {args[0]} failed: KeyError: 'metadata' (run with -v for the traceback)"
    ], proc.stderr
    assert "Traceback" not in proc.stderr


def test_verbose_anywhere_shows_the_traceback(tmp_path: Path) -> None:
    for args in (("-v", "get"), ("get", "-v"), ("get", "--verbose", "-n", "x")):
        proc = _run(tmp_path, *args)
        assert proc.returncode == 1
        assert "Traceback (most recent call last)" in proc.stderr
        assert proc.stderr.strip().endswith("kubectl trigger: get failed: KeyError: 'metadata'")


def test_usage_errors_stay_typers_own(tmp_path: Path) -> None:
    proc = _run(tmp_path, "get", "--no-such-flag")
    assert proc.returncode == 2 and "No such option" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_split_verbose_stops_at_double_dash() -> None:
    assert cli.split_verbose(["get", "-v", "x"]) == (["get", "x"], True)
    assert cli.split_verbose(["run", "--", "-v"]) == (["run", "--", "-v"], False)


# --- completion, as kubectl 1.26+ asks a plugin


def test_completes_commands_flags_and_values() -> None:
    commands, directive = completion.complete([""])
    names = [c.split("\t")[0] for c in commands]
    assert {"create", "get", "logs", "uninstall"} <= set(names) and directive == completion.NO_FILES
    assert [c.split("\t")[0] for c in completion.complete(["lo"])[0]] == ["logs"]
    flags = [c.split("\t")[0] for c in completion.complete(["logs", "x", "--t"])[0]]
    assert flags == ["--tail", "--timestamps"]
    assert completion.complete(["create", "--dry-run", ""]) == (
        ["none", "client", "server"],
        completion.NO_FILES,
    )
    assert completion.complete(["apply", "--dry-run=s"])[0] == ["--dry-run=server"]
    assert completion.complete(["get", "-o", "w"])[0] == ["wide"]
    assert completion.complete(["create", "-o", ""])[0] == ["yaml", "json", "name"]
    assert completion.complete(["create", "-f", ""]) == ([], completion.FILES)
    assert completion.complete(["nope", ""]) == ([], completion.NO_FILES)
    assert completion.complete(["version", ""]) == ([], completion.NO_FILES)


def test_completion_reads_flags_already_typed() -> None:
    import typer

    from kubectl_trigger.cli import app

    line = completion.read_line(
        typer.main.get_command(app),  # type: ignore[arg-type]
        ["logs", "--kubeconfig", "k", "-n=shop", "web", "--context"],
    )
    assert line.name == "logs" and line.arguments == ["web"]
    assert line.values == {"--kubeconfig": "k", "--namespace": "shop"}
    assert line.pending is not None and "--context" in line.pending.opts


def test_completion_never_fails_the_shell(capsys: pytest.CaptureFixture[str]) -> None:
    os.environ["KUBECONFIG"] = "/nonexistent"
    assert completion.run(["describe", ""]) == 0  # no cluster: no names, no error
    assert capsys.readouterr().out == ":4\n"


# --- following a log


def _pod(
    name: str, uid: str, created: str, restarts: int, state: str, deleting: bool = False
) -> dict[str, Any]:
    meta = {"name": name, "uid": uid, "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = created
    return {
        "metadata": meta,
        "status": {
            "containerStatuses": [
                {"name": "runner", "restartCount": restarts, "state": {state: {}}}
            ]
        },
    }


def test_latest_container_is_a_restart_or_a_newer_pod() -> None:
    old = logfollow.container_of(_pod("a", "1", "2026-01-01T00:00:00Z", 0, "running"), "runner")
    restarted = _pod("a", "1", "2026-01-01T00:00:00Z", 1, "running")
    assert logfollow.latest([restarted], "runner").newer_than(old)  # type: ignore[union-attr]
    same = logfollow.latest([_pod("a", "1", "2026-01-01T00:00:00Z", 0, "running")], "runner")
    assert same is not None and not same.newer_than(old)
    pods = [
        _pod("a", "1", "2026-01-01T00:00:00Z", 0, "running", deleting=True),
        _pod("b", "2", "2026-01-01T00:01:00Z", 0, "waiting"),
    ]
    assert logfollow.latest(pods, "runner") is None  # nothing to read yet
    pods[1] = _pod("b", "2", "2026-01-01T00:01:00Z", 0, "running")
    newer = logfollow.latest(pods, "runner")
    assert newer is not None and newer.pod == "b" and newer.newer_than(old)


def test_timestamps_sort_and_split() -> None:
    assert logfollow.time_key("2026-01-01T00:00:01.5Z") > logfollow.time_key(
        "2026-01-01T00:00:01.123456789Z"
    )
    assert logfollow.time_key("2026-01-01T00:00:01Z") < logfollow.time_key("2026-01-01T00:00:01.1Z")
    assert logfollow.split_stamp('2026-01-01T00:00:01.5Z {"a": 1}') == (
        "2026-01-01T00:00:01.5Z",
        '{"a": 1}',
    )
    assert logfollow.split_stamp("no stamp here") == ("", "no stamp here")


def test_lines_wait_for_their_end() -> None:
    lines = logfollow.Lines()
    assert lines.feed(b"one\ntw") == ["one"]
    assert lines.feed(b"o\n") == ["two"]
    assert lines.feed(b"three") == [] and lines.flush() == ["three"]


# --- secrets in test and create


def test_secret_values_are_used_and_hidden() -> None:
    values = simulate.SecretValues(
        "shop",
        {
            ("hook", "url"): Lookup(value="https://hooks.example/T0KEN"),
            ("gone", "k"): Lookup(problem="the Secret does not exist", missing=True),
        },
        "--offline",
    )
    assert values("hook", "url") == "https://hooks.example/T0KEN"
    stand_in = values("other", "key")
    assert stand_in.startswith("https://") and stand_in.endswith(".invalid/")
    assert values("other", "key") == stand_in  # the same stand-in every time
    text = values.hide("POST https://hooks.example/T0KEN?x=1 then https://hooks.example/…")
    assert "T0KEN" not in text and "hooks.example" not in text
    assert values.hide(f"GET {stand_in}") == "GET <secret other/key>"
    assert values.lines() == [
        "Secret shop/hook key 'url': read with your rights (value not shown)",
        "Secret shop/other key 'key': not read (--offline); a stand-in value was used",
    ]
    from runner.actions.base import PermanentActionError

    with pytest.raises(
        PermanentActionError, match="Secret shop/gone key 'k': the Secret does not exist"
    ):
        values("gone", "k")


def test_secret_uses_are_found_in_the_parsed_actions(tmp_path: Path) -> None:
    from kubectl_trigger import pipeline

    spec = tmp_path / "t.yaml"
    spec.write_text(
        """
apiVersion: triggers.kubectl-trigger.dev/v1alpha1
kind: Trigger
metadata: {name: t, namespace: shop}
spec:
  source: {resource: {apiVersion: v1, kind: ConfigMap}}
  actions:
    - name: hook
      webhook:
        url: {secretKeyRef: {name: hooks, key: url}}
        headers: {Authorization: {secretKeyRef: {name: tok, key: t}}}
        tls: {caSecretRef: {name: ca}}
    - log: {message: x}
"""
    )
    batch = pipeline.load([str(spec)], Session(), offline=True)
    found = [(u.field, u.namespace, u.name, u.key) for u in secretrefs.uses(batch.triggers[0])]
    assert found == [
        ("spec.actions[0] (hook)", "shop", "hooks", "url"),
        ("spec.actions[0] (hook)", "shop", "tok", "t"),
        ("spec.actions[0] (hook)", "shop", "ca", "ca.crt"),
    ]

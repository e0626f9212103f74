"""``-f`` and ``--object`` read at most 4 MiB: an endless or huge input ends with exit 2 at once.

The real plugin runs as a subprocess (``validate --offline`` and ``test``
need no cluster). Reading stops one byte past the limit, so ``/dev/zero`` and
an endless stdin end as fast as a 5 MiB file: the subprocess timeout is only a
guard against the old behaviour (reading until memory runs out).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.plugin_support import REPO, plugin_argv

TRIGGER = """\
apiVersion: triggers.kubectl-trigger.dev/v1alpha1
kind: Trigger
metadata: {name: web}
spec:
  source: {resource: {apiVersion: v1, kind: ConfigMap}}
  actions: [{log: {message: "{{ .object.metadata.name }} changed"}}]
"""


def _plugin(*args: str, stdin: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*plugin_argv(), *args],
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )


def _refused(proc: subprocess.CompletedProcess[str], flag: str, origin: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert f"{flag} {origin}: larger than 4 MiB, the most {flag} reads from one input" in (
        proc.stderr
    )
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_dev_zero_ends_with_exit_2(tmp_path: Path) -> None:
    _refused(_plugin("validate", "--offline", "-f", "/dev/zero"), "-f", "/dev/zero")


def test_a_5_mib_file_ends_with_exit_2(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(TRIGGER + "# " + "x" * (5 * 1024 * 1024) + "\n")
    _refused(_plugin("validate", "--offline", "-f", str(big)), "-f", str(big))


def test_an_endless_stdin_ends_with_exit_2() -> None:
    with open("/dev/zero", "rb") as zero:
        _refused(_plugin("validate", "--offline", "-f", "-", stdin=zero.fileno()), "-f", "<stdin>")


def test_test_object_is_bounded_too(tmp_path: Path) -> None:
    trigger = tmp_path / "t.yaml"
    trigger.write_text(TRIGGER)
    proc = _plugin("test", "-f", str(trigger), "--object", "/dev/zero")
    _refused(proc, "--object", "/dev/zero")


def test_a_trigger_within_the_limit_still_reads(tmp_path: Path) -> None:
    ok = tmp_path / "ok.yaml"
    ok.write_text(TRIGGER + "# " + "x" * (4 * 1024 * 1024 - len(TRIGGER) - 10) + "\n")
    assert ok.stat().st_size <= 4 * 1024 * 1024
    proc = _plugin("validate", "--offline", "-f", str(ok))
    assert proc.returncode == 0, proc.stderr


def test_an_alias_bomb_and_deep_nesting_end_with_exit_2(tmp_path: Path) -> None:
    lines = [TRIGGER.rstrip(), '  x0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"  x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 8) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    for path, problem in (
        (bomb, "YAML aliases expand it to more than 1,000,000 values"),
        (deep, "nested more than 100 levels deep"),
    ):
        proc = _plugin("validate", "--offline", "-f", str(path))
        assert proc.returncode == 2, proc.stderr
        assert f"{path}: {problem}" in proc.stderr and "Traceback" not in proc.stderr

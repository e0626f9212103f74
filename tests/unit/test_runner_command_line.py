"""The runner's development command line refuses what it cannot use, in one line.

A ``--file`` larger than the plugin's ``-f`` bound (4 MiB), text that is not UTF-8, or
text that is neither JSON nor YAML ends the runner with its spec exit code and a
line naming the flag, never a traceback; so do ``--as-group``/``--as-uid`` without
``--as``, as kubectl refuses them. The kubeconfig points at a closed port:
the file is refused before the API server is asked anything.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner.main import EXIT_SPEC, MAX_FILE_BYTES

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def run_file(tmp_path: Path, content: bytes, *extra: str) -> subprocess.CompletedProcess[str]:
    spec = tmp_path / "t.yaml"
    spec.write_bytes(content)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "runner",
            "--file",
            str(spec),
            "--kubeconfig",
            str(kubeconfig),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{" + b" " * MAX_FILE_BYTES + b"}", "is larger than 4 MiB"),
        (b"kind: Trigger\nmetadata: {name: \xff}\n", "not UTF-8 text"),
        (b"kind: Trigger\nmetadata: {name: [x\n", "is neither JSON nor YAML (line 3)"),
    ],
    ids=["too-large", "not-utf8", "not-yaml"],
)
def test_a_file_the_runner_cannot_use_is_one_line_naming_the_flag(
    tmp_path: Path, content: bytes, says: str
) -> None:
    done = run_file(tmp_path, content)
    assert done.returncode == EXIT_SPEC, done.stderr
    assert "--file: " in done.stderr and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("extra", [("--as-group", "devs"), ("--as-uid", "1")])
def test_a_group_or_uid_without_as_is_refused(tmp_path: Path, extra: tuple[str, str]) -> None:
    done = run_file(tmp_path, b'{"kind": "Trigger", "metadata": {"name": "t"}}', *extra)
    assert done.returncode == EXIT_SPEC, done.stderr
    assert "--as-group and --as-uid need --as" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr

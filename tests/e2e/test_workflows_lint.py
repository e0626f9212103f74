"""The GitHub workflows cannot run here, so they are linted: actionlint (from the Go module
proxy, hack/tools.py; it runs shellcheck on `run:` blocks when shellcheck is installed, as
.ci/run does), and every `make` target they call exists."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def _actionlint() -> Path:
    spec = importlib.util.spec_from_file_location("hack_tools", REPO / "hack" / "tools.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return Path(module.ensure("actionlint"))


def test_workflows_pass_actionlint() -> None:
    assert {w.name for w in WORKFLOWS} == {"ci.yml", "image.yml", "kind-e2e.yml", "release.yml"}
    proc = subprocess.run(
        [str(_actionlint()), "-color=false", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if shutil.which("shellcheck") is None:
        pytest.fail(
            "shellcheck is not installed, so actionlint skipped the run: blocks "
            "(apt-get install shellcheck; .ci/run installs it)"
        )


def test_make_targets_the_workflows_call_exist() -> None:
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    called = set()
    for workflow in WORKFLOWS:
        doc = yaml.safe_load(workflow.read_text())
        for job in doc["jobs"].values():
            for step in job["steps"]:
                for line in str(step.get("run", "")).splitlines():
                    for match in re.finditer(r"\bmake ((?:[a-z][\w-]* ?)+)", line):
                        called.update(match.group(1).split())
    assert {"image", "krew", "zipapp", "tools", "venv"} <= called
    assert called <= targets, f"workflows call missing make targets: {called - targets}"

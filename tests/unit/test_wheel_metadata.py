"""The wheel pip builds from this checkout carries the metadata package indexes show.

Built from a copy of the tracked files (``pip wheel --no-deps``, its build
backend at the locked version), so nothing in the working tree's build/ or
egg-info leaks in.
"""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("src")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for rel in filter(None, tracked):
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)),
            *("--build-constraint", str(ROOT / "constraints.txt"), str(src)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (built,) = out.glob("*.whl")
    return zipfile.ZipFile(built)


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.parser.Parser().parsestr(wheel.read(name).decode())


def test_license_is_declared_and_shipped(wheel: zipfile.ZipFile) -> None:
    meta = _metadata(wheel)
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    (license_file,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    assert wheel.read(license_file) == (ROOT / "LICENSE").read_bytes()


def test_classifiers_urls_and_keywords(wheel: zipfile.ZipFile) -> None:
    meta = _metadata(wheel)
    classifiers = meta.get_all("Classifier") or []
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert "Environment :: Console" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # the expression says it
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(urls)
    assert all(
        u.startswith("https://github.com/kubectl-trigger/kubectl-trigger") for u in urls.values()
    )
    assert {"kubernetes", "kubectl", "krew"} <= set(meta["Keywords"].split(","))
    assert meta["Requires-Python"] == ">=3.11"
    assert "typer<0.29,>=0.16" in (meta.get_all("Requires-Dist") or [])


def test_wheel_holds_the_plugin_and_runner_only(wheel: zipfile.ZipFile) -> None:
    tops = {n.split("/")[0] for n in wheel.namelist() if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"kubectl_trigger", "runner"}
    assert "kubectl_trigger/manifests/crd.yaml" in wheel.namelist()
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    scripts = wheel.read(entry_points).decode()
    assert "kubectl-trigger = kubectl_trigger.cli:main" in scripts

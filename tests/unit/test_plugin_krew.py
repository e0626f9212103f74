"""The krew archive (hack/krew_manifest.py) and the zipapp inside it (hack/plugin_zipapp.py).

One archive is built for the module (building compiles the plugin and its
dependencies for three Pythons, several seconds); the reproducibility test
builds a second one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VERSION = "0.1.0"
PREFIX = f"kubectl-trigger-v{VERSION}"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "hack" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(archive, manifest) written by the script's main(), as `make krew` runs it."""
    out = tmp_path_factory.mktemp("krew")
    manifest = out / "krew-plugin.yaml"
    assert _script("krew_manifest").main(["--dist", str(out / "dist"), "--out", str(manifest)]) == 0
    (archive,) = (out / "dist").glob("*.tar.gz")
    return archive, manifest


def _members(archive: Path) -> dict[str, tuple[int, bytes]]:
    with tarfile.open(archive) as tar:
        return {
            m.name: (m.mode, tar.extractfile(m).read())  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def test_manifest_names_the_archive_it_built(built: tuple[Path, Path]) -> None:
    archive, manifest = built
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    doc = yaml.safe_load(manifest.read_text())
    assert doc["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert doc["kind"] == "Plugin"
    assert doc["metadata"]["name"] == "trigger"
    assert doc["spec"]["version"] == f"v{VERSION}"
    assert "python3, version 3.11 or newer" in doc["spec"]["caveats"]
    platforms = doc["spec"]["platforms"]
    assert sorted(
        (p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"])
        for p in platforms
    ) == [("darwin", "amd64"), ("darwin", "arm64"), ("linux", "amd64"), ("linux", "arm64")]
    for p in platforms:
        assert p["sha256"] == digest
        assert p["uri"].endswith(f"/v{VERSION}/{archive.name}")
        assert p["bin"] == "kubectl-trigger"
        assert p["files"] == [{"from": f"{PREFIX}/*", "to": "."}]


def test_archive_holds_the_zipapp_completion_and_license(built: tuple[Path, Path]) -> None:
    members = _members(built[0])
    assert sorted(members) == [
        f"{PREFIX}/LICENSE",
        f"{PREFIX}/kubectl-trigger",
        f"{PREFIX}/kubectl_complete-trigger",
    ]
    mode, plugin = members[f"{PREFIX}/kubectl-trigger"]
    assert mode == 0o755
    assert members[f"{PREFIX}/kubectl_complete-trigger"][0] == 0o755
    assert members[f"{PREFIX}/LICENSE"][1] == (ROOT / "LICENSE").read_bytes()
    assert b"Apache License" in members[f"{PREFIX}/LICENSE"][1]
    assert plugin.startswith(b"#!/usr/bin/env python3\n")


def test_zipapp_carries_the_locked_dependencies_and_no_native_code(
    built: tuple[Path, Path],
) -> None:
    plugin = _members(built[0])[f"{PREFIX}/kubectl-trigger"][1]
    names = zipfile.ZipFile(io.BytesIO(plugin)).namelist()
    locked = _script("plugin_zipapp").locked_versions()
    dist_infos = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    bundled = {
        d.removesuffix(".dist-info").rpartition("-")[0].replace("_", "-").lower(): (
            d.removesuffix(".dist-info").rpartition("-")[2]
        )
        for d in dist_infos
    }
    # the plugin's runtime closure, each at its pinned version; no dev tool rides along
    for name in ("typer", "rich", "pyyaml", "urllib3", "markdown-it-py", "mdurl", "pygments"):
        assert bundled.get(name) == locked[name], name
    assert "pytest" not in bundled and "mypy" not in bundled and "pydantic" not in bundled
    assert not [n for n in names if n.endswith((".so", ".pyd", ".dylib"))]
    assert "__main__.py" in names
    assert "kubectl_trigger/manifests/crd.yaml" in names
    assert "runner/__init__.py" in names
    for tag in ("cpython-311", "cpython-312", "cpython-313"):
        assert f"rich/__pycache__/console.{tag}.pyc" in names
    assert "pygments/lexers/python.py" in names
    assert not [n for n in names if n.startswith("pygments/lexers/__pycache__/python.")]


def test_zipapp_is_reproducible(tmp_path: Path) -> None:
    """Same sources, same bytes (one snapshot of the tree: others may be editing it)."""
    zipapp = _script("plugin_zipapp")
    sources = zipapp.contents()
    first = zipapp.build(tmp_path / "a", sources).read_bytes()
    second = zipapp.build(tmp_path / "b", sources).read_bytes()
    if first != second:  # name what differs, for whoever has to fix it
        za, zb = zipfile.ZipFile(io.BytesIO(first)), zipfile.ZipFile(io.BytesIO(second))
        differ = [n for n in za.namelist() if n not in zb.namelist() or za.read(n) != zb.read(n)]
        pytest.fail(f"two builds differ; zip entries: {differ[:10]}")
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def _python(version: str) -> str | None:
    return _script("lock").find_python(version)


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_zipapp_runs_through_krews_symlink_without_a_venv(
    built: tuple[Path, Path], tmp_path: Path, version: str
) -> None:
    python = _python(version)
    assert python, f"CPython {version} is needed to build the zipapp"
    with tarfile.open(built[0]) as tar:
        tar.extractall(tmp_path / "store", filter="data")
    # krew links bin/kubectl-trigger to the store; put the asked-for python3 first on PATH
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl-trigger").symlink_to(tmp_path / "store" / PREFIX / "kubectl-trigger")
    (bin_dir / "python3").symlink_to(python)
    (bin_dir / "kubectl_complete-trigger").symlink_to(
        tmp_path / "store" / PREFIX / "kubectl_complete-trigger"
    )
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        ["kubectl-trigger", "version", "--client"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"Plugin Version: {VERSION}"
    # the completion helper finds the plugin beside it and answers from the zip
    completion = subprocess.run(
        ["kubectl_complete-trigger", "cre"], capture_output=True, text=True, env=env, timeout=60
    )
    assert completion.returncode == 0, completion.stderr
    assert "create" in completion.stdout


def test_zipapp_refuses_an_old_python_in_one_line(built: tuple[Path, Path], tmp_path: Path) -> None:
    python = _python("3.10")
    if python is None:
        pytest.skip("no CPython 3.10 on this machine")
    with tarfile.open(built[0]) as tar:
        tar.extractall(tmp_path, filter="data")
    proc = subprocess.run(
        [python, str(tmp_path / PREFIX / "kubectl-trigger"), "version"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("kubectl-trigger needs Python 3.11 or newer; this is 3.10")


def test_committed_manifest_matches_the_archive_built_from_this_tree(
    built: tuple[Path, Path],
) -> None:
    committed = (ROOT / "krew-plugin.yaml").read_text()
    expected = built[1].read_text()
    assert committed == expected, (
        "krew-plugin.yaml is stale (the plugin, the runner, the lock or the manifest template "
        "changed since it was generated): regenerate it with `make krew` and commit it"
    )

"""hack/krew_manifest.py: a reproducible archive, and a manifest carrying its real sha256."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import tarfile
from pathlib import Path
from types import ModuleType

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("krew_manifest", ROOT / "hack/krew_manifest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_manifest_names_the_archive_it_built(tmp_path: Path) -> None:
    krew = _script()
    out = tmp_path / "krew-plugin.yaml"
    assert krew.main(["--dist", str(tmp_path / "dist"), "--out", str(out)]) == 0
    (archive,) = (tmp_path / "dist").glob("*.tar.gz")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    doc = yaml.safe_load(out.read_text())
    assert doc["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert doc["kind"] == "Plugin"
    assert doc["metadata"]["name"] == "trigger"
    assert doc["spec"]["version"] == "v0.1.0"
    platforms = doc["spec"]["platforms"]
    assert sorted(
        (p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"])
        for p in platforms
    ) == [("darwin", "amd64"), ("darwin", "arm64"), ("linux", "amd64"), ("linux", "arm64")]
    for p in platforms:
        assert p["sha256"] == digest
        assert p["uri"].endswith(f"/v0.1.0/{archive.name}")
        assert p["bin"] == "kubectl-trigger"

    # reproducible: building again gives the same bytes
    again = krew.build_archive(tmp_path / "again", "0.1.0")
    assert hashlib.sha256(again.read_bytes()).hexdigest() == digest

    with tarfile.open(archive) as tar:
        launcher = tar.getmember("kubectl-trigger-v0.1.0/kubectl-trigger")
        assert launcher.mode == 0o755
        names = tar.getnames()
    assert "kubectl-trigger-v0.1.0/kubectl_trigger/cli.py" in names
    assert "kubectl-trigger-v0.1.0/kubectl_trigger/manifests/crd.yaml" in names
    assert "kubectl-trigger-v0.1.0/runner/__init__.py" in names


def test_launcher_runs_the_bundled_plugin(tmp_path: Path) -> None:
    krew = _script()
    archive = krew.build_archive(tmp_path, "0.1.0")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    link = tmp_path / "bin" / "kubectl-trigger"
    link.parent.mkdir()
    link.symlink_to(tmp_path / "x/kubectl-trigger-v0.1.0/kubectl-trigger")
    import sys

    proc = subprocess.run(
        [str(link), "version", "--client"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "KUBECTL_TRIGGER_PYTHON": sys.executable},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "Plugin Version: 0.1.0"


def test_committed_manifest_is_generated() -> None:
    krew = _script()
    committed = (ROOT / "krew-plugin.yaml").read_text()
    digest = re.search(r"sha256: ([0-9a-f]{64})\n", committed)
    assert digest, "krew-plugin.yaml needs a real sha256"
    # the sha256 moves with every source change; everything else must match the template
    fake = ROOT / "dist" / "kubectl-trigger-v0.1.0.tar.gz"
    expected = krew.TEMPLATE.format(
        archive=fake.name,
        version="0.1.0",
        platforms="".join(
            krew.PLATFORM.format(
                os=o,
                arch=a,
                uri=f"{krew.DEFAULT_BASE_URL}/v0.1.0/{fake.name}",
                sha256=digest.group(1),
                prefix="kubectl-trigger-v0.1.0",
            )
            for o, a in krew.PLATFORMS
        ),
    )
    assert committed == expected, "regenerate with: python hack/krew_manifest.py"

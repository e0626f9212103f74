"""The runner image itself: `make image` is reproducible, small, loadable, and runs as
a pod would run it (read-only, non-root, no capabilities, only its own environment).

The digest checks rebuild the runner layer from scratch each time (``--rebuild-runner``);
one test also builds the base from nothing in an empty cache, so the whole image, not
only its cached part, is shown to come out byte-identical. They build from a snapshot of
runner/ (``--repo``), so an edit made meanwhile in the working tree cannot change it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from runner_image import build, recipe, sandbox

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
MAX_COMPRESSED_MIB = 25


def make_image(*args: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """Run ``python -m runner_image ARGS`` (what `make image` runs); its report as a dict."""
    proc = subprocess.run(
        [sys.executable, "-m", "runner_image", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = dict(line.split(":", 1) for line in proc.stdout.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in report.items()} | {"log": proc.stderr}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of this checkout's runner/, as the image would take it."""
    repo = tmp_path_factory.mktemp("checkout")
    shutil.copytree(REPO / "runner", repo / "runner", ignore=shutil.ignore_patterns("__pycache__"))
    return str(repo)


def test_make_image_twice_gives_the_same_digest(snapshot: str) -> None:
    first = make_image("--repo", snapshot, "--rebuild-runner", "--no-archive")
    second = make_image("--repo", snapshot, "--rebuild-runner", "--no-archive")
    assert "runner layer built" in first["log"] and "runner layer built" in second["log"]
    assert first["digest"].startswith("sha256:")
    assert first["digest"] == second["digest"]
    assert float(first["compressed"].split()[0]) <= MAX_COMPRESSED_MIB


def layer_digests(report: dict[str, str]) -> list[str]:
    layout = Path(report["oci layout"].rsplit(":", 1)[0])
    manifest = json.loads(build._blob(layout, report["digest"]).read_text())
    return [layer["digest"] for layer in manifest["layers"]]


def test_a_change_to_runner_rebuilds_only_the_runner_layer(snapshot: str, tmp_path: Path) -> None:
    before = make_image("--repo", snapshot, "--no-archive")
    changed = tmp_path / "checkout"
    shutil.copytree(snapshot, changed)
    with open(changed / "runner" / "log.py", "a") as source:
        source.write(f"\n# a change never built before: {secrets.token_hex(8)}\n")
    after = make_image("--repo", str(changed), "--no-archive")
    assert "building the base layer" not in after["log"]
    assert "runner layer built" in after["log"]
    old, new = layer_digests(before), layer_digests(after)
    assert old[0] == new[0] and old[1] != new[1]


def test_a_cold_build_in_an_empty_cache_gives_the_cached_digest(
    snapshot: str, tmp_path: Path
) -> None:
    cached = make_image("--repo", snapshot, "--no-archive")
    cold = make_image("--repo", snapshot, "--no-archive", env={"KT_CACHE_DIR": str(tmp_path)})
    assert "building the base layer" in cold["log"]
    assert cold["digest"] == cached["digest"]


def test_docker_archive_carries_the_reference_and_the_same_config(tmp_path: Path) -> None:
    archive = tmp_path / "runner.tar"
    make_image("--archive", str(archive))
    with tarfile.open(archive) as tar:
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        (entry,) = json.load(manifest_file)
    assert entry["RepoTags"] == [recipe.reference()]
    image = build.ensure_image()
    manifest = json.loads(build._blob(image.layout, image.digest).read_text())
    config_digest = manifest["config"]["digest"].split(":", 1)[1]
    assert Path(entry["Config"]).name.removesuffix(".json") == config_digest
    assert len(entry["Layers"]) == 2  # the base and the runner


PROBE = """
import json, os, sys
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines()
              if ":\\t" in line)
def writable(path):
    try:
        open(path, "w").close()
        return True
    except OSError:
        return False
print(json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "cwd": os.getcwd(),
    "cap_eff": status["CapEff"].strip(), "executable": sys.executable,
    "env": dict(os.environ), "root_writable": writable("/usr/x"),
    "app_writable": writable("/app/x"), "tmp_writable": writable("/tmp/x"),
    "sa_files": sorted(os.listdir("/var/run/secrets/kubernetes.io/serviceaccount")),
    "version": sys.version_info[:2], "bytecode": sys.flags.dont_write_bytecode,
}))
"""


def test_the_sandbox_runs_the_image_as_a_restricted_pod_would(tmp_path: Path) -> None:
    rootfs = build.ensure_image().rootfs
    sa_dir = tmp_path / "sa"
    sa_dir.mkdir()
    for name in ("token", "ca.crt", "namespace"):
        (sa_dir / name).write_text(name)
    proc = sandbox.SandboxedProcess(
        rootfs,
        ["python", "-c", PROBE],
        {"POD_VAR": "1"},
        binds=[(sa_dir, sandbox.SERVICEACCOUNT_DIR)],
        hostname="probe",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    seen = json.loads(out)
    assert (seen["uid"], seen["gid"]) == (recipe.USER_ID, recipe.USER_ID)
    assert seen["cwd"] == recipe.WORKDIR
    assert int(seen["cap_eff"], 16) == 0
    assert seen["executable"] == "/usr/bin/python"
    assert not seen["root_writable"] and not seen["app_writable"] and seen["tmp_writable"]
    assert seen["sa_files"] == ["ca.crt", "namespace", "token"]
    assert seen["version"] == [3, 11] and seen["bytecode"] == 1
    # only the image's environment, the runtime's HOME and the pod's own variables
    # (bwrap exports PWD for the working directory it changed to)
    expected = {**recipe.ENV, "HOME": sandbox.HOME, "POD_VAR": "1", "PWD": recipe.WORKDIR}
    assert seen["env"] == expected


def test_the_image_has_what_the_runner_needs_and_not_the_trimmed_parts() -> None:
    rootfs = build.ensure_image().rootfs
    base = rootfs.base
    assert (base / "etc/ssl/certs/ca-certificates.crt").stat().st_size > 100_000
    assert "nonroot:x:65532:65532" in (base / "etc/passwd").read_text()
    assert (
        "Package: python3.11\nStatus: install ok installed"
        in (base / "var/lib/dpkg/status").read_text()
    )
    for trimmed in ("usr/share/doc", "usr/lib/python3.11/test", "usr/lib/python3.11/idlelib"):
        assert not (base / trimmed).exists(), trimmed
    site = base / recipe.SITE_PACKAGES
    for name, version in recipe.wheel_pins().items():
        assert (site / f"{name}-{version}.dist-info").is_dir(), name
    assert (rootfs.app / "runner" / "__pycache__").is_dir()  # byte-compiled, as shipped
    assert not (base / "etc/resolv.conf").exists()  # the build machine's files stay out

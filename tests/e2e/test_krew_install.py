"""The krew archive, installed the way users install it, drives the real API server.

This checkout's archive and manifest (hack/krew_manifest.py) are checked by
krew's own validator, installed for every platform by it from a local HTTP
server, and installed offline with ``kubectl krew install --archive`` into a
temporary KREW_ROOT. The installed plugin then runs with a PATH holding only
the built kubectl, KREW_ROOT/bin and /usr/bin:/bin: no venv, no project
Python packages, only the system python3. krew and validate-krew-manifest come
from the Go module proxy (hack/tools.py, built once and cached).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.plugin_support import FAKE_IMAGE, GROUP, get_or_none
from tests.polling import wait_for

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
VERSION = "0.1.0"
EXAMPLE = REPO / "examples" / "restart-on-configmap-change.yaml"
SYSTEM_PATH = "/usr/bin:/bin"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"hack_{name}", REPO / "hack" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tools() -> ModuleType:
    """hack/tools.py, whose ensure() builds a tool once and returns its path."""
    return _script("tools")


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(archive, manifest named trigger.yaml) built from this checkout, served over HTTP.

    krew's validator infers the plugin name from the file name and downloads
    the archive from the manifest's uri: here a server on 127.0.0.1.
    """
    root = tmp_path_factory.mktemp("release")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    manifest = root / "trigger.yaml"
    krew = _script("krew_manifest")
    assert (
        krew.main(["--dist", str(root / f"v{VERSION}"), "--out", str(manifest), "--base-url", base])
        == 0
    )
    (archive,) = (root / f"v{VERSION}").glob("*.tar.gz")
    try:
        yield archive, manifest
    finally:
        server.shutdown()
        server.server_close()


def _run(
    argv: list[str], env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def test_committed_manifest_passes_krews_validator(tools: ModuleType, tmp_path: Path) -> None:
    """The manifest in the repository is structurally valid for the krew index."""
    manifest = tmp_path / "trigger.yaml"  # the validator wants <plugin name>.yaml
    shutil.copy(REPO / "krew-plugin.yaml", manifest)
    proc = _run(
        [str(tools.ensure("validate-krew-manifest")), "-manifest", str(manifest), "-skip-install"],
        {"PATH": SYSTEM_PATH},
    )
    assert proc.returncode == 0, proc.stderr
    assert "structural validation OK" in proc.stderr


def test_validator_installs_every_platform_and_finds_the_license(
    tools: ModuleType, cluster: Cluster, release: tuple[Path, Path]
) -> None:
    """validate-krew-manifest without -skip-install: `kubectl krew install` for linux and
    darwin on amd64 and arm64 from the manifest's uri, and a LICENSE in each install."""
    path = ":".join(
        [
            str(tools.ensure("kubectl-krew").parent),
            str(cluster.bin_dir),  # kubectl, which runs krew as a plugin
            SYSTEM_PATH,
        ]
    )
    proc = _run(
        [str(tools.ensure("validate-krew-manifest")), "-manifest", str(release[1])],
        {"PATH": path},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "all 4 spec.platforms installed fine" in proc.stderr


def _system_python_version() -> tuple[int, int]:
    out = subprocess.run(
        ["/usr/bin/python3", "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    major, minor = out.split()
    return int(major), int(minor)


def test_krew_installed_plugin_creates_lists_and_deletes_a_trigger(
    tools: ModuleType,
    cluster: Cluster,
    namespace: str,
    release: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    assert shutil.which("python3", path=SYSTEM_PATH) == "/usr/bin/python3"
    assert _system_python_version() >= (3, 11), "the plugin needs python3 3.11+ on PATH"
    archive, manifest = release
    krew_root = tmp_path / "krew"
    home = tmp_path / "home"
    home.mkdir()
    kubectl = str(cluster.bin_dir / "kubectl")
    install_env = {
        "PATH": f"{tools.ensure('kubectl-krew').parent}:{cluster.bin_dir}:{SYSTEM_PATH}",
        "KREW_ROOT": str(krew_root),
        "HOME": str(home),
    }
    proc = _run(
        [kubectl, "krew", "install", f"--manifest={manifest}", f"--archive={archive}"],
        install_env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Installed plugin: trigger" in proc.stderr + proc.stdout
    store = krew_root / "store" / "trigger" / f"v{VERSION}"
    assert (store / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert (krew_root / "bin" / "kubectl-trigger").is_symlink()

    # as a user with only kubectl, krew's bin and the system python3
    env = {
        "PATH": f"{cluster.bin_dir}:{krew_root / 'bin'}:{SYSTEM_PATH}",
        "HOME": str(home),
        "KUBECONFIG": cluster.kubeconfig,
        "COLUMNS": "200",
    }

    def kubectl_trigger(*args: str) -> subprocess.CompletedProcess[str]:
        done = _run([kubectl, "trigger", *args], env)
        assert done.returncode == 0, f"kubectl trigger {' '.join(args)}:\n{done.stderr}"
        return done

    version = kubectl_trigger("version").stdout.splitlines()
    assert version[0] == f"Plugin Version: {VERSION}"
    kubectl_trigger("install")
    crd = cluster.get_json("crd", f"triggers.{GROUP}")
    assert crd["metadata"]["name"] == f"triggers.{GROUP}"

    kubectl_trigger("create", "-f", str(EXAMPLE), "-n", namespace, "--image", FAKE_IMAGE)
    name = yaml.safe_load(EXAMPLE.read_text())["metadata"]["name"]
    trigger = get_or_none(cluster, "trigger", name, "-n", namespace)
    assert trigger is not None
    deployment = get_or_none(cluster, "deployment", f"trigger-{name}", "-n", namespace)
    assert deployment is not None
    assert deployment["metadata"]["ownerReferences"][0]["uid"] == trigger["metadata"]["uid"]
    listed = kubectl_trigger("get", "-n", namespace, "-o", "name").stdout
    assert listed == f"trigger.{GROUP}/{name}\n"
    table = kubectl_trigger("get", "-n", namespace).stdout.splitlines()
    assert table[0].split()[0] == "NAME" and table[1].split()[0] == name

    # shell completion, wired as the manifest's caveats tell users
    (krew_root / "bin" / "kubectl_complete-trigger").symlink_to(store / "kubectl_complete-trigger")
    completion = _run([kubectl, "__complete", "trigger", "cre"], env)
    assert completion.returncode == 0, completion.stderr
    assert completion.stdout.splitlines()[0].split("\t")[0] == "create"

    kubectl_trigger("delete", "trigger", name, "-n", namespace)
    assert get_or_none(cluster, "trigger", name, "-n", namespace) is None
    wait_for(
        lambda: get_or_none(cluster, "deployment", f"trigger-{name}", "-n", namespace) is None,
        60,
        "the runner Deployment gone",
    )

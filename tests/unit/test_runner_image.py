"""The runner image's pure parts: reproducible layers, the lock's pins, the Dockerfile in
step with the recipe, the runner layer's cache key, and the sandbox's command line."""

from __future__ import annotations

import os
import re
import shutil
import tarfile
from pathlib import Path

import pytest

from runner_image import build, recipe, sandbox, tarlayer

REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path, when: int) -> None:
    (root / "b" / "c").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "b" / "c" / "d.py").write_text("print(1)\n")
    os.link(root / "a.txt", root / "hard")
    (root / "link").symlink_to("a.txt")
    (root / "tmp").mkdir()
    os.chmod(root / "tmp", 0o1777)
    for path in [root, *root.rglob("*")]:
        os.utime(path, (when, when), follow_symlinks=False)


def test_layer_bytes_depend_on_content_only(tmp_path: Path) -> None:
    _tree(tmp_path / "one", 1_000_000)
    _tree(tmp_path / "two", 2_000_000)  # other times, created in another order of inodes
    tarlayer.write_layer(tmp_path / "one", tmp_path / "one.tar", 1767225600)
    tarlayer.write_layer(tmp_path / "two", tmp_path / "two.tar", 1767225600)
    assert (tmp_path / "one.tar").read_bytes() == (tmp_path / "two.tar").read_bytes()

    with tarfile.open(tmp_path / "one.tar") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {
        (0, 0, "", "", 1767225600)
    }
    by_name = {m.name: m for m in members}
    assert by_name["hard"].isfile() and by_name["hard"].size == 1  # a file, not a hard link
    assert by_name["link"].issym() and by_name["link"].linkname == "a.txt"
    assert by_name["tmp"].mode == 0o1777


def test_wheel_pins_come_from_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "constraints.txt"
    lock.write_text(
        "# comment\nTzData==2026.6 \\\n    --hash=sha256:abc\n"
        "urllib3==2.8.0 ; python_version >= '3'\n"
    )
    assert recipe.wheel_pins(lock) == {"urllib3": "2.8.0", "tzdata": "2026.6"}
    lock.write_text("urllib3==2.8.0\n")
    with pytest.raises(RuntimeError, match="no version for tzdata"):
        recipe.wheel_pins(lock)
    with pytest.raises(RuntimeError, match="make lock"):
        recipe.wheel_pins(tmp_path / "missing.txt")


def test_the_repository_lock_pins_the_image_wheels() -> None:
    pins = recipe.wheel_pins()
    assert set(pins) == {"urllib3", "tzdata"}
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+-]*", v) for v in pins.values())


def test_dockerfile_describes_the_same_image() -> None:
    text = (REPO / "Dockerfile").read_text()
    final_stage = text.rsplit("\nFROM ", 1)[1]
    assert final_stage.startswith(f"debian:{recipe.SUITE}-slim\n")
    install = re.search(r"apt-get install[^&]*", final_stage)
    assert install is not None
    assert set(recipe.PACKAGES) <= set(install.group(0).replace("\\", " ").split())
    assert "-c /tmp/constraints.txt " + " ".join(recipe.WHEELS) in text
    assert f"\nWORKDIR {recipe.WORKDIR}\n" in final_stage
    assert f"\nUSER {recipe.USER_ID}:{recipe.USER_ID}\n" in final_stage
    env = {k: v for k, v in recipe.ENV.items() if k != "PATH"}
    assert "\nENV " + " ".join(f"{k}={v}" for k, v in env.items()) + "\n" in final_stage
    entrypoint = ", ".join(f'"{part}"' for part in recipe.ENTRYPOINT)
    assert f"\nENTRYPOINT [{entrypoint}]" in final_stage
    assert "COPY runner/ /app/runner/" in final_stage


def test_image_reference_is_pinned_by_the_runner_version() -> None:
    from runner import DEFAULT_IMAGE, __version__

    assert recipe.reference() == DEFAULT_IMAGE == f"{recipe.REPOSITORY}:{__version__}"


def _runner_tree(repo: Path) -> None:
    (repo / "runner" / "kube").mkdir(parents=True)
    (repo / "runner" / "__init__.py").write_text('__version__ = "0.1.0"\n')
    (repo / "runner" / "kube" / "client.py").write_text("X = 1\n")


def test_runner_key_follows_source_content_not_bytecode(tmp_path: Path) -> None:
    _runner_tree(tmp_path)
    key = build.runner_key(tmp_path)
    cache = tmp_path / "runner" / "kube" / "__pycache__"
    cache.mkdir()
    (cache / "client.cpython-311.pyc").write_bytes(b"junk")
    (tmp_path / "runner" / ".client.py.swp").write_bytes(b"editor")
    assert build.runner_key(tmp_path) == key
    assert [p.name for p in build.runner_files(tmp_path)] == ["__init__.py", "client.py"]
    (tmp_path / "runner" / "kube" / "client.py").write_text("X = 2\n")
    assert build.runner_key(tmp_path) != key


def test_base_key_changes_with_the_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    key = recipe.base_key()
    assert recipe.epoch() == recipe.DEFAULT_EPOCH
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert recipe.base_key() != key


def test_cache_is_outside_the_repo_and_follows_kt_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KT_CACHE_DIR", str(tmp_path))
    assert build.cache_dir() == tmp_path / "image"
    monkeypatch.delenv("KT_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert build.cache_dir() == Path.home() / ".cache" / "kubectl-trigger" / "image"


def test_sandbox_runs_read_only_as_the_image_user_with_the_given_env_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    rootfs = sandbox.Rootfs(Path("/c/base"), Path("/c/app"), recipe.reference(), "sha256:00")
    argv = sandbox.argv(
        rootfs,
        ["python", "-m", "runner"],
        {"PYTHONUNBUFFERED": "0", "X": "1"},
        binds=[(Path("/pods/p/sa"), sandbox.SERVICEACCOUNT_DIR)],
        hostname="p",
    )
    line = " ".join(argv)
    assert argv[0] == "/usr/bin/bwrap"
    assert "--ro-bind /c/base / --ro-bind /c/app /app" in line
    assert f"--uid {recipe.USER_ID} --gid {recipe.USER_ID} --cap-drop ALL" in line
    assert "--share-net" in argv and "--unshare-user" in argv and "--new-session" in argv
    assert "--clearenv" in argv and "--bind" not in argv  # nothing writable from the host
    assert f"--ro-bind /pods/p/sa {sandbox.SERVICEACCOUNT_DIR}" in line
    env = dict((argv[i + 1], argv[i + 2]) for i, arg in enumerate(argv) if arg == "--setenv")
    assert env == {
        **recipe.ENV,
        "HOME": sandbox.HOME,
        "PYTHONUNBUFFERED": "0",  # the pod's env wins over the image's, as in Kubernetes
        "X": "1",
    }
    assert argv[-4:] == ["--", "python", "-m", "runner"]
    assert rootfs.image_id == f"{recipe.REPOSITORY}@sha256:00"


def test_child_pid_is_read_from_bwraps_info(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b'{\n    "child-pid": 4242,\n')
    os.write(write_end, b'    "mnt-namespace": 1\n}')
    os.close(write_end)
    assert sandbox.read_child_pid(read_end) == 4242
    os.close(read_end)
    read_end, write_end = os.pipe()
    os.close(write_end)  # bwrap failed before writing anything
    assert sandbox.read_child_pid(read_end) is None
    os.close(read_end)


def test_compressed_size_counts_manifest_config_and_layers(tmp_path: Path) -> None:
    import hashlib
    import json

    blobs = tmp_path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    manifest = json.dumps(
        {"config": {"size": 10}, "layers": [{"size": 100}, {"size": 1000}]}
    ).encode()
    digest = hashlib.sha256(manifest).hexdigest()
    (blobs / digest).write_bytes(manifest)
    assert build.compressed_size(tmp_path, f"sha256:{digest}") == len(manifest) + 1110

"""Build the runner image in two cached layers and return where its rootfs is.

The base layer (Debian bookworm's python3 and ca-certificates, the urllib3 and
tzdata wheels) is cached under its input key (``recipe.base_key``); the runner
layer under the content of ``runner/`` plus the base key. Both live in
``$KT_CACHE_DIR/image`` (default ~/.cache/kubectl-trigger/image), outside the
repository, and a finished entry is a directory renamed into place, so a
build that dies leaves nothing half-made. One lock file serialises builds
between processes (several clusters and test sessions share the cache).

snapshot.debian.org is not reachable from our machines, so the archive state
cannot be pinned by date: a base is reused while its key matches, and records
the Debian package versions it resolved (``/var/lib/dpkg/status`` in the image,
``packages.txt`` in the cache). A fresh cache next month resolves the point
release of that day, which may change the base's digest.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from runner_image import recipe, sandbox, tarlayer
from runner_image.sandbox import Rootfs

#: Runner layers kept in the cache: the most recent few, and any used within a day.
KEEP_RUNNER_LAYERS = 12
PRUNE_AFTER_SECONDS = 24 * 3600
TOOLS = {
    "mmdebstrap": "mmdebstrap",
    "umoci": "umoci",
    "skopeo": "skopeo",
    "bwrap": "bubblewrap",
    "dpkg-deb": "dpkg",
}


class ImageBuildError(RuntimeError):
    """A build step failed; the message names the step and carries its output tail."""


@dataclass(frozen=True)
class Image:
    """A built image: its OCI layout, digest, compressed size and rootfs."""

    rootfs: Rootfs
    layout: Path
    tag: str
    compressed_bytes: int
    built: bool  # False when everything came from the cache

    @property
    def digest(self) -> str:
        return self.rootfs.digest


def cache_dir() -> Path:
    base = os.environ.get("KT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "kubectl-trigger"
    )
    return Path(base) / "image"


def _log(msg: str) -> None:
    print(f"[runner image] {msg}", file=sys.stderr, flush=True)


def _run(step: str, cmd: list[str], **kwargs: object) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise ImageBuildError(f"{step} failed ({' '.join(cmd[:3])} ...):\n{tail}")
    return str(proc.stdout)


def missing_tools(names: tuple[str, ...] = tuple(TOOLS)) -> list[str]:
    return [name for name in names if shutil.which(name) is None]


def _require(names: tuple[str, ...]) -> None:
    missing = missing_tools(names)
    if missing:
        packages = " ".join(sorted({TOOLS[n] for n in missing}))
        raise ImageBuildError(
            f"cannot build the runner image: {', '.join(missing)} not installed; "
            f"apt-get install {packages} (.ci/run installs them)"
        )


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the base layer -------------------------------------------------------------------


def _debootstrap(root: Path) -> None:
    cmd = [
        "mmdebstrap",
        "--variant=extract",
        f"--architectures={recipe.ARCH}",
        f"--include={','.join(recipe.PACKAGES)}",
        "--skip=cleanup/apt/cache",  # keep the .debs: their control data becomes dpkg's status
        "--quiet",
        recipe.SUITE,
        str(root),
        *recipe.APT_SOURCES,
    ]
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(recipe.epoch())}
    _run("mmdebstrap", cmd, env=env)


def _record_packages(root: Path) -> list[str]:
    """Write /var/lib/dpkg/status from the extracted .debs; return 'name version' lines."""
    debs = sorted((root / "var/cache/apt/archives").glob("*.deb"))
    if not debs:
        raise ImageBuildError("mmdebstrap left no .deb files to record the package versions")
    paragraphs: list[tuple[str, str]] = []
    for deb in debs:
        control = _run("dpkg-deb -f", ["dpkg-deb", "-f", str(deb)]).strip()
        fields = dict(line.split(": ", 1) for line in control.splitlines() if ": " in line)
        lines = control.splitlines()
        lines.insert(1, "Status: install ok installed")
        paragraphs.append((fields["Package"], "\n".join(lines)))
        deb.unlink()
    paragraphs.sort()
    status = root / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text("\n\n".join(text for _, text in paragraphs) + "\n")
    versions = []
    for _, text in paragraphs:
        fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
        versions.append(f"{fields['Package']} {fields['Version']}")
    return versions


def _trim(root: Path) -> None:
    for rel in recipe.TRIMMED:
        path = root / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    # mmdebstrap copies the build machine's resolver and name: a runtime provides its own
    for rel in ("etc/resolv.conf", "etc/hostname", "etc/apt"):
        path = root / rel
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for child in (root / "dev").iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _ca_bundle(root: Path) -> None:
    """What update-ca-certificates (run by a maintainer script, which --variant=extract
    skips) writes by default: every certificate ca-certificates ships, in one bundle."""
    shipped = sorted((root / "usr/share/ca-certificates").rglob("*.crt"))
    if not shipped:
        raise ImageBuildError("ca-certificates shipped no certificates")
    certs = [path.read_text() for path in shipped]
    bundle = root / "etc/ssl/certs/ca-certificates.crt"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    bundle.write_text("".join(c if c.endswith("\n") else c + "\n" for c in certs))


def _system_files(root: Path) -> None:
    uid = recipe.USER_ID
    (root / "etc/passwd").write_text(
        f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"nonroot:x:{uid}:{uid}:nonroot:{sandbox.HOME}:/usr/sbin/nologin\n"
    )
    (root / "etc/group").write_text(f"root:x:0:\nnonroot:x:{uid}:\n")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")
    for rel in ("proc", "sys", "run", "root", "app", sandbox.SERVICEACCOUNT_DIR.lstrip("/")):
        (root / rel).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "root", 0o700)
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    os.chmod(tmp, 0o1777)
    var_run = root / "var/run"
    if not var_run.exists() and not var_run.is_symlink():
        # Debian's /var/run is a link to /run (base-files, not extracted here)
        var_run.symlink_to("/run")


def _unpack_wheels(root: Path, work: Path) -> list[str]:
    pins = recipe.wheel_pins()
    dest = work / "wheels"
    requirements = work / "wheels.txt"
    requirements.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))
    _run(
        "pip download (urllib3, tzdata)",
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--dest", str(dest), "-r", str(requirements),
        ],
    )  # fmt: skip
    site = root / recipe.SITE_PACKAGES
    site.mkdir(parents=True, exist_ok=True)
    for wheel in sorted(dest.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                target = site / member.filename
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
                os.chmod(target, 0o644)
    for path in [site, *site.rglob("*")]:
        if path.is_dir():
            os.chmod(path, 0o755)
    return [f"{name} {version}" for name, version in pins.items()]


def _compile(root: Path, app: Path | None, targets: list[str]) -> None:
    """Byte-compile with the image's own interpreter (hash-based .pyc: no timestamps inside).

    ``unchecked-hash``: the image never changes, so the interpreter need not re-hash
    every source at import.
    """
    cmd = [sandbox.bwrap_binary(), "--bind" if app is None else "--ro-bind", str(root), "/"]
    if app is not None:
        cmd += ["--bind", str(app), recipe.WORKDIR]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--unshare-all"]
    cmd += ["--clearenv", "--setenv", "PATH", recipe.ENV["PATH"], "--"]
    cmd += ["python3", "-m", "compileall", "-q", "-j", "0", "--invalidation-mode"]
    cmd += ["unchecked-hash", *targets]
    _run("byte-compiling in the image", cmd)


def _oci_base(layout: Path, layer: Path) -> None:
    epoch = _iso(recipe.epoch())
    _run("umoci init", ["umoci", "init", "--layout", str(layout)])
    _run("umoci new", ["umoci", "new", "--image", f"{layout}:base"])
    _run(
        "umoci raw add-layer (base)",
        [
            "umoci", "raw", "add-layer", "--image", f"{layout}:base",
            f"--history.created={epoch}",
            f"--history.created_by=mmdebstrap {recipe.SUITE} {' '.join(recipe.PACKAGES)}; "
            f"wheels {' '.join(recipe.WHEELS)}",
            str(layer),
        ],
    )  # fmt: skip


def base_dir() -> Path:
    return cache_dir() / f"base-{recipe.base_key()}"


def ensure_base() -> tuple[Path, bool]:
    """The cached base (rootfs/, oci/, packages.txt); built first if missing."""
    final = base_dir()
    if (final / "oci" / "index.json").exists():
        return final, False
    with _locked():
        if (final / "oci" / "index.json").exists():
            return final, False
        _require(("mmdebstrap", "umoci", "bwrap", "dpkg-deb"))
        _log(f"building the base layer ({recipe.SUITE}: {', '.join(recipe.PACKAGES)}) ...")
        began = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix="tmp-base-", dir=cache_dir()))
        try:
            root = work / "rootfs"
            _debootstrap(root)
            packages = _record_packages(root)
            _trim(root)
            _ca_bundle(root)
            _system_files(root)
            wheels = _unpack_wheels(root, work)
            _compile(root, None, [f"/{recipe.PYTHON_LIB}", f"/{recipe.SITE_PACKAGES}"])
            layer = work / "base.tar"
            tarlayer.write_layer(root, layer, recipe.epoch())
            _oci_base(work / "oci", layer)
            layer.unlink()
            (work / "packages.txt").write_text("\n".join([*packages, *wheels]) + "\n")
            shutil.rmtree(work / "wheels", ignore_errors=True)
            os.replace(work, final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        _log(f"base layer built in {time.monotonic() - began:.1f}s: {final}")
    return final, True


# --- the runner layer -----------------------------------------------------------------


def runner_files(repo: Path = recipe.REPO_ROOT) -> list[Path]:
    """The files of runner/ that go into the image: sources and data, no bytecode."""
    found = []
    for path in sorted((repo / "runner").rglob("*")):
        rel = path.relative_to(repo)
        if path.is_dir() or "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue
        found.append(path)
    return found


def runner_key(repo: Path = recipe.REPO_ROOT) -> str:
    """The runner layer's cache key: the base it is compiled against and runner/'s content."""
    digest = hashlib.sha256(f"{recipe.RECIPE_VERSION} {recipe.base_key()}\n".encode())
    digest.update(f"{recipe.reference()} {recipe.epoch()}\n".encode())
    for path in runner_files(repo):
        rel = path.relative_to(repo).as_posix()
        digest.update(f"{rel}\0{os.access(path, os.X_OK)}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _stage_runner(stage: Path, repo: Path) -> None:
    app = stage / recipe.WORKDIR.lstrip("/")
    for path in runner_files(repo):
        target = app / path.relative_to(repo)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        os.chmod(target, 0o755 if os.access(path, os.X_OK) else 0o644)
    for path in [app, *app.rglob("*")]:
        if path.is_dir():
            os.chmod(path, 0o755)


def _copy_layout(src: Path, dest: Path) -> None:
    """A working copy of an OCI layout: blobs hard-linked (they never change), the rest copied."""
    for path in sorted(src.rglob("*")):
        target = dest / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif "blobs" in path.relative_to(src).parts:
            os.link(path, target)
        else:
            shutil.copyfile(path, target)


def _oci_finish(layout: Path, layer: Path, tag: str) -> None:
    created = _iso(recipe.epoch())
    _run(
        "umoci raw add-layer (runner)",
        [
            "umoci", "raw", "add-layer", "--image", f"{layout}:base", "--tag", tag,
            f"--history.created={created}", "--history.created_by=runner/ into /app, byte-compiled",
            str(layer),
        ],
    )  # fmt: skip
    config = [
        "umoci", "config", "--image", f"{layout}:{tag}", "--no-history",
        f"--created={created}", "--author=kubectl-trigger",
        f"--config.user={recipe.USER_ID}:{recipe.USER_ID}",
        f"--config.workingdir={recipe.WORKDIR}",
        "--clear=config.env", "--clear=config.cmd", "--clear=config.entrypoint",
        *(f"--config.env={key}={value}" for key, value in recipe.ENV.items()),
        *(f"--config.entrypoint={part}" for part in recipe.ENTRYPOINT),
        f"--config.label=org.opencontainers.image.title={recipe.REPOSITORY}",
        f"--config.label=org.opencontainers.image.version={recipe.version()}",
        "--config.label=org.opencontainers.image.licenses=Apache-2.0",
        f"--config.label=org.opencontainers.image.created={created}",
    ]  # fmt: skip
    _run("umoci config", config)
    _run("umoci rm (base tag)", ["umoci", "rm", "--image", f"{layout}:base"])
    _run("umoci gc", ["umoci", "gc", "--layout", str(layout)])


def _blob(layout: Path, digest: str) -> Path:
    algorithm, hexdigest = digest.split(":", 1)
    return layout / "blobs" / algorithm / hexdigest


def manifest_digest(layout: Path, tag: str) -> str:
    index = json.loads((layout / "index.json").read_text())
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return str(entry["digest"])
    raise ImageBuildError(f"{layout} has no image tagged {tag}")


def compressed_size(layout: Path, digest: str) -> int:
    """What a registry stores and a node pulls: manifest, config and compressed layers."""
    manifest_path = _blob(layout, digest)
    manifest = json.loads(manifest_path.read_text())
    parts = [manifest["config"], *manifest["layers"]]
    return manifest_path.stat().st_size + sum(int(p["size"]) for p in parts)


def _prune(keep: Path) -> None:
    """Remove runner layers beyond the most recent few that nobody used for a day.

    A running sandbox has its layer's /app bind-mounted: deleting the files under it
    would break the runner's later imports, so recent entries always stay.
    """
    entries = sorted(cache_dir().glob("runner-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    stale_before = time.time() - PRUNE_AFTER_SECONDS
    for old in entries[KEEP_RUNNER_LAYERS:]:
        if old != keep and old.stat().st_mtime < stale_before:
            shutil.rmtree(old, ignore_errors=True)


def _load(base: Path, final: Path, built: bool) -> Image:
    tag = recipe.version()
    layout = final / "oci"
    digest = manifest_digest(layout, tag)
    rootfs = Rootfs(base / "rootfs", final / "app", recipe.reference(), digest)
    return Image(rootfs, layout, tag, compressed_size(layout, digest), built)


def ensure_image(repo: Path = recipe.REPO_ROOT, rebuild_runner: bool = False) -> Image:
    """The image for this checkout's runner/: from the cache, or built now.

    ``rebuild_runner`` builds the runner layer again even when it is cached (the
    reproducibility check); the base is reused when cached.
    """
    base, base_built = ensure_base()
    final = cache_dir() / f"runner-{runner_key(repo)}"
    if (final / "oci" / "index.json").exists() and not rebuild_runner:
        os.utime(final)  # recently used: kept by _prune
        return _load(base, final, base_built)
    with _locked():
        if (final / "oci" / "index.json").exists() and not rebuild_runner:
            return _load(base, final, base_built)
        _require(("umoci", "bwrap"))
        began = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix="tmp-runner-", dir=cache_dir()))
        try:
            _stage_runner(work, repo)
            _compile(base / "rootfs", work / "app", [f"{recipe.WORKDIR}/runner"])
            layer = work / "runner.tar"
            tarlayer.write_layer(work, layer, recipe.epoch())
            # the staged tree is the layer's content: keep it as the rootfs's /app
            _copy_layout(base / "oci", work / "oci")
            _oci_finish(work / "oci", layer, recipe.version())
            layer.unlink()
            # A rebuild of a cached layer goes beside it: running sandboxes have the
            # cached one's /app mounted, and its files must not vanish under them.
            target = final if not final.exists() else final.with_name(f"{final.name}.rebuilt")
            if target.exists():
                shutil.rmtree(target)
            os.replace(work, target)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        _prune(final)
        _log(f"runner layer built in {time.monotonic() - began:.1f}s")
    return _load(base, target, True)


def docker_archive(image: Image, out: Path) -> Path:
    """``docker load`` / ``kind load image-archive`` input, tagged with the image reference."""
    _require(("skopeo",))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    source = f"oci:{image.layout}:{image.tag}"
    _run(
        "skopeo copy",
        ["skopeo", "copy", "--quiet", source, f"docker-archive:{out}:{image.rootfs.reference}"],
    )
    return out

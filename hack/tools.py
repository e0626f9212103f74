"""Build the release-checking tools from the Go module proxy, once per version.

krew (installed as ``kubectl-krew``, so ``kubectl krew`` finds it) and
``validate-krew-manifest`` check the plugin's manifest and archive the way the
krew index does; actionlint checks .github/workflows, which cannot run here.
Each tool is cached under ``~/.cache/kubectl-trigger/tools/<tool>-<version>/``
(``KT_CACHE_DIR`` moves it), like the control-plane binaries, so only the
first run pays for the build.

    python hack/tools.py            # build what is missing, print the bin folders
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devcluster.versions import cache_root  # noqa: E402

KREW = "v0.4.3"
ACTIONLINT = "v1.7.12"


@dataclass(frozen=True)
class Tool:
    """A Go command: its package path, the pinned module version, the name to install as."""

    package: str
    version: str
    name: str

    def bin_dir(self) -> Path:
        """The cache folder for this tool at this version."""
        key = f"{self.package.rsplit('/', 1)[-1]}-{self.version}"
        return cache_root() / "tools" / key / "bin"

    def path(self) -> Path:
        """Where the built executable is (or will be)."""
        return self.bin_dir() / self.name


TOOLS = {
    "kubectl-krew": Tool("sigs.k8s.io/krew/cmd/krew", KREW, "kubectl-krew"),
    "validate-krew-manifest": Tool(
        "sigs.k8s.io/krew/cmd/validate-krew-manifest", KREW, "validate-krew-manifest"
    ),
    "actionlint": Tool("github.com/rhysd/actionlint/cmd/actionlint", ACTIONLINT, "actionlint"),
}


class BuildError(RuntimeError):
    """``go install`` failed; the message carries its output's tail."""


def _go() -> str:
    found = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if found is None:
        raise BuildError(
            "no Go toolchain on PATH or at /usr/local/go/bin: it builds krew and actionlint"
        )
    return found


def ensure(name: str) -> Path:
    """The executable for ``name``, built first if it is not cached yet."""
    tool = TOOLS[name]
    if tool.path().exists():
        return tool.path()
    cache_root().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="kt-tool-", dir=cache_root()))
    start = time.monotonic()
    print(f"[tools] building {tool.package}@{tool.version} (first run only)", file=sys.stderr)
    try:
        env = {**os.environ, "GOBIN": str(staging), "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
        proc = subprocess.run(
            [_go(), "install", "-trimpath", "-ldflags=-s -w", f"{tool.package}@{tool.version}"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
            raise BuildError(f"go install {tool.package}@{tool.version} failed:\n{tail}")
        built = staging / tool.package.rsplit("/", 1)[-1]
        tool.bin_dir().mkdir(parents=True, exist_ok=True)
        os.replace(built, tool.path())  # atomic: never a half-written tool in the cache
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"[tools] {name} built in {time.monotonic() - start:.0f} s", file=sys.stderr)
    return tool.path()


def main() -> int:
    """Build every tool that is missing; print each executable's path."""
    try:
        for name in TOOLS:
            print(ensure(name))
    except BuildError as err:
        print(f"tools: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

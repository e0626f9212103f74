"""Build the control plane's binaries from the official Go modules, once per version.

``go install k8s.io/kubernetes/cmd/...@vX`` does not work: k8s.io/kubernetes
requires its staging modules at v0.0.0 and replaces them with local folders. So
each build happens in a throwaway wrapper module that requires the release and
replaces every staging module by its published v0.Y.Z. The list of staging
modules is read from the release's own go.mod, never typed by hand.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from devcluster import versions


class BuildError(RuntimeError):
    """A Go build step failed; the message carries the command's output tail."""


def _go(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", **(env or {})}
    proc = subprocess.run(
        ["go", *args], cwd=cwd, env=full_env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise BuildError(f"go {' '.join(args)} failed in {cwd}:\n{tail}")
    return proc.stdout


def _log(msg: str) -> None:
    print(f"[devcluster build] {msg}", file=sys.stderr, flush=True)


def _upstream_gomod(module: str, version: str, cwd: Path) -> str:
    info = json.loads(_go(["mod", "download", "-json", f"{module}@{version}"], cwd))
    return Path(info["GoMod"]).read_text()


def kubernetes_wrapper_gomod(upstream: str, version: str) -> str:
    """A go.mod that requires k8s.io/kubernetes and maps staging modules to releases."""
    staging_version = "v0." + version.split(".", 1)[1]  # v1.34.4 -> v0.34.4
    staging = re.findall(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/", upstream, re.M)
    if not staging:
        raise BuildError("no staging replaces found in k8s.io/kubernetes go.mod")
    header = [line for line in upstream.splitlines() if re.match(r"^(go|godebug) ", line)]
    lines = ["module kubectl-trigger.local/k8sbuild", "", *header, ""]
    lines.append(f"require k8s.io/kubernetes {version}")
    lines.append("")
    lines.append("replace (")
    lines += [f"\t{mod} => {mod} {staging_version}" for mod in staging]
    lines.append(")")
    return "\n".join(lines) + "\n"


def _version_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    values = {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": date,
    }
    pkgs = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
    flags = [f"-X {pkg}.{key}={val}" for pkg in pkgs for key, val in values.items()]
    return "-s -w " + " ".join(flags)


def _tools_go(imports: list[str]) -> str:
    body = "\n".join(f'\t_ "{imp}"' for imp in imports)
    return f"//go:build tools\n\npackage tools\n\nimport (\n{body}\n)\n"


def _build_module(gomod: str, imports: list[str], out: Path, ldflags: str) -> None:
    with tempfile.TemporaryDirectory(prefix="kt-gobuild-") as tmp:
        work = Path(tmp)
        (work / "go.mod").write_text(gomod)
        (work / "tools.go").write_text(_tools_go(imports))
        _go(["mod", "tidy"], work)
        _go(["build", "-trimpath", "-ldflags", ldflags, "-o", str(out) + "/", *imports], work)


def build_kubernetes(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="kt-gomod-") as tmp:
        upstream = _upstream_gomod("k8s.io/kubernetes", versions.KUBERNETES, Path(tmp))
    gomod = kubernetes_wrapper_gomod(upstream, versions.KUBERNETES)
    cmds = [f"k8s.io/kubernetes/cmd/{c}" for c in versions.KUBERNETES_COMMANDS]
    _build_module(gomod, cmds, out, _version_ldflags(versions.KUBERNETES))


def build_etcd(out: Path) -> None:
    gomod = "module kubectl-trigger.local/etcdbuild\n\ngo 1.24\n\n"
    gomod += f"require go.etcd.io/etcd/server/v3 {versions.ETCD}\n"
    _build_module(gomod, ["go.etcd.io/etcd/server/v3"], out, "-s -w")
    # `go build` names a /vN module's binary after the element before the suffix.
    (out / "server").rename(out / "etcd")


def build_kwok(out: Path) -> None:
    gomod = "module kubectl-trigger.local/kwokbuild\n\ngo 1.26\n\n"
    gomod += f"require sigs.k8s.io/kwok {versions.KWOK}\n"
    _build_module(gomod, ["sigs.k8s.io/kwok/cmd/kwok"], out, "-s -w")


#: binary name -> builder; a builder may produce several binaries at once.
BUILDERS = {
    "etcd": build_etcd,
    "kwok": build_kwok,
    "kube-apiserver": build_kubernetes,
}

REQUIRED = (*versions.KUBERNETES_COMMANDS, "etcd", "kwok")


def missing_binaries() -> list[str]:
    return [name for name in REQUIRED if not (versions.bin_dir() / name).exists()]


def ensure_binaries() -> Path:
    """Build whatever is not cached yet; return the folder holding all binaries."""
    final = versions.bin_dir()
    versions.cache_root().mkdir(parents=True, exist_ok=True)
    for name, builder in BUILDERS.items():
        if (final / name).exists():
            continue
        _log(f"building {name} into {final} (first run only; can take 10-25 minutes)")
        staging = Path(tempfile.mkdtemp(prefix="kt-bin-", dir=versions.cache_root()))
        try:
            builder(staging)
            final.mkdir(parents=True, exist_ok=True)
            for binary in staging.iterdir():
                os.replace(binary, final / binary.name)  # atomic: no half-written binary
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    still_missing = missing_binaries()
    if still_missing:
        raise BuildError(f"binaries still missing after build: {', '.join(still_missing)}")
    return final


if __name__ == "__main__":
    print(ensure_binaries())

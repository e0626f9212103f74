"""The one place that pins what the local control plane is built from."""

from __future__ import annotations

import os
from pathlib import Path

KUBERNETES = "v1.34.4"
ETCD = "v3.6.4"  # the etcd release Kubernetes 1.34 is tested with
KWOK = "v0.8.0"

#: Kubernetes binaries built from k8s.io/kubernetes in one `go build`.
KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")


def cache_root() -> Path:
    """Where built binaries live: outside the repo, shared by every checkout."""
    base = os.environ.get("KT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "kubectl-trigger"
    )
    return Path(base)


def bin_dir() -> Path:
    """Binaries are keyed by every pinned version, so a bump rebuilds."""
    return cache_root() / f"k8s-{KUBERNETES}-etcd-{ETCD}-kwok-{KWOK}" / "bin"

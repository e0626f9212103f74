"""A tiny Kubernetes API client over the standard library, shared by the runner and the plugin.

Public names live here. Errors and configuration are plain stdlib and imported
at once; the client (which pulls in http.client and ssl) is imported on first use,
so code that only catches ``runner.kube.NotFound`` stays cheap. PyYAML is
imported only when a kubeconfig is actually read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runner.kube.config import (
    ClientConfig,
    ConfigError,
    ExecPlugin,
    in_cluster_config,
    load_config,
    load_kubeconfig,
)
from runner.kube.errors import (
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ResourceNotFound,
    ServerError,
    TooManyRequests,
    Unauthorized,
)

if TYPE_CHECKING:
    from runner.kube.client import KubeClient
    from runner.kube.discovery import ResourceInfo
    from runner.kube.watch import WatchStream

__all__ = [
    "ApiError",
    "BadRequest",
    "ClientConfig",
    "ConfigError",
    "Conflict",
    "ConnectionFailed",
    "ExecPlugin",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubeClient",
    "NotFound",
    "ResourceInfo",
    "ResourceNotFound",
    "ServerError",
    "TooManyRequests",
    "Unauthorized",
    "WatchStream",
    "in_cluster_config",
    "load_config",
    "load_kubeconfig",
]

#: lazily imported name -> its module
_LAZY = {
    "KubeClient": "runner.kube.client",
    "ResourceInfo": "runner.kube.discovery",
    "WatchStream": "runner.kube.watch",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runner.kube' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

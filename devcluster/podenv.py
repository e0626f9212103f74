"""What an emulated container sees: its argv, its environment and its credentials.

A kubelet builds these from the pod spec; the pod emulator has to do the same.
Every container shares the host's network (so it reaches the API server on
127.0.0.1 and must bind its metrics port to :0). A container run from the
runner image's rootfs sees only its image's and its pod's environment and finds
its service-account files where Kubernetes mounts them; a host process (a test
image) gets a few host variables and names its service-account folder in
``KT_SERVICEACCOUNT_DIR``.
"""

from __future__ import annotations

import base64
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from devcluster import images, layout
from devcluster.api import Api, ApiError

Pod = dict[str, Any]


class ContainerConfigError(RuntimeError):
    """The container cannot be started as specified (a kubelet's CreateContainerConfigError)."""


#: argv[0] values that mean "the Python in the image": we run the project's interpreter.
PYTHON_NAMES = frozenset({"python", "python3", f"python3.{sys.version_info.minor}"})

#: Host variables a process needs to work at all; nothing else leaks in (no KUBECONFIG).
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")

#: Variables an image would typically set; the pod's own env overrides them.
IMAGE_DEFAULTS = {"PYTHONUNBUFFERED": "1"}

_META_KEY = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")

#: fieldRef paths the downward API supports, resolved from the pod object.
FIELD_PATHS: dict[str, Callable[[Pod], str]] = {
    "metadata.name": lambda pod: pod["metadata"]["name"],
    "metadata.namespace": lambda pod: pod["metadata"]["namespace"],
    "metadata.uid": lambda pod: pod["metadata"]["uid"],
    "spec.serviceAccountName": lambda pod: service_account(pod),
    "spec.nodeName": lambda pod: pod["spec"].get("nodeName", ""),
    "status.podIP": lambda pod: layout.HOST,
    "status.hostIP": lambda pod: layout.HOST,
}


def service_account(pod: Pod) -> str:
    return str(pod["spec"].get("serviceAccountName") or "default")


def field_value(pod: Pod, path: str) -> str:
    getter = FIELD_PATHS.get(path)
    if getter is not None:
        return getter(pod)
    match = _META_KEY.match(path)
    if match:
        return str(pod["metadata"].get(match.group(1), {}).get(match.group(2), ""))
    raise ContainerConfigError(f"fieldRef {path!r} is not supported by the pod emulator")


def _read_data(api: Api, kind: str, namespace: str, name: str, optional: bool) -> dict[str, str]:
    """A ConfigMap's data or a Secret's decoded data; {} for a missing optional object."""
    plural = {"ConfigMap": "configmaps", "Secret": "secrets"}[kind]
    try:
        obj = api.get(f"/api/v1/namespaces/{namespace}/{plural}/{name}")
    except ApiError as exc:
        if exc.status == 404 and optional:
            return {}
        raise ContainerConfigError(f"{kind} {namespace}/{name}: {exc}") from exc
    data: dict[str, str] = dict(obj.get("data") or {})
    if kind == "Secret":
        return {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}
    return data


def _key_ref(api: Api, kind: str, namespace: str, ref: Mapping[str, Any]) -> str | None:
    optional = bool(ref.get("optional"))
    data = _read_data(api, kind, namespace, ref["name"], optional)
    if ref["key"] in data:
        return data[ref["key"]]
    if optional:
        return None
    raise ContainerConfigError(f"{kind} {namespace}/{ref['name']} has no key {ref['key']!r}")


_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known names are replaced, ``$$`` escapes."""

    def repl(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REF.sub(repl, text)


def pod_env(api: Api, pod: Pod, container: Mapping[str, Any]) -> dict[str, str]:
    """The container's declared environment: envFrom first, then env (which wins)."""
    namespace = pod["metadata"]["namespace"]
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(key)
            if ref:
                data = _read_data(api, kind, namespace, ref["name"], bool(ref.get("optional")))
                env.update({prefix + k: v for k, v in data.items()})
    for item in container.get("env") or []:
        value_from = item.get("valueFrom")
        if value_from is None:
            env[item["name"]] = expand(item.get("value", ""), env)
        elif "fieldRef" in value_from:
            env[item["name"]] = field_value(pod, value_from["fieldRef"]["fieldPath"])
        elif "secretKeyRef" in value_from or "configMapKeyRef" in value_from:
            kind = "Secret" if "secretKeyRef" in value_from else "ConfigMap"
            ref = value_from.get("secretKeyRef") or value_from["configMapKeyRef"]
            resolved = _key_ref(api, kind, namespace, ref)
            if resolved is not None:
                env[item["name"]] = resolved
        else:
            raise ContainerConfigError(
                f"env {item['name']}: {sorted(value_from)} is not supported by the pod emulator"
            )
    return env


def full_env(
    declared: Mapping[str, str],
    pod: Pod,
    api_port: int,
    sa_dir: Path | None,
    *,
    in_image: bool = False,
) -> dict[str, str]:
    """Host basics or nothing (``in_image``: the sandbox adds the image's ENV), the
    pod's env, then what the emulator must control."""
    env = {} if in_image else {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
    if not in_image:
        env.update(IMAGE_DEFAULTS)
    env["HOSTNAME"] = pod["metadata"]["name"]
    env.update(declared)
    env.update(
        {
            "KUBERNETES_SERVICE_HOST": layout.HOST,
            "KUBERNETES_SERVICE_PORT": str(api_port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(api_port),
            "RUNNER_METRICS_ADDRESS": f"{layout.HOST}:0",  # host network: never a fixed port
        }
    )
    if sa_dir is not None and not in_image:
        env["KT_SERVICEACCOUNT_DIR"] = str(sa_dir)
    return env


def argv(container: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """command + args with ``$(VAR)`` expanded.

    In a host process, python is the project's interpreter; in the image, the image's.
    """
    image = images.lookup(container.get("image", ""))
    command = list(container.get("command") or (image.entrypoint if image else None) or [])
    if not command:
        raise ContainerConfigError(
            f"container {container['name']!r}: image {container.get('image')!r} has no known "
            "entrypoint, so the pod must give `command`"
        )
    args = [expand(a, env) for a in [*command, *(container.get("args") or [])]]
    in_image = image is not None and image.from_rootfs
    if not in_image and os.path.basename(args[0]) in PYTHON_NAMES:
        args[0] = sys.executable
    return args


def wants_token(pod: Pod) -> bool:
    """Mounted unless automount is off and no projected token volume asks for one."""
    if pod["spec"].get("automountServiceAccountToken") is not False:
        return True
    for volume in pod["spec"].get("volumes") or []:
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "serviceAccountToken" in source:
                return True
    return False


def request_token(api: Api, pod: Pod, seconds: int) -> tuple[str, str]:
    """A token for the pod's ServiceAccount bound to the pod: (token, expiration)."""
    meta = pod["metadata"]
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "expirationSeconds": seconds,
            "boundObjectRef": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": meta["name"],
                "uid": meta["uid"],
            },
        },
    }
    path = f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{service_account(pod)}/token"
    try:
        status = api.request("POST", path, body)["status"]
    except ApiError as exc:
        raise ContainerConfigError(f"TokenRequest for {service_account(pod)}: {exc}") from exc
    return status["token"], status["expirationTimestamp"]


def _atomic_write(path: Path, data: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(data)
    os.replace(tmp, path)


def write_credentials(sa_dir: Path, token: str, ca_pem: str, namespace: str) -> None:
    """The three files of an in-cluster service-account mount."""
    sa_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(sa_dir / "ca.crt", ca_pem)
    _atomic_write(sa_dir / "namespace", namespace)
    _atomic_write(sa_dir / "token", token)

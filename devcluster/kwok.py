"""kwok's part of the devcluster: its stages, its log wiring and the simulated node.

kwok plays the kubelet of one simulated node. It does not schedule (kube-scheduler
does) and runs nothing; it moves objects through *stages*, written here as
kwok's Stage API objects:

- node-initialize / node-heartbeat: the node turns Ready, with InternalIP
  127.0.0.1 and kwok's port as its kubelet endpoint, and stays Ready;
- pod-ready: a scheduled pod becomes Running (host network: pod IP 127.0.0.1);
- pod-complete: a Job's pod succeeds, unless the pod emulator runs it;
- pod-delete: a deleting pod disappears, unless the pod emulator runs it (the
  emulator deletes those itself once their process has stopped).

``kubectl logs`` reaches kwok's kubelet-style endpoint through the API server.
kwok answers from files: a per-pod ``Logs`` object (a custom resource, which the
pod emulator creates for the pods it runs) or else the cluster-wide default
below, which explains that the container is only simulated.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from devcluster import images, layout
from devcluster.layout import Layout

GROUP = "kwok.x-k8s.io"
API_VERSION = f"{GROUP}/v1alpha1"
MANAGED_ANNOTATION = f"{GROUP}/node"
MANAGED_VALUE = "fake"

#: jq expression kwok evaluates on a pod: does any container use an emulated image?
EMULATED_QUERY = f".spec.containers | map(.image | test({json.dumps(images.PATTERN)})) | any"

_NODE_STATUS = """\
{{ $now := Now }}
conditions:
{{ range NodeConditions }}
- lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
  message: {{ .message | Quote }}
  reason: {{ .reason | Quote }}
  status: {{ .status | Quote }}
  type: {{ .type | Quote }}
{{ end }}
addresses:
- {address: "%(ip)s", type: InternalIP}
- {address: {{ .metadata.name | Quote }}, type: Hostname}
daemonEndpoints:
  kubeletEndpoint:
    Port: %(port)d
allocatable: {cpu: "64", memory: 256Gi, pods: "1000"}
capacity: {cpu: "64", memory: 256Gi, pods: "1000"}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: kwok-{{ Version }}
  kubeProxyVersion: kwok-{{ Version }}
  containerRuntimeVersion: devcluster-podemu
  kernelVersion: ""
  osImage: ""
  machineID: ""
  systemUUID: ""
  bootID: ""
phase: Running
"""

_NODE_HEARTBEAT = """\
{{ $now := Now }}
conditions:
{{ range NodeConditions }}
- lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $.metadata.creationTimestamp | Quote }}
  message: {{ .message | Quote }}
  reason: {{ .reason | Quote }}
  status: {{ .status | Quote }}
  type: {{ .type | Quote }}
{{ end }}
"""

_POD_RUNNING = """\
{{ $now := Now }}
conditions:
{{ range list "PodReadyToStartContainers" "Initialized" "Ready" "ContainersReady" }}
- {type: {{ . }}, status: "True", lastTransitionTime: {{ $now | Quote }}}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ .image | Quote }}
  containerID: {{ printf "kwok://%%s" .name | Quote }}
  ready: true
  started: true
  restartCount: 0
  state:
    running: {startedAt: {{ $now | Quote }}}
{{ end }}
hostIP: "%(ip)s"
hostIPs: [{ip: "%(ip)s"}]
podIP: "%(ip)s"
podIPs: [{ip: "%(ip)s"}]
phase: Running
startTime: {{ $now | Quote }}
"""

_POD_SUCCEEDED = """\
{{ $now := Now }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ .image | Quote }}
  ready: false
  started: false
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
phase: Succeeded
"""


def _expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    expr: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        expr["values"] = list(values)
    return expr


def _stage(name: str, kind: str, exprs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "resourceRef": {"apiGroup": "v1", "kind": kind},
        "selector": {"matchExpressions": exprs},
    }
    next_ = extra.pop("next")
    spec.update(extra)
    spec["next"] = next_
    return {"apiVersion": API_VERSION, "kind": "Stage", "metadata": {"name": name}, "spec": spec}


_NODE_READY = '.status.conditions.[] | select(.type == "Ready") | .status'
_POD_READY = _NODE_READY  # same shape: the Ready condition's status
_NOT_DELETING = _expr(".metadata.deletionTimestamp", "DoesNotExist")
_NOT_EMULATED = _expr(EMULATED_QUERY, "NotIn", "true")


def stages(node_port: int) -> list[dict[str, Any]]:
    """Our stage set: node initialize/heartbeat and pod ready/complete/delete."""
    fill = {"ip": layout.HOST, "port": node_port}
    return [
        _stage(
            "node-initialize",
            "Node",
            [_expr(_NODE_READY, "NotIn", "True")],
            next={"statusTemplate": _NODE_STATUS % fill},
        ),
        _stage(
            "node-heartbeat",
            "Node",
            [_expr(".status.phase", "In", "Running"), _expr(_NODE_READY, "In", "True")],
            # 10-15 s: well inside the node-lifecycle controller's grace period.
            delay={"durationMilliseconds": 10000, "jitterDurationMilliseconds": 15000},
            immediateNextStage=True,
            next={"statusTemplate": _NODE_HEARTBEAT},
        ),
        _stage(
            "pod-ready",
            "Pod",
            [
                _NOT_DELETING,
                _expr(".status.phase", "In", "Pending"),
                _expr(_POD_READY, "NotIn", "True"),
            ],
            next={"statusTemplate": _POD_RUNNING % fill},
        ),
        _stage(
            "pod-complete",
            "Pod",
            [
                _NOT_DELETING,
                _NOT_EMULATED,
                _expr(".status.phase", "In", "Running"),
                _expr(".metadata.ownerReferences.[].kind", "In", "Job"),
            ],
            next={"statusTemplate": _POD_SUCCEEDED},
        ),
        _stage(
            "pod-delete",
            "Pod",
            [_expr(".metadata.deletionTimestamp", "Exists"), _NOT_EMULATED],
            next={"finalizers": {"empty": True}, "delete": True},
        ),
    ]


def cri_log_line(stream: str, text: str, when: datetime | None = None) -> str:
    """One line in the CRI container-log format kwok's log reader expects."""
    stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{stamp} {stream} F {text}\n"


def default_log_file(lay: Layout) -> Path:
    return lay.kwok_dir / "simulated-container.log"


def configuration(lay: Layout) -> str:
    """kwok's --config file: the stages and the cluster-wide default container log."""
    cluster_logs = {
        "apiVersion": API_VERSION,
        "kind": "ClusterLogs",
        "metadata": {"name": "simulated-containers"},
        "spec": {"logs": [{"logsFile": str(default_log_file(lay))}]},
    }
    docs = [*stages(lay.ports["kwok"]), cluster_logs]
    return yaml.safe_dump_all(docs, sort_keys=False)


def write_config(lay: Layout) -> Path:
    lay.kwok_dir.mkdir(parents=True, exist_ok=True)
    default_log_file(lay).write_text(
        cri_log_line(
            "stdout",
            "devcluster: this container is simulated by kwok; its image is not run "
            "(only images on the pod emulator's allowlist are)",
        )
    )
    path = lay.kwok_dir / "kwok.yaml"
    path.write_text(configuration(lay))
    return path


def argv(lay: Layout) -> list[str]:
    port = lay.ports["kwok"]
    return [
        lay.binary("kwok"),
        f"--kubeconfig={lay.component_kubeconfig('kwok')}",
        f"--config={lay.kwok_dir / 'kwok.yaml'}",
        f"--manage-nodes-with-annotation-selector={MANAGED_ANNOTATION}={MANAGED_VALUE}",
        f"--node-ip={layout.HOST}",
        f"--node-port={port}",
        f"--server-address={layout.HOST}:{port}",
        f"--tls-cert-file={lay.pki_dir / 'serving.crt'}",
        f"--tls-private-key-file={lay.pki_dir / 'serving.key'}",
        "--enable-crds=Logs",
    ]


def node(name: str = layout.NODE_NAME) -> dict[str, Any]:
    """The simulated node; kwok adopts it through the annotation and fills its status."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {MANAGED_ANNOTATION: MANAGED_VALUE},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
    }


_OPEN_OBJECT = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def logs_crd() -> dict[str, Any]:
    """Our CRD for kwok's namespaced ``Logs`` kind: one per emulated pod."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"logs.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": "Logs", "listKind": "LogsList", "plural": "logs", "singular": "logs"},
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": _OPEN_OBJECT,
                                "status": _OPEN_OBJECT,
                            },
                        }
                    },
                }
            ],
        },
    }


def pod_logs(pod: dict[str, Any], files: dict[str, tuple[Path, Path]]) -> dict[str, Any]:
    """A ``Logs`` object pointing each container of ``pod`` at (current, previous) files.

    It is named like the pod (that is how kwok matches it) and owned by the pod, so
    the garbage collector removes it with the pod.
    """
    meta = pod["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": "Logs",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}
            ],
        },
        "spec": {
            "logs": [
                {
                    "containers": [container],
                    "logsFile": str(current),
                    "previousLogsFile": str(previous),
                    "follow": True,
                }
                for container, (current, previous) in files.items()
            ]
        },
    }

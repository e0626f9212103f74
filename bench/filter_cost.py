"""Filter cost: four typical compiled filters on a realistic Pod versus json.loads of that Pod.

The design bar (shared/DESIGN.md): a typical set of four JSONPath filters
costs no more CPU than decoding the event's JSON (ratio at most 1). Both are
timed on the same machine in the same run, as the best of several repeats of
many iterations (the least disturbed figure on a shared machine).

The filters, compiled once with runner.filters.compile_filters:

- ``{.status.phase}`` equals Running
- ``{.status.conditions[?(@.type=="Ready")].status}`` equals "True"
- ``{.metadata.labels.app}`` in [web, api]
- ``{.metadata.annotations.skip}`` exists: false

Prints per-event microseconds for both and their ratio, and merges the
figures into bench/results.json under "filter_cost".
Usage: python bench/filter_cost.py [--iterations 20000] [--repeats 7] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import merge_results  # noqa: E402
from runner.filters import compile_filters  # noqa: E402

BAR = 1.0

FILTERS: list[dict[str, Any]] = [
    {"path": "{.status.phase}", "equals": "Running"},
    {"path": '{.status.conditions[?(@.type=="Ready")].status}', "equals": "True"},
    {"path": "{.metadata.labels.app}", "in": ["web", "api"]},
    {"path": "{.metadata.annotations.skip}", "exists": False},
]


def realistic_pod() -> dict[str, Any]:
    """A Pod as the API server returns it: managedFields, two containers, status."""
    env = [{"name": f"SETTING_{i}", "value": f"value-{i}"} for i in range(8)]
    container = {
        "name": "web",
        "image": "registry.example.com/shop/web:1.24.3",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": env,
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/web"},
            {
                "name": "kube-api-access-7x2lq",
                "readOnly": True,
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            },
        ],
        "readinessProbe": {
            "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
            "timeoutSeconds": 1,
            "periodSeconds": 10,
            "successThreshold": 1,
            "failureThreshold": 3,
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
        },
    }
    sidecar = {**container, "name": "proxy", "image": "registry.example.com/proxy:2.1.0"}
    sidecar["ports"] = [{"name": "admin", "containerPort": 9901, "protocol": "TCP"}]
    stamp = "2024-05-01T10:00:00Z"
    conditions = [
        {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
        for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
    ] + [
        {
            "type": "PodScheduled",
            "status": "True",
            "lastProbeTime": None,
            "lastTransitionTime": stamp,
        }
    ]
    statuses = [
        {
            "name": c["name"],
            "state": {"running": {"startedAt": stamp}},
            "lastState": {},
            "ready": True,
            "restartCount": 0,
            "image": c["image"],
            "imageID": f"{c['image']}@sha256:{'ab' * 32}",
            "containerID": f"containerd://{'cd' * 32}",
            "started": True,
        }
        for c in (container, sidecar)
    ]
    managed = [
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "apiVersion": "v1",
            "time": stamp,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {
                    "f:generateName": {},
                    "f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}},
                    "f:ownerReferences": {".": {}, 'k:{"uid":"0b7c"}': {}},
                },
                "f:spec": {
                    "f:containers": {'k:{"name":"web"}': {".": {}, "f:env": {}, "f:image": {}}}
                },
            },
        },
        {
            "manager": "kubelet",
            "operation": "Update",
            "apiVersion": "v1",
            "time": stamp,
            "fieldsType": "FieldsV1",
            "subresource": "status",
            "fieldsV1": {
                "f:status": {"f:conditions": {}, "f:containerStatuses": {}, "f:phase": {}}
            },
        },
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-7d9f8b6c5d-x2k4p",
            "generateName": "web-7d9f8b6c5d-",
            "namespace": "shop",
            "uid": "5f0c2b1e-6a7d-4e7b-9c2a-1b2c3d4e5f60",
            "resourceVersion": "184467",
            "creationTimestamp": stamp,
            "labels": {"app": "web", "pod-template-hash": "7d9f8b6c5d", "tier": "frontend"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": stamp},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-7d9f8b6c5d",
                    "uid": "0b7c1d2e-3f4a-5b6c-7d8e-9f0a1b2c3d4e",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "managedFields": managed,
        },
        "spec": {
            "volumes": [
                {"name": "config", "configMap": {"name": "web-config", "defaultMode": 420}},
                {"name": "kube-api-access-7x2lq", "projected": {"defaultMode": 420, "sources": []}},
            ],
            "containers": [container, sidecar],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "nodeName": "node-1",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            ],
            "priority": 0,
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": "10.0.0.11",
            "podIP": "10.244.1.23",
            "podIPs": [{"ip": "10.244.1.23"}],
            "startTime": stamp,
            "containerStatuses": statuses,
            "qosClass": "Burstable",
        },
    }


def best_per_call(func: Any, iterations: int, repeats: int) -> float:
    """Microseconds per call: the best of ``repeats`` runs of ``iterations`` calls."""
    times = timeit.repeat(func, number=iterations, repeat=repeats)
    return min(times) / iterations * 1e6


def measure(iterations: int, repeats: int) -> dict[str, Any]:
    """Time json.loads and the four filters on the same Pod; return the figures."""
    pod = realistic_pod()
    text = json.dumps(pod)
    predicate = compile_filters(FILTERS, "spec.filters")
    decoded = json.loads(text)
    assert predicate(decoded) is True, "the benchmark filters must match the Pod"
    loads = json.loads
    decode_us = best_per_call(lambda: loads(text), iterations, repeats)
    filter_us = best_per_call(lambda: predicate(decoded), iterations, repeats)
    ratio = filter_us / decode_us
    return {
        "pod_json_bytes": len(text),
        "filters": [json.dumps(f, sort_keys=True) for f in FILTERS],
        "json_decode_us": round(decode_us, 3),
        "filters_us": round(filter_us, 3),
        "ratio": round(ratio, 3),
        "bar_ratio": BAR,
        "meets_bar": ratio <= BAR,
        "iterations": iterations,
        "repeats": repeats,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when the ratio is over the bar."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="do not update results.json")
    args = parser.parse_args(argv)
    figures = measure(args.iterations, args.repeats)
    print(f"Pod JSON: {figures['pod_json_bytes']} bytes")
    print(f"json.loads:      {figures['json_decode_us']:8.2f} µs per event")
    print(f"4 filters:       {figures['filters_us']:8.2f} µs per event")
    print(f"ratio:           {figures['ratio']:8.3f} (bar <= {BAR})")
    if not args.no_write:
        merge_results("filter_cost", figures)
    return 0 if figures["meets_bar"] else 1


if __name__ == "__main__":
    sys.exit(main())

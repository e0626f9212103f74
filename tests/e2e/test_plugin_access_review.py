"""The runner's ServiceAccount may do exactly what its spec needs, proved by the API server.

Two kinds of proof: SubjectAccessReviews (the authorizer's own answer for the
runner's identity) over an allow/deny matrix, and real requests made with a
token of the runner's ServiceAccount (``kubectl create token``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.plugin_support import (
    installed,  # noqa: F401 - fixture
    submit,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

SPEC = {
    "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": ["update"]}},
    "actions": [
        {"rolloutRestart": {"kind": "Deployment", "selector": "app=web"}},
        {
            "webhook": {
                "url": {"secretKeyRef": {"name": "hooks", "key": "url"}},
                "body": '{"changed": "{{ .object.metadata.name }}"}',
            }
        },
    ],
}


def can(
    cluster: Cluster,
    sa_ns: str,
    verb: str,
    resource: str,
    namespace: str,
    group: str = "",
    name: str = "",
    subresource: str = "",
) -> bool:
    """The authorizer's answer for the runner's ServiceAccount (a SubjectAccessReview)."""
    attrs = {"namespace": namespace, "verb": verb, "group": group, "resource": resource}
    if name:
        attrs["name"] = name
    if subresource:
        attrs["subresource"] = subresource
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": f"system:serviceaccount:{sa_ns}:trigger-web",
            "groups": [
                "system:serviceaccounts",
                f"system:serviceaccounts:{sa_ns}",
                "system:authenticated",
            ],
            "resourceAttributes": attrs,
        },
    }
    out = cluster.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(review)).stdout
    return bool(json.loads(out)["status"].get("allowed"))


def test_access_reviews(cluster: Cluster, namespace: str) -> None:
    submit(cluster, "create", namespace, "web", SPEC)
    other = f"{namespace}-other"
    allowed = [
        ("get", "configmaps", namespace, "", "", ""),
        ("list", "configmaps", namespace, "", "", ""),
        ("watch", "configmaps", namespace, "", "", ""),
        ("patch", "deployments", namespace, "apps", "", ""),
        ("list", "deployments", namespace, "apps", "", ""),
        ("get", "secrets", namespace, "", "hooks", ""),
        ("get", "triggers", namespace, "triggers.kubectl-trigger.dev", "web", ""),
        ("patch", "triggers", namespace, "triggers.kubectl-trigger.dev", "web", "status"),
        ("create", "events", namespace, "", "", ""),
    ]
    denied = [
        ("get", "secrets", namespace, "", "db", ""),  # another Secret
        ("list", "secrets", namespace, "", "", ""),  # all Secrets
        ("watch", "secrets", namespace, "", "", ""),
        ("create", "configmaps", namespace, "", "", ""),  # a write to the watched kind
        ("delete", "configmaps", namespace, "", "", ""),
        ("patch", "pods", namespace, "", "", ""),  # a write to another kind
        ("create", "deployments", namespace, "apps", "", ""),
        ("delete", "deployments", namespace, "apps", "", ""),
        ("list", "configmaps", other, "", "", ""),  # another namespace
        ("patch", "deployments", other, "apps", "", ""),
        ("get", "secrets", other, "", "hooks", ""),
        ("list", "configmaps", "", "", "", ""),  # every namespace
        ("patch", "triggers", namespace, "triggers.kubectl-trigger.dev", "other", "status"),
        ("update", "triggers", namespace, "triggers.kubectl-trigger.dev", "web", ""),  # spec
        ("create", "roles", namespace, "rbac.authorization.k8s.io", "", ""),
        ("*", "*", namespace, "*", "", ""),
    ]
    wrong = [a for a in allowed if not can(cluster, namespace, *a[:2], a[2], *a[3:])]
    assert wrong == [], f"should be allowed: {wrong}"
    wrong = [d for d in denied if can(cluster, namespace, *d[:2], d[2], *d[3:])]
    assert wrong == [], f"should be denied: {wrong}"


def _ca_file(cluster: Cluster, tmp_path: Path) -> str:
    cfg = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    c = cfg["clusters"][0]["cluster"]
    if "certificate-authority" in c:
        return str(c["certificate-authority"])
    import base64

    path = tmp_path / "ca.crt"
    path.write_bytes(base64.b64decode(c["certificate-authority-data"]))
    return str(path)


def test_requests_with_the_runners_token(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    submit(cluster, "create", namespace, "web", SPEC)
    cluster.kubectl(
        "create",
        "secret",
        "generic",
        "hooks",
        "-n",
        namespace,
        "--from-literal=url=http://127.0.0.1:9/",
    )
    cluster.kubectl(
        "create", "secret", "generic", "db", "-n", namespace, "--from-literal=password=hunter2"
    )
    token = cluster.kubectl("create", "token", "trigger-web", "-n", namespace).stdout.strip()
    empty = tmp_path / "empty-kubeconfig"
    empty.write_text("apiVersion: v1\nkind: Config\n")

    def as_runner(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(cluster.bin_dir / "kubectl"),
                f"--kubeconfig={empty}",
                f"--server={cluster.server}",
                f"--certificate-authority={_ca_file(cluster, tmp_path)}",
                f"--token={token}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    ok = as_runner("get", "configmaps", "-n", namespace)
    assert ok.returncode == 0, ok.stderr
    ok = as_runner("get", "secret", "hooks", "-n", namespace, "-o", "name")
    assert ok.returncode == 0 and ok.stdout.strip() == "secret/hooks", ok.stderr
    for args in (
        ("get", "secret", "db", "-n", namespace),
        ("get", "secrets", "-n", namespace),
        ("create", "configmap", "x", "-n", namespace),
        ("get", "configmaps", "-n", "default"),
        ("get", "configmaps", "-A"),
    ):
        denied = as_runner(*args)
        assert denied.returncode != 0 and "forbidden" in denied.stderr.lower(), (
            args,
            denied.stderr,
        )
    assert "hunter2" not in as_runner("get", "secret", "db", "-n", namespace, "-o", "yaml").stdout

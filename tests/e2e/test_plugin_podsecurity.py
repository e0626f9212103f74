"""The runner's pod passes Pod Security ``restricted``, as the admission plugin decides."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.plugin_support import (  # noqa: F401 - fixture
    FAKE_IMAGE,
    installed,
    labelled,
    plugin,
    running_pod,
    submit,
    trigger_yaml,
)
from tests.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

SPEC = {
    "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
    "actions": [{"log": {"message": "{{ .object.metadata.name }}"}}],
}


def _restrict(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl(
        "label",
        "namespace",
        namespace,
        "--overwrite",
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=latest",
    )


def test_runner_pod_admitted_under_restricted(cluster: Cluster, namespace: str) -> None:
    _restrict(cluster, namespace)
    rendered = plugin(
        cluster,
        "render",
        "-f",
        "-",
        "-n",
        namespace,
        "--image",
        FAKE_IMAGE,
        input=trigger_yaml("web", SPEC),
    ).stdout
    (dep,) = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Deployment"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "runner-template-check", "namespace": namespace},
        "spec": {**dep["spec"]["template"]["spec"], "serviceAccountName": "default"},
    }
    ok = cluster.kubectl(
        "create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert "Warning" not in ok.stderr, ok.stderr

    # enforcement is really on: the same pod with privilege escalation is refused
    bad = json.loads(json.dumps(pod))
    bad["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    refused = cluster.kubectl(
        "create", "--dry-run=server", "-f", "-", input=json.dumps(bad), check=False
    )
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in refused.stderr

    # and the real thing: the ReplicaSet creates the pod and it runs
    submit(cluster, "create", namespace, "web", SPEC)
    wait_for(lambda: running_pod(cluster, namespace, "web"), 60, "the runner pod Running")
    assert len(labelled(cluster, "replicasets", namespace, "web")) == 1

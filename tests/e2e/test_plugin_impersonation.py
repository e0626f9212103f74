"""kubectl's --as / --as-group / --as-uid on the plugin: it acts with the named user's rights.

Each case runs the built kubectl beside the plugin with the same flags, so the two agree:
a user who administers one namespace creates a Trigger there, is forbidden in another
(nothing written), and a group without a user is refused before any request. ``run``
passes the flags on: its local runner acts as that user too.
"""

from __future__ import annotations

import os
import secrets

import pytest

from tests.conftest import Cluster
from tests.e2e.plugin_support import (  # noqa: F401 - fixture
    FAKE_IMAGE,
    ForegroundRun,
    get_or_none,
    installed,
    plugin,
    trigger_yaml,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

LOG_SPEC = {
    "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
    "actions": [{"log": {"message": "x"}}],
}


def test_as_acts_with_the_named_users_rights(cluster: Cluster, namespace: str) -> None:
    user = f"mallory-{secrets.token_hex(3)}"
    other = f"{namespace[:50]}-o"
    cluster.kubectl("create", "namespace", other)
    try:
        cluster.kubectl(
            "create", "rolebinding", "ns-admin", "--clusterrole=admin", f"--user={user}",
            "-n", namespace,
        )  # fmt: skip
        as_user = ("--as", user, "--as-group", "system:authenticated")
        create = ("create", "-f", "-", "--image", FAKE_IMAGE, *as_user)

        mine = plugin(cluster, *create, "-n", namespace, input=trigger_yaml("mine", LOG_SPEC))
        assert "mine" in mine.stdout
        assert get_or_none(cluster, "trigger", "mine", "-n", namespace)
        assert get_or_none(cluster, "deployment", "trigger-mine", "-n", namespace)

        theirs = plugin(
            cluster, *create, "-n", other, input=trigger_yaml("theirs", LOG_SPEC), check=False
        )
        assert theirs.returncode == 4, theirs.stderr
        assert "forbidden" in theirs.stderr and user in theirs.stderr
        assert get_or_none(cluster, "trigger", "theirs", "-n", other) is None
        assert get_or_none(cluster, "serviceaccount", "trigger-theirs", "-n", other) is None

        # the same answers from kubectl with the same flags
        assert cluster.kubectl("get", "triggers", "-n", namespace, *as_user).returncode == 0
        denied = cluster.kubectl("get", "triggers", "-n", other, *as_user, check=False)
        assert denied.returncode != 0 and "forbidden" in denied.stderr
        listed = plugin(cluster, "get", "-n", other, *as_user, check=False)
        assert listed.returncode == 4 and "forbidden" in listed.stderr

        # the flags work after the subcommand's own and in --flag=value form
        got = plugin(cluster, "get", "mine", "-n", namespace, f"--as={user}")
        assert "mine" in got.stdout
    finally:
        cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)


def test_a_group_without_a_user_is_refused_like_kubectl(cluster: Cluster, namespace: str) -> None:
    proc = plugin(cluster, "get", "-n", namespace, "--as-group", "devs", check=False)
    assert proc.returncode == 2, proc.stderr
    assert "--as-group" in proc.stderr and "--as" in proc.stderr
    assert "Traceback" not in proc.stderr
    kubectl = cluster.kubectl("get", "pods", "-n", namespace, "--as-group", "devs", check=False)
    assert kubectl.returncode != 0 and "without impersonating a user" in kubectl.stderr


def test_run_acts_as_the_named_user(cluster: Cluster, namespace: str) -> None:
    """A viewer's runner watches (view may) but its patch is refused as the viewer's."""
    user = f"viewer-{secrets.token_hex(3)}"
    cluster.kubectl(
        "create", "rolebinding", "viewer", "--clusterrole=view", f"--user={user}", "-n", namespace
    )
    cluster.kubectl("create", "configmap", "watched", "-n", namespace, "--from-literal=a=1")
    spec = {
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": ["update"]}},
        "actions": [{"patch": {"patch": {"data": {"seen": "yes"}}}}],
    }
    env = {**os.environ, "KUBECONFIG": cluster.kubeconfig}
    with ForegroundRun(env, ["-n", namespace, "--as", user], trigger_yaml("dev", spec)) as run:
        run.read_until("watching ConfigMap in " + namespace)
        cluster.kubectl(
            "patch", "configmap", "watched", "-n", namespace, "-p", '{"data":{"a":"2"}}'
        )
        failed = run.read_until("action patch failed")
        assert f'User "{user}" cannot patch resource "configmaps"' in failed, failed
        assert run.stop() == 0
    data = cluster.get_json("configmap", "watched", "-n", namespace)["data"]
    assert data == {"a": "2"}  # the admin's kubeconfig would have patched it

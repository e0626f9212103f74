"""Deleting a Trigger and everything derived from it, and waiting until it is gone.

Owner references let the garbage collector remove the namespaced objects, but
cluster-scoped ones (ClusterRole/Binding) and Roles in other namespaces cannot
be owned by a namespaced Trigger, so deletion here is explicit: the runner
Deployment first (the runner stops before its rights go; foreground, so its
ReplicaSets and pods go with it), then RBAC and the ServiceAccount, the Trigger
last. Then it waits until the Trigger, every labelled object and the runner
pods are gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from kubectl_trigger import derived, session
from kubectl_trigger.errors import OperationFailed, ignore_missing, translated

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

Obj = dict[str, Any]
Report = Callable[[str], None]
Propagation = Literal["Background", "Foreground", "Orphan"]

#: kind -> propagation policy used when deleting it
PROPAGATION: dict[str, Propagation] = {"Deployment": "Foreground", "Trigger": "Background"}


def _delete(client: KubeClient, obj: Obj) -> None:
    kind, ns, name = derived.ref(obj)
    with translated(f"delete {derived.describe_ref(obj)}"), ignore_missing():
        client.delete(
            session.known(kind),
            name,
            ns or None,
            propagation_policy=PROPAGATION.get(kind, "Background"),
        )


def delete_trigger(client: KubeClient, namespace: str, name: str, report: Report) -> list[Obj]:
    """Delete Trigger ``namespace/name`` and its derived objects; returns what was deleted."""
    objs = derived.find(client, namespace, name)
    order = {kind: i for i, kind in enumerate(session.DERIVED_KINDS)}
    objs.sort(key=lambda o: order.get(str(o.get("kind")), 99))
    trigger = {
        "apiVersion": session.known("Trigger").api_version,
        "kind": "Trigger",
        "metadata": {"name": name, "namespace": namespace},
    }
    for obj in [*objs, trigger]:
        _delete(client, obj)
        report(f"{derived.describe_ref(obj)} deleted")
    return [*objs, trigger]


def wait_gone(client: KubeClient, targets: list[tuple[str, str]], timeout: float) -> None:
    """Poll until every Trigger in ``targets`` (namespace, name) and its objects are gone."""
    deadline = time.monotonic() + timeout
    pending = list(targets)
    delay = 0.1
    while pending:
        still = []
        for ns, name in pending:
            left = derived.find(client, ns, name, kinds=(*session.DERIVED_KINDS, "Pod"))
            with translated(), ignore_missing():
                client.get(session.known("Trigger"), name, ns)
                left.append({"kind": "Trigger", "metadata": {"namespace": ns, "name": name}})
            if left:
                still.append((ns, name, left))
        if not still:
            return
        if time.monotonic() > deadline:
            waiting = [derived.describe_ref(o) for _, _, left in still for o in left]
            raise OperationFailed(
                f"timed out after {timeout:g}s waiting for deletion of: {', '.join(waiting)}"
            )
        pending = [(ns, name) for ns, name, _ in still]
        time.sleep(delay)
        delay = min(delay * 2, 1.0)

"""Deleting a Trigger or ClusterTrigger and everything derived from it, and waiting.

Every derived object is owned by its trigger, so the garbage collector alone
would remove them (``kubectl delete clustertrigger x`` works). The plugin still
deletes in order, so the runner stops before its rights go: the runner
Deployment first (foreground, so its ReplicaSets and pods go with it), then RBAC
and the ServiceAccount (objects made by older versions without owners included),
the trigger last. Then it waits until the trigger, every labelled object and the
runner pods are gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from kubectl_trigger import derived, naming, session
from kubectl_trigger.errors import OperationFailed, ignore_missing, translated

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

Obj = dict[str, Any]
Report = Callable[[str], None]
Propagation = Literal["Background", "Foreground", "Orphan"]

#: kind -> propagation policy used when deleting it
PROPAGATION: dict[str, Propagation] = {
    "Deployment": "Foreground",
    "Trigger": "Background",
    "ClusterTrigger": "Background",
}


def _delete(client: KubeClient, obj: Obj) -> None:
    kind, ns, name = derived.ref(obj)
    with translated(f"delete {derived.describe_ref(obj)}"), ignore_missing():
        client.delete(
            session.known(kind),
            name,
            ns or None,
            propagation_policy=PROPAGATION.get(kind, "Background"),
        )


def delete_trigger(client: KubeClient, ref: naming.Ref, report: Report) -> list[Obj]:
    """Delete the trigger ``ref`` and its derived objects; returns what was deleted."""
    objs = derived.find(client, ref, home=derived.home_of(client, ref))
    order = {kind: i for i, kind in enumerate(session.DERIVED_KINDS)}
    objs.sort(key=lambda o: order.get(str(o.get("kind")), 99))
    trigger = {
        "apiVersion": session.known(ref.kind).api_version,
        "kind": ref.kind,
        "metadata": {"name": ref.name, **({"namespace": ref.namespace} if ref.namespace else {})},
    }
    for obj in [*objs, trigger]:
        _delete(client, obj)
        report(f"{derived.describe_ref(obj)} deleted")
    return [*objs, trigger]


def wait_gone(client: KubeClient, targets: list[naming.Ref], timeout: float) -> None:
    """Poll until every trigger in ``targets`` and its objects are gone."""
    deadline = time.monotonic() + timeout
    pending = list(targets)
    homes = {ref: derived.home_of(client, ref) for ref in pending}
    delay = 0.1
    while pending:
        still = []
        for ref in pending:
            kinds = (*session.DERIVED_KINDS, "Pod")
            left = derived.find(client, ref, kinds=kinds, home=homes[ref])
            with translated(), ignore_missing():
                client.get(session.known(ref.kind), ref.name, ref.namespace or None)
                left.append(
                    {"kind": ref.kind, "metadata": {"namespace": ref.namespace, "name": ref.name}}
                )
            if left:
                still.append((ref, left))
        if not still:
            return
        if time.monotonic() > deadline:
            waiting = [derived.describe_ref(o) for _, left in still for o in left]
            raise OperationFailed(
                f"timed out after {timeout:g}s waiting for deletion of: {', '.join(waiting)}"
            )
        pending = [ref for ref, _ in still]
        time.sleep(delay)
        delay = min(delay * 2, 1.0)

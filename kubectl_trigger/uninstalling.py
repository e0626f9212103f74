"""What ``kubectl trigger uninstall`` removes, found before anything is deleted.

Deleting a CRD deletes every object of its kind in every namespace, so users'
Triggers, ClusterTriggers and TriggerTemplates would go with it. ``uninstall``
therefore first reads everything it would remove into a ``Plan``: the CRDs
that are installed, every trigger with its derived objects, every template,
the aggregated roles and the controlled namespace's admission guard ``install``
wrote, and the controlled namespace. While any
trigger or template exists it deletes nothing unless ``--delete-triggers`` says
so; ``--dry-run`` prints the plan. The controlled namespace may hold the
Secrets of ClusterTriggers, so it goes only with ``--delete-triggers`` too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubectl_trigger import (
    cluster_setup,
    derived,
    namespace_guard,
    naming,
    output,
    session,
    teardown,
)
from kubectl_trigger.errors import (
    CrdMissing,
    OperationFailed,
    PluginError,
    ignore_missing,
    translated,
)

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

Obj = dict[str, Any]
TEMPLATE = "TriggerTemplate"


@dataclass
class Plan:
    """Everything uninstall would delete, in the order it deletes it."""

    crds: list[str] = field(default_factory=list)  # the installed ones among the plugin's
    triggers: list[naming.Ref] = field(default_factory=list)
    derived: dict[naming.Ref, list[Obj]] = field(default_factory=dict)
    templates: list[naming.Ref] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)  # aggregated ClusterRoles that exist
    guard: list[tuple[str, str]] = field(default_factory=list)  # (kind, name), binding first
    namespace: str = ""  # the controlled namespace, when it exists

    @property
    def users_objects(self) -> list[naming.Ref]:
        """The users' own objects: triggers and templates."""
        return [*self.triggers, *self.templates]


def _exists(client: KubeClient, kind: str, name: str) -> bool:
    from runner.kube import errors as kube_errors

    with translated(f"get {kind} {name}"):
        try:
            client.get(session.known(kind), name)
        except kube_errors.NotFound:
            return False
    return True


def _all(client: KubeClient, kind: str) -> list[Obj]:
    """Every object of ``kind`` in every namespace; none when its CRD is not installed."""
    try:
        with translated(f"list {session.known(kind).plural}"):
            return list(session.items(client.list_pages(session.known(kind), None)))
    except CrdMissing:
        return []


def gather(client: KubeClient, crd_names: list[str]) -> Plan:
    """Read what is installed and every object uninstall would delete with it."""
    from kubectl_trigger import system_namespace as controlled

    plan = Plan(crds=[n for n in crd_names if _exists(client, "CustomResourceDefinition", n)])
    if not plan.crds:
        return plan
    for kind in (naming.CLUSTER_TRIGGER, naming.TRIGGER):
        for obj in _all(client, kind):
            meta = obj["metadata"]
            ref = (
                naming.Ref.trigger(meta["namespace"], meta["name"])
                if kind == naming.TRIGGER
                else naming.Ref.cluster(meta["name"])
            )
            plan.triggers.append(ref)
            plan.derived[ref] = derived.find(client, ref, uid=meta.get("uid"))
    for obj in _all(client, TEMPLATE):
        plan.templates.append(
            naming.Ref(TEMPLATE, obj["metadata"]["namespace"], obj["metadata"]["name"])
        )
    plan.roles = [
        r["metadata"]["name"]
        for r in cluster_setup.aggregated_roles()
        if _exists(client, "ClusterRole", r["metadata"]["name"])
    ]
    plan.guard = [
        (obj["kind"], obj["metadata"]["name"])
        for obj in reversed(namespace_guard.objects([]))
        if _exists(client, obj["kind"], obj["metadata"]["name"])
    ]
    try:
        name = controlled.read(client)
    except PluginError:  # no ClusterTrigger CRD: no controlled namespace recorded
        name = ""
    if name and _exists(client, "Namespace", name):
        plan.namespace = name
    return plan


def _named(kind: str, name: str, namespace: str = "") -> str:
    group = session.known(kind).group
    where = f" (namespace {namespace})" if namespace else ""
    return f"{kind.lower()}{'.' + group if group else ''}/{name}{where}"


def listing(plan: Plan) -> list[str]:
    """What would be deleted, one ``kind.group/name (namespace ns)`` per line, in order."""
    lines: list[str] = []
    for ref in plan.triggers:
        for obj in plan.derived.get(ref, []):
            kind, ns, name = derived.ref(obj)
            lines.append(_named(kind, name, ns))
        lines.append(_named(ref.kind, ref.name, ref.namespace))
    lines += [_named(TEMPLATE, t.name, t.namespace) for t in plan.templates]
    lines += [_named(kind, name) for kind, name in plan.guard]
    if plan.namespace:
        lines.append(_named("Namespace", plan.namespace))
    lines += [_named("ClusterRole", name) for name in plan.roles]
    lines += [_named("CustomResourceDefinition", name) for name in plan.crds]
    return lines


def refuse(plan: Plan) -> OperationFailed:
    """The error when users' objects exist and ``--delete-triggers`` was not given."""
    shown = [str(r) for r in plan.users_objects]
    return OperationFailed(
        f"{len(shown)} Trigger(s), ClusterTrigger(s) and TriggerTemplate(s) exist; deleting "
        "the CRDs would delete them too. Run kubectl trigger uninstall --delete-triggers to "
        "delete them with their runners (--dry-run lists everything that would go), or "
        "delete them first; nothing was deleted",
        shown,
    )


def execute(client: KubeClient, plan: Plan, timeout: float, report: Callable[[str], None]) -> None:
    """Delete the plan: triggers (runners first), templates, guard, roles, namespace, CRDs.

    The guard goes only after every ClusterTrigger, and so every right it protects.
    """
    for ref in plan.triggers:
        teardown.delete_trigger(client, ref, report)
        print(f"{_named(ref.kind, ref.name, ref.namespace)} deleted")
    if plan.triggers:
        teardown.wait_gone(client, plan.triggers, timeout)
    deletions = [
        *((TEMPLATE, t.name, t.namespace) for t in plan.templates),
        *((kind, name, "") for kind, name in plan.guard),
        *(("ClusterRole", name, "") for name in plan.roles),
        *((("Namespace", plan.namespace, ""),) if plan.namespace else ()),
        *(("CustomResourceDefinition", name, "") for name in plan.crds),
    ]
    for kind, name, ns in deletions:
        with translated(f"delete {kind} {name}"), ignore_missing():
            client.delete(session.known(kind), name, ns or None)
        print(f"{_named(kind, name, ns)} deleted")
    deadline = time.monotonic() + timeout
    gone = [("CustomResourceDefinition", name) for name in plan.crds]
    if plan.namespace:  # a later install must not meet it still terminating
        gone.append(("Namespace", plan.namespace))
    for kind, name in gone:
        while _exists(client, kind, name):
            if time.monotonic() > deadline:
                raise OperationFailed(f"{kind} {name} still present after {timeout:g}s")
            time.sleep(0.2)


def keep_namespace(plan: Plan) -> None:
    """Take the controlled namespace out of the plan (it may hold users' Secrets), saying so."""
    if plan.namespace:
        output.info(
            f"namespace {plan.namespace} is kept: it may hold Secrets of ClusterTriggers "
            "(--delete-triggers removes it too)"
        )
        plan.namespace = ""

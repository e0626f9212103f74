"""What ``describe`` shows, gathered from the cluster and laid out as text.

Split from the command so the layout is unit-tested on plain dicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubectl_trigger import derived, migration, naming, output, readiness, session
from kubectl_trigger.errors import PluginError, translated
from runner.rendered import ENV_GENERATION, ENV_SPEC, canonical

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

Obj = dict[str, Any]
HIDDEN_ANNOTATIONS = (
    naming.ANNOTATION_EXPANDED_SPEC,
    "kubectl.kubernetes.io/last-applied-configuration",
)


@dataclass
class Described:
    """A Trigger and what belongs to it."""

    trigger: Obj
    derived: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    events: list[Obj] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be read, and why
    pods_read: bool = False  # False: Ready below rests on the stored condition alone


def gather(
    client: KubeClient, ref: naming.Ref, max_events: int, home: str | None = None
) -> Described:
    """Read the trigger (NotFound: exit 3), then its objects, pods and Events (best effort).

    ``home``: the runner's namespace (a ClusterTrigger's controlled namespace;
    default: the Trigger's own).
    """
    with translated():
        trigger = dict(client.get(session.known(ref.kind), ref.name, ref.namespace or None))
    trigger.setdefault("kind", ref.kind)
    where = home or ref.namespace
    found = Described(trigger)
    try:
        uid = (trigger.get("metadata") or {}).get("uid")
        found.derived = derived.find(client, ref, namespaces=[where], home=where, uid=uid)
    except PluginError as e:
        found.notes.append(f"derived objects: {e.message}")
    try:
        selector = ",".join(f"{k}={v}" for k, v in ref.pod_selector().items())
        with translated():
            found.pods = list(
                session.items(
                    client.list_pages(session.known("Pod"), where, label_selector=selector)
                )
            )
        found.pods_read = True
    except PluginError as e:
        found.notes.append(f"pods: {e.message}")
    try:
        found.events = (
            _events(client, where, ref, trigger, found.pods)[-max_events:] if max_events else []
        )
    except PluginError as e:
        found.notes.append(f"events: {e.message}")
    return found


def _events(
    client: KubeClient, namespace: str, ref: naming.Ref, trigger: Obj, pods: list[Obj]
) -> list[Obj]:
    """The Events of the trigger and of its runner pods (a ClusterTrigger's are in
    ``default``, the API server's only namespace for Events on cluster-scoped objects)."""
    uids = {trigger["metadata"].get("uid")} | {p["metadata"].get("uid") for p in pods}
    names = {(trigger.get("kind", "Trigger"), trigger["metadata"]["name"])} | {
        ("Pod", p["metadata"]["name"]) for p in pods
    }
    with translated():
        evs = list(session.items(client.list_pages(session.known("Event"), namespace)))
        if ref.cluster_scoped:  # where the runner records them (runner.k8s_events)
            from runner.k8s_events import CLUSTER_EVENTS

            evs += session.items(client.list_pages(session.known("Event"), CLUSTER_EVENTS))
    mine = []
    for ev in evs:
        inv = ev.get("involvedObject") or {}
        if inv.get("uid") in uids or (inv.get("kind"), inv.get("name")) in names:
            mine.append(ev)
    mine.sort(key=_event_time)
    return mine


def _event_time(ev: Obj) -> str:
    return str(
        ev.get("lastTimestamp")
        or ev.get("eventTime")
        or ev.get("firstTimestamp")
        or ev.get("metadata", {}).get("creationTimestamp")
        or ""
    )


def _yaml(value: Any, indent: int) -> list[str]:
    import yaml

    text = yaml.safe_dump(value, sort_keys=False, width=100).rstrip("\n")
    return [" " * indent + line for line in text.splitlines()]


def _kv(label: str, value: Any, width: int = 14) -> str:
    return f"{label + ':':<{width}}{value}"


def text(d: Described) -> str:
    """The describe output."""
    t = d.trigger
    meta = t.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    status = t.get("status") or {}
    kind = str(t.get("kind") or "Trigger")
    lines = [
        _kv("Name", meta.get("name")),
        *([_kv("Namespace", meta.get("namespace"))] if kind == "Trigger" else []),
        _kv("Kind", kind),
        _kv("Labels", _pairs(meta.get("labels"))),
        _kv(
            "Annotations",
            _pairs({k: v for k, v in annotations.items() if k not in HIDDEN_ANNOTATIONS}),
        ),
        _kv("Created", meta.get("creationTimestamp", "<unknown>")),
        _kv("Generation", meta.get("generation", "<unknown>")),
        _kv("Source", annotations.get(naming.ANNOTATION_SOURCE, "<unknown>")),
        _kv("Actions", annotations.get(naming.ANNOTATION_ACTIONS, "<unknown>")),
        "Spec:",
        *_yaml(t.get("spec") or {}, 2),
    ]
    runs = _rendered(d.derived)
    lines.append("Running Spec:")
    if runs is None:
        lines.append("  <none: no runner Deployment with a rendered spec>")
    else:
        spec, generation = runs
        same = canonical(spec) == canonical(t.get("spec") or {})
        note = f"rendered from generation {generation or '<unknown>'}" + (
            "" if same else "; TriggerTemplate uses expanded, or the spec above was edited"
        )
        lines += [f"  ({note}; the runner runs only this)", *_yaml(spec, 2)]
    if migration.reaches_outside(t):
        name, ns = str(meta.get("name")), str(meta.get("namespace"))
        lines.append(
            f"Warning:      this Trigger reaches outside namespace {ns} and does not run; "
            + migration.how_to_move(name, ns)
        )
    ready = readiness.assess(t, d.pods if d.pods_read else None)
    lines.append(
        _kv(
            "Ready",
            f"{ready.status} ({ready.reason})" + (f": {ready.message}" if ready.message else ""),
        )
    )
    lines.append("Status:")
    counters = status.get("counters") or {}
    if not status:
        lines.append("  <none: the runner has not reported yet>")
    else:
        lines += [
            "  " + _kv("Observed Generation", status.get("observedGeneration", "<none>"), 21),
            "  " + _kv("Last Fired", status.get("lastFired") or "<never>", 21),
            "  " + _kv("Last Error", _one_line(status.get("lastError")) or "<none>", 21),
            "  Counters:",
            *[f"    {k}: {v}" for k, v in counters.items()],
            "  Conditions:",
        ]
        rows = [
            [
                c.get("type", ""),
                c.get("status", ""),
                c.get("reason", ""),
                str(c.get("observedGeneration", "")),
                c.get("message", ""),
            ]
            for c in status.get("conditions") or []
        ]
        if rows:
            table = output.table(["Type", "Status", "Reason", "Generation", "Message"], rows)
            lines += ["    " + line for line in table.rstrip("\n").splitlines()]
        else:
            lines.append("    <none>")
    lines.append("Runner:")
    deploys = [o for o in d.derived if o.get("kind") == "Deployment"]
    for dep in deploys:
        st = dep.get("status") or {}
        tmpl = (dep.get("spec") or {}).get("template") or {}
        hash_ = ((tmpl.get("metadata") or {}).get("annotations") or {}).get(
            naming.ANNOTATION_SPEC_HASH, ""
        )
        image = ((tmpl.get("spec") or {}).get("containers") or [{}])[0].get("image", "")
        lines += [
            "  "
            + _kv(
                "Deployment",
                f"{dep['metadata']['name']} ({st.get('readyReplicas', 0)}/"
                f"{(dep.get('spec') or {}).get('replicas', 1)} ready)",
                12,
            ),
            "  " + _kv("Image", image, 12),
            "  " + _kv("Spec Hash", hash_[:16], 12),
        ]
    if not deploys:
        lines.append("  <no runner Deployment found: re-run kubectl trigger apply -f>")
    if d.pods:
        rows = [_pod_row(p) for p in d.pods]
        table = output.table(["Pod", "Phase", "Ready", "Restarts", "Age"], rows)
        lines += ["  " + line for line in table.rstrip("\n").splitlines()]
    lines.append("RBAC:")
    for obj in d.derived:
        if obj.get("kind") in ("Role", "ClusterRole"):
            lines.append(f"  {derived.describe_ref(obj)}")
            for rule in obj.get("rules") or []:
                lines.append("    " + _rule(rule))
        elif obj.get("kind") in ("ServiceAccount", "RoleBinding", "ClusterRoleBinding"):
            lines.append(f"  {derived.describe_ref(obj)}")
    lines.append("Events:")
    if d.events:
        rows = [
            [
                ev.get("type", ""),
                ev.get("reason", ""),
                output.age(_event_time(ev)),
                (ev.get("involvedObject") or {}).get("kind", ""),
                _one_line(ev.get("message")),
            ]
            for ev in d.events
        ]
        table = output.table(["Type", "Reason", "Age", "Object", "Message"], rows)
        lines += ["  " + line for line in table.rstrip("\n").splitlines()]
    else:
        lines.append("  <none>")
    lines += [f"Note: could not read {n}" for n in d.notes]
    return output.terminal_safe("\n".join(str(line) for line in lines) + "\n")


def _rendered(objs: list[Obj]) -> tuple[Any, str] | None:
    """The spec and generation rendered into the runner Deployment's pod template."""
    for dep in objs:
        if dep.get("kind") != "Deployment":
            continue
        containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
            "containers"
        ) or [{}]
        env = {e.get("name"): e.get("value") for e in containers[0].get("env") or []}
        if env.get(ENV_SPEC):
            from kubectl_trigger.render import spec_from_env_value

            try:
                return spec_from_env_value(str(env[ENV_SPEC])), str(env.get(ENV_GENERATION) or "")
            except ValueError:
                return None
    return None


def _pairs(mapping: Any) -> str:
    if not mapping:
        return "<none>"
    return ", ".join(f"{k}={v}" for k, v in mapping.items())


def _one_line(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        value = value.get("message") or json.dumps(value, sort_keys=True)
    return " ".join(str(value).split())


def _rule(rule: Obj) -> str:
    groups = ",".join(g or "core" for g in rule.get("apiGroups") or [])
    text = f"{','.join(rule.get('verbs') or [])} {groups}/{','.join(rule.get('resources') or [])}"
    if rule.get("resourceNames"):
        text += f" names={','.join(rule['resourceNames'])}"
    return text


def _pod_row(pod: Obj) -> list[str]:
    st = pod.get("status") or {}
    cs = st.get("containerStatuses") or []
    ready = sum(1 for c in cs if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in cs)
    phase = "Terminating" if pod["metadata"].get("deletionTimestamp") else st.get("phase", "")
    return [
        pod["metadata"]["name"],
        phase,
        f"{ready}/{len(cs) or 1}",
        str(restarts),
        output.age(pod["metadata"].get("creationTimestamp")),
    ]

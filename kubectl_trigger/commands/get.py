"""``kubectl trigger get``: Triggers and ClusterTriggers as tables, or as YAML/JSON/names.

The columns are the CRD's printer columns (kubectl_trigger.crd.TRIGGER_COLUMNS),
so ``kubectl get triggers`` and ``kubectl trigger get`` agree; here they are
computed from the listed objects, one request per kind, no discovery. READY and
REASON are checked against the runner pods too (kubectl_trigger.readiness, one
more list per kind): a True written by a runner that now crash-loops, or for an
older generation, is shown as False with the reason. With no
type given both kinds are listed; when both have objects, each gets its own
table and names carry their kind (``trigger.triggers.kubectl-trigger.dev/x``),
as ``kubectl get all`` prints them. ClusterTriggers the user may not list are
left out silently unless asked for by name or type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

import typer

from kubectl_trigger import naming, options
from runner.conditions import READY, SPEC_IN_SYNC

Obj = Mapping[str, Any]


def _annotation(key: str) -> Callable[[Obj], str]:
    return lambda o: str(((o.get("metadata") or {}).get("annotations") or {}).get(key, ""))


def _condition(kind: str) -> Callable[[Obj], str]:
    def value(o: Obj) -> str:
        for c in (o.get("status") or {}).get("conditions") or []:
            if c.get("type") == kind:
                return str(c.get("status", ""))
        return ""

    return value


def _condition_reason(kind: str) -> Callable[[Obj], str]:
    def value(o: Obj) -> str:
        from kubectl_trigger.readiness import condition

        cond = condition(o, kind)
        return str(cond.get("reason", "")) if cond else ""

    return value


def _counter(name: str) -> Callable[[Obj], str]:
    return lambda o: str(((o.get("status") or {}).get("counters") or {}).get(name, 0))


def _age_of(get: Callable[[Obj], str | None]) -> Callable[[Obj], str]:
    def value(o: Obj) -> str:
        from kubectl_trigger.output import age

        return age(get(o))

    return value


def _last_error(o: Obj) -> str:
    from runner.oneline import shorten

    error = (o.get("status") or {}).get("lastError")
    if not isinstance(error, Mapping):
        return ""
    text = error.get("summary") or f"{error.get('action', '')}: {error.get('message', '')}"
    return shorten(str(text), LAST_ERROR_WIDTH)


#: the LAST ERROR cell of -o wide, at most this many characters (describe shows it whole)
LAST_ERROR_WIDTH = 60

#: printer column name -> how to compute it (the CRD's columns, evaluated client-side;
#: READY and REASON are then checked against the runner pods, see ``get``)
COLUMNS: dict[str, Callable[[Obj], str]] = {
    "Source": _annotation(naming.ANNOTATION_SOURCE),
    "Actions": _annotation(naming.ANNOTATION_ACTIONS),
    "Ready": _condition(READY),
    "Reason": _condition_reason(READY),
    "Synced": _condition(SPEC_IN_SYNC),
    "Fired": _counter("eventsMatched"),
    "Last Fired": _age_of(lambda o: (o.get("status") or {}).get("lastFired")),
    "Age": _age_of(lambda o: (o.get("metadata") or {}).get("creationTimestamp")),
    "Failed": _counter("actionsFailed"),
    "Seen": _counter("eventsSeen"),
    "Last Error": _last_error,
}
NORMAL = ("Source", "Actions", "Ready", "Reason", "Synced", "Fired", "Last Fired", "Age")
WIDE = (*NORMAL, "Failed", "Seen", "Last Error")

Output = Annotated[
    str | None,
    typer.Option("--output", "-o", help="yaml, json, name or wide.", show_default=False),
]
Selector = Annotated[
    str | None,
    typer.Option("--selector", "-l", help="Label selector, e.g. team=web.", show_default=False),
]
NoHeaders = Annotated[bool, typer.Option("--no-headers", help="Omit the table header.")]


def get(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Trigger names, or a type (triggers, clustertriggers) and names, or "
            "TYPE/NAME (default: Triggers in the namespace and all ClusterTriggers).",
        ),
    ] = None,
    output: Output = None,
    all_namespaces: options.AllNamespaces = False,
    selector: Selector = None,
    no_headers: NoHeaders = False,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """List Triggers and ClusterTriggers: source, actions, readiness, sync, how often they fired."""
    import sys

    from kubectl_trigger import kinds, migration, readiness
    from kubectl_trigger import output as out
    from kubectl_trigger.errors import BadInput

    if output is not None:
        options.check_choice("-o", output, out.OUTPUT_FORMATS)
    sess = options.session(kubeconfig, context, namespace)
    ns = None if all_namespaces else sess.namespace
    chosen = kinds.select(names, ns or "")
    if chosen.refs and all_namespaces and any(not r.cluster_scoped for r in chosen.refs):
        raise BadInput("a Trigger name cannot be combined with --all-namespaces")
    found = {kind: _read(sess, kind, chosen, ns, selector) for kind in chosen.kinds}
    found = {kind: objs for kind, objs in found.items() if objs is not None}
    objs = [o for group in found.values() for o in group or []]
    for obj in objs:
        if migration.reaches_outside(obj):
            meta = obj.get("metadata") or {}
            out.warn(
                f"Trigger {meta.get('namespace')}/{meta.get('name')} reaches outside its "
                "namespace and does not run; "
                + migration.how_to_move(str(meta.get("name")), str(meta.get("namespace")))
            )
    if output in ("yaml", "json", "name"):
        out.print_objects(objs, output)
        return
    if not objs:
        where = "any namespace" if all_namespaces else f"namespace {ns}"
        what = " or ClusterTriggers" if len(chosen.kinds) > 1 else ""
        if chosen.kinds == (kinds.CLUSTER_TRIGGER,):
            out.info("No ClusterTriggers found.")
        else:
            out.info(f"No Triggers{what} found in {where}.")
        return
    shown = [kind for kind, group in found.items() if group]
    columns = WIDE if output == "wide" else NORMAL
    pods = {kind: _runner_pods(sess, kind, ns) for kind in shown}
    tables = []
    for kind in shown:
        namespaced = kind == kinds.TRIGGER
        headers = (["Namespace"] if all_namespaces and namespaced else []) + ["Name", *columns]
        rows = []
        for obj in found[kind] or []:
            meta = obj.get("metadata") or {}
            name = str(meta.get("name", ""))
            if len(shown) > 1:
                name = out.resource_name(obj)
            first = [meta.get("namespace", "")] if all_namespaces and namespaced else []
            ready = readiness.assess(obj, _pods_of(pods[kind], obj))
            live = {"Ready": ready.status, "Reason": ready.reason}
            cells = [(live[c] if c in live else COLUMNS[c](obj)) or "<none>" for c in columns]
            rows.append([*first, name, *cells])
        tables.append(out.table(headers, rows, no_headers))
    sys.stdout.write("\n".join(tables))


def _read(
    sess: Any, kind: str, chosen: Any, ns: str | None, selector: str | None
) -> list[dict[str, Any]] | None:
    """The objects of ``kind`` the selection names, or None: not served or not allowed,
    and not asked for explicitly (a namespace user sees their Triggers only)."""
    from kubectl_trigger.errors import ClusterUnavailable, NotFoundError, translated
    from kubectl_trigger.session import items, known

    info = known(kind)
    where = None if kind != "Trigger" else ns
    refs = [r for r in chosen.refs if r.kind == kind]
    try:
        if refs:
            objs = []
            for r in refs:
                what = (
                    f'{kind} "{r.name}" in namespace "{r.namespace}"'
                    if r.namespace
                    else f'{kind} "{r.name}"'
                )
                with translated(what):
                    objs.append(dict(sess.client.get(info, r.name, r.namespace or None)))
        else:
            with translated(f"list {info.plural}"):
                objs = list(items(sess.client.list_pages(info, where, label_selector=selector)))
    except (ClusterUnavailable, NotFoundError):
        # Triggers were listed first, so the cluster answers: this is "forbidden" or
        # "ClusterTrigger not served" (installed by an older version)
        if chosen.explicit or kind == "Trigger":
            raise
        return None
    for obj in objs:
        obj.setdefault("apiVersion", info.api_version)
        obj.setdefault("kind", kind)
    return objs


def _runner_pods(sess: Any, kind: str, ns: str | None) -> dict[Any, list[Obj]] | None:
    """The runner pods of every trigger of ``kind`` by trigger, in one list call; None when
    they cannot be listed (READY then shows the stored condition alone).

    A Trigger's runner runs in its namespace; a ClusterTrigger's in the controlled
    namespace, whatever ``-n`` says, and only there: a pod labelled as a ClusterTrigger's
    runner in a namespace its editors control must not speak for it.
    """
    from kubectl_trigger import readiness
    from kubectl_trigger import system_namespace as controlled
    from kubectl_trigger.errors import PluginError, translated
    from kubectl_trigger.session import items, known

    label = naming.LABEL_TRIGGER if kind == "Trigger" else naming.LABEL_CLUSTER_TRIGGER
    try:
        where = ns if kind == "Trigger" else controlled.read(sess.client)
        with translated("list pods"):
            pods = list(
                items(
                    sess.client.list_pages(
                        known("Pod"), where, label_selector=f"{readiness.POD_SELECTOR},{label}"
                    )
                )
            )
    except PluginError:
        return None
    return readiness.by_trigger(pods)


def _pods_of(pods: dict[Any, list[Obj]] | None, obj: Obj) -> list[Obj] | None:
    from kubectl_trigger import readiness

    return None if pods is None else pods.get(readiness.key_of(obj), [])

"""``kubectl trigger get``: Triggers and ClusterTriggers as tables, or as YAML/JSON/names.

The columns are the CRD's printer columns (kubectl_trigger.crd.TRIGGER_COLUMNS),
so ``kubectl get triggers`` and ``kubectl trigger get`` agree; here they are
computed from the listed objects, one request per kind, no discovery. With no
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


def _counter(name: str) -> Callable[[Obj], str]:
    return lambda o: str(((o.get("status") or {}).get("counters") or {}).get(name, 0))


def _age_of(get: Callable[[Obj], str | None]) -> Callable[[Obj], str]:
    def value(o: Obj) -> str:
        from kubectl_trigger.output import age

        return age(get(o))

    return value


#: printer column name -> how to compute it (the CRD's columns, evaluated client-side)
COLUMNS: dict[str, Callable[[Obj], str]] = {
    "Source": _annotation(naming.ANNOTATION_SOURCE),
    "Actions": _annotation(naming.ANNOTATION_ACTIONS),
    "Ready": _condition("Ready"),
    "Synced": _condition("SpecInSync"),
    "Fired": _counter("eventsMatched"),
    "Last Fired": _age_of(lambda o: (o.get("status") or {}).get("lastFired")),
    "Age": _age_of(lambda o: (o.get("metadata") or {}).get("creationTimestamp")),
    "Failed": _counter("actionsFailed"),
    "Seen": _counter("eventsSeen"),
}
NORMAL = ("Source", "Actions", "Ready", "Synced", "Fired", "Last Fired", "Age")
WIDE = (*NORMAL, "Failed", "Seen")

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

    from kubectl_trigger import kinds, migration
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
            cells = [COLUMNS[c](obj) or "<none>" for c in columns]
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

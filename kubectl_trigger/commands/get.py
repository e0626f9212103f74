"""``kubectl trigger get``: Triggers as a kubectl-style table, or as YAML/JSON/names.

The columns are the CRD's printer columns (kubectl_trigger.crd.TRIGGER_COLUMNS),
so ``kubectl get triggers`` and ``kubectl trigger get`` agree; here they are
computed from the listed objects, one request, no discovery.
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
    "Fired": _counter("eventsMatched"),
    "Last Fired": _age_of(lambda o: (o.get("status") or {}).get("lastFired")),
    "Age": _age_of(lambda o: (o.get("metadata") or {}).get("creationTimestamp")),
    "Failed": _counter("actionsFailed"),
    "Seen": _counter("eventsSeen"),
}
NORMAL = ("Source", "Actions", "Ready", "Fired", "Last Fired", "Age")
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
    names: Annotated[list[str] | None, typer.Argument(help="Trigger names (default: all).")] = None,
    output: Output = None,
    all_namespaces: options.AllNamespaces = False,
    selector: Selector = None,
    no_headers: NoHeaders = False,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """List Triggers with their source, actions, readiness and how often they fired."""
    import sys

    from kubectl_trigger import output as out
    from kubectl_trigger.errors import BadInput, translated
    from kubectl_trigger.session import items, known

    if output is not None:
        options.check_choice("-o", output, out.OUTPUT_FORMATS)
    if names and all_namespaces:
        raise BadInput("a Trigger name cannot be combined with --all-namespaces")
    sess = options.session(kubeconfig, context, namespace)
    client, info = sess.client, known("Trigger")
    ns = None if all_namespaces else sess.namespace
    if names:
        objs: list[dict[str, Any]] = []
        for name in names:
            with translated(f'Trigger "{name}" in namespace "{ns}"'):
                objs.append(dict(client.get(info, name, ns)))
    else:
        with translated("list triggers"):
            objs = list(items(client.list_pages(info, ns, label_selector=selector)))
    for obj in objs:
        obj.setdefault("apiVersion", info.api_version)
        obj.setdefault("kind", "Trigger")
    if output in ("yaml", "json", "name"):
        out.print_objects(objs, output)
        return
    if not objs:
        where = "any namespace" if all_namespaces else f"namespace {ns}"
        out.info(f"No Triggers found in {where}.")
        return
    columns = WIDE if output == "wide" else NORMAL
    headers = (["Namespace"] if all_namespaces else []) + ["Name", *columns]
    rows = []
    for obj in objs:
        meta = obj.get("metadata") or {}
        first = [meta.get("namespace", "")] if all_namespaces else []
        cells = [COLUMNS[c](obj) or "<none>" for c in columns]
        rows.append([*first, meta.get("name", ""), *cells])
    sys.stdout.write(out.table(headers, rows, no_headers))

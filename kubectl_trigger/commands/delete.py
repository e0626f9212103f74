"""``kubectl trigger delete``: remove Triggers and everything derived from them.

``-f`` deletes what ``create -f`` of the same files made, as kubectl does: the
Triggers, ClusterTriggers and TriggerTemplates in them (templates last, after
the triggers that used them). A missing object is an error naming it, and
nothing is deleted; with ``--ignore-not-found`` it is skipped without a word.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kubectl_trigger import options


def delete(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Trigger names, or clustertrigger NAME..., or TYPE/NAME."),
    ] = None,
    filename: options.Files = [],  # noqa: B006 - typer reads the default, never mutates it
    all_: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Delete every Trigger in the namespace (clustertriggers --all: every "
            "ClusterTrigger).",
        ),
    ] = False,
    all_namespaces: options.AllNamespaces = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until derived objects are gone.")
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for deletion.", min=0)
    ] = 60.0,
    ignore_not_found: Annotated[
        bool,
        typer.Option(
            "--ignore-not-found", help="Skip what does not exist, silently, instead of failing."
        ),
    ] = False,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """Delete Triggers by name, from files (-f) or all (--all), with their runners and RBAC.

    Waits (unless --no-wait) until the Trigger, its ServiceAccount, Roles, bindings,
    Deployment and runner pods are gone.
    """
    from kubectl_trigger import inputs, kinds, output, teardown
    from kubectl_trigger.errors import BadInput, NotFoundError, ignore_missing, translated
    from kubectl_trigger.naming import Ref
    from kubectl_trigger.session import items, known

    chosen = kinds.select(names, "", default=(kinds.TRIGGER,)) if names else None
    named = bool(chosen and chosen.refs)
    given = sum(bool(x) for x in (named, filename, all_))
    if given != 1 or (chosen and not chosen.refs and not all_):
        raise BadInput("give exactly one of: Trigger names, -f FILE, or --all")
    if all_namespaces and not all_:
        raise BadInput("--all-namespaces needs --all")
    sess = options.session(kubeconfig, context, namespace)
    client = sess.client
    targets: list[Ref] = []
    templates: list[Ref] = []  # TriggerTemplates from -f (a Ref of kind TriggerTemplate)
    if all_:
        for kind in chosen.kinds if chosen else (kinds.TRIGGER,):
            info = known(kind)
            where = None if all_namespaces or kind != kinds.TRIGGER else sess.namespace
            with translated(f"list {info.plural}"):
                for obj in items(client.list_pages(info, where)):
                    meta = obj["metadata"]
                    targets.append(kinds.ref(kind, meta["name"], meta.get("namespace") or ""))
    elif filename:
        for doc in inputs.load(filename):
            meta = doc.body.get("metadata") or {}
            ns = meta.get("namespace") or sess.namespace
            if doc.kind in kinds.BOTH and doc.name:
                targets.append(kinds.ref(doc.kind, doc.name, ns))
            elif doc.kind == TEMPLATE and doc.name:
                templates.append(Ref(TEMPLATE, ns, doc.name))
            else:
                raise BadInput(
                    f"{doc.origin}: expected a Trigger, ClusterTrigger or TriggerTemplate "
                    f"with metadata.name, got kind {doc.kind or 'nothing'!r}; nothing was deleted"
                )
    else:
        assert chosen is not None
        targets = [
            r if r.cluster_scoped else Ref.trigger(sess.namespace, r.name) for r in chosen.refs
        ]

    missing = [r for r in [*targets, *templates] if not _exists(client, r)]
    targets = [r for r in targets if r not in missing]
    for r in targets:
        teardown.delete_trigger(client, r, output.info)
        print(f"{r.kind.lower()}.{known(r.kind).group}/{r.name} deleted")
    for r in templates:
        if r in missing:
            continue
        with translated(f"delete {r}"), ignore_missing():
            client.delete(known(TEMPLATE), r.name, r.namespace)
        print(f"{TEMPLATE.lower()}.{known(TEMPLATE).group}/{r.name} deleted")
    if wait and targets:
        teardown.wait_gone(client, targets, timeout)
    if missing and not ignore_not_found:
        raise NotFoundError(f"not found: {', '.join(str(r) for r in missing)}")


TEMPLATE = "TriggerTemplate"


def _exists(client: Any, ref: Any) -> bool:
    from kubectl_trigger.errors import translated, type_not_served
    from kubectl_trigger.session import known
    from runner.kube import errors as kube_errors

    with translated():
        try:
            client.get(known(ref.kind), ref.name, ref.namespace or None)
        except kube_errors.NotFound as e:
            if type_not_served(e):  # no CRD: translated says to run install
                raise
            return False
    return True

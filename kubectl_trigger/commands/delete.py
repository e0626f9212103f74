"""``kubectl trigger delete``: remove Triggers and everything derived from them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kubectl_trigger import options


def delete(
    names: Annotated[list[str] | None, typer.Argument(help="Trigger names.")] = None,
    filename: options.Files = [],  # noqa: B006 - typer reads the default, never mutates it
    all_: Annotated[
        bool, typer.Option("--all", help="Delete every Trigger in the namespace.")
    ] = False,
    all_namespaces: options.AllNamespaces = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until derived objects are gone.")
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for deletion.", min=0)
    ] = 60.0,
    ignore_not_found: Annotated[
        bool, typer.Option("--ignore-not-found", help="A missing Trigger is not an error.")
    ] = False,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """Delete Triggers by name, from files (-f) or all (--all), with their runners and RBAC.

    Waits (unless --no-wait) until the Trigger, its ServiceAccount, Roles, bindings,
    Deployment and runner pods are gone.
    """
    from kubectl_trigger import inputs, output, teardown
    from kubectl_trigger.errors import BadInput, NotFoundError, translated
    from kubectl_trigger.session import items, known

    given = sum(bool(x) for x in (names, filename, all_))
    if given != 1:
        raise BadInput("give exactly one of: Trigger names, -f FILE, or --all")
    if all_namespaces and not all_:
        raise BadInput("--all-namespaces needs --all")
    sess = options.session(kubeconfig, context, namespace)
    client, info = sess.client, known("Trigger")
    targets: list[tuple[str, str]] = []
    if all_:
        ns = None if all_namespaces else sess.namespace
        with translated("list triggers"):
            for obj in items(client.list_pages(info, ns)):
                meta = obj["metadata"]
                targets.append((meta["namespace"], meta["name"]))
    elif filename:
        for doc in inputs.load(filename):
            if doc.kind == "Trigger" and doc.name:
                meta = doc.body.get("metadata") or {}
                targets.append((meta.get("namespace") or sess.namespace, doc.name))
    else:
        targets = [(sess.namespace, name) for name in names or []]

    missing = [(ns, name) for ns, name in targets if not _exists(client, info, ns, name)]
    if missing and not ignore_not_found:
        listed = ", ".join(f"{ns}/{name}" for ns, name in missing)
        raise NotFoundError(f"Trigger not found: {listed}; nothing was deleted")
    for ns, name in targets:
        teardown.delete_trigger(client, ns, name, output.info)
        print(f"trigger.{info.group}/{name} deleted")
    if wait and targets:
        teardown.wait_gone(client, targets, timeout)


def _exists(client: Any, info: Any, namespace: str, name: str) -> bool:
    from kubectl_trigger.errors import translated
    from runner.kube import errors as kube_errors

    with translated():
        try:
            client.get(info, name, namespace)
        except kube_errors.NotFound:
            return False
    return True

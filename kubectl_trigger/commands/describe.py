"""``kubectl trigger describe NAME``: spec, expansion, status, runner, RBAC and Events.

Everything a user needs to answer "why did (or didn't) my trigger fire?" on
one screen, in kubectl describe's layout.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kubectl_trigger import options

Obj = dict[str, Any]


def describe(
    names: Annotated[
        list[str],
        typer.Argument(help="Trigger name, clustertrigger NAME, or TYPE/NAME.", show_default=False),
    ],
    events: Annotated[
        int, typer.Option("--events", help="How many recent Events to show.", min=0)
    ] = 20,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """Show a Trigger or ClusterTrigger: spec, the spec that runs, status, pods, RBAC, Events."""
    import sys

    from kubectl_trigger import kinds
    from kubectl_trigger import system_namespace as controlled
    from kubectl_trigger.describing import gather, text

    sess = options.session(kubeconfig, context, namespace)
    chosen = kinds.select(names, sess.namespace)
    out = []
    for ref in chosen.refs:
        home = controlled.read(sess.client) if ref.cluster_scoped else None
        out.append(text(gather(sess.client, ref, events, home)))
    if not chosen.refs:
        from kubectl_trigger.errors import BadInput

        raise BadInput("give a name: describe NAME, describe clustertrigger NAME")
    sys.stdout.write("\n".join(out))

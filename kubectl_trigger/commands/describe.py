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
    name: Annotated[str, typer.Argument(help="Trigger name.")],
    events: Annotated[
        int, typer.Option("--events", help="How many recent Events to show.", min=0)
    ] = 20,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """Show a Trigger: its spec, TriggerTemplate expansion, status, runner pods, RBAC, Events."""
    import sys

    from kubectl_trigger.describing import gather, text

    sess = options.session(kubeconfig, context, namespace)
    sys.stdout.write(text(gather(sess.client, sess.namespace, name, events)))

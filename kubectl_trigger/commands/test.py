"""``kubectl trigger test -f t.yaml --object obj.yaml``: dry-run a Trigger on one object.

No cluster is needed: it shows whether the filters match the object and what
each action would do, with its rendered payload; no action's request leaves the
machine (see kubectl_trigger.simulate). The one thing read from the cluster,
when a kubeconfig works and unless ``--offline``, is the Secret keys the actions
use, with the user's own rights: a webhook URL from a Secret is then checked as
the runner would check it. Values are never printed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kubectl_trigger import options

if TYPE_CHECKING:
    from kubectl_trigger import simulate
    from kubectl_trigger.prepare import Prepared
    from kubectl_trigger.session import Session

ObjectFile = Annotated[
    str | None,
    typer.Option("--object", help="YAML/JSON file with the event's object.", show_default=False),
]
OldObject = Annotated[
    str | None,
    typer.Option(
        "--old-object", help="The object before an update (for changed:).", show_default=False
    ),
]
EventType = Annotated[
    str | None,
    typer.Option(
        "--event",
        help="create, update, delete or cron (default: the first the source listens to).",
        show_default=False,
    ),
]


NoSecrets = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Do not read the Secrets the actions use from the cluster (stand-ins are used).",
    ),
]


def test(
    filename: options.Files = [],  # noqa: B006 - typer reads the default, never mutates it
    object_file: ObjectFile = None,
    old_object: OldObject = None,
    event: EventType = None,
    offline: NoSecrets = False,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """Show whether a Trigger's filters match an object and what its actions would do."""
    import sys

    from kubectl_trigger import inputs, pipeline, simulate
    from kubectl_trigger.errors import BadInput

    sess = options.session(kubeconfig, context, namespace)
    batch = pipeline.load(options.check_files(filename), sess, offline=True)
    if len(batch.triggers) != 1:
        raise BadInput(f"test takes exactly one Trigger; the input has {len(batch.triggers)}")
    obj = old = None
    if object_file:
        obj = inputs.load([object_file], "--object")[0].body
    if old_object:
        old = inputs.load([old_object], "--old-object")[0].body
    if event is not None:
        options.check_choice("--event", event, ("create", "update", "delete", "cron"))
    trig = batch.triggers[0]
    secrets, why_unread = _read_secrets(sess, trig, offline)
    result = simulate.simulate(trig, obj, old, event, secrets, why_unread)
    sys.stdout.write(simulate.report(result))
    if not result.matched:
        raise typer.Exit(1)


def _read_secrets(sess: Session, trig: Prepared, offline: bool) -> tuple[simulate.Secrets, str]:
    """What the user's rights give for each Secret key the actions use, and why none if so."""
    from kubectl_trigger import secretrefs
    from kubectl_trigger.errors import PluginError

    uses = secretrefs.uses(trig)
    if not uses:
        return {}, ""
    if offline:
        return {}, "--offline"
    try:
        client = sess.client
    except PluginError as e:
        return {}, f"no cluster to read it from: {e.message}"
    found = secretrefs.lookup(client, uses)
    return {(u.name, u.key): lookup for u, lookup in found.items()}, ""

"""``kubectl trigger test -f t.yaml --object obj.yaml``: dry-run a Trigger on one object.

Offline: no cluster is needed. It shows whether the filters match the object
and what each action would do, with its rendered payload; no request leaves
the machine (see kubectl_trigger.simulate).
"""

from __future__ import annotations

from typing import Annotated

import typer

from kubectl_trigger import options

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


def test(
    filename: options.Files = [],  # noqa: B006 - typer reads the default, never mutates it
    object_file: ObjectFile = None,
    old_object: OldObject = None,
    event: EventType = None,
    namespace: options.Namespace = None,
) -> None:
    """Show whether a Trigger's filters match an object and what its actions would do."""
    import sys

    from kubectl_trigger import inputs, pipeline, simulate
    from kubectl_trigger.errors import BadInput
    from kubectl_trigger.session import Session

    sess = Session(namespace_flag=namespace)
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
    result = simulate.simulate(batch.triggers[0], obj, old, event)
    sys.stdout.write(simulate.report(result))
    if not result.matched:
        raise typer.Exit(1)

"""``kubectl trigger apply -f``: create or update Triggers; a runner rolls only on change."""

from __future__ import annotations

from typing import Annotated

import typer

from kubectl_trigger import options

Output = Annotated[
    str | None,
    typer.Option("--output", "-o", help="Print the written objects: yaml, json or name."),
]


def apply(
    filename: options.Files = [],  # noqa: B006 - typer reads the default, never mutates it
    image: options.Image = None,
    dry_run: options.DryRun = "none",
    output: Output = None,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """Create or update Triggers from files (server-side apply).

    The runner is re-rendered: its pod template carries a hash of the expanded spec
    and image, so it restarts only when the spec changed. Derived objects the new
    spec no longer needs (a Role in a namespace no longer watched) are deleted.
    """
    from kubectl_trigger import pipeline

    options.check_choice("--dry-run", dry_run, options.DRY_RUN_VALUES)
    if output is not None:
        options.check_choice("-o", output, ("yaml", "json", "name"))
    sess = options.session(kubeconfig, context, namespace)
    pipeline.write(
        sess,
        options.check_files(filename),
        mode="apply",
        image=image,
        dry_run=dry_run,
        fmt=output,
    )

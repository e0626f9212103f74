"""``kubectl trigger create -f``: validate, then create Triggers and their runners."""

from __future__ import annotations

from typing import Annotated

import typer

from kubectl_trigger import options

Output = Annotated[
    str | None,
    typer.Option("--output", "-o", help="Print the written objects: yaml, json or name."),
]


def create(
    filename: options.Files = [],  # noqa: B006 - typer reads the default, never mutates it
    image: options.Image = None,
    dry_run: options.DryRun = "none",
    output: Output = None,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """Create Triggers from files; each gets its ServiceAccount, RBAC and runner Deployment.

    Everything is validated (YAML, the spec, every kind it names) before the first
    write; if a write fails midway, the objects this command created are deleted again.
    """
    from kubectl_trigger import pipeline

    options.check_choice("--dry-run", dry_run, options.DRY_RUN_VALUES)
    if output is not None:
        options.check_choice("-o", output, ("yaml", "json", "name"))
    sess = options.session(kubeconfig, context, namespace)
    pipeline.write(
        sess,
        options.check_files(filename),
        mode="create",
        image=image,
        dry_run=dry_run,
        fmt=output,
    )

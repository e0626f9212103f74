"""Flags shared by several commands, declared once as ``Annotated`` types.

kubectl's global flags (``--kubeconfig``, ``--context``, ``-n``) are accepted by
every command that talks to a cluster, after the subcommand as with kubectl
(``kubectl trigger get -n shop``). Flag values are checked here, once, and the
messages name the flag.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kubectl_trigger.session import Session

Kubeconfig = Annotated[
    str | None,
    typer.Option(
        "--kubeconfig",
        help="Path to the kubeconfig file (default: every file in $KUBECONFIG, merged as "
        "kubectl merges them; then ~/.kube/config; then, in a pod, its ServiceAccount).",
        show_default=False,
    ),
]
Context = Annotated[
    str | None,
    typer.Option("--context", help="The kubeconfig context to use.", show_default=False),
]
Namespace = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        "-n",
        help="Namespace (default: the kubeconfig context's namespace, else default).",
        show_default=False,
    ),
]
Files = Annotated[
    list[str],
    typer.Option(
        "--filename",
        "-f",
        help="File, directory or - (stdin) with Trigger (and TriggerTemplate) YAML; repeatable.",
        show_default=False,
    ),
]
Image = Annotated[
    str | None,
    typer.Option("--image", help="Runner image (overrides spec.runner.image).", show_default=False),
]
Offline = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Do not contact a cluster: resolve kinds from the built-in table, templates from -f.",
    ),
]
AllNamespaces = Annotated[
    bool, typer.Option("--all-namespaces", "-A", help="Across all namespaces.")
]

DRY_RUN_VALUES = ("none", "client", "server")
DryRun = Annotated[
    str,
    typer.Option(
        "--dry-run",
        help="client: print what would be written, offline; server: let the API server "
        "check every write without persisting it; none: write.",
        metavar="none|client|server",
    ),
]


def session(kubeconfig: str | None, context: str | None, namespace: str | None) -> Session:
    """A Session from the global flags."""
    return Session(kubeconfig=kubeconfig, context=context, namespace_flag=namespace)


def check_choice(flag: str, value: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else a usage error naming the flag."""
    if value not in allowed:
        raise typer.BadParameter(
            f"{value!r} is not one of {', '.join(allowed)}", param_hint=f"'{flag}'"
        )
    return value


def check_files(files: list[str]) -> list[str]:
    """``-f`` is required."""
    if not files:
        raise typer.BadParameter("give at least one file, directory or -", param_hint="'-f'")
    return files

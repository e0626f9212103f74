"""The ``kubectl trigger`` command line: wires the subcommands, presents errors.

Each subcommand lives in its own module under kubectl_trigger.commands; this
module only registers them and turns a ``PluginError`` into a message on
stderr and its documented exit code (see kubectl_trigger.errors). Installed
as ``kubectl-trigger`` (and ``kubectl_trigger``) on PATH, kubectl finds it as
the plugin ``kubectl trigger``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from kubectl_trigger.commands import (
    apply,
    create,
    delete,
    describe,
    get,
    install,
    logs,
    render,
    run,
    test,
    validate,
    version,
)
from kubectl_trigger.errors import EXIT_FAILED, PluginError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="kubectl-trigger",
    help="Event triggers for Kubernetes: watch objects or a schedule, filter, act.\n\n"
    "Each Trigger gets its own runner with least-privilege RBAC. Exit codes: 0 ok, 1 failed, "
    "2 bad input, 3 not found, 4 cluster unreachable or forbidden.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def guarded(fn: F) -> F:
    """Run ``fn``; a PluginError becomes a message on stderr and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PluginError as e:
            from kubectl_trigger import output

            output.error(e.message, e.details)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except BrokenPipeError:  # `kubectl trigger get | head`
            raise typer.Exit(EXIT_FAILED) from None

    return wrapper  # type: ignore[return-value]


#: (name, function) of every subcommand, in the order --help lists them.
COMMANDS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("create", create.create),
    ("apply", apply.apply),
    ("get", get.get),
    ("describe", describe.describe),
    ("logs", logs.logs),
    ("delete", delete.delete),
    ("render", render.render),
    ("validate", validate.validate),
    ("test", test.test),
    ("run", run.run),
    ("install", install.install),
    ("uninstall", install.uninstall),
    ("version", version.version),
)

for _name, _fn in COMMANDS:
    app.command(_name)(guarded(_fn))
app.command("list", help="Alias of get.")(guarded(get.get))


def main() -> None:
    """Console-script entry point."""
    app(prog_name="kubectl-trigger")

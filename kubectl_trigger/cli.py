"""The ``kubectl trigger`` command line: wires the subcommands, presents errors.

Each subcommand lives in its own module under kubectl_trigger.commands; this
module only registers them and turns a ``PluginError`` into a message on
stderr and its documented exit code (see kubectl_trigger.errors). Any other
exception is a bug: it becomes one line naming what failed and how to see the
traceback (``-v``), exit 1. Installed as ``kubectl-trigger`` (and
``kubectl_trigger``) on PATH, kubectl finds it as the plugin ``kubectl trigger``;
``kubectl-trigger __complete ARGS`` answers kubectl's shell completion
(kubectl_trigger.completion).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
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
    "2 bad input, 3 not found, 4 cluster unreachable or forbidden. "
    "-v or --verbose (anywhere on the line) prints the traceback of an unexpected error; "
    "--as, --as-group and --as-uid impersonate, as in kubectl.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


#: Flags that ask for tracebacks; taken out of the arguments before typer parses them,
#: so they work after any subcommand (``kubectl trigger get -v``), as kubectl's ``-v`` does.
VERBOSE_FLAGS = ("-v", "--verbose")
#: Set by ``main`` when a verbose flag was given (or KUBECTL_TRIGGER_VERBOSE is set).
verbose = False


def unexpected(what: str, exc: BaseException) -> int:
    """Report a bug-level exception in one line (the traceback only when verbose); exit 1."""
    import traceback

    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    detail = str(exc).strip().splitlines()
    one_line = type(exc).__name__ + (f": {detail[0]}" if detail else "")
    hint = "" if verbose else " (run with -v for the traceback)"
    sys.stderr.write(f"kubectl trigger: {what} failed: {one_line}{hint}\n")
    sys.stderr.flush()
    return EXIT_FAILED


def guarded(name: str, fn: F) -> F:
    """Run ``fn``; a PluginError becomes a message on stderr and its exit code.

    Anything else is a bug: one line saying which command failed, never a raw
    traceback (unless verbose), exit 1.
    """

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
            _quiet_stdout()
            raise typer.Exit(EXIT_FAILED) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as e:
            if _usage_error(e):
                raise  # typer shows it with the usage line, exit 2
            raise typer.Exit(unexpected(name, e)) from None

    return wrapper  # type: ignore[return-value]


def _usage_error(exc: Exception) -> bool:
    """Whether ``exc`` is one of typer's (vendored click's) own, e.g. ``typer.BadParameter``."""
    return hasattr(exc, "exit_code") and callable(getattr(exc, "show", None))


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


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
    app.command(_name)(guarded(_name, _fn))
app.command("list", help="Alias of get.")(guarded("list", get.get))


def split_verbose(argv: Sequence[str]) -> tuple[list[str], bool]:
    """``argv`` without -v/--verbose (before a ``--``), and whether one was there."""
    rest: list[str] = []
    found = False
    for i, arg in enumerate(argv):
        if arg == "--":
            rest += argv[i:]
            break
        if arg in VERBOSE_FLAGS:
            found = True
        else:
            rest.append(arg)
    return rest, found


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: completion requests, then the typer app, errors in one line."""
    global verbose
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["__complete"]:
        from kubectl_trigger import completion

        raise SystemExit(completion.run(args[1:]))
    args, flagged = split_verbose(args)
    from kubectl_trigger import impersonation
    from kubectl_trigger.errors import PluginError

    try:
        args, impersonation.current = impersonation.split(args)
    except PluginError as e:
        from kubectl_trigger import output

        output.error(e.message, e.details)
        raise SystemExit(e.exit_code) from None
    verbose = flagged or bool(os.environ.get("KUBECTL_TRIGGER_VERBOSE"))
    command = next((a for a in args if not a.startswith("-")), "kubectl trigger")
    try:
        app(args=args, prog_name="kubectl-trigger")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as e:  # typer/click themselves, or an import: still one line
        raise SystemExit(unexpected(command, e)) from None

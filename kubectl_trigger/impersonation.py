"""kubectl's ``--as``, ``--as-group`` and ``--as-uid``, anywhere on the command line.

They are taken out of the arguments before typer parses them (as ``-v`` is), so
every command accepts them after the subcommand, as kubectl's global flags. The
Session then sends them as Impersonate-* headers in place of any the kubeconfig's
user asks for, as kubectl's command-line flags override the kubeconfig.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kubectl_trigger.errors import BadInput

FLAGS = ("--as", "--as-group", "--as-uid")


@dataclass(frozen=True)
class Impersonation:
    """Who to act as; empty when no flag was given."""

    user: str = ""
    uid: str = ""
    groups: tuple[str, ...] = ()

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The Impersonate-* headers, or () when the flags ask for nothing."""
        if not self.user:
            return ()
        from runner.kube.config import impersonation_headers  # loaded with the kubeconfig

        return impersonation_headers(self.user, self.uid, self.groups)


#: Set by ``cli.main`` from the command line; read by ``Session.config``.
current = Impersonation()


def split(argv: Sequence[str]) -> tuple[list[str], Impersonation]:
    """``argv`` without the impersonation flags (before a ``--``), and what they asked."""
    rest: list[str] = []
    values: dict[str, list[str]] = {flag: [] for flag in FLAGS}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        flag, eq, value = arg.partition("=")
        if flag in FLAGS:
            if not eq:
                if i + 1 >= len(argv):
                    raise BadInput(f"flag needs an argument: {flag}")
                i += 1
                value = argv[i]
            values[flag].append(value)
        else:
            rest.append(arg)
        i += 1
    user, uid = values["--as"], values["--as-uid"]
    if len(user) > 1 or len(uid) > 1:
        raise BadInput("--as and --as-uid may be given once each")
    found = Impersonation(
        user[0] if user else "", uid[0] if uid else "", tuple(values["--as-group"])
    )
    if not found.user and (found.uid or found.groups):
        raise BadInput("--as-group and --as-uid need --as (the user to impersonate), as in kubectl")
    return rest, found

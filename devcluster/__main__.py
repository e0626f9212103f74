"""``python -m devcluster up|down|status|env|kubectl``: the local control plane's CLI.

Only wiring: each subcommand calls one function of devcluster.cluster and turns
its outcome into output and an exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from devcluster import cluster
from devcluster.layout import PORT_DEFAULTS, Layout
from devcluster.processes import StartError


def _up(args: argparse.Namespace) -> int:
    try:
        lay = cluster.up(args.state_dir)
    except StartError as exc:
        print(f"devcluster up failed: {exc}", file=sys.stderr)
        return 1
    print("use it with:")
    for line in cluster.env_lines(lay.state_dir):
        print(f"  {line}")
    return 0


def _down(args: argparse.Namespace) -> int:
    cluster.down(args.state_dir, purge=args.purge)
    return 0


def _restart(args: argparse.Namespace) -> int:
    try:
        cluster.restart(args.component, args.state_dir)
    except StartError as exc:
        print(f"devcluster restart failed: {exc}", file=sys.stderr)
        return 1
    print(f"restarted {args.component}")
    return 0


def _status(args: argparse.Namespace) -> int:
    return 0 if cluster.status(args.state_dir) else 3


def _env(args: argparse.Namespace) -> int:
    print("\n".join(cluster.env_lines(args.state_dir)))
    return 0


def _kubectl(args: argparse.Namespace) -> int:
    lay = Layout.load(args.state_dir)
    argv = [lay.binary("kubectl"), f"--kubeconfig={lay.kubeconfig}", *args.kubectl_args]
    os.execv(argv[0], argv)
    return 127  # not reached


_ports_help = ", ".join(f"{var} (default {port})" for var, port in PORT_DEFAULTS.values())

#: subcommand -> (handler, help)
COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "up": (_up, "build nothing, start everything; harmless if already running"),
    "down": (_down, "stop every component and free its ports"),
    "restart": (_restart, "stop one component and start it again (fault tests)"),
    "status": (_status, "show each component; exit 0 only if all run"),
    "env": (_env, 'print export lines for KUBECONFIG and PATH (eval "$(... env)")'),
    "kubectl": (_kubectl, "run the built kubectl against the cluster"),
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m devcluster",
        description="A local Kubernetes control plane on 127.0.0.1 for tests and the demo.",
        epilog=f"State dir: KT_CLUSTER_DIR (default <repo>/.devcluster). Ports: {_ports_help}.",
    )
    p.add_argument("--state-dir", type=Path, default=None, help="overrides KT_CLUSTER_DIR")
    sub = p.add_subparsers(dest="command", required=True)
    for name, (handler, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(handler=handler)
        if name == "down":
            cmd.add_argument("--purge", action="store_true", help="also delete the state dir")
        if name == "restart":
            names = [c.name for c in cluster.COMPONENTS]
            cmd.add_argument("component", choices=names, help="the component to restart")
        if name == "kubectl":
            cmd.add_argument("kubectl_args", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

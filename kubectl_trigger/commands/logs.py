"""``kubectl trigger logs NAME``: the runner's log, read through the API server.

The runner pod is found by its labels (the newest running one, else the
newest); its log comes from ``/api/v1/namespaces/NS/pods/POD/log``, the same
endpoint ``kubectl logs`` uses, so no kubectl binary is needed. ``-f``
follows the runner across restarts of its container or pod, with a marker line
on stderr at each restart, until Ctrl-C (kubectl_trigger.logfollow).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from kubectl_trigger import options

_DURATION = re.compile(r"(\d+)(h|m|s)")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


def parse_since(value: str) -> int:
    """``5m``, ``1h30m``, ``90s`` -> seconds; a usage error names --since otherwise."""
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise typer.BadParameter(
            f"{value!r} is not a duration like 30s, 5m or 1h30m", param_hint="'--since'"
        )
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


def pick_pod(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest running pod not being deleted, else the newest pod."""

    def newest(p: dict[str, Any]) -> str:
        return str(p["metadata"].get("creationTimestamp", ""))

    live = [
        p
        for p in pods
        if (p.get("status") or {}).get("phase") == "Running"
        and not p["metadata"].get("deletionTimestamp")
    ]
    pool = live or pods
    return max(pool, key=newest) if pool else None


def logs(
    name: Annotated[
        str, typer.Argument(help="Trigger name, or clustertrigger/NAME.", show_default=False)
    ],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream new lines.")] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="Only lines newer than this (5m, 1h).")
    ] = None,
    tail: Annotated[
        int, typer.Option("--tail", help="Only the last N lines (-1: all).", min=-1)
    ] = -1,
    previous: Annotated[
        bool, typer.Option("--previous", "-p", help="The previous (crashed) container's log.")
    ] = False,
    timestamps: Annotated[
        bool, typer.Option("--timestamps", help="Prefix each line with its time.")
    ] = False,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """Print the runner's log lines (JSON, one event per line)."""
    import sys

    from kubectl_trigger import kinds, naming
    from kubectl_trigger import system_namespace as controlled
    from kubectl_trigger.errors import NotFoundError, translated
    from kubectl_trigger.session import items, known

    seconds = parse_since(since) if since else None
    sess = options.session(kubeconfig, context, namespace)
    client = sess.client
    ref = kinds.select([name], sess.namespace).refs[0]
    with translated():
        # NotFound -> exit 3 naming the trigger
        client.get(known(ref.kind), ref.name, ref.namespace or None)
    ns = controlled.read(client) if ref.cluster_scoped else ref.namespace
    with translated():
        selector = ",".join(f"{k}={v}" for k, v in ref.pod_selector().items())
        pods = list(items(client.list_pages(known("Pod"), ns, label_selector=selector)))
    pod = pick_pod(pods)
    if pod is None:
        raise NotFoundError(
            f"{ref} has no runner pod yet; see kubectl trigger describe {ref.kind.lower()}/{name}"
        )
    query: dict[str, str] = {"container": naming.CONTAINER_NAME}
    if follow:
        query["follow"] = "true"
    if previous:
        query["previous"] = "true"
    if timestamps:
        query["timestamps"] = "true"
    if seconds is not None:
        query["sinceSeconds"] = str(seconds)
    if tail >= 0:
        query["tailLines"] = str(tail)
    if follow and not previous:  # across runner restarts, until Ctrl-C
        from kubectl_trigger import logfollow

        first = {k: v for k, v in query.items() if k in ("tailLines", "sinceSeconds")}
        follower = logfollow.Follow(client, ns, selector, naming.CONTAINER_NAME, first, timestamps)
        follower.run(pod)
        return
    path = f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}/log"
    # the log is plain text and --follow keeps it open: read it as it arrives, no read timeout
    with (
        translated(f"logs of pod {pod['metadata']['name']}"),
        client.stream("GET", path, query=query) as chunks,
    ):
        for chunk in chunks:
            sys.stdout.write(chunk.decode("utf-8", "replace"))
            sys.stdout.flush()

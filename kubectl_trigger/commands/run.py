"""``kubectl trigger run -f``: run a Trigger's runner in the foreground, for development.

The spec is validated and its TriggerTemplate uses expanded exactly as for
``create``; the expanded Trigger is written to a temporary file and this
process becomes ``python -m runner --file ... --kubeconfig ...`` with the
user's own credentials (not the least-privilege ServiceAccount).
"""

from __future__ import annotations

from typing import Annotated

import typer

from kubectl_trigger import options

PrintOnly = Annotated[
    bool, typer.Option("--print-command", help="Print the runner command instead of running it.")
]
MetricsAddress = Annotated[
    str,
    typer.Option(
        "--metrics-address",
        help="host:port for /metrics, /healthz, /readyz; port 0 picks a free one, '' turns it off.",
    ),
]


def run(
    filename: options.Files = [],  # noqa: B006 - typer reads the default, never mutates it
    print_command: PrintOnly = False,
    metrics_address: MetricsAddress = "127.0.0.1:0",
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """Run one Trigger's runner here, against the current kubeconfig, until interrupted."""
    import json
    import os
    import shlex
    import sys
    import tempfile
    from pathlib import Path

    from kubectl_trigger import pipeline
    from kubectl_trigger.errors import BadInput

    sess = options.session(kubeconfig, context, namespace)
    batch = pipeline.load(options.check_files(filename), sess, offline=False)
    if len(batch.triggers) != 1:
        raise BadInput(f"run takes exactly one Trigger; the input has {len(batch.triggers)}")
    trig = batch.triggers[0]
    body = {**trig.trigger, "spec": trig.expanded}
    fd, path = tempfile.mkstemp(prefix=f"trigger-{trig.name}-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(body, f)
    config = (
        kubeconfig
        or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
        or str(Path.home() / ".kube" / "config")
    )
    argv = [sys.executable, "-m", "runner", "--file", path, "--kubeconfig", config]
    argv += ["--metrics-address", metrics_address]
    if context:
        argv += ["--context", context]
    if print_command:
        print(shlex.join(argv))
        return
    sys.stdout.flush()
    os.execv(sys.executable, argv)

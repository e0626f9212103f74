"""``kubectl trigger run -f``: run a Trigger's runner in the foreground, for development.

The spec is validated and its TriggerTemplate uses expanded exactly as for
``create``; the expanded Trigger is written to a temporary file and this
process becomes ``python -m runner --file ...`` with the user's own
credentials (not the least-privilege ServiceAccount), found the same way the
plugin found them, acting as ``--as`` when given.
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

    from kubectl_trigger import impersonation, pipeline
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
    # The runner loads kubeconfig with the same code as the plugin, so it finds the same
    # cluster: from --kubeconfig, else from the whole $KUBECONFIG list it inherits. Only
    # ~/.kube/config is named, since a runner in a pod would prefer the pod's ServiceAccount.
    argv = [sys.executable, "-m", "runner", "--file", path]
    if kubeconfig:
        argv += ["--kubeconfig", kubeconfig]
    elif sess.config.source != "in-cluster" and not os.environ.get("KUBECONFIG"):
        argv += ["--kubeconfig", str(Path.home() / ".kube" / "config")]
    argv += ["--metrics-address", metrics_address]
    if context:
        argv += ["--context", context]
    if impersonation.current.user:  # --as on this command line: the runner acts as that user too
        argv += ["--as", impersonation.current.user]
        argv += ["--as-uid", impersonation.current.uid] if impersonation.current.uid else []
        for group in impersonation.current.groups:
            argv += ["--as-group", group]
    if print_command:
        listed = os.environ.get("KUBECONFIG") if not kubeconfig else None
        print((f"KUBECONFIG={shlex.quote(listed)} " if listed else "") + shlex.join(argv))
        return
    if trig.ref.cluster_scoped:  # its Secrets and Events: the controlled namespace
        os.environ["TRIGGER_NAMESPACE"] = trig.home
    sys.stdout.flush()
    os.execv(sys.executable, argv)

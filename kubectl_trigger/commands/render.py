"""``kubectl trigger render -f``: print every object create/apply would write, for GitOps."""

from __future__ import annotations

from typing import Annotated

import typer

from kubectl_trigger import options

Output = Annotated[str, typer.Option("--output", "-o", help="yaml or json.")]


def render(
    filename: options.Files = [],  # noqa: B006 - typer reads the default, never mutates it
    image: options.Image = None,
    offline: options.Offline = False,
    output: Output = "yaml",
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """Validate Triggers and print the Trigger, ServiceAccount, RBAC and Deployment as YAML.

    Uses the cluster's discovery (and its TriggerTemplates) when a kubeconfig loads,
    else works offline from a table of built-in kinds. Owner references are left out:
    they need the uid of a Trigger that exists.
    """
    from kubectl_trigger import output as out
    from kubectl_trigger import pipeline

    options.check_choice("-o", output, ("yaml", "json"))
    sess = options.session(kubeconfig, context, namespace)
    online = not offline and pipeline.can_reach(sess)
    batch = pipeline.load(options.check_files(filename), sess, offline=not online)
    out.print_objects(pipeline.rendered(batch, image), output)

"""``kubectl trigger validate -f``: check Triggers without writing anything."""

from __future__ import annotations

from kubectl_trigger import options


def validate(
    filename: options.Files = [],  # noqa: B006 - typer reads the default, never mutates it
    offline: options.Offline = False,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: options.Namespace = None,
) -> None:
    """Validate Trigger files: YAML, every spec field, TriggerTemplate uses and named kinds.

    Each problem is reported with its file, its field path and how to fix it. Kinds
    are checked against the cluster's discovery unless --offline (or no kubeconfig).
    """
    from kubectl_trigger import pipeline

    sess = options.session(kubeconfig, context, namespace)
    online = not offline and pipeline.can_reach(sess)
    batch = pipeline.load(options.check_files(filename), sess, offline=not online)
    for trig in batch.triggers:
        print(f"{trig.origin}: {trig.ref} is valid")
    for tmpl in batch.templates:
        meta = tmpl["metadata"]
        print(f"TriggerTemplate {meta['namespace']}/{meta['name']} is valid")

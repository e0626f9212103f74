"""The flow create, apply, render and validate share: load -f, prepare, then write or print.

Kept apart from the command modules so each of those is only flag handling
and output, and so the flow (validate everything, then write) exists once.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from kubectl_trigger import deploy, inputs, naming, output, rbac
from kubectl_trigger import system_namespace as controlled
from kubectl_trigger.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    PluginError,
    translated,
    type_not_served,
)
from kubectl_trigger.prepare import Batch, Prepared, discovery_resolver, prepare
from kubectl_trigger.session import Session, known

Obj = dict[str, Any]


def load(
    files: list[str], sess: Session, *, offline: bool, system_namespace: str | None = None
) -> Batch:
    """Read and validate every document; with ``offline`` no cluster is contacted.

    Warnings (a ClusterTrigger given cluster-wide write rights, a spec that relies on a
    deliberate difference from Kubernetes, runner/spec/differences.py) go to stderr.
    ``system_namespace`` overrides where ClusterTriggers' runners live (else what
    ``install`` recorded, or its default offline).
    """
    from runner.spec.differences import spec_warnings

    batch = _load(files, sess, offline=offline, system_namespace=system_namespace)
    for trig in batch.triggers:
        for warning in trig.warnings:
            output.warn(warning)
        for line in spec_warnings(trig.config):  # where the runner differs from Kubernetes
            output.warn(f"{trig.origin}: {line}")
    return batch


def _load(files: list[str], sess: Session, *, offline: bool, system_namespace: str | None) -> Batch:
    docs = inputs.load(files)
    if offline:
        return prepare(
            docs,
            namespace_flag=sess.namespace_flag,
            default_namespace=sess.offline_namespace(),
            resolve=rbac.offline_resolver,
            fetch_template=None,
            system_namespace=lambda: system_namespace or naming.DEFAULT_SYSTEM_NAMESPACE,
        )
    client = sess.client

    def fetch(namespace: str, name: str) -> Mapping[str, Any] | None:
        from runner.kube import errors as kube_errors

        with translated(f"get TriggerTemplate {namespace}/{name}"):
            try:
                return dict(client.get(known("TriggerTemplate"), name, namespace))
            except kube_errors.NotFound as e:
                if type_not_served(e):  # no CRD: translated says to run install
                    raise
                return None

    return prepare(
        docs,
        namespace_flag=sess.namespace_flag,
        default_namespace=sess.namespace,
        resolve=discovery_resolver(client),
        fetch_template=fetch,
        system_namespace=functools.cache(lambda: system_namespace or controlled.read(client)),
    )


def can_reach(sess: Session) -> bool:
    """Whether a kubeconfig loads (used by commands that fall back to offline)."""
    try:
        sess.client  # noqa: B018 - loading is the check
    except PluginError as e:
        output.warn(f"{e.message}; working offline (built-in kinds, templates from -f)")
        return False
    return True


def rendered(batch: Batch, image: str | None) -> list[Obj]:
    """Every object a batch would write, in write order, without owner references."""
    objs: list[Obj] = list(batch.templates)
    for trig in batch.triggers:
        objs += [trig.trigger, *trig.render(image)]
    return objs


def write(
    sess: Session, files: list[str], *, mode: str, image: str | None, dry_run: str, fmt: str | None
) -> None:
    """create/apply: validate all, then write (or dry-run) and print the outcome."""
    if dry_run == "client":
        batch = load(files, sess, offline=not can_reach(sess))
        objs = rendered(batch, image)
        if fmt:
            output.print_objects(objs, fmt)
        else:
            print("".join(f"{output.resource_name(o)} {mode}d (dry run)\n" for o in objs), end="")
        return
    batch = load(files, sess, offline=False)
    written = deploy.write(
        sess.client,
        batch,
        mode=mode,
        image=image,
        dry_run=dry_run == "server",
        report=output.info,
    )
    outcomes = written.outcomes
    if fmt:
        output.print_objects([o.obj for o in outcomes if o.action != "pruned"], fmt)
    else:
        suffix = " (server dry run)" if dry_run == "server" else ""
        for o in outcomes:
            print(f"{output.resource_name(o.obj)} {o.action}{suffix}")
    if written.not_written:
        _interrupted(written.not_written, written.failures, len(batch.triggers))
    _warn_about_secrets(sess, batch)
    _fail_if_any(written.failures, len(batch.triggers))


def _interrupted(left: list[Prepared], failures: list[PluginError], total: int) -> None:
    """Ctrl-C: say which triggers were not written and how to finish (exit 130, as kubectl)."""
    for e in failures:
        output.error(e.message, e.details)
    names = ", ".join(str(t.ref) for t in left)
    error = PluginError(
        f"interrupted: {len(left)} of {total} triggers were not written ({names}); every "
        "other one was written whole. kubectl trigger apply -f with the same files finishes"
    )
    error.exit_code = EXIT_INTERRUPTED
    raise error


def _warn_about_secrets(sess: Session, batch: Batch) -> None:
    """A warning per referenced Secret key that is missing or unreadable (the write stands)."""
    from kubectl_trigger import secretrefs

    for trig in batch.triggers:
        for line in secretrefs.warnings(sess.client, trig):
            output.warn(line)


def _fail_if_any(failures: list[PluginError], total: int) -> None:
    """Report every failed trigger; exit as kubectl does (non-zero when any failed)."""
    if not failures:
        return
    if len(failures) == 1:
        raise failures[0]
    for e in failures:
        output.error(e.message, e.details)
    codes = {e.exit_code for e in failures}
    summary = PluginError(f"{len(failures)} of {total} triggers failed (see above)")
    summary.exit_code = codes.pop() if len(codes) == 1 else EXIT_FAILED
    raise summary

"""Writing validated Triggers and their derived objects, each trigger all or nothing.

Every write is a server-side apply with the field manager ``runner.FIELD_MANAGER``
(so a later ``apply`` that drops a field really removes it). TriggerTemplates
are written first; then the triggers, up to ``WORKERS`` at once (one trigger's
writes stay in order). Before a trigger's first write a preflight reads what
exists: ``create`` refuses an existing trigger, and neither command takes over
an object of the same name that belongs to someone else. When a write fails
midway, every object written for that trigger is deleted again, newest first;
objects it only updated keep the new content (the error says so). The other
triggers are written regardless, as ``kubectl apply -f`` does, and every
failure is reported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubectl_trigger import derived, naming, render, rendered_status, session
from kubectl_trigger.errors import (
    CrdMissing,
    NotFoundError,
    OperationFailed,
    PluginError,
    ignore_missing,
    translated,
    type_not_served,
)
from kubectl_trigger.prepare import Batch, Prepared
from runner import FIELD_MANAGER

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

Obj = dict[str, Any]
Report = Callable[[str], None]
#: Triggers written at once: the API client keeps 8 connections, and 50 triggers from
#: one file take about 1 s each when written one after another (bench/create_many.py).
WORKERS = 8
#: From this many objects of one kind in one namespace, the preflight LISTs them once
#: instead of a GET each (50 triggers: 6 requests instead of 300).
LIST_FROM = 3
#: (kind, namespace) -> name -> the live object, for the kinds the preflight listed
Listed = dict[tuple[str, str], dict[str, Obj]]


@dataclass
class Outcome:
    """What happened to one object: ``created``, ``configured``, ``unchanged`` or ``pruned``."""

    obj: Obj
    action: str


@dataclass
class Writer:
    """Applies objects and remembers the ones it created, to undo them on failure."""

    client: KubeClient
    dry_run: bool = False
    created: list[Obj] = field(default_factory=list)
    listed: Listed = field(default_factory=dict)

    def exists(self, obj: Obj) -> Obj | None:
        """The live object, or None (from the batch's LIST when there was one)."""
        from runner.kube import errors as kube_errors

        kind, ns, name = derived.ref(obj)
        if (kind, ns) in self.listed:
            return self.listed[(kind, ns)].get(name)
        with translated(f"get {derived.describe_ref(obj)}"):
            try:
                return dict(self.client.get(session.known(kind), name, ns or None))
            except kube_errors.NotFound as e:
                if type_not_served(e):  # no CRD: translated says to run install
                    raise
                return None

    def apply(self, obj: Obj, live: Obj | None) -> Outcome:
        """Server-side apply ``obj``; ``live`` is what the preflight found."""
        kind, ns, _ = derived.ref(obj)
        with translated(f"apply {derived.describe_ref(obj)}"):
            result = dict(
                self.client.apply(
                    session.known(kind),
                    obj,
                    ns or None,
                    field_manager=FIELD_MANAGER,
                    force=True,
                    dry_run=self.dry_run,
                )
            )
        if live is None:
            if not self.dry_run:
                self.created.append(result)
            return Outcome(result, "created")
        same = _rv(result) == _rv(live)
        return Outcome(result, "unchanged" if same else "configured")

    def delete(self, obj: Obj) -> None:
        """Delete ``obj`` (used for pruning and rollback)."""
        kind, ns, name = derived.ref(obj)
        # ignore_missing is the inner context: a missing object is fine, not an error
        with translated(f"delete {derived.describe_ref(obj)}"), ignore_missing():
            self.client.delete(
                session.known(kind),
                name,
                ns or None,
                propagation_policy="Background",
                dry_run=self.dry_run,
            )

    def rollback(self, report: Report) -> list[str]:
        """Delete what this writer created, newest first; returns what could not be deleted."""
        failed = []
        for obj in reversed(self.created):
            try:
                self.delete(obj)
                report(f"rolled back: deleted {derived.describe_ref(obj)}")
            except PluginError as e:
                failed.append(f"{derived.describe_ref(obj)}: {e.message}")
        self.created.clear()
        return failed


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


def _belongs(live: Obj, trig: Prepared) -> bool:
    return trig.ref.owns((live.get("metadata") or {}).get("labels") or {})


def _owner_of(live: Obj) -> str | None:
    """The trigger a live object's labels say it was derived from, if any."""
    labels = (live.get("metadata") or {}).get("labels") or {}
    if labels.get(naming.LABEL_MANAGED_BY) != "kubectl-trigger":
        return None
    if naming.LABEL_CLUSTER_TRIGGER in labels:
        return f"ClusterTrigger {labels[naming.LABEL_CLUSTER_TRIGGER]}"
    if naming.LABEL_TRIGGER in labels:
        ns = labels.get(naming.LABEL_TRIGGER_NAMESPACE, "?")
        return f"Trigger {ns}/{labels[naming.LABEL_TRIGGER]}"
    return None


@dataclass
class Written:
    """What ``write`` did: outcomes in input order, and the error of each trigger that failed.

    ``not_written``: after Ctrl-C, the triggers that were not started (or were undone);
    every other trigger was written whole.
    """

    outcomes: list[Outcome] = field(default_factory=list)
    failures: list[PluginError] = field(default_factory=list)
    not_written: list[Prepared] = field(default_factory=list)


def write(
    client: KubeClient,
    batch: Batch,
    *,
    mode: str,
    image: str | None,
    dry_run: bool,
    report: Report,
    workers: int = WORKERS,
) -> Written:
    """Create (``mode="create"``) or apply the batch; a failed trigger's new objects are undone.

    A TriggerTemplate that cannot be written stops everything (the triggers may
    use it); a trigger that fails leaves the others written.
    """
    _controlled_namespace_exists(client, batch)
    templates = Writer(client, dry_run=dry_run)
    done = Written()
    try:
        for tmpl in batch.templates:
            done.outcomes.append(templates.apply(tmpl, templates.exists(tmpl)))
    except PluginError as e:
        raise _undone(e, templates, report) from e

    listed = _list_many(client, batch, image)

    def one(trig: Prepared) -> list[Outcome] | PluginError:
        writer = Writer(client, dry_run=dry_run, listed=listed)
        try:
            return _write_trigger(writer, trig, _preflight(writer, trig, mode, image), mode, image)
        except PluginError as e:
            return _undone(e, writer, report)
        except (Exception, KeyboardInterrupt):  # a bug or Ctrl-C: leave nothing half-written
            if not writer.dry_run:
                writer.rollback(report)
            raise

    results, done.not_written = _each(one, batch.triggers, workers)
    for result in results:
        if isinstance(result, PluginError):
            done.failures.append(result)
        else:
            done.outcomes += result
    return done


def _controlled_namespace_exists(client: KubeClient, batch: Batch) -> None:
    """ClusterTriggers' runners live in the controlled namespace: when it was deleted, say
    how to get it back before anything is written (not the API server's bare NotFound)."""
    from runner.kube import errors as kube_errors

    for home in sorted({t.home for t in batch.triggers if t.ref.cluster_scoped}):
        with translated(f"get Namespace {home}"):
            try:
                found = client.get(session.known("Namespace"), home)
            except kube_errors.NotFound:
                raise NotFoundError(
                    f"the controlled namespace {home}, where ClusterTriggers' runners live, "
                    "does not exist (deleted?); run kubectl trigger install to create it "
                    "again, then run this command again"
                ) from None
            except kube_errors.Forbidden:  # may not read it: the writes will say what is wrong
                continue
        if (found.get("status") or {}).get("phase") == "Terminating":
            raise OperationFailed(
                f"the controlled namespace {home}, where ClusterTriggers' runners live, is being "
                "deleted; when it is gone, run kubectl trigger install, then this command again"
            )


def _list_many(client: KubeClient, batch: Batch, image: str | None) -> Listed:
    """One LIST per kind and namespace the batch writes at least ``LIST_FROM`` objects of.

    A kind the user may not list is left out: its objects are then read one by one.
    """
    from collections import Counter

    from kubectl_trigger.session import items

    wanted = Counter(
        derived.ref(obj)[:2]
        for trig in batch.triggers
        for obj in [trig.trigger, *trig.render(image)]
    )
    listed: Listed = {}
    for (kind, ns), count in wanted.items():
        if count < LIST_FROM:
            continue
        info = session.known(kind)
        try:
            with translated(f"list {info.plural}"):
                objs = list(items(client.list_pages(info, ns or None)))
        except CrdMissing:
            raise
        except PluginError:
            continue
        listed[(kind, ns)] = {
            o["metadata"]["name"]: {"apiVersion": info.api_version, "kind": kind, **o} for o in objs
        }
    return listed


def _each(
    fn: Callable[[Prepared], list[Outcome] | PluginError],
    triggers: Sequence[Prepared],
    workers: int,
) -> tuple[list[list[Outcome] | PluginError], list[Prepared]]:
    """``fn`` of every trigger, up to ``workers`` at once: results in input order, and the
    triggers left unwritten by Ctrl-C.

    Ctrl-C stops what has not started; a trigger being written by a worker thread is
    finished (each is all or nothing), one being written by the main thread is undone.
    """
    results: list[list[Outcome] | PluginError] = []
    if len(triggers) <= 1 or workers <= 1:
        for i, trig in enumerate(triggers):
            try:
                results.append(fn(trig))
            except KeyboardInterrupt:
                return results, list(triggers[i:])
        return results, []
    return _Parallel(fn, triggers).run(min(workers, len(triggers)))


class _Parallel:
    """Writes triggers on a few threads while the main thread only waits.

    Every hand-out and every result is booked under one lock by the workers, so a
    Ctrl-C, which Python raises in the main thread at any instruction (a signal may
    even arrive on another thread), can never fall between starting a write and
    recording it: the main thread then stops further hand-outs and waits for the
    writes in progress, each all or nothing.
    """

    def __init__(
        self, fn: Callable[[Prepared], list[Outcome] | PluginError], items: Sequence[Prepared]
    ) -> None:
        self.fn = fn
        self.items = list(items)
        self.results: dict[int, list[Outcome] | PluginError] = {}
        self.bugs: dict[int, Exception] = {}
        self.next = 0  # items[:next] were handed out
        self.active = 0
        self.stopped = False
        self.changed = threading.Condition()

    def _work(self) -> None:
        while True:
            with self.changed:
                if self.stopped or self.next >= len(self.items):
                    return
                i, self.next, self.active = self.next, self.next + 1, self.active + 1
            try:
                result = self.fn(self.items[i])
            except Exception as e:  # a bug: raised again in the main thread
                with self.changed:
                    self.bugs[i] = e
            else:
                with self.changed:
                    self.results[i] = result
            finally:
                with self.changed:
                    self.active -= 1
                    self.changed.notify_all()

    def _settled(self) -> bool:
        return self.active == 0 and (self.stopped or self.next >= len(self.items))

    def run(self, workers: int) -> tuple[list[list[Outcome] | PluginError], list[Prepared]]:
        """Results in input order, and the items never handed out (Ctrl-C)."""
        try:
            for _ in range(workers):
                threading.Thread(target=self._work, daemon=True).start()
            with self.changed:
                self.changed.wait_for(self._settled)
        except KeyboardInterrupt:
            with self.changed:
                self.stopped = True
                self.changed.wait_for(self._settled)
        if self.bugs:
            raise self.bugs[min(self.bugs)]
        return [self.results[i] for i in sorted(self.results)], self.items[self.next :]


def _undone(e: PluginError, writer: Writer, report: Report) -> PluginError:
    """``e``, after deleting what ``writer`` created, saying whether that worked."""
    if writer.dry_run or not writer.created:
        return e
    failed = writer.rollback(report)
    note = (
        "; objects created by this command were deleted again"
        if not failed
        else "; could not delete: " + "; ".join(failed)
    )
    return type(e)(e.message + note, e.details)


Live = dict[tuple[str, str, str], Obj | None]


def _preflight(writer: Writer, trig: Prepared, mode: str, image: str | None) -> Live:
    """Read what exists before writing anything for ``trig``; refuse conflicts."""
    live: Live = {}
    current = writer.exists(trig.trigger)
    if current is not None and mode == "create":
        raise OperationFailed(
            f'{trig.ref} already exists; use "kubectl trigger apply -f" to update it'
        )
    live[derived.ref(trig.trigger)] = current
    for obj in trig.render(image):
        other = writer.exists(obj)
        if other is not None and not _belongs(other, trig):
            owner = _owner_of(other)
            fix = (
                f"it belongs to {owner}: give this trigger another name "
                "(deleting that object would break the other trigger)"
                if owner
                else f"rename or remove that object if nothing needs it, or rename {trig.ref}"
            )
            raise OperationFailed(
                f"{derived.describe_ref(obj)} already exists and does not belong to "
                f"{trig.ref}; {fix}"
            )
        live[derived.ref(obj)] = other
    return live


def _write_trigger(
    writer: Writer, trig: Prepared, live: Live, mode: str, image: str | None
) -> list[Outcome]:
    before = live.get(derived.ref(trig.trigger))
    first = writer.apply(trig.trigger, before)
    outcomes = [first]
    if not writer.dry_run:  # before the Deployment: the new runner's report comes after
        rendered_status.mark_rendered(writer.client, first.obj, before)
    uid = str(first.obj.get("metadata", {}).get("uid") or "")
    owner = render.Owner(trig.name, uid, trig.ref.kind) if uid else None
    wanted = trig.render(image, owner, first.obj)
    for obj in wanted:
        outcomes.append(writer.apply(obj, live.get(derived.ref(obj))))
    if mode == "apply" and before is not None and not writer.dry_run:
        keep = {derived.ref(o) for o in wanted}
        namespaces = [ns for ns in trig.rules if ns]
        found = derived.find(
            writer.client, trig.ref, namespaces=namespaces, home=trig.home, uid=uid or None
        )
        for stale in found:
            if derived.ref(stale) not in keep:
                writer.delete(stale)
                outcomes.append(Outcome(stale, "pruned"))
    return outcomes

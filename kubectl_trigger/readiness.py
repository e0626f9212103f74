"""Is a trigger Ready? Its stored Ready condition, checked against what is cheap to see.

No controller watches triggers: the status is written by the runner (and by
``create``/``apply`` when they render a new generation), so a runner that
crash-loops, was killed, or has not started yet cannot correct a True it wrote
earlier. ``get`` and ``describe`` therefore show Ready as True only when

- the Ready condition is True and was written for the Trigger's current
  ``metadata.generation`` (its ``observedGeneration``), and
- when the runner pods can be listed: a pod of the trigger is running and
  ready, and none is in CrashLoopBackOff.

Everything else is False with a reason: the runner's own (SourceUnavailable,
SpecNotRendered, SpecInvalid, ...) or one seen here (CrashLoopBackOff,
RunnerNotReady, NoRunnerPod, StatusOutdated). Pods are read with one list
call per namespace scope, never one per trigger (``get`` stays fast).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubectl_trigger import migration, naming
from runner import conditions
from runner.rendered import ENV_GENERATION

Obj = Mapping[str, Any]
#: (kind, namespace label value, name label value): a trigger, as its pods' labels name it
Key = tuple[str, str, str]

CRASH_LOOP = "CrashLoopBackOff"
NOT_READY = "RunnerNotReady"
NO_POD = "NoRunnerPod"
OUTDATED = "StatusOutdated"
STARTING = conditions.RUNNER_STARTING
NOT_RENDERED = conditions.SPEC_NOT_RENDERED
#: how long a rendered trigger may show RunnerStarting with no runner pod at all
STARTING_GRACE = 60.0
#: the runner's reason when it exits on an error
RUNNER_FAILED = conditions.RUNNER_FAILED
#: runner reasons more telling than "it restarts in a loop": they say why
KEEP_OVER_CRASH_LOOP = frozenset({conditions.SPEC_INVALID, migration.REASON, NOT_RENDERED})
#: the selector of every runner pod
POD_SELECTOR = f"{naming.LABEL_NAME}=kubectl-trigger"


@dataclass(frozen=True)
class Readiness:
    """The Ready answer shown to users."""

    status: str  # "True" or "False"
    reason: str
    message: str


def condition(obj: Obj, type_: str = conditions.READY) -> Mapping[str, Any] | None:
    """The stored condition of ``type_``, or None."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == type_:
            return cond
    return None


def key_of(obj: Obj) -> Key:
    """The trigger's key, as its runner pods' labels spell it."""
    meta = obj.get("metadata") or {}
    name = naming.label_value(str(meta.get("name", "")))
    if obj.get("kind") == naming.CLUSTER_TRIGGER:
        return (naming.CLUSTER_TRIGGER, "", name)
    return (naming.TRIGGER, naming.label_value(str(meta.get("namespace", ""))), name)


def pod_key(pod: Obj) -> Key | None:
    """The key of the trigger a runner pod belongs to, from its labels.

    A Trigger's runner runs in the Trigger's namespace: the pod's own namespace, never
    what its labels claim, names that (a pod in namespace a labelled as b's runner
    speaks for nobody in b).
    """
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    if naming.LABEL_CLUSTER_TRIGGER in labels:
        return (naming.CLUSTER_TRIGGER, "", str(labels[naming.LABEL_CLUSTER_TRIGGER]))
    if naming.LABEL_TRIGGER in labels:
        claimed = str(labels.get(naming.LABEL_TRIGGER_NAMESPACE, ""))
        if meta.get("namespace") and naming.label_value(str(meta["namespace"])) != claimed:
            return None
        return (naming.TRIGGER, claimed, str(labels[naming.LABEL_TRIGGER]))
    return None


def by_trigger(pods: Iterable[Obj]) -> dict[Key, list[Obj]]:
    """Runner pods grouped by the trigger they run."""
    grouped: dict[Key, list[Obj]] = {}
    for pod in pods:
        key = pod_key(pod)
        if key is not None:
            grouped.setdefault(key, []).append(pod)
    return grouped


def assess(obj: Obj, pods: Sequence[Obj] | None) -> Readiness:
    """Ready for ``obj``; ``pods``: its runner pods, or None when they could not be read."""
    if migration.reaches_outside(obj):
        return Readiness("False", migration.REASON, "reaches outside its namespace; not running")
    stored = _stored(obj, pods)
    if pods is None:
        return stored
    live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
    # between two back-offs the container runs for a moment: a runner that reported its
    # failure and has exited with an error before is still in the loop
    failed = stored.reason == RUNNER_FAILED
    crashing = [
        p for p in live if _waiting_reason(p) == CRASH_LOOP or (failed and _failed_before(p))
    ]
    if crashing and stored.reason not in KEEP_OVER_CRASH_LOOP:
        restarts = _restarts(crashing[0])
        last = f"; its last report: {stored.reason}: {stored.message}" if stored.message else ""
        return Readiness(
            "False",
            CRASH_LOOP,
            f"the runner exits and is restarted in a loop ({restarts} restarts){last}",
        )
    if not live and stored.reason == STARTING and _for_longer_than(obj, STARTING_GRACE):
        # create/apply wrote RunnerStarting, then never made the runner (killed mid-way,
        # or its Deployment deleted since): "starting" forever would be a lie
        return Readiness(
            "False",
            NO_POD,
            f"no runner pod {STARTING_GRACE:.0f}s after the spec was rendered (an interrupted "
            "create or apply, or a deleted runner Deployment?): kubectl trigger apply -f "
            "renders it again",
        )
    if stored.status != "True":
        return stored
    if not live:
        return Readiness("False", NO_POD, "no runner pod is running")
    if not any(_pod_ready(p) for p in live):
        return Readiness("False", NOT_READY, "the runner pod is not ready")
    return stored


def _stored(obj: Obj, pods: Sequence[Obj] | None) -> Readiness:
    """What the stored Ready condition says, if it was written for this generation."""
    cond = condition(obj)
    if cond is None:
        return Readiness(
            "False",
            STARTING,
            "no runner has reported yet (a Trigger made without kubectl trigger has no "
            "runner: kubectl trigger apply -f renders one)",
        )
    generation = (obj.get("metadata") or {}).get("generation")
    observed = cond.get("observedGeneration")
    if generation is not None and observed != generation:
        rendered = {g for g in map(_rendered_generation, pods or []) if g is not None}
        if rendered and str(generation) not in rendered:
            return Readiness(
                "False",
                NOT_RENDERED,
                f"generation {generation} was not rendered by kubectl trigger apply; "
                f"the runner runs generation {', '.join(sorted(rendered))}",
            )
        return Readiness(
            "False",
            OUTDATED,
            f"the status was written for generation {observed}; the Trigger is at "
            f"generation {generation} and its runner has not reported it yet",
        )
    status = "True" if cond.get("status") == "True" else "False"
    return Readiness(status, str(cond.get("reason") or ""), str(cond.get("message") or ""))


def _for_longer_than(obj: Obj, seconds: float) -> bool:
    """Whether the Ready condition has held for more than ``seconds`` (False if unknown)."""
    import datetime

    since = str((condition(obj) or {}).get("lastTransitionTime") or "")
    try:
        then = datetime.datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        return False
    return (datetime.datetime.now(datetime.UTC) - then).total_seconds() > seconds


def _containers(pod: Obj) -> list[Mapping[str, Any]]:
    return list((pod.get("status") or {}).get("containerStatuses") or [])


def _waiting_reason(pod: Obj) -> str:
    for status in _containers(pod):
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return str(waiting["reason"])
    return ""


def _failed_before(pod: Obj) -> bool:
    """Restarted after its container exited with an error."""
    for status in _containers(pod):
        last = (status.get("lastState") or {}).get("terminated") or {}
        if int(status.get("restartCount") or 0) and last.get("exitCode"):
            return True
    return False


def _restarts(pod: Obj) -> int:
    return sum(int(s.get("restartCount") or 0) for s in _containers(pod))


def _pod_ready(pod: Obj) -> bool:
    statuses = _containers(pod)
    running = (pod.get("status") or {}).get("phase") == "Running"
    return running and bool(statuses) and all(s.get("ready") for s in statuses)


def _rendered_generation(pod: Obj) -> str | None:
    """TRIGGER_GENERATION in the runner container's env: the generation it was rendered from."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        if container.get("name") != naming.CONTAINER_NAME:
            continue
        for env in container.get("env") or []:
            if env.get("name") == ENV_GENERATION:
                return str(env.get("value") or "") or None
    return None

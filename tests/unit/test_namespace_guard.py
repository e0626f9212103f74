"""install waits for the admission guard to be in force (kubectl_trigger.namespace_guard).

Admission reads ValidatingAdmissionPolicies through an informer, a moment behind
the write: ``install`` returns only once a dry-run probe is refused. The e2e tests
in tests/e2e/test_controlled_namespace_guard.py write as a tenant right after
``install``; these cover the waiting itself, which a real API server rarely shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kubectl_trigger import namespace_guard
from kubectl_trigger.errors import OperationFailed
from runner.kube import errors as kube_errors

PROBE_REFUSAL = (
    'serviceaccounts "kubectl-trigger-guard-probe" is forbidden: ValidatingAdmissionPolicy '
    "'kubectl-trigger-controlled-namespace' with binding 'kubectl-trigger-controlled-namespace' "
    "denied request: kubectl-trigger's guard probe: the guard is in force"
)


@dataclass
class ScriptedClient:
    """Answers each dry-run create with the next of ``answers`` (an exception or an object)."""

    answers: list[Any]
    calls: list[tuple[dict[str, Any], str | None, bool]] = field(default_factory=list)

    def create(
        self, info: Any, body: dict[str, Any], namespace: str | None = None, dry_run: bool = False
    ) -> Any:
        self.calls.append((body, namespace, dry_run))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def refused(message: str = PROBE_REFUSAL) -> kube_errors.Forbidden:
    return kube_errors.Forbidden(403, "Forbidden", message)


def test_the_policy_refuses_the_probe_annotation_after_the_tenant_check() -> None:
    validations = namespace_guard.policy(["sys"])["spec"]["validations"]
    assert "clustertriggers" in validations[0]["expression"]  # a tenant sees why first
    assert namespace_guard.ANNOTATION_PROBE in validations[1]["expression"]
    assert validations[1]["expression"].startswith("!has(object.metadata.annotations) || ")


def test_install_waits_until_the_probe_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.sleep", lambda _s: None)
    client = ScriptedClient(
        [
            {"kind": "ServiceAccount"},  # passed: the policy not yet read by admission
            kube_errors.Conflict(409, "AlreadyExists", "exists"),  # passed admission too
            refused(),
        ]
    )
    namespace_guard.wait_in_force(client, "sys", 30)  # type: ignore[arg-type]
    assert len(client.calls) == 3
    body, namespace, dry_run = client.calls[0]
    assert dry_run is True and namespace == "sys"  # never writes
    assert body["metadata"]["namespace"] == "sys"
    assert namespace_guard.ANNOTATION_PROBE in body["metadata"]["annotations"]


def test_a_guard_never_in_force_fails_with_the_namespace_and_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("time.sleep", lambda _s: None)
    client = ScriptedClient([{"kind": "ServiceAccount"}])
    with pytest.raises(OperationFailed) as failed:
        namespace_guard.wait_in_force(client, "sys", 0)  # type: ignore[arg-type]
    text = str(failed.value)
    assert "namespace sys is not in force" in text and "kubectl trigger install again" in text


def test_another_refusal_is_not_taken_for_the_guard() -> None:
    client = ScriptedClient([refused('serviceaccounts is forbidden: User "u" cannot create')])
    with pytest.raises(Exception) as failed:
        namespace_guard.wait_in_force(client, "sys", 30)  # type: ignore[arg-type]
    assert "cannot create" in str(failed.value)
    assert len(client.calls) == 1

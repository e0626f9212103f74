"""The ``delete`` action: delete the target objects.

``target`` is required: deleting is never implied, so a spec always says what
it deletes. An object that is already gone counts as deleted, which keeps a
retried delete idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from runner.actions import fields
from runner.actions.apierrors import action_error
from runner.actions.base import ActionContext, ActionKind, ParseContext
from runner.actions.targets import Target, parse_target, resolve, summarize, target_permissions
from runner.event import Event
from runner.kube.errors import ApiError, NotFound
from runner.permissions import Permission
from runner.spec.errors import SpecError

Propagation = Literal["Background", "Foreground", "Orphan"]
PROPAGATION_POLICIES = ("Background", "Foreground", "Orphan")


@dataclass(frozen=True)
class DeleteConfig:
    """What to delete, and how dependents are treated."""

    target: Target
    propagation_policy: Propagation | None


def parse(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> DeleteConfig:
    """Check ``target`` (required) and ``propagationPolicy``."""
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, ("target", "propagationPolicy"))
    if spec.get("target") is None:
        raise SpecError(
            f"{field}.target",
            "is required",
            "say what to delete, e.g. target: {apiVersion: v1, kind: Pod, selector: app=web}",
        )
    policy = fields.choice(spec, "propagationPolicy", field, PROPAGATION_POLICIES, default="")
    return DeleteConfig(
        parse_target(spec["target"], f"{field}.target", ctx),
        cast(Propagation, policy) if policy else None,
    )


def permissions(config: DeleteConfig, ctx: ParseContext) -> list[Permission]:
    """``get`` and ``delete`` on the target kind, plus ``list`` for a selector."""
    return target_permissions(config.target, ctx, ("get", "delete"))


def run(config: DeleteConfig, event: Event, ctx: ActionContext) -> str:
    """Delete each target object; one that is already gone is fine."""
    data = event.template_data(ctx.trigger_name, ctx.trigger_namespace)
    refs = resolve(config.target, event, ctx.client, data, ctx.trigger_namespace)
    for ref in refs:
        try:
            ctx.client.delete(
                ref.info, ref.name, ref.namespace, propagation_policy=config.propagation_policy
            )
        except NotFound:
            continue
        except ApiError as exc:
            raise action_error(exc, f"deleting {ref}") from None
    selector = config.target.selector.text if config.target.selector else None
    return summarize("deleted", config.target.kind, refs, selector)


KIND = ActionKind(key="delete", parse=parse, permissions=permissions, run=run)

"""The spec the plugin rendered into the runner's pod template, and how to compare it.

The runner runs only what the plugin rendered with its user's rights: the
expanded spec travels in the runner Deployment's pod template (environment
variables below), never read from the Trigger object, which anyone allowed to
edit Triggers could change. The runner still reads its Trigger, to write status
and to notice (``SpecInSync``) when the Trigger no longer matches what runs.

Both sides import this module (the plugin writes, the runner reads), so the
digest is computed the same way on both.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ENV_KIND = "TRIGGER_KIND"
ENV_SPEC = "TRIGGER_SPEC"  # the expanded spec, canonical JSON
ENV_SPEC_DIGEST = "TRIGGER_SPEC_DIGEST"  # digest of the Trigger's .spec it was rendered from
ENV_GENERATION = "TRIGGER_GENERATION"  # metadata.generation it was rendered from ("" unknown)


def _normalized(value: Any) -> Any:
    """Whole floats as ints: the API server returns ``1`` for a ``1.0`` it stored."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, whole floats as ints."""
    return json.dumps(_normalized(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_digest(spec: Any) -> str:
    """A short digest of a Trigger's ``.spec`` as stored (before TriggerTemplate expansion)."""
    return hashlib.sha256(canonical(spec or {}).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Rendered:
    """What the pod template says the runner runs."""

    spec: dict[str, Any]
    digest: str
    generation: int | None

    def in_sync(self, live: Mapping[str, Any]) -> bool:
        """Whether the live Trigger's spec is the one this was rendered from."""
        return spec_digest(live.get("spec")) == self.digest


class RenderedSpecError(ValueError):
    """The environment holds a spec that cannot be used."""


def from_env(environ: Mapping[str, str] | None = None) -> Rendered | None:
    """The rendered spec from the environment, or None when none was rendered."""
    env = os.environ if environ is None else environ
    text = env.get(ENV_SPEC)
    if text is None:
        return None
    try:
        spec = json.loads(text)
    except ValueError:
        raise RenderedSpecError(f"{ENV_SPEC} is not JSON") from None
    if not isinstance(spec, dict):
        raise RenderedSpecError(f"{ENV_SPEC} must hold a JSON object")
    generation = env.get(ENV_GENERATION) or ""
    return Rendered(
        spec=spec,
        digest=env.get(ENV_SPEC_DIGEST) or "",
        generation=int(generation) if generation.isdigit() else None,
    )

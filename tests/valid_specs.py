"""Every Trigger and TriggerTemplate the project shows as valid, for tests of both tiers.

The corpus is tests/data/good_specs/*.yaml (between them they use every field
the runner's parser accepts, each in every form it takes), every
examples/*.yaml, and every whole object in docs/spec.md's YAML blocks. The unit
tier parses them and checks them against the CRD schema offline; the e2e tier
has the real API server check them (tests/e2e/test_plugin_crd_schema.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
GOOD_SPECS = sorted((REPO / "tests" / "data" / "good_specs").glob("*.yaml"))
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
SPEC_DOC = REPO / "docs" / "spec.md"
_YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```$", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Source:
    """The objects of one file (or one docs block), in order: templates beside their users."""

    id: str  # good_specs/01-resource-every-field, examples/cron-create-job, docs/spec.md#1
    objects: tuple[dict[str, Any], ...]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """The objects of one kind."""
        return [o for o in self.objects if o.get("kind") == kind]


def _objects(text: str) -> tuple[dict[str, Any], ...]:
    return tuple(d for d in yaml.safe_load_all(text) if isinstance(d, dict) and "apiVersion" in d)


def sources() -> list[Source]:
    """Every valid source; docs blocks that are fragments (no apiVersion) are left out."""
    found = [Source(f"good_specs/{p.stem}", _objects(p.read_text("utf-8"))) for p in GOOD_SPECS]
    found += [Source(f"examples/{p.stem}", _objects(p.read_text("utf-8"))) for p in EXAMPLES]
    blocks = _YAML_BLOCK.findall(SPEC_DOC.read_text("utf-8"))
    found += [Source(f"docs/spec.md#{i}", _objects(b)) for i, b in enumerate(blocks, start=1)]
    return [s for s in found if s.objects]

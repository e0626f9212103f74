"""Structured action fields (patch bodies, object templates, JSON bodies) as templates.

The Trigger is YAML already, so a patch or a Job template is written inline as
data; JSON text is accepted too. YAML *text* (a ``|`` block) is refused: the
runner carries no YAML parser (it stays small), and parsing data instead of
splicing text is what keeps event values from adding fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.spec.errors import SpecError, type_name
from runner.spec.template import StructuredTemplate, compile_json_text, compile_structured


def parse_structured(raw: Any, field: str) -> StructuredTemplate:
    """An object or list written inline, or JSON text, compiled as a structured template."""
    if isinstance(raw, Mapping | list):
        return compile_structured(raw, field)
    if isinstance(raw, str):
        if raw.lstrip()[:1] in ("{", "["):
            return compile_json_text(raw, field)
        raise SpecError(
            field,
            "is text that is not JSON; YAML text templates are not supported",
            "write the object inline as YAML (drop the '|'), or as JSON text",
        )
    raise SpecError(field, f"must be an object or JSON text, got {type_name(raw)}")

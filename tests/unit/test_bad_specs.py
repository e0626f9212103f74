"""The malformed-spec corpus: each file is rejected with an error naming the bad field.

Each ``tests/data/bad_specs/NN-name.yaml`` starts with ``# expect: <text>``; the
text must appear in one of parse_trigger's errors (or, for ``invalid YAML``
files, PyYAML must refuse the file and its problem must contain the rest of
the text, which is what the plugin prints). Files marked ``# needs: actions``
fail in an action's own parse, so they need the real action registry. The
e2e tier runs the same corpus through ``kubectl trigger create``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.spec.errors import SpecErrors
from runner.spec.parse import parse_trigger
from tests.unit.spec_stubs import STUB_ACTIONS

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_specs"
SPECS = sorted(CORPUS.glob("*.yaml"))
YAML_ERROR = "invalid YAML"


def header(path: Path) -> tuple[str, bool]:
    """(expected text, whether it needs the real action registry)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return lines[0].removeprefix("# expect: ").strip(), lines[1].startswith("# needs: actions")


def real_registry() -> Any:
    import runner.actions

    return getattr(runner.actions, "ACTIONS", None) or None


def test_corpus_is_big_and_well_named() -> None:
    assert len(SPECS) >= 30
    for i, path in enumerate(SPECS, start=1):
        assert path.name.startswith(f"{i:02d}-"), path.name


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_bad_spec_is_rejected_naming_the_field(path: Path) -> None:
    expect, needs_actions = header(path)
    text = path.read_text(encoding="utf-8")
    if expect.startswith(YAML_ERROR):
        with pytest.raises(yaml.YAMLError) as info:
            yaml.safe_load(text)
        problem = getattr(info.value, "problem", None) or str(info.value)
        assert expect.removeprefix(f"{YAML_ERROR}:").strip() in problem
        return
    obj = yaml.safe_load(text)
    registry = real_registry()
    if registry is None:
        if needs_actions:
            pytest.skip("needs the action registry (runner.actions.ACTIONS), not landed yet")
        registry = STUB_ACTIONS
    with pytest.raises(SpecErrors) as info:
        parse_trigger(obj, registry)
    messages = [str(e) for e in info.value.errors]
    assert any(expect in m for m in messages), messages

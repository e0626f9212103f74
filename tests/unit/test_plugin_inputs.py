"""Reading -f: files, directories, multi-document YAML, errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubectl_trigger import inputs
from kubectl_trigger.errors import BadInput


def test_multi_document_and_lists(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text("kind: A\n---\n---\nkind: List\nitems:\n- kind: B\n- kind: C\n")
    docs = inputs.load([str(f)])
    assert [d.kind for d in docs] == ["A", "B", "C"]
    assert docs[0].origin == f"{f}#1"
    assert docs[2].origin == f"{f}#2 items[1]"


def test_directory_reads_yaml_files_sorted(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("kind: B\n")
    (tmp_path / "a.yml").write_text("kind: A\n")
    (tmp_path / "notes.txt").write_text("kind: X\n")
    assert [d.kind for d in inputs.load([str(tmp_path)])] == ["A", "B"]


def test_bad_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("kind: Trigger\nspec: {a: [1, 2}\n")
    with pytest.raises(BadInput) as e:
        inputs.load([str(f)])
    assert e.value.message.startswith(f"{f}:2:")
    assert "invalid YAML" in e.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("- a\n- b\n", "expected a YAML mapping"), ("", "no objects found")],
)
def test_not_objects(tmp_path: Path, text: str, expected: str) -> None:
    f = tmp_path / "x.yaml"
    f.write_text(text)
    with pytest.raises(BadInput, match=expected):
        inputs.load([str(f)])


def test_missing_file() -> None:
    with pytest.raises(BadInput, match="no such file"):
        inputs.load(["/nonexistent/t.yaml"])

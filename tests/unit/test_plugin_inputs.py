"""Reading -f: files, directories, multi-document YAML, errors naming file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def test_an_input_past_the_limit_is_refused_naming_flag_and_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"kind: A\n# " + b"x" * (inputs.MAX_INPUT_BYTES - 20) + b"\n" + b"y" * 50)
    with pytest.raises(BadInput) as info:
        inputs.load([str(big)])
    assert str(info.value) == (
        f"-f {big}: larger than 4 MiB, the most -f reads from one input; "
        "split it into several files"
    )
    with pytest.raises(BadInput, match=r"^--object /dev/zero: larger than 4 MiB"):
        inputs.load(["/dev/zero"], "--object")


def test_an_input_of_exactly_the_limit_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 1024)  # parsing 4 MiB of YAML takes seconds
    exact = tmp_path / "exact.yaml"
    exact.write_bytes(b"kind: A\n#" + b"x" * (1024 - 10) + b"\n")
    assert exact.stat().st_size == 1024
    assert [d.kind for d in inputs.load([str(exact)])] == ["A"]
    exact.write_bytes(exact.read_bytes() + b"\n")
    with pytest.raises(BadInput, match="the most -f reads from one input"):
        inputs.load([str(exact)])


def test_stdin_past_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    class Endless(io.RawIOBase):
        reads = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            Endless.reads += 1
            buffer[:] = b"a" * len(buffer)
            return len(buffer)

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(Endless())))
    with pytest.raises(BadInput, match=r"^-f <stdin>: larger than 4 MiB"):
        inputs.load(["-"])
    assert Endless.reads < 1000  # it stopped at the limit


def test_not_utf8_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "latin1.yaml"
    f.write_bytes(b"kind: \xe9\n")
    with pytest.raises(BadInput, match=r"latin1.yaml: cannot read: not UTF-8 text \(byte 6\)"):
        inputs.load([str(f)])


def test_deep_nesting_is_refused_before_python_recursion_fails() -> None:
    deep = "a: " + "[" * 150 + "]" * 150 + "\n"
    with pytest.raises(BadInput, match=r"^deep.yaml: nested more than 100 levels deep$"):
        inputs.parse_text("deep.yaml", deep)
    ok = "a: " + "[" * 98 + "]" * 98 + "\n"  # with the top mapping, 99 levels
    value = inputs.parse_text("ok.yaml", ok)[0].body["a"]
    for _ in range(97):
        value = value[0]
    assert value == []


def test_alias_bombs_and_self_reference_are_refused() -> None:
    lines = ["kind: A", 'x0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 8) + "]")
    with pytest.raises(BadInput, match=r"^bomb.yaml: YAML aliases expand it to more than"):
        inputs.parse_text("bomb.yaml", "\n".join(lines) + "\n")
    with pytest.raises(BadInput, match="refers to a collection that contains it"):
        inputs.parse_text("self.yaml", "kind: A\nx: &a [*a]\n")
    shared = "kind: A\nbase: &b {image: web, port: 80}\none: *b\ntwo: *b\n"
    body = inputs.parse_text("shared.yaml", shared)[0].body
    assert body["one"] == body["two"] == {"image": "web", "port": 80}

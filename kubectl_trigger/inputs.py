"""Reading ``-f`` arguments: files, directories and stdin, as multi-document YAML.

Every document is returned with where it came from (``file.yaml#2``), so a
later error can name it. A YAML error stops everything before any cluster call
and names the file, the line and the column.

Each input (a file, each file of a directory, stdin) may hold at most
``MAX_INPUT_BYTES`` (4 MiB, documented in docs/cli.md): reading stops one
byte past the limit, so ``-f /dev/zero`` or an endless pipe ends at once with
an error naming the flag, instead of filling memory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from kubectl_trigger.errors import BadInput

YAML_SUFFIXES = (".yaml", ".yml", ".json")
#: the most one input file (or stdin) may hold
MAX_INPUT_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """One YAML document and where it was read from."""

    origin: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        """The document's ``kind``."""
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        """``metadata.name``, or ``""``."""
        meta = self.body.get("metadata")
        return str(meta.get("name", "")) if isinstance(meta, Mapping) else ""


def _files(arg: str, flag: str) -> list[tuple[str, str]]:
    """(origin, text) pairs for one ``-f`` argument."""
    if arg == "-":
        stdin: BinaryIO = sys.stdin.buffer
        return [("<stdin>", _decode("<stdin>", _bounded(stdin, "<stdin>", flag)))]
    path = Path(arg)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in YAML_SUFFIXES)
        if not found:
            raise BadInput(f"{arg}: no .yaml, .yml or .json files in this directory")
        return [(str(p), _read(p, flag)) for p in found]
    return [(arg, _read(path, flag))]


def _read(path: Path, flag: str) -> str:
    try:
        with path.open("rb") as f:
            data = _bounded(f, str(path), flag)
    except FileNotFoundError as e:
        raise BadInput(f"{path}: no such file or directory") from e
    except OSError as e:
        raise BadInput(f"{path}: cannot read: {e.strerror or e}") from e
    return _decode(str(path), data)


def _bounded(stream: BinaryIO, origin: str, flag: str) -> bytes:
    """At most ``MAX_INPUT_BYTES`` from ``stream``; more is an error naming the flag."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_INPUT_BYTES:
        chunk = stream.read(MAX_INPUT_BYTES + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    limit = f"{MAX_INPUT_BYTES // (1024 * 1024)} MiB"
    fix = "; split it into several files" if flag == "-f" else ""
    raise BadInput(
        f"{flag} {origin}: larger than {limit}, the most {flag} reads from one input{fix}"
    )


def _decode(origin: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadInput(f"{origin}: cannot read: not UTF-8 text (byte {e.start})") from e


def parse_text(origin: str, text: str) -> list[Document]:
    """The non-empty documents of one YAML stream; a List's items are flattened."""
    import yaml

    try:
        raw = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise BadInput(f"{origin}{where}: invalid YAML: {problem}") from e
    docs: list[Document] = []
    for i, body in enumerate(raw, start=1):
        label = f"{origin}#{i}" if len(raw) > 1 else origin
        if not isinstance(body, dict):
            raise BadInput(
                f"{label}: expected a YAML mapping (an object with apiVersion and kind), "
                f"got {type(body).__name__}"
            )
        if body.get("kind") == "List" and isinstance(body.get("items"), list):
            docs += [
                Document(f"{label} items[{j}]", item)
                for j, item in enumerate(body["items"])
                if isinstance(item, dict)
            ]
        else:
            docs.append(Document(label, body))
    return docs


def load(args: Iterable[str], flag: str = "-f") -> list[Document]:
    """Every document of every argument of ``flag`` (``-f``, ``--object``), in order."""
    docs: list[Document] = []
    for arg in args:
        for origin, text in _files(arg, flag):
            docs += parse_text(origin, text)
    if not docs:
        raise BadInput("no objects found in the given files")
    return docs

"""Reading ``-f`` arguments: files, directories and stdin, as multi-document YAML.

Every document is returned with where it came from (``file.yaml#2``), so a
later error can name it. A YAML error stops everything before any cluster call
and names the file, the line and the column.

Each input (a file, each file of a directory, stdin) may hold at most
``MAX_INPUT_BYTES`` (4 MiB, documented in docs/cli.md): reading stops one
byte past the limit, so ``-f /dev/zero`` or an endless pipe ends at once with
an error naming the flag, instead of filling memory. Within that, a document
may nest at most ``MAX_DEPTH`` levels and expand (through YAML aliases) to at
most ``MAX_EXPANDED`` values.
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
#: the deepest nesting of YAML collections accepted (Kubernetes objects need a few dozen)
MAX_DEPTH = 100
#: the most values a document may hold once its aliases are expanded
MAX_EXPANDED = 1_000_000


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
        raw = [d for d in yaml.load_all(text, Loader=_bounded_loader(origin)) if d is not None]
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


def _bounded_loader(origin: str) -> Any:
    """A SafeLoader that refuses deep nesting and alias bombs before building anything.

    PyYAML keeps an alias as a shared reference, so "billion laughs" costs little
    to load but explodes when the spec is walked, hashed or serialized; and deep
    nesting ends in a RecursionError. Both become a clear error naming the input.
    """
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise BadInput(f"{origin}: nested more than {MAX_DEPTH} levels deep")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_document(self, node: Any) -> Any:
            _check_expansion(node, origin)
            return super().construct_document(node)

    return BoundedLoader


def _check_expansion(root: Any, origin: str) -> None:
    """Refuse a document whose aliases expand past ``MAX_EXPANDED`` values, or refer to itself."""
    sizes: dict[int, int] = {}
    open_nodes = {id(root)}
    stack: list[tuple[Any, list[Any], int]] = [(root, _children(root), 0)]
    while stack:
        node, children, next_child = stack[-1]
        if next_child == len(children):
            stack.pop()
            open_nodes.discard(id(node))
            size = sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if size > MAX_EXPANDED:
                raise BadInput(
                    f"{origin}: YAML aliases expand it to more than {MAX_EXPANDED:,} values"
                )
            continue
        stack[-1] = (node, children, next_child + 1)
        child = children[next_child]
        if id(child) in open_nodes:
            raise BadInput(f"{origin}: a YAML alias refers to a collection that contains it")
        if id(child) not in sizes:
            open_nodes.add(id(child))
            stack.append((child, _children(child), 0))


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load(args: Iterable[str], flag: str = "-f") -> list[Document]:
    """Every document of every argument of ``flag`` (``-f``, ``--object``), in order."""
    docs: list[Document] = []
    for arg in args:
        for origin, text in _files(arg, flag):
            docs += parse_text(origin, text)
    if not docs:
        raise BadInput("no objects found in the given files")
    return docs

"""Build the self-contained plugin: one executable zip (PEP 441) for CPython 3.11+.

A krew-installed plugin gets nothing but the files in its archive, so the
plugin ships as a zipapp holding ``kubectl_trigger``, ``runner`` (the plugin
imports its spec model, client and actions) and the pure-Python parts of the
plugin's dependencies at the versions in constraints.txt: typer, rich and
their dependencies, PyYAML without its C extension (it falls back to its
pure-Python parser), urllib3. Each dependency's dist-info (with its licence)
comes along.

The dependencies are taken from the project's venv, which ``make venv``
installs from the lock; a venv that disagrees with the lock is refused.

Reproducible bytes: sorted entries, a fixed timestamp and mode. zipimport
never writes byte-code and would compile typer and rich from source on every
run (about a second), so the zip carries unchecked-hash .pyc files (no
timestamp inside) for CPython 3.11, 3.12 and 3.13 in ``__pycache__``, compiled
by each of those interpreters (found on PATH or in ~/.pyenv), and its
``__main__`` installs a small zipimporter that loads them; a newer Python falls
back to the source. pygments' per-language lexers ship as source only.

    python hack/plugin_zipapp.py [--out dist/kubectl-trigger.pyz]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hack"))

from lock import find_python, normalize  # noqa: E402  (hack/lock.py)

LOCK = ROOT / "constraints.txt"
PACKAGES = ("kubectl_trigger", "runner")
PACKAGE_SUFFIXES = (".py", ".yaml")
SHEBANG = b"#!/usr/bin/env python3\n"
#: The Pythons the zipapp supports: a dependency needed on any of them is bundled.
PYTHONS = ("3.11", "3.12", "3.13")
#: Fixed entry time (zip's epoch is 1980).
DATE_TIME = (1980, 1, 1, 0, 0, 0)
#: Modules shipped as source only: pygments' hundreds of per-language lexers and per-style
#: modules (imported one at a time, only to colour a language; their byte-code for three
#: Pythons would be over half the zipapp). Their packages' __init__ and _mapping keep it.
SOURCE_ONLY = re.compile(r"pygments/(lexers|styles)/(?!__init__\.py$|_mapping\.py$)[^/]+\.py")
#: Files of an installed distribution that describe the install, not the package.
INSTALL_RECORDS = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}

MAIN = '''\
"""kubectl-trigger as one file: the plugin and its dependencies in this zip."""

import marshal
import os
import sys
import zipimport
from importlib.util import MAGIC_NUMBER

if sys.version_info < (3, 11):
    sys.exit("kubectl-trigger needs Python 3.11 or newer; this is " + sys.version.split()[0])

ARCHIVE = os.path.abspath(sys.path[0])
TAG = sys.implementation.cache_tag


class CompiledZipImporter(zipimport.zipimporter):
    """Loads this Python's byte-code from the zip's __pycache__ (zipimport only knows .pyc
    beside the source, one Python's worth), else compiles the source as zipimport does."""

    def _source(self, fullname):
        leaf = fullname.rpartition(".")[2]
        if self.is_package(fullname):
            return self.prefix + leaf + "/__init__.py"
        return self.prefix + leaf + ".py"

    def get_filename(self, fullname):
        # zipimport compiles the module just to name its file: name it without compiling.
        return self.archive + "/" + self._source(fullname)

    def get_code(self, fullname):
        folder, _, name = self._source(fullname).rpartition("/")
        entry = (folder + "/" if folder else "") + "__pycache__/" + name[:-3] + "." + TAG + ".pyc"
        try:
            data = self.get_data(entry)
        except OSError:
            return super().get_code(fullname)
        if data[:4] != MAGIC_NUMBER:
            return super().get_code(fullname)
        return marshal.loads(memoryview(data)[16:])


def _hook(path):
    if path == ARCHIVE or path.startswith(ARCHIVE + os.sep):
        return CompiledZipImporter(path)
    raise ImportError(path)


sys.path[0] = ARCHIVE
sys.path_hooks.insert(0, _hook)
sys.path_importer_cache.pop(ARCHIVE, None)

# `kubectl trigger run` starts `python -m runner`: let that child import from this zip too.
_rest = os.environ.get("PYTHONPATH")
os.environ["PYTHONPATH"] = ARCHIVE + (os.pathsep + _rest if _rest else "")

from kubectl_trigger.cli import main  # noqa: E402

main()
'''

COMPILER = """\
import py_compile, sys
from importlib.util import cache_from_source
src, out = sys.argv[1], sys.argv[2]
for name in sys.stdin.read().split("\\0"):
    py_compile.compile(
        src + "/" + name,
        cfile=out + "/" + cache_from_source(name),
        dfile=name,
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
"""


class ZipappError(Exception):
    """The zipapp cannot be built as locked: the venv drifted, or an interpreter is missing."""


def locked_versions(lock: Path = LOCK) -> dict[str, str]:
    """{name: version} from constraints.txt (lines with a marker are not used here)."""
    pins = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and ";" not in line:
            name, _, ver = line.partition("==")
            pins[normalize(name)] = ver.strip()
    return pins


def project_requirements() -> list[Requirement]:
    """The plugin's runtime dependencies (pyproject's [project].dependencies)."""
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [Requirement(r) for r in data["project"]["dependencies"]]


def _needed(req: Requirement) -> bool:
    """Whether ``req`` applies on Linux or macOS for any supported Python (no extras)."""
    if req.marker is None:
        return True
    marker: Marker = req.marker
    return any(
        marker.evaluate(
            {
                "python_version": py,
                "python_full_version": f"{py}.0",
                "sys_platform": platform,
                "platform_system": system,
                "os_name": "posix",
                "platform_python_implementation": "CPython",
                "implementation_name": "cpython",
                "extra": "",
            }
        )
        for py in PYTHONS
        for platform, system in (("linux", "Linux"), ("darwin", "Darwin"))
    )


def dependency_closure() -> list[importlib.metadata.Distribution]:
    """The installed distributions the plugin needs at run time, checked against the lock."""
    pins = locked_versions()
    todo = list(project_requirements())
    seen: dict[str, importlib.metadata.Distribution] = {}
    while todo:
        req = todo.pop()
        name = normalize(req.name)
        if name in seen or not _needed(req):
            continue
        if name not in pins:
            raise ZipappError(f"{name} is not in constraints.txt: run `make lock`")
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise ZipappError(f"{name} is not installed: run `make venv`") from None
        if dist.version != pins[name]:
            raise ZipappError(
                f"{name} {dist.version} is installed but the lock says {pins[name]}: "
                "run `make venv`"
            )
        seen[name] = dist
        todo.extend(Requirement(r) for r in dist.requires or [])
    return [seen[n] for n in sorted(seen)]


def _dist_files(dist: importlib.metadata.Distribution) -> Iterator[tuple[str, Path]]:
    """(name in the zip, file on disk) for a distribution's importable files and metadata."""
    for rel in dist.files or []:
        parts = rel.parts
        if parts[0] == ".." or "__pycache__" in parts or rel.suffix in {".so", ".pyd", ".pyc"}:
            continue
        if parts[0].endswith(".dist-info") and rel.name in INSTALL_RECORDS:
            continue
        yield rel.as_posix(), Path(str(dist.locate_file(rel)))


def _project_files() -> Iterator[tuple[str, Path]]:
    """The plugin's and runner's .py/.yaml files as the working tree has them (tracked or
    new, not ignored): the code the tests import from the checkout is the code shipped."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *PACKAGES],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split("\0")
    for rel in listed:
        path = ROOT / rel
        if rel and path.suffix in PACKAGE_SUFFIXES and path.is_file():
            yield rel, path


def contents() -> dict[str, bytes]:
    """Every entry of the zipapp but the byte-code: {name: bytes}."""
    entries = {"__main__.py": MAIN.encode()}
    for name, path in _project_files():
        entries[name] = path.read_bytes()
    for dist in dependency_closure():
        for name, path in _dist_files(dist):
            if name in entries:
                raise ZipappError(f"{name} is in two distributions")
            entries[name] = path.read_bytes()
    return entries


def interpreters() -> dict[str, str]:
    """{version: interpreter} for every supported Python; a missing one is an error."""
    found = {v: find_python(v) for v in PYTHONS}
    missing = [v for v, python in found.items() if python is None]
    if missing:
        raise ZipappError(
            f"no CPython {', '.join(missing)} on PATH or in ~/.pyenv: the zipapp carries "
            "byte-code for each supported Python (pyenv install " + " ".join(missing) + ")"
        )
    return {v: str(p) for v, p in found.items()}


def byte_code(sources: dict[str, bytes], pythons: dict[str, str]) -> dict[str, bytes]:
    """{zip name: bytes} of unchecked-hash .pyc files (no timestamp inside: reproducible)
    for every source and every Python, in __pycache__ as each Python names them."""
    names = sorted(sources)
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="kt-zipapp-") as tmp:
        src, dst = Path(tmp) / "src", Path(tmp) / "pyc"
        for name in names:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes(sources[name])
        for python in pythons.values():
            subprocess.run(
                [python, "-I", "-c", COMPILER, str(src), str(dst)],
                input="\0".join(names),
                text=True,
                check=True,
            )
        for path in sorted(dst.rglob("*.pyc")):
            out[path.relative_to(dst).as_posix()] = path.read_bytes()
    return out


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3  # unix, whatever machine builds
    return info


def build(out: Path, entries: dict[str, bytes] | None = None) -> Path:
    """Write the zipapp of ``entries`` (default: contents()) to ``out`` (mode 0755)."""
    entries = dict(contents() if entries is None else entries)
    sources = {
        name: data
        for name, data in entries.items()
        if name.endswith(".py") and name != "__main__.py" and not SOURCE_ONLY.fullmatch(name)
    }
    entries.update(byte_code(sources, interpreters()))
    buffer = io.BytesIO()
    buffer.write(SHEBANG)
    with zipfile.ZipFile(buffer, "w", compresslevel=9) as zf:
        for name in sorted(entries):
            zf.writestr(_entry(name), entries[name])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
    out.chmod(0o755)
    return out


def main(argv: list[str] | None = None) -> int:
    """Build, print the path, size and the Python its byte-code is for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "kubectl-trigger.pyz")
    args = parser.parse_args(argv)
    try:
        out = build(args.out)
    except ZipappError as err:
        print(f"zipapp: {err}", file=sys.stderr)
        return 1
    print(f"{out} {out.stat().st_size / 1e6:.1f} MB (byte-code for Python {', '.join(PYTHONS)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

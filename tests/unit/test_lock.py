"""constraints.txt (the lock) agrees with pyproject.toml and with the venv built from it.

pyproject keeps ranges, the lock exact versions (hack/lock.py, ``make lock``).
These fail when someone edits one without the other: a dependency added to
pyproject but not locked, a pin outside its range, a transitive dependency
missing from the lock, or a venv that drifted from it (``make venv``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([a-z0-9-]+)==([^\s;]+)(?: ; (.+))?$")
FIX = "regenerate the lock with `make lock` (and the venv with `make venv`)"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock_lines() -> list[str]:
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _pins() -> dict[str, list[tuple[str, str | None]]]:
    """{name: [(version, marker or None)]}."""
    pins: dict[str, list[tuple[str, str | None]]] = {}
    for line in _lock_lines():
        match = PIN.match(line)
        assert match, f"constraints.txt line {line!r} is not name==version [; marker]"
        name, version, marker = match.groups()
        pins.setdefault(name, []).append((version, marker))
    return pins


def _pyproject() -> dict[str, list[Requirement]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    groups = {"dependencies": data["project"]["dependencies"]}
    for extra, reqs in data["project"]["optional-dependencies"].items():
        groups[f"extra {extra}"] = reqs
    groups["build-system"] = data["build-system"]["requires"]
    return {group: [Requirement(r) for r in reqs] for group, reqs in groups.items()}


def test_lock_is_well_formed_and_records_its_cutoff() -> None:
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert re.search(r"^# uploaded-prior-to: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", text, re.M), (
        "the lock must record the upload cut-off it was resolved with"
    )
    names = [PIN.match(line).group(1) for line in _lock_lines()]  # type: ignore[union-attr]
    assert names == sorted(names), "constraints.txt is not sorted: " + FIX
    assert all(n == _normalize(n) for n in names)


def test_every_pyproject_requirement_is_pinned_inside_its_range() -> None:
    pins = _pins()
    problems = []
    for group, reqs in _pyproject().items():
        for req in reqs:
            name = _normalize(req.name)
            if name not in pins:
                problems.append(f"{req.name} ({group}) is not pinned")
                continue
            for version, _marker in pins[name]:
                if not req.specifier.contains(Version(version), prereleases=True):
                    problems.append(f"{req.name}=={version} is outside {req} ({group})")
    assert not problems, "; ".join(problems) + ": " + FIX


def test_typer_stays_below_the_release_that_needs_pydantic() -> None:
    """typer 0.29 requires pydantic, whose compiled core cannot load from the zipapp."""
    (version, _), *_ = _pins()["typer"]
    assert Version(version) < Version("0.29")
    assert "pydantic" not in _pins()


def test_venv_holds_exactly_the_locked_closure() -> None:
    """Every distribution the project and its dev extra pull in, transitively, is locked and
    installed at its pinned version."""
    pins = {name: versions[0][0] for name, versions in _pins().items() if len(versions) == 1}
    env = {**default_environment(), "extra": ""}
    todo = [*_pyproject()["dependencies"], *_pyproject()["extra dev"]]
    seen: set[str] = set()
    problems = []
    while todo:
        req = todo.pop()
        name = _normalize(req.name)
        if name in seen or (req.marker is not None and not req.marker.evaluate(env)):
            continue
        seen.add(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{name} is not installed")
            continue
        if name not in pins:
            problems.append(f"{name} (needed by the closure) is not in the lock")
        elif dist.version != pins[name]:
            problems.append(f"{name} {dist.version} installed, {pins[name]} locked")
        todo.extend(Requirement(r) for r in dist.requires or [])
    assert {"typer", "rich", "urllib3", "pyyaml", "pytest", "mypy"} <= seen
    assert not problems, "; ".join(sorted(problems)) + ": " + FIX


def test_lock_script_marks_only_versions_that_differ_by_python() -> None:
    spec = importlib.util.spec_from_file_location("hack_lock", ROOT / "hack" / "lock.py")
    assert spec and spec.loader
    lock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lock)
    text = lock.render(
        {
            "3.11": {"rich": "15.0.0", "tomli": "2.0.1"},
            "3.12": {"rich": "15.0.0"},
            "3.13": {"rich": "15.0.0", "tomli": "2.2.0"},
        },
        "2026-12-02T00:00:00Z",
    )
    pins = [line for line in text.splitlines() if not line.startswith("#")]
    assert pins == [
        "rich==15.0.0",
        'tomli==2.0.1 ; python_version == "3.11"',
        'tomli==2.2.0 ; python_version == "3.13"',
    ]
    assert "# uploaded-prior-to: 2026-12-02T00:00:00Z" in text.splitlines()
    assert lock.normalize("Typing_Extensions") == "typing-extensions"

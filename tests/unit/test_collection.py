"""The test tree is a package tree, so two tiers may hold test files of the same name.

pytest imports a test file in a directory without ``__init__.py`` under its
basename, so tests/unit/test_x.py and tests/e2e/test_x.py would clash ("import
file mismatch"); inside packages they are tests.unit.test_x and tests.e2e.test_x.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_directory_with_test_modules_is_a_package() -> None:
    dirs = {p.parent for p in TESTS.rglob("test_*.py")}
    assert {TESTS / "unit", TESTS / "e2e"} <= dirs
    for d in [TESTS, *dirs]:
        assert (d / "__init__.py").is_file(), f"{d} needs an __init__.py"


def test_test_modules_are_imported_under_their_package() -> None:
    assert __name__ == "tests.unit.test_collection"

"""Fixtures for the conformance suite: the reference program, built once per session.

The suite asks the reference implementations (see reference.py) and compares the
runner's parsers against their answers. The session's seed is printed when
collection ends; ``KT_CONFORMANCE_SEED=<seed>`` replays the same generated cases.
A reference program that cannot be built fails every test that needs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.reference import SEED, Reference, build

#: seconds a conformance test may take, its share of a cold Go build included
BUILD_TIMEOUT = 1800


def pytest_collection_finish(session: pytest.Session) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"conformance seed: {SEED} (KT_CONFORMANCE_SEED={SEED} replays the generated cases)"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # the first test to ask for the reference may build it (minutes on a cold machine),
    # and pytest-timeout counts fixture set-up: give these tests room for that
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.timeout(BUILD_TIMEOUT))


@pytest.fixture(scope="session")
def reference() -> Iterator[Reference]:
    """The reference program, running; built (or read from the cache) on first use."""
    ref = Reference(build())
    try:
        yield ref
    finally:
        ref.close()

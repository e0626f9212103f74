"""Fixtures for the conformance suite: the reference program, built once per session.

The suite asks the reference implementations (see reference.py) and compares the
runner's parsers against their answers. The session's seed is printed when
collection ends; ``KT_CONFORMANCE_SEED=<seed>`` replays the same generated cases.
A reference program that cannot be built fails every test that needs it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.reference import SEED, Reference, build


def pytest_collection_finish(session: pytest.Session) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"conformance seed: {SEED} (KT_CONFORMANCE_SEED={SEED} replays the generated cases)"
        )


@pytest.fixture(scope="session")
def reference() -> Iterator[Reference]:
    """The reference program, running; built (or read from the cache) on first use."""
    ref = Reference(build())
    try:
        yield ref
    finally:
        ref.close()

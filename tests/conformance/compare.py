"""Shared pieces of the conformance tests: tallies of agreement, and the failure report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from runner.spec.differences import BY_ID
from tests.conformance.reference import SEED


@dataclass
class Tally:
    """What one comparison run found: cases, skips by difference id, and mismatches."""

    name: str
    cases: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)

    def skip(self, difference: str) -> None:
        """A case the runner answers differently on purpose (must be in the table)."""
        assert difference in BY_ID, f"{difference} is not in runner/spec/differences.py"
        self.skipped[difference] += 1

    def differ(self, case: Any, ours: Any, theirs: Any) -> None:
        """The runner and the reference disagree on ``case``."""
        self.mismatches.append(f"{case!r}: runner {ours!r}, reference {theirs!r}")

    def check(self, minimum_cases: int) -> None:
        """Fail with the seed and the first mismatches; too few cases is a failure too."""
        assert self.cases >= minimum_cases, f"{self.name}: only {self.cases} cases"
        shown = "\n".join(self.mismatches[:20])
        assert not self.mismatches, (
            f"{self.name}: {len(self.mismatches)} of {self.cases} cases disagree with the "
            f"reference (KT_CONFORMANCE_SEED={SEED} replays them):\n{shown}"
        )

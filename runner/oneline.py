"""Text cut to one line for a table cell, the same on both sides.

The runner writes ``status.lastError.summary`` with it; the plugin's
``get -o wide`` shortens the LAST ERROR cell with it. No imports: the plugin's
``get`` and the runner's start-up pay nothing for it.
"""

from __future__ import annotations


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "\u2026"

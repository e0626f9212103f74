"""One shared writer for bench/results.json, so every benchmark records its figures the same way."""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import platform
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


def merge_results(key: str, figures: dict[str, Any]) -> None:
    """Replace this benchmark's entry, keeping the other benchmarks' figures.

    Benchmarks may finish at the same moment: the read-merge-write holds a lock on
    the folder, and the new file replaces the old in one rename, so no benchmark's
    figures are lost and a reader never sees half a file.
    """
    folder = os.open(RESULTS.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        data: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        data[key] = {
            "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count() or 0} cores, "
            f"Python {platform.python_version()}",
            **figures,
        }
        partial = RESULTS.with_name(f".{RESULTS.name}.{os.getpid()}")
        partial.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(partial, RESULTS)
    finally:
        os.close(folder)  # releases the lock

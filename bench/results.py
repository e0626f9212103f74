"""One shared writer for bench/results.json, so every benchmark records its figures the same way."""

from __future__ import annotations

import datetime
import json
import platform
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


def merge_results(key: str, figures: dict[str, Any]) -> None:
    """Replace this benchmark's entry, keeping the other benchmarks' figures."""
    data: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[key] = {
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {_cpu_count()} cores, "
        f"Python {platform.python_version()}",
        **figures,
    }
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 0

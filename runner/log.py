"""Logging for the runner: JSON lines in a pod (one object per line), readable lines on a TTY.

``LOG_FORMAT=json`` or ``text`` chooses; the default is JSON unless stderr is
a terminal. ``LOG_LEVEL`` sets the level (default INFO). Fields passed with
``extra=`` (key, rv, stream, ...) become JSON fields, so ``kubectl trigger
logs`` and log pipelines can filter on them.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import sys
from typing import Any

#: LogRecord attributes that are not extra fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``HH:MM:SS level message key=value ...`` for people."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extras = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _STANDARD and not k.startswith("_")
        )
        line = f"{stamp} {record.levelname.lower():7} {record.getMessage()}"
        if extras:
            line += f"  {extras}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(stream: Any = None, fmt: str | None = None, level: str | None = None) -> logging.Logger:
    """Configure the root logger once; returns the ``runner`` logger."""
    stream = stream or sys.stderr
    fmt = (fmt or os.environ.get("LOG_FORMAT") or "").lower()
    if fmt not in ("json", "text"):
        fmt = "text" if getattr(stream, "isatty", lambda: False)() else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("LOG_LEVEL") or "INFO").upper())
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return logging.getLogger("runner")

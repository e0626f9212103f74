"""Logging for the runner: JSON lines in a pod (one object per line), readable lines on a TTY.

``LOG_FORMAT=json`` or ``text`` chooses; the default is JSON unless stderr is
a terminal. ``LOG_LEVEL`` sets the level (default INFO). Fields passed with
``extra=`` (key, rv, stream, ...) become JSON fields, so ``kubectl trigger
logs`` and log pipelines can filter on them.

Both formatters are the one door log text leaves through, so both scrub
registered secrets (``runner.redact``) from the message, every extra field and
tracebacks, at every level. JSON lines are safe from forged lines by encoding
(``json.dumps`` escapes every control character). The text format escapes
them (``\\n``, ``\\x1b``, ...), so a value holding a newline or an ANSI sequence
cannot end its record and fake another; a traceback follows on indented lines,
so in text logs a line that does not start with a time belongs to the record above.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import sys
import threading
from typing import Any

from runner import redact

#: LogRecord attributes that are not extra fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


#: C0 and C1 control characters, DEL, and the Unicode line and paragraph separators
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """``text`` on one line: control characters as ``\\n``, ``\\t``, ``\\xNN``, ``\\uNNNN``."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _scrubbed_str(value: Any) -> str:
    return redact.scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact.scrub(record.getMessage()),
        }
        for key, value in _extras(record).items():
            data[key] = redact.scrub_data(value)
        if record.exc_info:
            data["exception"] = redact.scrub(self.formatException(record.exc_info))
        return json.dumps(data, default=_scrubbed_str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``HH:MM:SS level message key=value ...`` for people, one line per record.

    A traceback follows on indented lines.
    """

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extras = " ".join(f"{k}={_clean(v)}" for k, v in _extras(record).items())
        line = f"{stamp} {record.levelname.lower():7} {_clean(record.getMessage())}"
        if extras:
            line += f"  {extras}"
        if record.exc_info:
            trace = redact.scrub(self.formatException(record.exc_info))
            line += "".join("\n    " + escape_controls(t) for t in trace.splitlines())
        return line


def _clean(value: Any) -> str:
    return escape_controls(redact.scrub(str(value)))


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
    _route_uncaught_exceptions()
    return logging.getLogger("runner")


def _route_uncaught_exceptions() -> None:
    """Tracebacks Python would print raw to stderr go through the formatter (and its scrubbing)."""
    log = logging.getLogger("runner")

    def report(exc_type: Any, value: Any, tb: Any) -> None:
        log.critical("uncaught exception", exc_info=(exc_type, value, tb))

    def report_thread(args: Any) -> None:
        if args.exc_type is not SystemExit:
            log.critical(
                "uncaught exception in thread %s",
                getattr(args.thread, "name", "?"),
                exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
            )

    sys.excepthook = report
    threading.excepthook = report_thread

"""Printing: objects as YAML/JSON/names, kubectl-style tables, and diagnostics on stderr.

Results go to stdout; progress, warnings and errors go to a separate stderr
console, so ``kubectl trigger render -f t.yaml > out.yaml`` stays clean. Tables
are plain aligned text like kubectl's (no rich import on the fast path of
``get``); rich is loaded only for diagnostics.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

OUTPUT_FORMATS = ("yaml", "json", "name", "wide")


@cache
def err_console() -> Console:
    """The stderr console for diagnostics (created on first use)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def info(message: str) -> None:
    """A progress line on stderr."""
    err_console().print(message, markup=False)


def warn(message: str) -> None:
    """A warning on stderr."""
    err_console().print(f"[yellow]Warning:[/yellow] {_escape(message)}")


def error(message: str, details: Sequence[str] = ()) -> None:
    """An error and its details on stderr."""
    console = err_console()
    console.print(f"[bold red]error:[/bold red] {_escape(message)}")
    for line in details:
        console.print(f"  - {_escape(line)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def to_yaml(objs: Iterable[Mapping[str, Any]]) -> str:
    """Objects as a multi-document YAML stream."""
    import yaml

    docs = [yaml.safe_dump(_plain(o), sort_keys=False, width=100) for o in objs]
    return "---\n" + "---\n".join(docs) if docs else ""


def to_json(objs: Sequence[Mapping[str, Any]]) -> str:
    """One object as JSON; several as a v1 List, as kubectl prints them."""
    if len(objs) == 1:
        return json.dumps(objs[0], indent=2) + "\n"
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}, indent=2) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def resource_name(obj: Mapping[str, Any]) -> str:
    """``kind.group/name`` as ``kubectl -o name`` prints it."""
    kind = str(obj.get("kind", "")).lower()
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    name = (obj.get("metadata") or {}).get("name", "")
    return f"{kind}.{group}/{name}" if group else f"{kind}/{name}"


def print_objects(objs: Sequence[Mapping[str, Any]], fmt: str) -> None:
    """Print objects as yaml, json or name."""
    if fmt == "json":
        sys.stdout.write(to_json(objs))
    elif fmt == "name":
        sys.stdout.write("".join(resource_name(o) + "\n" for o in objs))
    else:
        sys.stdout.write(to_yaml(objs))


#: control characters a terminal acts on (all but tab and newline), shown instead as text
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)] if c not in (9, 10)}
_CONTROL |= {0x1B: "^[", 0x0D: "\\r"}


def terminal_safe(text: str) -> str:
    """``text`` with terminal control characters made visible (ESC as ``^[``, CR as ``\\r``).

    Status messages, Events and spec values are written by others (a namespace's
    editors can create Events): printed raw, an escape sequence could clear the screen or
    rewrite rows of the reader's terminal. kubectl escapes them in get and describe too.
    """
    return text.translate(_CONTROL)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], no_headers: bool = False) -> str:
    """Columns padded like kubectl's: three spaces apart, left-aligned, upper-case headers."""
    body = [[terminal_safe(str(c)) for c in row] for row in rows]
    lines = body if no_headers else [[h.upper() for h in headers], *body]
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    out = []
    for line in lines:
        cells = [c.ljust(w) for c, w in zip(line, widths, strict=True)]
        out.append("   ".join(cells).rstrip())
    return "\n".join(out) + "\n"


def age(timestamp: str | None, now: datetime.datetime | None = None) -> str:
    """A timestamp as kubectl's short age (``5s``, ``3m12s``, ``4h``, ``2d3h``, ``90d``)."""
    if not timestamp:
        return "<none>"
    try:
        then = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    now = now or datetime.datetime.now(datetime.UTC)
    seconds = max(0, int((now - then).total_seconds()))
    return human_duration(seconds)


def human_duration(seconds: int) -> str:
    """Seconds as kubectl prints durations."""
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if days < 2:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d"

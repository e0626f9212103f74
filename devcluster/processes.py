"""Supervise the control plane's long-running processes through pid files.

``up`` returns while the components keep running, so every later command
(``status``, ``down``, a second ``up``) finds them again through a pid file that
records the pid and the process's start time: a pid reused by an unrelated
process is never mistaken for ours. Each process leads its own process group,
so stopping it reaches everything it spawned. Zombies count as gone, because
the machine's init may not reap orphans promptly.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class StartError(RuntimeError):
    """A component did not start or did not become ready; the message says why."""


@dataclass(frozen=True)
class PidRecord:
    pid: int
    start_time: str


#: Children started by this Python process, kept so they can be reaped after a stop.
_children: dict[int, subprocess.Popen[bytes]] = {}


def _proc_stat(pid: int) -> tuple[str, int, str] | None:
    """(state, process group, start time) from /proc, or None if there is no such pid."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # fields after "pid (comm) "
    return fields[0], int(fields[2]), fields[19]


def start_time(pid: int) -> str | None:
    stat = _proc_stat(pid)
    return stat[2] if stat else None


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat and stat[1] == pgid and stat[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.pid"


def read_record(path: Path) -> PidRecord | None:
    try:
        pid, started = path.read_text().split()
        return PidRecord(int(pid), started)
    except (FileNotFoundError, ValueError):
        return None


def write_record(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{pid} {start_time(pid) or '0'}\n")


def record_alive(record: PidRecord | None) -> bool:
    """Whether the recorded process still runs (same pid *and* same start time)."""
    if record is None:
        return False
    stat = _proc_stat(record.pid)
    return stat is not None and stat[0] not in ("Z", "X") and stat[2] == record.start_time


def running_pid(run_dir: Path, name: str) -> int | None:
    record = read_record(pid_file(run_dir, name))
    return record.pid if record and record_alive(record) else None


def start(
    name: str,
    argv: Sequence[str],
    run_dir: Path,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``argv`` in a new session with output appended to ``<log_dir>/<name>.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}.log", "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {name}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    _children[proc.pid] = proc
    write_record(pid_file(run_dir, name), proc.pid)
    return proc.pid


def _reap(pid: int) -> None:
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0.1)


def stop_group(record: PidRecord, grace: float) -> None:
    """SIGTERM the record's process group, then SIGKILL whatever is left after ``grace``."""
    leader = _proc_stat(record.pid)
    if leader is not None and leader[2] != record.start_time:
        return  # the pid now belongs to someone else: the group we started is gone
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(record.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(record.pid)
            if not group_members(record.pid):
                _reap(record.pid)
                return
            time.sleep(0.05)
    _reap(record.pid)


def stop(run_dir: Path, name: str, grace: float = 10.0) -> bool:
    """Stop a component by its pid file; True if something was running."""
    path = pid_file(run_dir, name)
    record = read_record(path)
    was_running = record_alive(record)
    if record is not None:
        stop_group(record, grace)
    path.unlink(missing_ok=True)
    return was_running


def log_tail(log_dir: Path, name: str, lines: int = 25) -> str:
    try:
        text = (log_dir / f"{name}.log").read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_ready(
    name: str,
    probe: Callable[[], bool],
    run_dir: Path,
    log_dir: Path,
    timeout: float,
) -> None:
    """Poll ``probe`` until it holds; fail early, with the log tail, if the process exits."""
    deadline = time.monotonic() + timeout
    while True:
        if running_pid(run_dir, name) is None:
            raise StartError(
                f"{name} exited during start-up; last lines of {log_dir / (name + '.log')}:\n"
                + log_tail(log_dir, name)
            )
        try:
            if probe():
                return
        except Exception:  # a probe that errors simply means "not yet"
            pass
        if time.monotonic() > deadline:
            raise StartError(
                f"{name} not ready after {timeout:.0f}s; last lines of its log:\n"
                + log_tail(log_dir, name)
            )
        time.sleep(0.1)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on ``host:port`` (TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False

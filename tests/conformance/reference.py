"""The reference implementations, as one long-lived Go subprocess the tests ask questions.

The Go program under ``refimpl/`` wraps the code Kubernetes itself runs (robfig/cron
as CronJob uses it, apimachinery's labels, fields and resource packages, client-go's
JSONPath, ``time.ParseDuration``). It is built once with the local Go toolchain and
cached outside the repo, keyed by a hash of its sources, like the control-plane
binaries (``devcluster.versions.cache_root``). A build that fails raises
``ReferenceBuildError``: the conformance suite fails loudly, it is never skipped.

Protocol: one JSON object per line in (``{"op": ..., ...}``), one JSON line out per
line in, in order.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devcluster.versions import cache_root

REFIMPL = Path(__file__).resolve().parent / "refimpl"
GO_FALLBACK = Path("/usr/local/go/bin/go")

#: The session's random seed: every generated case derives from it, so a failure
#: reproduces with KT_CONFORMANCE_SEED=<seed>.
SEED = int(os.environ.get("KT_CONFORMANCE_SEED") or random.SystemRandom().randrange(2**32))


class ReferenceBuildError(RuntimeError):
    """The Go reference program could not be built; the message has go's output."""


def rng(name: str) -> random.Random:
    """A generator of its own per test, so adding or reordering tests changes no case."""
    return random.Random(f"{SEED}:{name}")


def _sources() -> list[Path]:
    return sorted(
        p for p in REFIMPL.iterdir() if p.suffix == ".go" or p.name in ("go.mod", "go.sum")
    )


def source_hash() -> str:
    """A hash of every file the binary is built from (names and contents)."""
    digest = hashlib.sha256()
    for path in _sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _go() -> str:
    found = shutil.which("go")
    if found:
        return found
    if GO_FALLBACK.exists():
        return str(GO_FALLBACK)
    raise ReferenceBuildError(
        "no Go toolchain: put `go` on PATH (or install it at /usr/local/go); the "
        "conformance suite builds its reference program with it"
    )


def binary_path() -> Path:
    """Where the binary for the current sources lives (built or not)."""
    return cache_root() / f"refimpl-{source_hash()}" / "refimpl"


def build() -> Path:
    """The reference binary, built now unless the cache already holds this version."""
    target = binary_path()
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kt-refimpl-") as tmp:
        # Build from a copy so `go` can settle go.sum without touching the checkout.
        for path in _sources():
            shutil.copy2(path, Path(tmp) / path.name)
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
        partial = target.parent / f"refimpl.{os.getpid()}.partial"
        proc = subprocess.run(
            [_go(), "build", "-trimpath", "-o", str(partial), "."],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
            raise ReferenceBuildError(f"go build of {REFIMPL} failed:\n{tail}")
        partial.replace(target)  # atomic: a concurrent session sees all or nothing
    return target


class Reference:
    """A running reference program; ``ask`` and ``ask_many`` send cases to it."""

    def __init__(self, binary: Path) -> None:
        self._proc = subprocess.Popen(
            [str(binary)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._lock = threading.Lock()

    def ask(self, op: str, **fields: Any) -> dict[str, Any]:
        """One question, one answer."""
        return self.ask_many([{"op": op, **fields}])[0]

    def ask_many(self, requests: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Many questions pipelined (a writer thread feeds them while answers are read)."""
        lines = [json.dumps(r, ensure_ascii=True) + "\n" for r in requests]
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None and stdout is not None
        with self._lock:
            failure: list[BaseException] = []

            def feed() -> None:
                try:
                    for line in lines:
                        stdin.write(line)
                    stdin.flush()
                except BaseException as exc:  # surfaced below, after the reads
                    failure.append(exc)

            writer = threading.Thread(target=feed, daemon=True)
            writer.start()
            answers = []
            for _ in lines:
                line = stdout.readline()
                if not line:
                    raise RuntimeError(
                        f"the reference program exited (code {self._proc.poll()}) mid-session"
                    )
                answers.append(json.loads(line))
            writer.join()
            if failure:
                raise failure[0]
        return answers

    def close(self) -> None:
        """Stop the program (closing stdin ends its loop)."""
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

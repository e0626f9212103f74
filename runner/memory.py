"""Keep the runner's resident memory near what it really uses (glibc only; a no-op elsewhere).

Listing 10,000 objects decodes pages of 500 full objects, and each checkpoint
builds a key list; that memory is freed at once, but glibc keeps freed heap
pages (one heap per thread that allocates) and would report them as resident
for the life of the pod. Two knobs fix that without touching the logic:

- ``limit_arenas()``: at start-up, before threads exist, cap malloc at two
  arenas, so the source, worker and status threads do not each keep a heap;
- ``trim()``: after a list or a large checkpoint, hand free pages back to the
  kernel (``malloc_trim``), which is cheap (well under a millisecond here).
"""

from __future__ import annotations

import gc
import sys
from typing import Any

_M_ARENA_MAX = -8
_libc: Any = None
_loaded = False


def _load() -> Any:
    global _libc, _loaded
    if not _loaded:
        _loaded = True
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                _libc = ctypes.CDLL("libc.so.6")
                _libc.malloc_trim  # noqa: B018 - fails on musl and others without it
            except (OSError, AttributeError):
                _libc = None
    return _libc


def limit_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas; call before starting threads. True if applied."""
    libc = _load()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, count))


def trim(collect: bool = False) -> bool:
    """Return free heap memory to the kernel (after an optional garbage collection)."""
    if collect:
        gc.collect()
    libc = _load()
    return bool(libc is not None and libc.malloc_trim(0))

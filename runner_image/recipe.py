"""What goes into the runner image: one table of inputs, each part of a cache key.

The Dockerfile in the repository root describes the same image for users with
Docker (same Debian release, packages, wheels, user, directory, environment and
entrypoint); tests/unit/test_runner_image.py keeps the two in step.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCK_FILE = REPO_ROOT / "constraints.txt"

#: Bumped when the build steps change in a way the other inputs do not show.
RECIPE_VERSION = "1"

SUITE = "bookworm"
ARCH = "amd64"
#: The release, its updates and its security fixes: what python:3.11-slim users get.
APT_SOURCES = (
    f"deb http://deb.debian.org/debian {SUITE} main",
    f"deb http://deb.debian.org/debian {SUITE}-updates main",
    f"deb http://deb.debian.org/debian-security {SUITE}-security main",
)
PACKAGES = ("python3", "python-is-python3", "ca-certificates")
#: Wheels unpacked into the image's site-packages; versions come from the lock.
WHEELS = ("urllib3", "tzdata")

PYTHON_LIB = "usr/lib/python3.11"
SITE_PACKAGES = "usr/lib/python3/dist-packages"

#: Removed from the base: documentation, translations, package-manager state and the
#: parts of the standard library a runner never imports (it needs neither a GUI nor a
#: test suite nor pip). gconv holds glibc's iconv modules; Python has its own codecs.
TRIMMED = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "usr/share/perl5",
    "usr/share/debconf",
    "var/cache/apt",
    "var/cache/debconf",
    "var/lib/apt",
    "var/log",
    "usr/lib/x86_64-linux-gnu/gconv",
    *(
        f"{PYTHON_LIB}/{name}"
        for name in (
            "test",
            "idlelib",
            "tkinter",
            "turtledemo",
            "ensurepip",
            "lib2to3",
            "pydoc_data",
            "distutils",
            "unittest/test",
            "ctypes/test",
            "sqlite3/test",
        )
    ),
)

#: The image's non-root user (Pod Security "restricted" asks for a numeric one).
USER_ID = 65532
WORKDIR = "/app"
ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}
ENTRYPOINT = ("python", "-m", "runner")
REPOSITORY = "ghcr.io/kubectl-trigger/runner"

#: Timestamps in the image (file times, "created"): fixed, so rebuilds are identical.
#: SOURCE_DATE_EPOCH overrides it, as reproducible-builds tools expect.
DEFAULT_EPOCH = 1767225600  # 2026-01-01T00:00:00Z


def epoch() -> int:
    raw = os.environ.get("SOURCE_DATE_EPOCH", "")
    return int(raw) if raw.isdigit() else DEFAULT_EPOCH


def version() -> str:
    """The runner's version (the image tag), read without importing the runner."""
    text = (REPO_ROOT / "runner" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if match is None:
        raise RuntimeError("runner/__init__.py has no __version__")
    return match.group(1)


def reference() -> str:
    return f"{REPOSITORY}:{version()}"


def wheel_pins(lock: Path = LOCK_FILE) -> dict[str, str]:
    """``name -> version`` for WHEELS, from the repository's lock (``make lock`` writes it)."""
    if not lock.exists():
        raise RuntimeError(f"{lock} is missing; `make lock` writes it (the image's wheels)")
    pins: dict[str, str] = {}
    text = lock.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    missing = [name for name in WHEELS if name not in pins]
    if missing:
        raise RuntimeError(f"{lock} pins no version for {', '.join(missing)} (the image needs it)")
    return {name: pins[name] for name in WHEELS}


def base_key() -> str:
    """The base layer's cache key: every input that changes its content."""
    inputs = {
        "recipe": RECIPE_VERSION,
        "suite": SUITE,
        "arch": ARCH,
        "sources": APT_SOURCES,
        "packages": PACKAGES,
        "wheels": wheel_pins(),
        "trimmed": TRIMMED,
        "user": USER_ID,
        "epoch": epoch(),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]

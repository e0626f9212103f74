"""Run a command from the runner image's rootfs with bubblewrap, as a container would.

The root is the base layer's tree, read-only, with the runner layer's ``/app``
on top; the process runs as the image's user 65532 with no capabilities, in its
own user, IPC, UTS and mount namespaces, with a private ``/tmp`` and only the
environment it is given. The network (and the pid space) stay the host's: the
local API server listens on 127.0.0.1, and the caller signals and measures the
process by its host pid.

bwrap itself stays as the parent of the sandboxed process and exits with its
exit status; ``--new-session`` makes the sandboxed process the leader of its
own process group, so a process-group signal reaches it, and not bwrap.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner_image import recipe

#: Where Kubernetes mounts a pod's ServiceAccount token, CA and namespace.
SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
#: The image user's home (its /etc/passwd entry); HOME is set to it as a runtime does.
HOME = "/nonexistent"


class SandboxError(RuntimeError):
    """bwrap is missing or the sandbox could not be set up."""


@dataclass(frozen=True)
class Rootfs:
    """The unpacked image: the base layer's tree and the runner layer's ``/app``."""

    base: Path
    app: Path
    reference: str
    digest: str

    @property
    def image_id(self) -> str:
        """``repository@sha256:...``, as a kubelet reports a container's imageID."""
        return f"{recipe.REPOSITORY}@{self.digest}"


def bwrap_binary() -> str:
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxError(
            "bwrap (bubblewrap) is not installed; it runs the runner image's rootfs: "
            "apt-get install bubblewrap (see .ci/run)"
        )
    return found


def argv(
    rootfs: Rootfs,
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    binds: Iterable[tuple[Path, str]] = (),
    hostname: str | None = None,
    info_fd: int | None = None,
    die_with_parent: bool = False,
) -> list[str]:
    """The bwrap command line that runs ``command`` inside the image.

    ``binds`` are (host path, path in the sandbox) pairs mounted read-only; their
    targets must exist in the image or lie under /tmp.
    """
    args = [
        bwrap_binary(),
        "--ro-bind", str(rootfs.base), "/",
        "--ro-bind", str(rootfs.app), recipe.WORKDIR,
        "--proc", "/proc",
        "--dev", "/dev",
        "--perms", "1777", "--tmpfs", "/tmp",
        "--unshare-user", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--share-net",
        "--uid", str(recipe.USER_ID), "--gid", str(recipe.USER_ID),
        "--cap-drop", "ALL",
        "--new-session",
        "--chdir", recipe.WORKDIR,
        "--clearenv",
    ]  # fmt: skip
    if hostname:
        args += ["--hostname", hostname]
    if die_with_parent:
        args.append("--die-with-parent")
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    for host_path, target in binds:
        args += ["--ro-bind", str(host_path), target]
    full_env = {**recipe.ENV, "HOME": HOME, **env}
    for key in sorted(full_env):
        args += ["--setenv", key, full_env[key]]
    return [*args, "--", *command]


def read_child_pid(fd: int, timeout: float = 30.0) -> int | None:
    """The sandboxed process's host pid from bwrap's ``--info-fd`` JSON (None if bwrap failed)."""
    data = b""
    deadline = time.monotonic() + timeout
    decoder = json.JSONDecoder()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        try:
            info, _ = decoder.raw_decode(data.decode())
        except ValueError:
            continue
        pid = info.get("child-pid") if isinstance(info, dict) else None
        return int(pid) if pid is not None else None
    return None


class SandboxedProcess(subprocess.Popen[bytes]):
    """A bwrap process whose signals go to the command inside the sandbox.

    ``send_signal`` (and so ``terminate`` and ``kill``) target the sandboxed
    process, because bwrap does not forward signals; ``wait`` and ``returncode``
    are bwrap's, which mirror the sandboxed process's exit status.
    """

    child_pid: int | None

    def __init__(
        self,
        rootfs: Rootfs,
        command: Sequence[str],
        env: Mapping[str, str],
        *,
        binds: Iterable[tuple[Path, str]] = (),
        hostname: str | None = None,
        die_with_parent: bool = False,
        **popen: Any,
    ) -> None:
        read_end, write_end = os.pipe()
        try:
            cmd = argv(
                rootfs,
                command,
                env,
                binds=binds,
                hostname=hostname,
                info_fd=write_end,
                die_with_parent=die_with_parent,
            )
            super().__init__(cmd, pass_fds=(write_end,), **popen)
        finally:
            os.close(write_end)
        try:
            self.child_pid = read_child_pid(read_end)
        finally:
            os.close(read_end)

    def send_signal(self, sig: int) -> None:
        self.poll()
        if self.returncode is not None:
            return
        target = self.child_pid if self.child_pid is not None else self.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, sig)

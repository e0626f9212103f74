"""The pod emulator: runs allowlisted pods on the simulated node as local processes.

kwok makes pods *look* Running; this makes the runner's pods *actually* run, so
tests and the demo exercise the real runner image against the real API server
with its real in-cluster identity. Test and demo infrastructure, not product.

It list-watches the pods bound to the simulated node. For each pod with a
container image on the allowlist (devcluster.images) it starts that container's
command in its own session: a runner container inside the runner image's rootfs
(runner_image.sandbox: read-only, user 65532, no capabilities, the token mounted
where Kubernetes mounts it), built from this checkout's runner/ and rebuilt when
runner/ changed (only its layer); a test image's command as a host process. It
writes its output in the CRI log format to the file kwok serves as the
container's log, restarts it per the pod's restartPolicy with backoff, and
stops it (SIGTERM, then SIGKILL after the grace period) when the pod is deleted.
Like a kubelet it deletes such a pod from the API only after its process has
stopped (kwok's stages leave these pods to it).
Run as ``python -m devcluster.podemu --state-dir DIR``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from devcluster import images, kwok, layout, podenv, processes
from devcluster.api import Api, ApiError
from devcluster.layout import Layout
from runner_image import build as image_build
from runner_image import sandbox

Pod = dict[str, Any]

#: Restart backoff, a scaled-down kubelet: 1 s doubling to 20 s, reset after 30 s of running.
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 20.0
BACKOFF_RESET_AFTER = 30.0
#: Tokens live an hour and are renewed at 80% of their life, as a kubelet does.
TOKEN_SECONDS = 3600
TOKEN_RENEW_FRACTION = 0.8
#: Grace given to processes when the emulator itself shuts down (`down` must be quick).
SHUTDOWN_GRACE = 5.0
DEFAULT_GRACE = 30.0


def log(msg: str) -> None:
    stamp = datetime.now().isoformat(timespec="milliseconds")
    print(f"{stamp} podemu: {msg}", file=sys.stderr, flush=True)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def emulated_containers(pod: Pod) -> list[dict[str, Any]]:
    return [c for c in pod["spec"].get("containers", []) if images.lookup(c.get("image", ""))]


def _key(pod: Pod) -> str:
    meta = pod["metadata"]
    return f"{meta['namespace']}_{meta['name']}_{meta['uid']}"


class ContainerLog:
    """Appends a process's output to its log file as CRI lines, one writer lock per file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, stream: str, text: str) -> None:
        with self._lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(kwok.cri_log_line(stream, text))

    def pump(self, stream: str, pipe: IO[bytes]) -> None:
        for raw in iter(pipe.readline, b""):
            self.write(stream, raw.decode(errors="replace").rstrip("\r\n"))
        pipe.close()


class EmulatedContainer:
    """One container: start, watch, restart with backoff, stop."""

    def __init__(self, owner: EmulatedPod, spec: dict[str, Any]) -> None:
        self.owner = owner
        self.spec = spec
        self.name: str = spec["name"]
        self.log_file = owner.dir / f"{self.name}.log"
        self.previous_file = owner.dir / f"{self.name}.previous.log"
        self.pid_file = owner.dir / f"{self.name}.pid"
        self.log = ContainerLog(self.log_file)
        self.restarts = 0
        self.exit_code: int | None = None
        self.finished = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pumps: list[threading.Thread] = []
        entry = images.lookup(spec.get("image", ""))
        self.from_rootfs = entry is not None and entry.from_rootfs
        self.image_id: str = spec["image"]

    def _start(self) -> subprocess.Popen[bytes]:
        pod = self.owner.pod
        declared = podenv.pod_env(self.owner.emu.api, pod, self.spec)
        sa_dir = self.owner.sa_dir
        env = podenv.full_env(
            declared, pod, self.owner.emu.api_port, sa_dir, in_image=self.from_rootfs
        )
        argv = podenv.argv(self.spec, env)
        pipes: dict[str, Any] = {
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.PIPE,
            "stderr": subprocess.PIPE,
            "start_new_session": True,
        }
        proc: subprocess.Popen[bytes]
        if self.from_rootfs:
            # cached by runner/'s content: a changed runner rebuilds its layer (about 1 s)
            rootfs = image_build.ensure_image().rootfs
            self.image_id = rootfs.image_id
            binds = [(sa_dir, sandbox.SERVICEACCOUNT_DIR)] if sa_dir is not None else []
            boxed = sandbox.SandboxedProcess(
                rootfs,
                argv,
                env,
                binds=binds,
                hostname=pod["metadata"]["name"],
                **pipes,  # no die-with-parent: like a kubelet's, containers outlive its crash
            )
            # the sandboxed process leads its own process group: stop() signals it, not bwrap
            leader = boxed.child_pid or boxed.pid
            proc = boxed
        else:
            proc = subprocess.Popen(argv, cwd=layout.REPO_ROOT, env=env, **pipes)
            leader = proc.pid
        processes.write_record(self.pid_file, leader)
        self._pumps = []
        for stream, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            assert pipe is not None
            pump = threading.Thread(target=self.log.pump, args=(stream, pipe), daemon=True)
            pump.start()
            self._pumps.append(pump)
        return proc

    def _drain(self) -> None:
        """Let the output pumps write the last lines before the log file is rotated."""
        for pump in self._pumps:
            pump.join(timeout=2.0)

    def run(self) -> None:
        """Supervise until the pod stops or the restart policy says the container is done."""
        policy = self.owner.pod["spec"].get("restartPolicy", "Always")
        backoff = BACKOFF_INITIAL
        stop = self.owner.stopping
        while not stop.is_set():
            if self.log_file.exists() and self.restarts:
                os.replace(self.log_file, self.previous_file)
            started = time.monotonic()
            try:
                self._proc = self._start()
            except (
                podenv.ContainerConfigError,
                image_build.ImageBuildError,
                sandbox.SandboxError,
                OSError,
                ApiError,
            ) as exc:
                self.log.write("stderr", f"devcluster pod emulator: cannot start: {exc}")
                log(f"{self.owner.ref}/{self.name}: cannot start: {exc}")
                stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            log(f"{self.owner.ref}/{self.name}: started pid {self._proc.pid}")
            if self.restarts:
                self.owner.report_state()
            while self._proc.poll() is None and not stop.wait(0.2):
                pass
            if stop.is_set():
                self.terminate(self.owner.grace)
                self._drain()
                break
            self._drain()
            self.exit_code = self._proc.returncode
            self.pid_file.unlink(missing_ok=True)
            log(f"{self.owner.ref}/{self.name}: exited with {self.exit_code}")
            if policy == "Never" or (policy == "OnFailure" and self.exit_code == 0):
                break
            self.restarts += 1
            self.owner.report_state(waiting=self.name)
            if time.monotonic() - started > BACKOFF_RESET_AFTER:
                backoff = BACKOFF_INITIAL
            stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
        self.finished.set()
        self.owner.container_finished()

    def terminate(self, grace: float) -> None:
        """SIGTERM the container's process group; SIGKILL what is left after ``grace``."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            record = processes.read_record(self.pid_file)
            if record is not None:
                processes.stop_group(record, grace)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
            self.exit_code = proc.returncode
        self.pid_file.unlink(missing_ok=True)

    def _terminated(self) -> dict[str, Any]:
        code = self.exit_code or 0
        reason = "Completed" if code == 0 else "Error"
        return {"terminated": {"exitCode": code, "reason": reason, "finishedAt": _now()}}

    def status(self, state: str) -> dict[str, Any]:
        """A containerStatuses entry; ``state`` is running, waiting (backoff) or terminated."""
        states = {
            "running": lambda: {"running": {"startedAt": _now()}},
            "waiting": lambda: {"waiting": {"reason": "CrashLoopBackOff"}},
            "terminated": self._terminated,
        }
        entry = {
            "name": self.name,
            "image": self.spec["image"],
            "imageID": self.image_id,
            "containerID": f"podemu://{self.owner.key}/{self.name}",
            "ready": state == "running",
            "started": state == "running",
            "restartCount": self.restarts,
            "state": states[state](),
        }
        if self.restarts:
            entry["lastState"] = self._terminated()
        return entry


class EmulatedPod:
    """One pod's processes, credentials and log wiring, from start to deletion."""

    def __init__(self, emu: PodEmulator, pod: Pod) -> None:
        self.emu = emu
        self.pod = pod
        self.key = _key(pod)
        self.ref = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        self.dir = emu.layout.pods_dir / self.key
        self.sa_dir = self.dir / "serviceaccount" if podenv.wants_token(pod) else None
        self.stopping = threading.Event()
        self.grace = DEFAULT_GRACE  # set by stop() before it sets ``stopping``
        self.done = threading.Event()
        self.containers = [EmulatedContainer(self, c) for c in emulated_containers(pod)]
        self._lock = threading.Lock()
        self._stop_started = False

    def start(self) -> None:
        threading.Thread(target=self._run, name=self.key, daemon=True).start()

    def _run(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self._wire_logs()
        except ApiError as exc:
            log(f"{self.ref}: cannot create its kwok Logs object: {exc}")
        expires = self._renew_token(0.0)
        if self.stopping.is_set():  # deleted while being set up: nothing to start
            for container in self.containers:
                container.finished.set()
            return
        for container in self.containers:
            threading.Thread(target=container.run, daemon=True).start()
        while not self.stopping.wait(5.0):
            expires = self._renew_token(expires)

    def _wire_logs(self) -> None:
        meta = self.pod["metadata"]
        files = {c.name: (c.log_file, c.previous_file) for c in self.containers}
        for current, _ in files.values():
            current.touch()
        path = f"/apis/{kwok.API_VERSION}/namespaces/{meta['namespace']}/logs"
        wanted = kwok.pod_logs(self.pod, files)
        try:
            self.emu.api.request("POST", path, wanted)
        except ApiError as exc:
            if exc.status != 409:
                raise
            # A pod of the same name existed before (a StatefulSet, say): take its Logs over.
            existing = self.emu.api.get(f"{path}/{meta['name']}")
            wanted["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            self.emu.api.request("PUT", f"{path}/{meta['name']}", wanted)

    def _renew_token(self, expires: float) -> float:
        """Write a fresh token when the current one is past 80% of its life."""
        if self.sa_dir is None or time.time() < expires:
            return expires
        try:
            token, _ = podenv.request_token(self.emu.api, self.pod, TOKEN_SECONDS)
        except podenv.ContainerConfigError as exc:
            log(f"{self.ref}: {exc}")
            return time.time() + 2.0  # retry soon; the container start will report it too
        podenv.write_credentials(
            self.sa_dir, token, self.emu.ca_pem, self.pod["metadata"]["namespace"]
        )
        return time.time() + TOKEN_SECONDS * TOKEN_RENEW_FRACTION

    def _patch_status(self, status: dict[str, Any]) -> None:
        meta = self.pod["metadata"]
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status"
        try:
            patch_type = "application/strategic-merge-patch+json"
            self.emu.api.request("PATCH", path, {"status": status}, content_type=patch_type)
        except ApiError as exc:
            if exc.status != 404:
                log(f"{self.ref}: status patch failed: {exc}")

    def _container_statuses(self, states: dict[str, str]) -> list[dict[str, Any]]:
        ours = {c.name: c for c in self.containers}
        reported = (self.pod.get("status") or {}).get("containerStatuses") or []
        kwok_view = {s["name"]: s for s in reported}
        out = []
        for spec in self.pod["spec"]["containers"]:
            name = spec["name"]
            if name in ours:
                out.append(ours[name].status(states.get(name, "running")))
            elif name in kwok_view:
                out.append(kwok_view[name])
        return out

    def report_state(self, waiting: str | None = None) -> None:
        """Show restarts and back-off in the pod's status, as `kubectl get pods` users expect."""
        states = {waiting: "waiting"} if waiting else {}
        # A kubelet marks a pod not ready while a container is in back-off, and ready
        # again once it runs: Deployments and `kubectl trigger get` read these conditions.
        ready = (
            {"status": "False", "reason": "ContainersNotReady"} if waiting else {"status": "True"}
        )
        conditions = [
            {"type": t, **ready, "lastTransitionTime": _now()} for t in ("Ready", "ContainersReady")
        ]
        self._patch_status(
            {"containerStatuses": self._container_statuses(states), "conditions": conditions}
        )

    def container_finished(self) -> None:
        """Once every container is done for good, the pod's phase becomes final."""
        if self.stopping.is_set() or not all(c.finished.is_set() for c in self.containers):
            return
        failed = any(c.exit_code for c in self.containers)
        false = [
            {"type": t, "status": "False", "reason": "PodCompleted", "lastTransitionTime": _now()}
            for t in ("Ready", "ContainersReady")
        ]
        self._patch_status(
            {
                "phase": "Failed" if failed else "Succeeded",
                "conditions": false,
                "containerStatuses": self._container_statuses(
                    {c.name: "terminated" for c in self.containers}
                ),
            }
        )

    def stop(self, grace: float, delete: bool) -> None:
        """Stop every process; with ``delete``, then remove the pod from the API."""
        with self._lock:
            if self._stop_started:
                return
            self._stop_started = True
        self.grace = grace
        self.stopping.set()  # each container's supervisor terminates its own process
        for container in self.containers:
            container.finished.wait(timeout=grace + 15.0)
        log(f"{self.ref}: stopped")
        if delete:
            self.emu.force_delete(self.pod)
        self.done.set()


class PodEmulator:
    """The list-watch loop over the simulated node's pods."""

    def __init__(self, lay: Layout) -> None:
        self.layout = lay
        self.api = Api.for_client(lay, "podemu")
        self.api_port = lay.ports["apiserver"]
        self.ca_pem = (lay.pki_dir / "ca.crt").read_text()
        self.pods: dict[str, EmulatedPod] = {}
        self.ready_file = lay.run_dir / "podemu.ready"

    def force_delete(self, pod: Pod) -> None:
        meta = pod["metadata"]
        body = {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}}
        try:
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
            self.api.request("DELETE", path, body)
        except ApiError as exc:
            if exc.status not in (404, 409):
                log(f"{meta['namespace']}/{meta['name']}: delete failed: {exc}")

    def _stop(self, emulated: EmulatedPod, grace: float, delete: bool) -> None:
        threading.Thread(target=emulated.stop, args=(grace, delete), daemon=True).start()

    def handle(self, kind: str, pod: Pod) -> None:
        """React to one pod event (ADDED, MODIFIED, DELETED, or LISTED from a relist)."""
        if not emulated_containers(pod):
            return
        key = _key(pod)
        known = self.pods.get(key)
        meta = pod["metadata"]
        if kind == "DELETED":
            if known is not None:
                self._stop(known, SHUTDOWN_GRACE, delete=False)
            return
        if known is not None:
            known.pod = pod
        if meta.get("deletionTimestamp"):
            grace = float(meta.get("deletionGracePeriodSeconds") or 0)
            if known is not None:
                self._stop(known, grace, delete=True)
            else:
                self.force_delete(pod)  # never started here; kwok leaves it to us
            return
        if known is None and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            emulated = EmulatedPod(self, pod)
            self.pods[key] = emulated
            log(f"{emulated.ref}: starting {[c.name for c in emulated.containers]}")
            emulated.start()

    def _forget_done(self) -> None:
        for key in [k for k, p in self.pods.items() if p.done.is_set()]:
            del self.pods[key]

    def _list(self) -> str:
        path = "/api/v1/pods"
        selector = f"spec.nodeName={layout.NODE_NAME}"
        result = self.api.get(path, fieldSelector=selector)
        seen = set()
        for pod in result.get("items", []):
            seen.add(_key(pod))
            self.handle("LISTED", pod)
        for key, emulated in list(self.pods.items()):
            if key not in seen:
                self._stop(emulated, SHUTDOWN_GRACE, delete=False)
        return str(result["metadata"]["resourceVersion"])

    def run(self) -> None:
        """List, then watch from the list's resourceVersion; relist on 410 or error."""
        selector = f"spec.nodeName={layout.NODE_NAME}"
        while True:
            try:
                version = self._list()
                self.ready_file.write_text(f"{os.getpid()}\n")
                while True:
                    for event in self.api.watch(
                        "/api/v1/pods",
                        fieldSelector=selector,
                        resourceVersion=version,
                        allowWatchBookmarks="true",
                        timeoutSeconds=300,
                    ):
                        obj = event["object"]
                        if event["type"] == "ERROR":
                            code = int(obj.get("code", 500))
                            raise ApiError(code, "WATCH", "/api/v1/pods", str(obj))
                        version = obj["metadata"]["resourceVersion"]
                        if event["type"] != "BOOKMARK":
                            self.handle(event["type"], obj)
                        self._forget_done()
            except (ApiError, OSError, ValueError, KeyError) as exc:
                log(f"watch restarts after: {exc}")
                time.sleep(1.0)

    def shutdown(self) -> None:
        """Stop every process quickly; pods stay in the API (the cluster is going down)."""
        self.ready_file.unlink(missing_ok=True)
        pods = list(self.pods.values())
        threads = [threading.Thread(target=p.stop, args=(SHUTDOWN_GRACE, False)) for p in pods]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def stop_leftovers(pods_dir: Path, grace: float = SHUTDOWN_GRACE) -> int:
    """Stop container processes a previous emulator left behind; returns how many."""
    stopped = 0
    for pid_path in pods_dir.glob("*/*.pid"):
        record = processes.read_record(pid_path)
        if processes.record_alive(record):
            assert record is not None
            processes.stop_group(record, grace)
            stopped += 1
        pid_path.unlink(missing_ok=True)
    return stopped


class _Shutdown(Exception):
    pass


def _raise_shutdown(signum: int, frame: object) -> None:
    raise _Shutdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devcluster.podemu", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=None, help="the devcluster state dir")
    args = parser.parse_args(argv)
    lay = Layout.load(args.state_dir)
    leftovers = stop_leftovers(lay.pods_dir)
    if leftovers:
        log(f"stopped {leftovers} process(es) left by a previous run")
    emu = PodEmulator(lay)
    signal.signal(signal.SIGTERM, _raise_shutdown)
    signal.signal(signal.SIGINT, _raise_shutdown)
    try:
        emu.run()
    except _Shutdown:
        log("shutting down")
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        emu.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

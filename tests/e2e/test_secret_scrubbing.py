"""Receivers that echo secrets: none of it leaves the runner in any text it writes.

Two real receivers on 127.0.0.1 answer a real runner (``python -m runner``,
``LOG_LEVEL=DEBUG``) the way careless services do:

- one answers 401 and quotes the ``Authorization`` header it got (a bearer
  token from a Secret), raw and JSON-escaped;
- one answers 404 and quotes the request path and query (the webhook URL,
  with user info, path token and signature, is a Secret), the last path
  segment alone, and the Basic credential made from the URL's user info.

Each secret piece is then looked for in every runner log line (debug
included), every Event of the namespace (``kubectl get events -o json``), the
Trigger's whole ``.status`` and the runner's ``/metrics``: none may appear.
The tests also check the secrets really were sent and the replies really were
read (the scrubbed excerpt is in the debug log), so they cannot pass by
sending nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.redact import MASK
from tests.conftest import Cluster
from tests.e2e import runner_support
from tests.e2e.action_receivers import HttpReceiver, Reply
from tests.e2e.runner_support import Runner, create_cm, make_trigger, status
from tests.polling import wait_for

BEARER = "kt-Bearer-0f3a9c5e7d"
PASSWORD = "pw-9Xq2Lm7Zr"
PATH_TOKEN = "B0815AbCdEf42ZzTok"
SIGNATURE = "Sig7Yh3Kp0Wq"


class EchoingReceiver(HttpReceiver):
    """An HTTP receiver whose reply body quotes what the request carried."""

    def __init__(self, status: int, echo: Any) -> None:
        super().__init__()
        self.status = status
        self.echo = echo
        receiver = self
        original = self.server.RequestHandlerClass

        class Echo(original):  # type: ignore[misc, valid-type]
            def _handle(self) -> None:
                receiver.reply = Reply(status, body=receiver.echo(self).encode())
                super()._handle()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server.RequestHandlerClass = Echo


@pytest.fixture
def debug_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    runner_environment(monkeypatch, LOG_LEVEL="DEBUG")


def runner_environment(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    """Add ``extra`` to the environment the harness starts runners with (host or image)."""
    for name in ("runner_env", "image_env"):
        original = getattr(runner_support, name, None)
        if original is not None:
            monkeypatch.setattr(runner_support, name, lambda o=original: {**o(), **extra})


@pytest.fixture
def bearer_receiver() -> Iterator[EchoingReceiver]:
    def echo(handler: Any) -> str:
        got = handler.headers.get("Authorization", "")
        return json.dumps({"error": "invalid token", "got": got, "token": got.split()[-1]})

    receiver = EchoingReceiver(401, echo)
    with receiver:
        yield receiver


@pytest.fixture
def path_receiver() -> Iterator[EchoingReceiver]:
    def echo(handler: Any) -> str:
        hook = handler.path.split("?")[0].rsplit("/")[-1]
        auth = handler.headers.get("Authorization", "")
        return (
            f"<html><body>No webhook at {handler.path}; hook {hook} unknown ({auth})</body></html>"
        )

    receiver = EchoingReceiver(404, echo)
    with receiver:
        yield receiver


def _secret(cluster: Cluster, namespace: str, data: dict[str, str]) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hooks", "namespace": namespace},
        "stringData": data,
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(body))


def _webhook(url_key: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    hook: dict[str, Any] = {"url": {"secretKeyRef": {"name": "hooks", "key": url_key}}}
    if headers:
        hook["headers"] = headers
    return {"name": "notify", "webhook": hook}


def _everything_written(cluster: Cluster, namespace: str, name: str, runner: Runner) -> str:
    """Every text the runner wrote: its log, the namespace's Events, the status, /metrics."""
    log = "\n".join(p.read_text() for p in sorted(runner.log_dir.glob("runner-*.log")))
    events = cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
    trigger = json.dumps(status(cluster, namespace, name))
    metrics = runner.http("/metrics")[1]
    return "\n".join((log, events, trigger, metrics))


def _failed_for_good(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    events = cluster.get_json("events", "-n", namespace)["items"]
    failed = [e for e in events if e.get("reason") == "ActionFailed"]
    last_error = status(cluster, namespace, name).get("lastError")
    return last_error if failed and last_error else None


def _debug_excerpts(runner: Runner) -> list[str]:
    return [
        str(line.get("message"))
        for line in runner.lines()
        if line.get("level") == "debug" and "the reply began" in str(line.get("message"))
    ]


def test_a_401_echoing_the_bearer_token_leaks_it_nowhere(
    crd: Cluster, namespace: str, tmp_path: Path, debug_logs: None, bearer_receiver: EchoingReceiver
) -> None:
    _secret(
        crd,
        namespace,
        {"url": f"{bearer_receiver.base}/notify", "token": f"Bearer {BEARER}"},
    )
    headers = {"Authorization": {"secretKeyRef": {"name": "hooks", "key": "token"}}}
    make_trigger(
        crd,
        namespace,
        "bearer",
        {"apiVersion": "v1", "kind": "ConfigMap"},
        actions=[_webhook("url", headers)],
    )
    runner = Runner(crd, namespace, "bearer", tmp_path).start()
    try:
        runner.wait_ready()
        create_cm(crd, namespace, "web")
        last_error = wait_for(
            lambda: _failed_for_good(crd, namespace, "bearer"), 60, "the action to fail for good"
        )
        assert bearer_receiver.requests[0].headers["Authorization"] == f"Bearer {BEARER}"
        assert BEARER in bearer_receiver.reply.body.decode()  # the runner was told the secret
        assert last_error["message"] == f"POST {bearer_receiver.base}/… → 401 Unauthorized"
        [excerpt] = _debug_excerpts(runner)
        assert "invalid token" in excerpt and MASK in excerpt
        written = _everything_written(crd, namespace, "bearer", runner)
    finally:
        runner.kill()
    assert BEARER not in written
    assert BEARER.lower() not in written.lower()


def test_a_404_echoing_the_url_path_token_leaks_it_nowhere(
    crd: Cluster, namespace: str, tmp_path: Path, debug_logs: None, path_receiver: EchoingReceiver
) -> None:
    netloc = f"robot:{PASSWORD}@127.0.0.1:{path_receiver.port}"
    url = f"http://{netloc}/services/T0420/{PATH_TOKEN}?sig={SIGNATURE}&v=1"
    _secret(crd, namespace, {"url": url})
    make_trigger(
        crd,
        namespace,
        "path",
        {"apiVersion": "v1", "kind": "ConfigMap"},
        actions=[_webhook("url")],
    )
    runner = Runner(crd, namespace, "path", tmp_path).start()
    try:
        runner.wait_ready()
        create_cm(crd, namespace, "web")
        last_error = wait_for(
            lambda: _failed_for_good(crd, namespace, "path"), 60, "the action to fail for good"
        )
        [got] = path_receiver.requests
        basic = base64.b64encode(f"robot:{PASSWORD}".encode()).decode()
        assert got.path == f"/services/T0420/{PATH_TOKEN}?sig={SIGNATURE}&v=1"
        assert got.headers["Authorization"] == f"Basic {basic}"
        told = path_receiver.reply.body.decode()
        assert PATH_TOKEN in told and SIGNATURE in told and basic in told
        assert (
            last_error["message"] == f"POST http://127.0.0.1:{path_receiver.port}/… → 404 Not Found"
        )
        [excerpt] = _debug_excerpts(runner)
        assert "No webhook at" in excerpt and MASK in excerpt
        written = _everything_written(crd, namespace, "path", runner)
    finally:
        runner.kill()
    for piece in (PATH_TOKEN, SIGNATURE, PASSWORD, basic, f"robot:{PASSWORD}", url):
        assert piece not in written, piece

"""KubeClient behaviour against a small local HTTP(S) fake of the API server.

The fake speaks real HTTP/1.1 on 127.0.0.1 (chunked watch streams, TLS with
client certificates), so these tests exercise the actual urllib3 transport;
only the server's answers are scripted.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from runner.kube import (
    ApiError,
    BadRequest,
    ClientConfig,
    Conflict,
    ConnectionFailed,
    Forbidden,
    Gone,
    Invalid,
    KubeClient,
    NotFound,
    ResourceNotFound,
    ServerError,
    TooManyRequests,
    Unauthorized,
)
from runner.kube.discovery import ResourceInfo
from runner.kube.watch import iter_lines

SECRET = "very-secret-token-123"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


Handler = Callable[["Reply", Seen], None]


class Reply:
    """What a route uses to answer: JSON, or a hand-framed chunked stream."""

    def __init__(self, http: BaseHTTPRequestHandler) -> None:
        self.http = http

    def json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.raw(status, data, "application/json", headers)

    def raw(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.http.send_response(status)
        self.http.send_header("Content-Type", content_type)
        self.http.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.http.send_header(k, v)
        self.http.end_headers()
        self.http.wfile.write(data)

    def status(self, code: int, reason: str, message: str, **extra: Any) -> None:
        body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code}
        self.json(
            code,
            {**body, "reason": reason, "message": message, **extra.pop("body", {})},
            extra.pop("headers", None),
        )

    def start_stream(self) -> None:
        self.http.send_response(200)
        self.http.send_header("Content-Type", "application/json")
        self.http.send_header("Transfer-Encoding", "chunked")
        self.http.end_headers()
        self.http.wfile.flush()

    def chunk(self, data: bytes) -> None:
        self.http.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.http.wfile.flush()

    def end_stream(self) -> None:
        self.http.wfile.write(b"0\r\n\r\n")
        self.http.wfile.flush()


class FakeApi:
    """Routes (method, path) to handlers and records every request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.seen: list[Seen] = []
        fake = self

        class _Http(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def _any(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command,
                    url.path,
                    dict(parse_qsl(url.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                fake.seen.append(seen)
                handler = fake.routes.get((self.command, url.path))
                reply = Reply(self)
                if handler is None:
                    reply.status(404, "NotFound", f"no route {self.command} {url.path}")
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    handler(reply, seen)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Http)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def add(handler: Handler) -> Handler:
            self.routes[(method, path)] = handler
            return handler

        return add

    def json_route(self, method: str, path: str, obj: Any, status: int = 200) -> None:
        self.routes[(method, path)] = lambda r, s: r.json(status, obj)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    yield fake
    fake.close()


@pytest.fixture
def client(api: FakeApi) -> Iterator[KubeClient]:
    with KubeClient(ClientConfig(server=api.url, token=SECRET, namespace="shop")) as c:
        yield c


CONFIGMAP = ResourceInfo(
    "",
    "v1",
    "v1",
    "ConfigMap",
    "configmaps",
    True,
    frozenset({"get", "list", "watch"}),
    frozenset(),
)
NAMESPACE = ResourceInfo(
    "", "v1", "v1", "Namespace", "namespaces", False, frozenset({"get"}), frozenset({"status"})
)
DEPLOYMENT = ResourceInfo(
    "apps",
    "v1",
    "apps/v1",
    "Deployment",
    "deployments",
    True,
    frozenset({"get", "patch"}),
    frozenset({"status", "scale"}),
)

CORE_V1 = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {
            "name": "configmaps",
            "singularName": "configmap",
            "namespaced": True,
            "kind": "ConfigMap",
            "verbs": ["create", "get", "list", "watch"],
        },
        {"name": "namespaces", "namespaced": False, "kind": "Namespace", "verbs": ["get"]},
        {"name": "namespaces/status", "namespaced": False, "kind": "Namespace", "verbs": ["get"]},
        {"name": "pods", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
        {"name": "pods/binding", "namespaced": True, "kind": "Binding", "verbs": ["create"]},
        {"name": "bindings", "namespaced": True, "kind": "Binding", "verbs": ["create"]},
    ],
}
APPS_V1 = {
    "kind": "APIResourceList",
    "groupVersion": "apps/v1",
    "resources": [
        {
            "name": "deployments",
            "namespaced": True,
            "kind": "Deployment",
            "verbs": ["get", "list", "patch"],
        },
        {
            "name": "deployments/scale",
            "namespaced": True,
            "kind": "Scale",
            "group": "autoscaling",
            "verbs": ["get", "patch"],
        },
        {"name": "deployments/status", "namespaced": True, "kind": "Deployment", "verbs": ["get"]},
    ],
}


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason", "cls", "retryable"),
    [
        (400, "BadRequest", BadRequest, False),
        (401, "Unauthorized", Unauthorized, False),
        (403, "Forbidden", Forbidden, False),
        (404, "NotFound", NotFound, False),
        (409, "Conflict", Conflict, True),
        (410, "Expired", Gone, False),
        (422, "Invalid", Invalid, False),
        (500, "InternalError", ServerError, True),
        (503, "ServiceUnavailable", ServerError, True),
        (418, "Teapot", ApiError, False),
    ],
)
def test_status_translation(
    api: FakeApi, client: KubeClient, code: int, reason: str, cls: type[ApiError], retryable: bool
) -> None:
    message = f'configmaps "web" says {reason}'
    api.route("GET", "/api/v1/namespaces/shop/configmaps/web")(
        lambda r, s: r.status(code, reason, message)
    )
    with pytest.raises(cls) as err:
        client.get(CONFIGMAP, "web")
    e = err.value
    assert type(e) is cls
    assert (e.status, e.reason, e.message, e.retryable) == (code, reason, message, retryable)
    assert e.body is not None and e.body["kind"] == "Status"
    assert message in str(e)
    assert SECRET not in str(e) and SECRET not in repr(e)


def test_too_many_requests_retry_after(api: FakeApi, client: KubeClient) -> None:
    api.route("GET", "/api/v1/namespaces/shop/configmaps/a")(
        lambda r, s: r.status(429, "TooManyRequests", "slow down", headers={"Retry-After": "3"})
    )
    api.route("GET", "/api/v1/namespaces/shop/configmaps/b")(
        lambda r, s: r.status(
            429, "TooManyRequests", "later", body={"details": {"retryAfterSeconds": 7}}
        )
    )
    with pytest.raises(TooManyRequests) as err:
        client.get(CONFIGMAP, "a")
    assert err.value.retry_after == 3.0 and err.value.retryable
    with pytest.raises(TooManyRequests) as err:
        client.get(CONFIGMAP, "b")
    assert err.value.retry_after == 7.0


def test_non_json_error_body(api: FakeApi, client: KubeClient) -> None:
    api.route("GET", "/api/v1/namespaces/shop/configmaps/x")(
        lambda r, s: r.raw(502, b"<html>bad gateway</html>", "text/html")
    )
    with pytest.raises(ServerError) as err:
        client.get(CONFIGMAP, "x")
    assert err.value.status == 502 and "bad gateway" in err.value.message


def test_connection_failed_when_nothing_listens() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = KubeClient(ClientConfig(server=f"http://127.0.0.1:{port}", token=SECRET))
    with pytest.raises(ConnectionFailed) as err:
        c.request("GET", "/version")
    assert err.value.status == 0 and err.value.retryable
    assert f"127.0.0.1:{port}" in str(err.value)
    assert SECRET not in str(err.value)


def test_read_timeout_is_connection_failed(api: FakeApi, client: KubeClient) -> None:
    @api.route("GET", "/slow")
    def slow(r: Reply, s: Seen) -> None:
        time.sleep(1.0)
        r.json(200, {})

    with pytest.raises(ConnectionFailed):
        client.request("GET", "/slow", timeout=0.2)


# --- request basics --------------------------------------------------------------------


def test_request_headers_query_and_body(api: FakeApi, client: KubeClient) -> None:
    api.route("POST", "/x")(lambda r, s: r.json(201, {"ok": True}))
    result = client.request(
        "POST",
        "/x",
        query={"a": "b c", "flag": True, "off": False, "n": 3, "skip": None},
        body={"k": "v"},
    )
    assert result == {"ok": True}
    seen = api.seen[-1]
    assert seen.query == {"a": "b c", "flag": "true", "off": "false", "n": "3"}
    assert seen.headers["authorization"] == f"Bearer {SECRET}"
    assert seen.headers["user-agent"] == "kubectl-trigger"
    assert seen.headers["accept"] == "application/json"
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body) == {"k": "v"}


def test_server_path_prefix(api: FakeApi) -> None:
    api.json_route("GET", "/k8s/clusters/c1/api/v1/namespaces/shop/configmaps/web", {"kind": "X"})
    c = KubeClient(ClientConfig(server=api.url + "/k8s/clusters/c1/"))
    assert c.get(CONFIGMAP, "web", "shop") == {"kind": "X"}
    assert "authorization" not in api.seen[-1].headers


def test_401_rereads_token_file_and_retries_once(api: FakeApi, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("old-token")

    def handler(r: Reply, s: Seen) -> None:
        if s.headers.get("authorization") == "Bearer new-token":
            r.json(200, {"kind": "ConfigMap"})
        else:
            r.status(401, "Unauthorized", "Unauthorized")

    api.route("GET", "/api/v1/namespaces/default/configmaps/web")(handler)
    c = KubeClient(ClientConfig(server=api.url, token_file=str(token)))
    with pytest.raises(Unauthorized):
        c.get(CONFIGMAP, "web")
    assert len(api.seen) == 2  # one retry, then the error
    token.write_text("new-token")  # the kubelet rotated it
    assert c.get(CONFIGMAP, "web") == {"kind": "ConfigMap"}


def test_static_token_401_is_not_retried(api: FakeApi, client: KubeClient) -> None:
    api.route("GET", "/api/v1/namespaces/shop/configmaps/web")(
        lambda r, s: r.status(401, "Unauthorized", "Unauthorized")
    )
    with pytest.raises(Unauthorized):
        client.get(CONFIGMAP, "web")
    assert len(api.seen) == 1


def test_many_threads_share_the_client(api: FakeApi, client: KubeClient) -> None:
    api.route("GET", "/echo")(lambda r, s: r.json(200, {"n": s.query["n"]}))
    results: list[str] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(10):
                results.append(client.request("GET", "/echo", query={"n": f"{i}-{j}"})["n"])
        except BaseException as e:  # collected, asserted below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == sorted(f"{i}-{j}" for i in range(12) for j in range(10))


# --- discovery and paths ---------------------------------------------------------------


def test_discovery_resolves_kinds_and_caches(api: FakeApi, client: KubeClient) -> None:
    api.json_route("GET", "/api/v1", CORE_V1)
    api.json_route("GET", "/apis/apps/v1", APPS_V1)
    cm = client.resource("v1", "ConfigMap")
    assert cm == ResourceInfo(
        "",
        "v1",
        "v1",
        "ConfigMap",
        "configmaps",
        True,
        frozenset({"create", "get", "list", "watch"}),
        frozenset(),
    )
    assert client.resource("v1", "Namespace").subresources == frozenset({"status"})
    assert client.resource("v1", "Namespace").namespaced is False
    # the kind Binding maps to the top-level resource, not the pods/binding subresource
    assert client.resource("v1", "Binding").plural == "bindings"
    deploy = client.resource("apps/v1", "Deployment")
    assert (deploy.group, deploy.plural, deploy.subresources) == (
        "apps",
        "deployments",
        frozenset({"scale", "status"}),
    )
    assert client.resource_for_plural("apps/v1", "deployments") == deploy
    discovery_calls = [s.path for s in api.seen]
    assert discovery_calls == ["/api/v1", "/apis/apps/v1"]  # each fetched once


def test_discovery_errors_are_clear(api: FakeApi, client: KubeClient) -> None:
    api.json_route("GET", "/api/v1", CORE_V1)
    with pytest.raises(ResourceNotFound) as err:
        client.resource("v1", "configmap")
    assert str(err.value).startswith('no kind "configmap" in apiVersion "v1"')
    assert 'did you mean "ConfigMap"' in str(err.value)
    with pytest.raises(ResourceNotFound) as err:
        client.resource("v1", "Gadget")
    assert "kinds served there: Binding, ConfigMap" in str(err.value)
    with pytest.raises(ResourceNotFound) as err:
        client.resource("example.com/v1", "Widget")
    assert 'no kind "Widget" in apiVersion "example.com/v1"' in str(err.value)
    assert "CRD" in str(err.value)
    assert isinstance(err.value, NotFound)
    with pytest.raises(ResourceNotFound, match="invalid apiVersion"):
        client.resource("a/b/c", "X")


def test_discovery_refetches_after_a_miss(api: FakeApi, client: KubeClient) -> None:
    served: dict[str, Any] = {"kind": "APIResourceList", "resources": []}
    api.route("GET", "/apis/example.com/v1")(lambda r, s: r.json(200, served))
    with pytest.raises(ResourceNotFound):
        client.resource("example.com/v1", "Widget")
    served["resources"] = [
        {"name": "widgets", "namespaced": True, "kind": "Widget", "verbs": ["get"]}
    ]
    assert client.resource("example.com/v1", "Widget").plural == "widgets"


def test_paths(client: KubeClient) -> None:
    assert client.path(CONFIGMAP) == "/api/v1/configmaps"
    assert client.path(CONFIGMAP, "shop") == "/api/v1/namespaces/shop/configmaps"
    assert client.path(CONFIGMAP, "shop", "web") == "/api/v1/namespaces/shop/configmaps/web"
    assert client.path(NAMESPACE, "ignored", "shop", "status") == "/api/v1/namespaces/shop/status"
    assert (
        client.path(DEPLOYMENT, "shop", "web", "scale")
        == "/apis/apps/v1/namespaces/shop/deployments/web/scale"
    )
    with pytest.raises(ValueError, match="subresource needs an object name"):
        client.path(DEPLOYMENT, "shop", None, "scale")


# --- lists -----------------------------------------------------------------------------


def test_list_pages_follows_continue(api: FakeApi, client: KubeClient) -> None:
    pages = {
        None: {
            "items": [{"n": 1}, {"n": 2}],
            "metadata": {"continue": "t1", "resourceVersion": "10"},
        },
        "t1": {
            "items": [{"n": 3}, {"n": 4}],
            "metadata": {"continue": "t2", "resourceVersion": "10"},
        },
        "t2": {"items": [{"n": 5}], "metadata": {"resourceVersion": "10"}},
    }
    api.route("GET", "/api/v1/configmaps")(lambda r, s: r.json(200, pages[s.query.get("continue")]))
    got = list(
        client.list_pages(CONFIGMAP, label_selector="app=web", limit=2, resource_version="5")
    )
    assert [i["n"] for p in got for i in p["items"]] == [1, 2, 3, 4, 5]
    queries = [s.query for s in api.seen]
    assert queries[0] == {"limit": "2", "labelSelector": "app=web", "resourceVersion": "5"}
    assert queries[1] == {"limit": "2", "labelSelector": "app=web", "continue": "t1"}
    assert queries[2]["continue"] == "t2"


def test_list_pages_is_lazy_and_namespaced(api: FakeApi, client: KubeClient) -> None:
    api.json_route(
        "GET", "/api/v1/namespaces/a/configmaps", {"items": [], "metadata": {"continue": "t"}}
    )
    pages = client.list_pages(CONFIGMAP, "a", field_selector="metadata.name=x")
    assert api.seen == []
    next(pages)
    assert api.seen[0].query == {"limit": "500", "fieldSelector": "metadata.name=x"}


def test_list_pages_expired_continue_is_gone(api: FakeApi, client: KubeClient) -> None:
    def handler(r: Reply, s: Seen) -> None:
        if "continue" in s.query:
            r.status(410, "Expired", "The provided continue parameter is too old")
        else:
            r.json(200, {"items": [{}], "metadata": {"continue": "old"}})

    api.route("GET", "/api/v1/configmaps")(handler)
    pages = client.list_pages(CONFIGMAP)
    assert next(pages)["items"] == [{}]
    with pytest.raises(Gone, match="too old"):
        next(pages)


# --- watch -----------------------------------------------------------------------------


def event(kind: str, name: str, rv: str) -> bytes:
    obj = {
        "kind": "ConfigMap",
        "metadata": {"name": name, "resourceVersion": rv},
        "data": {"note": "grüße ✓"},
    }
    return json.dumps({"type": kind, "object": obj}, ensure_ascii=False).encode() + b"\n"


def test_iter_lines_reassembles_any_split() -> None:
    stream = (
        event("ADDED", "a", "1") + event("MODIFIED", "a", "2") + b"\n" + event("DELETED", "a", "3")
    )
    for size in (1, 2, 3, 7, 64, len(stream)):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert list(iter_lines(chunks)) == stream.split(b"\n")[:-1]


def test_watch_streams_events_across_chunk_boundaries(api: FakeApi, client: KubeClient) -> None:
    first_seen = threading.Event()
    body = event("ADDED", "a", "11") + event("MODIFIED", "a", "12") + event("BOOKMARK", "", "13")

    def handler(r: Reply, s: Seen) -> None:
        r.start_stream()
        one = event("ADDED", "a", "11")
        r.chunk(one[:5])
        r.chunk(one[5:])
        # the rest only after the client got the first event: proves nothing is buffered
        assert first_seen.wait(5)
        rest = body[len(one) :]
        # split inside a multi-byte UTF-8 character and across the newline
        cut = rest.index("✓".encode()) + 1
        r.chunk(rest[:cut])
        r.chunk(rest[cut : cut + 40])
        r.chunk(rest[cut + 40 :])
        r.end_stream()

    api.route("GET", "/api/v1/namespaces/shop/configmaps")(handler)
    stream = client.watch(
        CONFIGMAP, "shop", resource_version="10", label_selector="app=web", timeout_seconds=60
    )
    got = []
    for ev in stream:
        got.append((ev["type"], ev["object"]["metadata"]["resourceVersion"]))
        assert ev["object"]["data"]["note"] == "grüße ✓"
        first_seen.set()
    assert got == [("ADDED", "11"), ("MODIFIED", "12"), ("BOOKMARK", "13")]
    assert api.seen[0].query == {
        "watch": "true",
        "resourceVersion": "10",
        "allowWatchBookmarks": "true",
        "timeoutSeconds": "60",
        "labelSelector": "app=web",
    }
    # the connection went back to the pool: the next request reuses it fine
    api.json_route("GET", "/version", {"gitVersion": "v1"})
    assert client.request("GET", "/version") == {"gitVersion": "v1"}


def test_watch_error_410_raises_gone(api: FakeApi, client: KubeClient) -> None:
    def handler(r: Reply, s: Seen) -> None:
        r.start_stream()
        r.chunk(event("ADDED", "a", "5"))
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "code": 410,
            "reason": "Expired",
            "message": "too old resource version: 5 (20)",
        }
        r.chunk(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
        r.end_stream()

    api.route("GET", "/api/v1/configmaps")(handler)
    stream = client.watch(CONFIGMAP, resource_version="5", allow_bookmarks=False)
    assert next(stream)["type"] == "ADDED"
    with pytest.raises(Gone, match="too old resource version"):
        next(stream)
    assert "allowWatchBookmarks" not in api.seen[0].query
    with pytest.raises(StopIteration):
        next(stream)


def test_watch_other_error_event_raises_api_error(api: FakeApi, client: KubeClient) -> None:
    def handler(r: Reply, s: Seen) -> None:
        r.start_stream()
        status = {"kind": "Status", "code": 500, "reason": "InternalError", "message": "boom"}
        r.chunk(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
        r.end_stream()

    api.route("GET", "/api/v1/configmaps")(handler)
    with pytest.raises(ServerError, match="boom"):
        list(client.watch(CONFIGMAP, resource_version="1"))


def test_watch_http_error_raises_at_open(api: FakeApi, client: KubeClient) -> None:
    api.route("GET", "/api/v1/namespaces/shop/configmaps")(
        lambda r, s: r.status(403, "Forbidden", 'cannot watch resource "configmaps"')
    )
    with pytest.raises(Forbidden, match="cannot watch"):
        client.watch(CONFIGMAP, "shop", resource_version="1")


def test_watch_close_from_another_thread_unblocks(api: FakeApi, client: KubeClient) -> None:
    release = threading.Event()

    def handler(r: Reply, s: Seen) -> None:
        r.start_stream()
        r.chunk(event("ADDED", "a", "1"))
        release.wait(10)

    api.route("GET", "/api/v1/configmaps")(handler)
    stream = client.watch(CONFIGMAP, resource_version="1")
    got: list[str] = []
    done = threading.Event()

    def consume() -> None:
        got.extend(ev["type"] for ev in stream)
        done.set()

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.3)  # the consumer is now blocked reading
    started = time.monotonic()
    stream.close()
    assert done.wait(3), "close() did not unblock the reader"
    assert time.monotonic() - started < 2
    assert got == ["ADDED"]
    release.set()
    t.join()
    stream.close()  # idempotent


def test_watch_generator_style_close(api: FakeApi, client: KubeClient) -> None:
    def handler(r: Reply, s: Seen) -> None:
        r.start_stream()
        for i in range(3):
            r.chunk(event("ADDED", f"o{i}", str(i)))
        time.sleep(2)

    api.route("GET", "/api/v1/configmaps")(handler)
    with client.watch(CONFIGMAP, resource_version="0") as stream:
        assert next(stream)["object"]["metadata"]["name"] == "o0"
    with pytest.raises(StopIteration):
        next(stream)


def test_watch_silence_beyond_read_timeout(api: FakeApi, client: KubeClient) -> None:
    def handler(r: Reply, s: Seen) -> None:
        r.start_stream()
        time.sleep(1.5)

    api.route("GET", "/api/v1/configmaps")(handler)
    stream = client.watch(CONFIGMAP, resource_version="0", read_timeout=0.3)
    with pytest.raises(ConnectionFailed, match="watch"):
        next(stream)


# --- writes ----------------------------------------------------------------------------


def echo(status: int = 200) -> Handler:
    return lambda r, s: r.json(status, {"kind": "ConfigMap", "echo": json.loads(s.body or b"{}")})


def test_create_uses_body_namespace_then_default(api: FakeApi, client: KubeClient) -> None:
    api.route("POST", "/api/v1/namespaces/other/configmaps")(echo(201))
    api.route("POST", "/api/v1/namespaces/shop/configmaps")(echo(201))
    body = {"metadata": {"generateName": "x-", "namespace": "other"}}
    assert client.create(CONFIGMAP, body)["echo"] == body
    client.create(CONFIGMAP, {"metadata": {"name": "y"}}, dry_run=True)
    assert api.seen[-1].path == "/api/v1/namespaces/shop/configmaps"
    assert api.seen[-1].query == {"dryRun": "All"}


def test_apply_is_a_server_side_apply_patch(api: FakeApi, client: KubeClient) -> None:
    api.route("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web")(echo())
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    assert client.apply(DEPLOYMENT, body, field_manager="kt")["echo"] == body
    seen = api.seen[-1]
    assert seen.headers["content-type"] == "application/apply-patch+yaml"
    assert seen.query == {"fieldManager": "kt", "force": "true"}
    client.apply(DEPLOYMENT, body, field_manager="kt", force=False, dry_run=True)
    assert api.seen[-1].query == {"fieldManager": "kt", "force": "false", "dryRun": "All"}
    with pytest.raises(ValueError, match=r"metadata\.name"):
        client.apply(DEPLOYMENT, {"kind": "Deployment"}, field_manager="kt")


@pytest.mark.parametrize(
    ("patch_type", "content_type", "patch"),
    [
        ("merge", "application/merge-patch+json", {"data": {"a": "1"}}),
        ("json", "application/json-patch+json", [{"op": "add", "path": "/data/a", "value": "1"}]),
        ("strategic", "application/strategic-merge-patch+json", {"spec": {"replicas": 2}}),
    ],
)
def test_patch_types(
    api: FakeApi, client: KubeClient, patch_type: Any, content_type: str, patch: Any
) -> None:
    api.route("PATCH", "/apis/apps/v1/namespaces/ns/deployments/web/status")(
        lambda r, s: r.json(200, {"got": json.loads(s.body)})
    )
    result = client.patch(
        DEPLOYMENT,
        "web",
        patch,
        "ns",
        patch_type=patch_type,
        field_manager="fm",
        subresource="status",
    )
    assert result == {"got": patch}
    assert api.seen[-1].headers["content-type"] == content_type
    assert api.seen[-1].query == {"fieldManager": "fm"}


def test_patch_text_body_and_bad_type(api: FakeApi, client: KubeClient) -> None:
    api.route("PATCH", "/api/v1/namespaces/shop/configmaps/web")(
        lambda r, s: r.json(200, {"raw": s.body.decode()})
    )
    assert client.patch(CONFIGMAP, "web", '{"data":{"x":"y"}}') == {"raw": '{"data":{"x":"y"}}'}
    with pytest.raises(ValueError, match="patch_type"):
        client.patch(CONFIGMAP, "web", {}, patch_type="yolo")  # type: ignore[arg-type]


def test_replace_and_conflict(api: FakeApi, client: KubeClient) -> None:
    api.route("PUT", "/api/v1/namespaces/shop/configmaps/web")(
        lambda r, s: r.status(409, "Conflict", "the object has been modified")
    )
    with pytest.raises(Conflict) as err:
        client.replace(CONFIGMAP, {"metadata": {"name": "web", "resourceVersion": "1"}})
    assert err.value.retryable


def test_delete_returns_object_or_none(api: FakeApi, client: KubeClient) -> None:
    api.route("DELETE", "/api/v1/namespaces/shop/configmaps/gone")(
        lambda r, s: r.json(200, {"kind": "Status", "status": "Success"})
    )
    api.route("DELETE", "/apis/apps/v1/namespaces/shop/deployments/web")(
        lambda r, s: r.json(200, {"kind": "Deployment", "metadata": {"finalizers": ["x"]}})
    )
    assert client.delete(CONFIGMAP, "gone") is None
    obj = client.delete(DEPLOYMENT, "web", propagation_policy="Foreground", dry_run=True)
    assert obj is not None and obj["kind"] == "Deployment"
    assert api.seen[-1].query == {"propagationPolicy": "Foreground", "dryRun": "All"}
    assert api.seen[-1].body == b""


# --- raw streams (pod logs) -------------------------------------------------------------


def test_stream_yields_text_as_it_arrives(api: FakeApi, client: KubeClient) -> None:
    first_seen = threading.Event()

    def handler(r: Reply, s: Seen) -> None:
        r.http.send_response(200)
        r.http.send_header("Content-Type", "text/plain")
        r.http.send_header("Transfer-Encoding", "chunked")
        r.http.end_headers()
        r.chunk(b"line 1\n")
        # the rest only after the client got the first piece: nothing waits to fill a buffer
        assert first_seen.wait(5)
        r.chunk(b"line 2\nline ")
        r.chunk(b"3\n")
        r.end_stream()

    path = "/api/v1/namespaces/shop/pods/web-1/log"
    api.route("GET", path)(handler)
    got = []
    with client.stream("GET", path, query={"follow": True, "tailLines": 5}) as chunks:
        for chunk in chunks:
            got.append(chunk)
            first_seen.set()
    assert got[0] == b"line 1\n"
    assert b"".join(got) == b"line 1\nline 2\nline 3\n"
    assert api.seen[0].query == {"follow": "true", "tailLines": "5"}
    assert api.seen[0].headers["authorization"] == f"Bearer {SECRET}"
    # read to the end: the connection went back to the pool and serves the next call
    api.json_route("GET", "/version", {"gitVersion": "v1"})
    assert client.request("GET", "/version") == {"gitVersion": "v1"}


def test_stream_error_status_raises_at_the_call(api: FakeApi, client: KubeClient) -> None:
    api.route("GET", "/api/v1/namespaces/shop/pods/gone/log")(
        lambda r, s: r.status(404, "NotFound", 'pods "gone" not found')
    )
    with pytest.raises(NotFound, match='pods "gone" not found'):
        client.stream("GET", "/api/v1/namespaces/shop/pods/gone/log")


def test_stream_closed_early_leaves_the_client_usable(api: FakeApi, client: KubeClient) -> None:
    release = threading.Event()

    def endless(r: Reply, s: Seen) -> None:
        r.start_stream()
        r.chunk(b"first\n")
        release.wait(10)

    api.route("GET", "/log")(endless)
    api.json_route("GET", "/version", {"gitVersion": "v1"})
    stream = client.stream("GET", "/log")
    assert next(stream) == b"first\n"
    stream.close()
    stream.close()  # idempotent
    with pytest.raises(StopIteration):
        next(stream)
    assert client.request("GET", "/version") == {"gitVersion": "v1"}
    release.set()


def test_stream_cut_off_is_connection_failed(client: KubeClient) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                conn.sendall(head + b"6\r\npiece\n\r\n")  # then hang up mid-body

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        c = KubeClient(ClientConfig(server=f"http://127.0.0.1:{port}"))
        stream = c.stream("GET", "/log", read_timeout=5)
        assert next(stream) == b"piece\n"
        with pytest.raises(ConnectionFailed, match="broke off"):
            next(stream)
        thread.join(5)


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """Keep-alive connections the server has since closed are dropped, not sent on."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        accepted: list[int] = []

        def serve() -> None:
            for i in range(2):
                conn, _ = server.accept()
                accepted.append(i)
                with conn:
                    conn.recv(65536)
                    body = json.dumps({"n": i}).encode()
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                # closed right after answering, although the answer allowed keep-alive

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        c = KubeClient(ClientConfig(server=f"http://127.0.0.1:{port}"))
        assert c.request("GET", "/a") == {"n": 0}
        time.sleep(0.1)  # the server's close has arrived
        assert c.request("GET", "/b") == {"n": 1}
        thread.join(5)
        assert accepted == [0, 1]


def test_client_repr_hides_token(client: KubeClient) -> None:
    assert SECRET not in repr(client) and SECRET not in repr(client.config)


# --- TLS -------------------------------------------------------------------------------


@dataclass
class Pki:
    ca_pem: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str
    files: dict[str, str] = field(default_factory=dict)


def make_pki(tmp_path: Path) -> Pki:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def pem_key(key: ec.EllipticCurvePrivateKey) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def cert(
        name: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name | None,
        issuer_key: ec.EllipticCurvePrivateKey,
        *,
        ca: bool = False,
        server: bool = False,
    ) -> x509.Certificate:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer or subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if server:
            import ipaddress

            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        elif not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert("test-ca", ca_key, None, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    pem = serialization.Encoding.PEM
    pki = Pki(
        ca_pem=ca.public_bytes(pem).decode(),
        server_cert=cert("server", server_key, ca.subject, ca_key, server=True)
        .public_bytes(pem)
        .decode(),
        server_key=pem_key(server_key),
        client_cert=cert("admin", client_key, ca.subject, ca_key).public_bytes(pem).decode(),
        client_key=pem_key(client_key),
    )
    for name in ("ca_pem", "server_cert", "server_key"):
        path = tmp_path / f"{name}.pem"
        path.write_text(getattr(pki, name))
        pki.files[name] = str(path)
    return pki


@pytest.fixture
def tls_api(tmp_path: Path) -> Iterator[tuple[FakeApi, Pki]]:
    pki = make_pki(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.files["server_cert"], pki.files["server_key"])
    ctx.load_verify_locations(pki.files["ca_pem"])
    ctx.verify_mode = ssl.CERT_REQUIRED  # like the API server with --client-ca-file
    fake = FakeApi(tls=ctx)
    fake.json_route("GET", "/version", {"gitVersion": "v-test"})
    yield fake, pki
    fake.close()


def test_mutual_tls_with_data_from_kubeconfig(tls_api: tuple[FakeApi, Pki], tmp_path: Path) -> None:
    import base64

    import yaml

    api, pki = tls_api

    def b64(s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    doc = {
        "current-context": "t",
        "contexts": [{"name": "t", "context": {"cluster": "c", "user": "u"}}],
        "clusters": [
            {
                "name": "c",
                "cluster": {"server": api.url, "certificate-authority-data": b64(pki.ca_pem)},
            }
        ],
        "users": [
            {
                "name": "u",
                "user": {
                    "client-certificate-data": b64(pki.client_cert),
                    "client-key-data": b64(pki.client_key),
                },
            }
        ],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    c = KubeClient.from_config(str(path))
    assert c.request("GET", "/version") == {"gitVersion": "v-test"}


def test_tls_verification_failures(tls_api: tuple[FakeApi, Pki]) -> None:
    api, pki = tls_api
    # no client certificate: the server refuses the handshake
    no_cert = KubeClient(ClientConfig(server=api.url, ca_data=pki.ca_pem))
    with pytest.raises(ConnectionFailed):
        no_cert.request("GET", "/version")
    # an untrusted server certificate is refused by the client
    untrusted = KubeClient(
        ClientConfig(
            server=api.url, client_cert_data=pki.client_cert, client_key_data=pki.client_key
        )
    )
    with pytest.raises(ConnectionFailed, match=r"(?i)certificate"):
        untrusted.request("GET", "/version")
    # insecure-skip-tls-verify accepts it
    insecure = KubeClient(
        ClientConfig(
            server=api.url,
            insecure_skip_tls_verify=True,
            client_cert_data=pki.client_cert,
            client_key_data=pki.client_key,
        )
    )
    assert insecure.request("GET", "/version") == {"gitVersion": "v-test"}
    # the CA from a file works too
    by_file = KubeClient(
        ClientConfig(
            server=api.url,
            ca_file=pki.files["ca_pem"],
            client_cert_data=pki.client_cert,
            client_key_data=pki.client_key,
        )
    )
    assert by_file.request("GET", "/version") == {"gitVersion": "v-test"}

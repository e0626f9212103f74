"""The client through proxies, against a local server and the test proxy: what goes on the wire.

The kubectl side-by-side cases are in tests/e2e/test_kubeconfig_parity.py; these
check the details kubectl cannot show: repeated headers, absolute URLs to an
http proxy, large bodies through TLS inside TLS, and error messages that name
the proxy but never its password.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devcluster import pki
from runner.kube.client import KubeClient
from runner.kube.config import ClientConfig
from runner.kube.errors import ConnectionFailed
from runner.kube.proxy import parse
from tests.e2e.connect_proxy import ConnectProxy

NAME = "api.tunnel-test.invalid"  # never resolves: only the proxy (mapping it) reaches it
HOSTS = {NAME: "127.0.0.1"}
BIG = "x" * 1_500_000


@dataclass
class Server:
    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)


def _serve(tls: ssl.SSLContext | None) -> Iterator[Server]:
    seen = Server(0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.requests.append(
                {
                    "path": self.path,
                    "host": self.headers["Host"],
                    "groups": self.headers.get_all("Impersonate-Group") or [],
                    "user": self.headers.get("Impersonate-User"),
                    "proxy_auth": self.headers.get("Proxy-Authorization"),
                }
            )
            body = json.dumps({"big": BIG} if self.path == "/big" else {"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    seen.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pki")
    pki.generate(path)
    return path


@pytest.fixture(scope="module")
def server_tls(pki_dir: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki_dir / "serving.crt", pki_dir / "serving.key")
    return context


@pytest.fixture
def https_api(server_tls: ssl.SSLContext) -> Iterator[Server]:
    yield from _serve(server_tls)


@pytest.fixture
def http_api() -> Iterator[Server]:
    yield from _serve(None)


def https_config(pki_dir: Path, api: Server, proxy_url: str, **fields: Any) -> ClientConfig:
    return ClientConfig(
        server=f"https://{NAME}:{api.port}",
        ca_file=str(pki_dir / "ca.crt"),
        tls_server_name="kubernetes.default.svc",
        proxy=parse(proxy_url),
        **fields,
    )


def test_http_server_through_an_http_proxy_gets_absolute_urls(http_api: Server) -> None:
    with ConnectProxy(hosts=HOSTS, credentials=("ann", "pw")) as proxy:
        config = ClientConfig(
            server=f"http://{NAME}:{http_api.port}", proxy=parse(proxy.url(user="ann:pw"))
        )
        with KubeClient(config) as client:
            assert client.request("GET", "/api/v1") == {"ok": True}
        assert [(t.protocol, t.target, t.authorized) for t in proxy.seen()] == [
            ("GET", f"{NAME}:{http_api.port}", True)
        ]
    # the proxy took its own header off; the server saw the API server's name as Host
    assert http_api.requests[0]["host"] == f"{NAME}:{http_api.port}"
    assert http_api.requests[0]["proxy_auth"] is None


def test_impersonation_headers_repeat_on_the_wire(http_api: Server) -> None:
    config = ClientConfig(
        server=f"http://127.0.0.1:{http_api.port}",
        impersonate=(
            ("Impersonate-User", "jane"),
            ("Impersonate-Group", "dev"),
            ("Impersonate-Group", "ops"),
        ),
    )
    with KubeClient(config) as client:
        client.request("GET", "/api/v1")
        client.request("GET", "/api/v1")  # again on the kept-alive connection
    for seen in http_api.requests:
        assert (seen["user"], seen["groups"]) == ("jane", ["dev", "ops"])


@pytest.mark.parametrize("scheme", ["http", "https", "socks5"])
def test_large_bodies_through_each_kind_of_proxy(
    scheme: str, pki_dir: Path, https_api: Server, server_tls: ssl.SSLContext
) -> None:
    """TLS to the API server over CONNECT, over TLS to the proxy (TLS in TLS), over SOCKS5."""
    proxy_tls = server_tls if scheme == "https" else None
    with ConnectProxy(hosts=HOSTS, tls=proxy_tls) as proxy:
        with KubeClient(https_config(pki_dir, https_api, proxy.url(scheme))) as client:
            assert client.request("GET", "/big") == {"big": BIG}
            assert client.request("GET", "/api/v1") == {"ok": True}
        # one tunnel, kept alive for both requests
        assert [t.target for t in proxy.seen()] == [f"{NAME}:{https_api.port}"]


def test_refused_connect_names_the_proxy_not_the_password(pki_dir: Path, https_api: Server) -> None:
    with ConnectProxy(hosts=HOSTS, credentials=("ann", "right")) as proxy:
        config = https_config(pki_dir, https_api, proxy.url(user="ann:wrong-secret"))
        with KubeClient(config) as client, pytest.raises(ConnectionFailed) as err:
            client.request("GET", "/api/v1")
    message = str(err.value)
    assert f"proxy http://127.0.0.1:{proxy.port} refused CONNECT {NAME}:{https_api.port}" in message
    assert "407" in message and "wrong-secret" not in message and "ann" not in message


def test_socks5_errors_are_clear(pki_dir: Path, https_api: Server) -> None:
    with ConnectProxy(hosts=HOSTS, credentials=("ann", "right")) as proxy:
        config = https_config(pki_dir, https_api, proxy.url("socks5", user="ann:wrong-secret"))
        with KubeClient(config) as client, pytest.raises(ConnectionFailed) as err:
            client.request("GET", "/api/v1")
        assert "rejected the username and password" in str(err.value)
        assert "wrong-secret" not in str(err.value)
    with ConnectProxy() as proxy:  # the target does not resolve for this proxy
        config = https_config(pki_dir, https_api, proxy.url("socks5"))
        with KubeClient(config) as client, pytest.raises(ConnectionFailed) as err:
            client.request("GET", "/api/v1")
        assert f"cannot connect to {NAME}:{https_api.port}: connection refused" in str(err.value)


def test_a_dead_proxy_is_a_connection_failure() -> None:
    config = ClientConfig(server="https://10.0.0.1:6443", proxy=parse("http://127.0.0.1:1"))
    with KubeClient(config) as client, pytest.raises(ConnectionFailed):
        client.request("GET", "/api/v1")

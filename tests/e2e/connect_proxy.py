"""A small forward proxy on 127.0.0.1 for the kubeconfig proxy tests: HTTP CONNECT, SOCKS5.

It relays bytes and records every tunnel it was asked for, so a test can
assert that kubectl and the plugin both really went through it. ``hosts`` maps
names to addresses the way a proxy's own DNS would: a kubeconfig can name the
API server by a name that never resolves (``*.invalid``, and not a loopback
name, which Go exempts from HTTPS_PROXY) and only a client that uses the proxy
reaches it. With ``tls`` the proxy itself speaks
TLS (an ``https://`` proxy URL). With ``credentials`` it answers 407 unless the
client sends them (Basic for CONNECT, username/password for SOCKS5).
"""

from __future__ import annotations

import base64
import select
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Tunnel:
    """One tunnel a client asked for."""

    protocol: str  # "CONNECT", "SOCKS5" or the method of an absolute-form request
    target: str  # host:port as the client named it
    user_agent: str = ""
    authorized: bool = True


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ConnectProxy:
    """The proxy; use as a context manager (``with ConnectProxy() as proxy``)."""

    def __init__(
        self,
        *,
        hosts: dict[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.hosts = dict(hosts or {})
        self.tls = tls
        self.credentials = credentials
        self.tunnels: list[Tunnel] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, scheme: str = "http", user: str | None = None) -> str:
        auth = f"{user}@" if user else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}"

    def seen(self, protocol: str | None = None) -> list[Tunnel]:
        with self._lock:
            return [t for t in self.tunnels if protocol is None or t.protocol == protocol]

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- per connection ------------------------------------------------------------------

    def _record(self, tunnel: Tunnel) -> None:
        with self._lock:
            self.tunnels.append(tunnel)

    def _upstream(self, host: str, port: int) -> socket.socket:
        return socket.create_connection((self.hosts.get(host, host), port), timeout=10)

    def _handle(self, client: socket.socket) -> None:
        try:
            if self.tls is not None:
                client = self.tls.wrap_socket(client, server_side=True)
            first = client.recv(1, socket.MSG_PEEK) if self.tls is None else b""
            if first == b"\x05":
                self._socks5(client)
            else:
                self._http(client)
        except (OSError, ValueError):
            pass
        finally:
            client.close()

    def _http(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(1)
            if not chunk:
                return
            head += chunk
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        authorized = self._authorized(headers.get("proxy-authorization", ""))
        host_port = target
        if method != "CONNECT":  # absolute-form: http://host:port/path
            host_port = target.split("://", 1)[1].split("/", 1)[0]
        self._record(Tunnel(method, host_port, headers.get("user-agent", ""), authorized))
        if not authorized:
            client.sendall(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
            )
            return
        host, _, port = host_port.rpartition(":")
        upstream = self._upstream(host.strip("[]"), int(port))
        with upstream:
            if method == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                path = "/" + target.split("://", 1)[1].partition("/")[2]
                kept = [ln for ln in lines[1:] if ln and not ln.lower().startswith("proxy-")]
                request = "\r\n".join([f"{method} {path} HTTP/1.1", *kept]) + "\r\n\r\n"
                upstream.sendall(request.encode("latin-1"))
            _relay(client, upstream)

    def _authorized(self, header: str) -> bool:
        if self.credentials is None:
            return True
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        return header == f"Basic {expected}"

    def _socks5(self, client: socket.socket) -> None:
        _, count = _exact(client, 2)
        methods = _exact(client, count)
        authorized = True
        if self.credentials is not None:
            if 2 not in methods:
                client.sendall(b"\x05\xff")
                return
            client.sendall(b"\x05\x02")
            _, ulen = _exact(client, 2)
            user = _exact(client, ulen).decode()
            (plen,) = _exact(client, 1)
            password = _exact(client, plen).decode()
            authorized = (user, password) == self.credentials
            client.sendall(b"\x01\x00" if authorized else b"\x01\x01")
        else:
            client.sendall(b"\x05\x00")
        if not authorized:
            self._record(Tunnel("SOCKS5", "", authorized=False))
            return
        _, _, _, kind = _exact(client, 4)
        if kind == 1:
            host = socket.inet_ntop(socket.AF_INET, _exact(client, 4))
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, _exact(client, 16))
        else:
            (length,) = _exact(client, 1)
            host = _exact(client, length).decode()
        port = int.from_bytes(_exact(client, 2), "big")
        self._record(Tunnel("SOCKS5", f"{host}:{port}"))
        try:
            upstream = self._upstream(host, port)
        except OSError:
            client.sendall(b"\x05\x05\x00\x01" + b"\0" * 6)
            return
        with upstream:
            client.sendall(b"\x05\x00\x00\x01" + b"\0" * 6)
            _relay(client, upstream)


def _exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways in one thread until either side closes (TLS sockets included)."""
    peers = {a: b, b: a}
    while True:
        ready: list[socket.socket] = [
            s for s in peers if isinstance(s, ssl.SSLSocket) and s.pending()
        ]
        if not ready:
            ready, _, _ = select.select(list(peers), [], [], 30)
            if not ready:
                return
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)

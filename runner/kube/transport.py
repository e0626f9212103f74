"""HTTP/1.1 to one API server over the standard library: a small pool of keep-alive connections.

``http.client`` speaks the protocol (chunked bodies included); this module adds
what the API client needs around it and nothing more: connections shared by
threads and kept alive, separate connect and read timeouts, TLS with the
cluster's CA and an optional client certificate, bodies read piece by piece as
they arrive (watches, followed logs), a way for another thread to wake a
blocked reader, and a proxy when the config names one (``runner.kube.tunnel``).
It does not retry, redirect or decompress.

urllib3 did this job before; importing it costs the runner about 2.5 MiB of
resident memory (it also pulls in importlib.metadata, zipfile, csv and
tempfile), a twelfth of the runner's budget, for features the client never
used. Webhook and chat actions still use urllib3 (``runner.actions.http``).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
from collections.abc import Callable, ItemsView, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from runner.kube.proxy import Proxy

__all__ = ["ConnectionPool", "HTTPException", "Response", "Timeout"]

#: what ``http.client`` raises for a malformed or cut-off answer (next to OSError)
HTTPException = http.client.HTTPException


class Timeout(NamedTuple):
    """Seconds to connect (TCP and TLS handshake) and to wait for each read (None: forever)."""

    connect: float
    read: float | None


class _Connection(http.client.HTTPConnection):
    """HTTP/1.1 over a socket opened by ``dial``: direct, TLS, or through a proxy.

    ``host``/``port`` are the API server's (they make the ``Host`` header);
    where the bytes actually go is up to ``dial``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        dial: Callable[[float | None], socket.socket],
        timeout: float,
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self._dial = dial

    def connect(self) -> None:
        self.sock = self._dial(self.timeout)


class _Headers(Mapping[str, str]):
    """Request headers in which a name may repeat: ``http.client`` sends each ``items()`` pair."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def __getitem__(self, name: str) -> str:
        for key, value in self._pairs:
            if key.lower() == name.lower():
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def items(self) -> ItemsView[str, str]:
        return self._pairs  # type: ignore[return-value]


def _tcp(host: str, port: int, timeout: float | None) -> socket.socket:
    sock = socket.create_connection((host, port), timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection was closed by the server (readable while idle means EOF)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class ConnectionPool:
    """Keep-alive connections to one host; thread-safe.

    A request takes an idle connection (or opens one) and gives it back when
    its answer has been read to the end; at most ``maxsize`` idle connections
    are kept. ``close`` closes the idle ones; those in use are closed when
    their answer is done.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        proxy: Proxy | None = None,
        extra_headers: Sequence[tuple[str, str]] = (),
        maxsize: int = 8,
    ) -> None:
        self.host = host
        self.port = port
        self._tls = tls
        self._server_hostname = server_hostname
        self._proxy = proxy
        self._maxsize = maxsize
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False
        # headers on every request, a name possibly repeated (Impersonate-Group)
        self._extra_headers = list(extra_headers)
        # plain http through an http(s) proxy: absolute URLs to the proxy, as Go sends them
        self._url_prefix = ""
        if proxy is not None and tls is None and proxy.scheme != "socks5":
            hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            self._url_prefix = f"http://{hostport}"
            auth = proxy.basic_authorization()
            if auth:
                self._extra_headers.append(("Proxy-Authorization", auth))

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None,
        headers: dict[str, str],
        timeout: Timeout,
    ) -> Response:
        """Send one request and read the status line and headers; the body is left to read.

        Raises:
            OSError: connecting, TLS or the socket failed (``TimeoutError`` on a timeout).
            HTTPException: the answer was not valid HTTP.
        """
        conn = self._take(timeout.connect)
        try:
            if conn.sock is None:
                conn.connect()
            assert conn.sock is not None
            conn.sock.settimeout(timeout.read)
            url = self._url_prefix + url
            sent: Mapping[str, str] = headers
            if self._extra_headers:
                sent = _Headers([*headers.items(), *self._extra_headers])
            conn.request(method, url, body=body, headers=sent)
            # kept: http.client forgets the socket when the server closes after this answer
            sock = conn.sock
            raw = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        return Response(self, conn, raw, sock)

    def close(self) -> None:
        """Close idle connections; connections in use are closed when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _take(self, connect_timeout: float) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._new(connect_timeout)
            if not _dropped(conn):
                conn.timeout = connect_timeout
                return conn
            conn.close()

    def _new(self, connect_timeout: float) -> http.client.HTTPConnection:
        return _Connection(self.host, self.port, dial=self._dial, timeout=connect_timeout)

    def _dial(self, timeout: float | None) -> socket.socket:
        """A socket that speaks (TLS to) the API server, through the proxy if there is one."""
        if self._proxy is not None:
            from runner.kube.tunnel import dial_through

            return dial_through(
                self._proxy,
                self.host,
                self.port,
                timeout=timeout,
                tls=self._tls,
                server_hostname=self._server_hostname or self.host,
            )
        sock = _tcp(self.host, self.port, timeout)
        if self._tls is None:
            return sock
        try:
            return self._tls.wrap_socket(sock, server_hostname=self._server_hostname or self.host)
        except BaseException:
            sock.close()
            raise

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._maxsize:
                self._idle.append(conn)
                return
        conn.close()


class Response:
    """One answer: status and headers at once, the body read whole or piece by piece.

    The connection goes back to the pool once the body has been read to the
    end (``read``, or ``read1`` until it returns ``b""``, then ``release``);
    ``close`` drops it instead.
    """

    def __init__(
        self,
        pool: ConnectionPool,
        conn: http.client.HTTPConnection,
        raw: http.client.HTTPResponse,
        sock: socket.socket | None,
    ) -> None:
        self._pool = pool
        self._conn: http.client.HTTPConnection | None = conn
        self._raw = raw
        self._sock = sock
        self.status = raw.status
        self.headers = raw.headers

    def read(self) -> bytes:
        """The whole (rest of the) body; the connection is then released."""
        try:
            return self._raw.read()
        finally:
            self.release()

    def read1(self, size: int) -> bytes:
        """Up to ``size`` bytes of what has arrived (waits while none has); ``b""`` at the end."""
        return self._raw.read1(size)

    def release(self) -> None:
        """Pool the connection if the body was read to the end and stays open; else close it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._raw.isclosed() and not self._raw.will_close:
            self._pool._give_back(conn)
        else:
            self._raw.close()
            conn.close()

    def close(self) -> None:
        """Drop the connection, unread body and all."""
        self._raw.close()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def shutdown(self) -> None:
        """Wake a reader blocked on this answer in another thread (it then sees the end)."""
        if self._sock is not None:
            self._sock.shutdown(socket.SHUT_RDWR)

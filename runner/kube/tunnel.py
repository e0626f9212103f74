"""A socket to the API server through a proxy: HTTP CONNECT (over http or https) or SOCKS5.

Only clusters with a proxy (kubeconfig ``proxy-url`` or ``HTTPS_PROXY``) load
this module. What goes over the wire follows Go's ``net/http``, which kubectl
uses: one ``CONNECT host:port`` per connection (a 200 answer opens the tunnel),
``Proxy-Authorization: Basic`` from the proxy URL's user info, and for an
``https://`` proxy the cluster's own TLS settings (its CA, its client
certificate) for the TLS session to the proxy. Python's ``ssl`` cannot wrap an
``SSLSocket`` in a second TLS session, so TLS to the API server inside TLS to
the proxy runs over memory buffers (``_TLSInTLS``).
"""

from __future__ import annotations

import io
import socket
import ssl
from typing import Any

from runner.kube.proxy import Proxy, ip_bytes

__all__ = ["dial_through"]

_MAX_CONNECT_ANSWER = 64 * 1024

#: SOCKS5 reply codes (RFC 1928), for messages
_SOCKS_REPLIES = {
    1: "general failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def dial_through(
    proxy: Proxy,
    host: str,
    port: int,
    *,
    timeout: float | None,
    tls: ssl.SSLContext | None,
    server_hostname: str,
) -> socket.socket:
    """A connected socket for ``host:port`` through ``proxy``, TLS-wrapped when ``tls`` is given.

    Without ``tls`` (a plain http API server) an http(s) proxy gets no tunnel:
    the socket goes to the proxy itself and requests carry absolute URLs.

    Raises:
        OSError: the proxy is unreachable or refused (the message names the proxy).
    """
    sock = socket.create_connection((proxy.host, proxy.port), timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if proxy.scheme == "socks5":
            _socks5_connect(sock, proxy, host, port)
            return tls.wrap_socket(sock, server_hostname=server_hostname) if tls else sock
        if proxy.scheme == "https":
            proxy_tls = tls or ssl.create_default_context()
            sock = proxy_tls.wrap_socket(sock, server_hostname=proxy.host)
        if tls is None:
            return sock
        _http_connect(sock, proxy, host, port)
        if isinstance(sock, ssl.SSLSocket):
            return _TLSInTLS(sock, tls, server_hostname)  # type: ignore[return-value]
        return tls.wrap_socket(sock, server_hostname=server_hostname)
    except BaseException:
        sock.close()
        raise


def _recv_exact(sock: socket.socket, n: int, proxy: Proxy) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"proxy {proxy.address} closed the connection")
        data += chunk
    return data


def _http_connect(sock: socket.socket, proxy: Proxy, host: str, port: int) -> None:
    target = _hostport(host, port)
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    auth = proxy.basic_authorization()
    if auth:
        lines.append(f"Proxy-Authorization: {auth}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    # byte by byte: whatever follows the answer's header is the API server's, not ours
    head = bytearray()
    while not head.endswith(b"\r\n\r\n"):
        if len(head) > _MAX_CONNECT_ANSWER:
            raise ConnectionError(f"proxy {proxy.address} sent an oversized answer to CONNECT")
        head += _recv_exact(sock, 1, proxy)
    status_line = bytes(head).split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ConnectionError(f"proxy {proxy.address} answered CONNECT with {status_line!r}")
    if parts[1] != "200":
        reason = parts[2] if len(parts) > 2 else ""
        raise ConnectionError(
            f"proxy {proxy.address} refused CONNECT {target}: {parts[1]} {reason}"
        )


def _socks5_connect(sock: socket.socket, proxy: Proxy, host: str, port: int) -> None:
    methods = b"\x00\x02" if proxy.username is not None else b"\x00"
    sock.sendall(b"\x05" + bytes([len(methods)]) + methods)
    version, method = _recv_exact(sock, 2, proxy)
    if version != 5:
        raise ConnectionError(f"proxy {proxy.address} does not speak SOCKS5")
    if method == 2 and proxy.username is not None:
        user = proxy.username.encode()
        password = (proxy.password or "").encode()
        sock.sendall(b"\x01" + bytes([len(user)]) + user + bytes([len(password)]) + password)
        if _recv_exact(sock, 2, proxy)[1] != 0:
            raise ConnectionError(f"proxy {proxy.address} rejected the username and password")
    elif method != 0:
        raise ConnectionError(f"proxy {proxy.address} accepts none of our SOCKS5 auth methods")
    ip = ip_bytes(host)
    if ip is None:
        name = host.encode("idna")
        address = b"\x03" + bytes([len(name)]) + name
    else:
        address = (b"\x01" if len(ip) == 4 else b"\x04") + ip
    sock.sendall(b"\x05\x01\x00" + address + port.to_bytes(2, "big"))
    _, reply, _, kind = _recv_exact(sock, 4, proxy)
    if reply != 0:
        why = _SOCKS_REPLIES.get(reply, f"reply {reply}")
        raise ConnectionError(
            f"proxy {proxy.address} cannot connect to {_hostport(host, port)}: {why}"
        )
    bound = {1: 4, 4: 16}.get(kind)
    if bound is None:
        bound = _recv_exact(sock, 1, proxy)[0]
    _recv_exact(sock, bound + 2, proxy)


class _TLSInTLS:
    """TLS to the API server carried inside the TLS session to an https proxy.

    Presents the few socket methods ``http.client`` and the pool use; timeouts,
    ``fileno`` and ``shutdown`` are the outer socket's.
    """

    def __init__(self, outer: ssl.SSLSocket, context: ssl.SSLContext, server_hostname: str):
        self._outer = outer
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_hostname=server_hostname
        )
        self._run(self._tls.do_handshake)

    def _run(self, op: Any, *args: Any) -> Any:
        while True:
            try:
                result = op(*args)
            except ssl.SSLWantReadError:
                self._flush()
                data = self._outer.recv(65536)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
                continue
            self._flush()
            return result

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            self._outer.sendall(data)

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        try:
            return int(self._run(self._tls.read, nbytes or len(buffer), buffer))
        except ssl.SSLZeroReturnError:
            return 0

    def recv(self, size: int) -> bytes:
        buffer = bytearray(size)
        return bytes(buffer[: self.recv_into(buffer)])

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._run(self._tls.write, view) :]

    def makefile(self, mode: str = "rb", buffering: int | None = None) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self))

    def settimeout(self, timeout: float | None) -> None:
        self._outer.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self._outer.gettimeout()

    def fileno(self) -> int:
        return self._outer.fileno()

    def shutdown(self, how: int) -> None:
        self._outer.shutdown(how)

    def close(self) -> None:
        self._outer.close()


class _Reader(io.RawIOBase):
    """The read side of ``_TLSInTLS`` as a raw stream, for ``http.client``'s buffered reader."""

    def __init__(self, sock: _TLSInTLS) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(buffer)

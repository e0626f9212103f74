"""Which proxy a connection to the API server goes through, decided as kubectl decides it.

A cluster's ``proxy-url`` applies to every request, loopback addresses
included. Without one, kubectl (Go's ``http.ProxyFromEnvironment``) reads
``HTTPS_PROXY`` for https servers and ``HTTP_PROXY`` for http ones (each name
upper case first, then lower case), never proxies ``localhost`` or a loopback
IP, and skips hosts that ``NO_PROXY`` names: ``*``, IPs, CIDRs, domains
(``example.com`` matches it and its subdomains, ``.example.com`` and
``*.example.com`` only the subdomains), each optionally with ``:port``.

The decision is made once, when the config is loaded, so the client never
reads the environment; addresses are parsed with ``socket.inet_pton`` rather
than ``ipaddress`` to keep the runner's imports small.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

__all__ = [
    "PROXY_SCHEMES",
    "Proxy",
    "ProxyError",
    "from_environment",
    "ip_bytes",
    "no_proxy_matches",
    "parse",
]

#: the proxy schemes kubectl accepts, with their default ports
PROXY_SCHEMES = {"http": 80, "https": 443, "socks5": 1080}
_SERVER_PORTS = {"http": 80, "https": 443}


class ProxyError(ValueError):
    """A proxy URL that cannot be used; the message names it (without its password)."""


@dataclass(frozen=True, repr=False)
class Proxy:
    """One proxy server; ``username``/``password`` come from the URL's user info."""

    scheme: str
    host: str
    port: int
    username: str | None = field(default=None)
    password: str | None = field(default=None)
    #: the ``proxy-url`` text when a kubeconfig set it (exec plugins asking for cluster info get it)
    kubeconfig_url: str | None = field(default=None, compare=False)

    @property
    def address(self) -> str:
        """``scheme://host:port``, safe for messages (no credentials)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def __repr__(self) -> str:
        return f"Proxy({self.address!r})"

    def basic_authorization(self) -> str | None:
        """The ``Proxy-Authorization`` value for an http(s) proxy with user info, if any."""
        if self.username is None:
            return None
        import base64

        pair = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def parse(url: str) -> Proxy:
    """A proxy URL as kubeconfig's ``proxy-url`` takes it: http, https or socks5.

    Raises:
        ProxyError: another scheme, or no host.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise ProxyError(f"cannot parse proxy URL: {e}") from None
    if parts.scheme not in PROXY_SCHEMES:
        raise ProxyError(f'unsupported scheme "{parts.scheme}", must be http, https, or socks5')
    if not parts.hostname:
        raise ProxyError("the proxy URL has no host")
    return Proxy(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or PROXY_SCHEMES[parts.scheme],
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _from_variable(name: str, value: str) -> Proxy | None:
    """A proxy variable read as Go reads it: without a scheme and host it means http://VALUE.

    Raises:
        ProxyError: a scheme kubectl cannot use (kubectl's requests would fail too).
    """
    try:
        parts = urlsplit(value)
        if not parts.scheme or not parts.netloc:
            parts = urlsplit("http://" + value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None  # Go ignores a variable it cannot parse
    if not parts.hostname:
        return None
    try:
        return parse(parts.geturl())
    except ProxyError as e:
        raise ProxyError(f"{name}: {e}") from None


def _first(env: Mapping[str, str], *names: str) -> tuple[str, str]:
    """The first of ``names`` set to a non-empty value, and that value."""
    for name in names:
        if env.get(name):
            return name, env[name]
    return "", ""


def from_environment(server: str, env: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy for requests to ``server`` from HTTPS_PROXY/HTTP_PROXY and NO_PROXY.

    Raises:
        ProxyError: the variable that applies names an unusable proxy.
    """
    env = os.environ if env is None else env
    parts = urlsplit(server)
    if parts.scheme == "https":
        name, value = _first(env, "HTTPS_PROXY", "https_proxy")
    elif parts.scheme == "http":
        name, value = _first(env, "HTTP_PROXY", "http_proxy")
    else:
        return None
    proxy = _from_variable(name, value) if value else None
    if proxy is None:
        return None
    try:
        port = parts.port or _SERVER_PORTS[parts.scheme]
    except ValueError:
        return None
    # Go compares the name as written: "localhost" is exempt, "LOCALHOST" is not
    raw_host = parts.netloc.rpartition("@")[2]
    raw_host = raw_host[1:].partition("]")[0] if raw_host.startswith("[") else raw_host
    if raw_host.partition(":")[0] == "localhost" or _is_loopback(parts.hostname or ""):
        return None
    if no_proxy_matches(_first(env, "NO_PROXY", "no_proxy")[1], parts.hostname or "", port):
        return None
    return proxy


# --- NO_PROXY ----------------------------------------------------------------------------


def ip_bytes(text: str) -> bytes | None:
    """The address bytes of an IPv4 or IPv6 literal (IPv4-mapped IPv6 as IPv4), else None."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            packed = socket.inet_pton(family, text)
        except (OSError, ValueError):
            continue
        if len(packed) == 16 and packed[:12] == b"\0" * 10 + b"\xff\xff":
            return packed[12:]
        return packed
    return None


def _is_loopback(host: str) -> bool:
    ip = ip_bytes(host)
    if ip is None:
        return False
    return ip[0] == 127 if len(ip) == 4 else ip == b"\0" * 15 + b"\x01"


def _in_cidr(ip: bytes, cidr: str) -> bool | None:
    """Whether ``ip`` is in ``cidr``; None when ``cidr`` is not a CIDR."""
    network, _, bits = cidr.partition("/")
    net = ip_bytes(network)
    if net is None or not bits.isdigit():
        return None
    prefix = int(bits)
    if ":" in network and len(net) == 4:  # ::ffff:a.b.c.d/n counts the IPv6 bits
        prefix -= 96
    if not 0 <= prefix <= len(net) * 8:
        return None
    if len(ip) != len(net):
        return False
    shift = len(net) * 8 - prefix
    return int.from_bytes(ip, "big") >> shift == int.from_bytes(net, "big") >> shift


def _split_port(entry: str) -> tuple[str, str]:
    """``host:port``, ``[v6]:port``, or a bare host (IPv6 without brackets included)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else ""
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, port
    return entry, ""


def no_proxy_matches(no_proxy: str, host: str, port: int) -> bool:
    """Whether a NO_PROXY value exempts ``host:port`` from the proxy (Go's rules)."""
    host = host.strip().lower()
    ip = ip_bytes(host)
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:
            inside = _in_cidr(ip, entry) if ip is not None else None
            if inside:
                return True
            if inside is not None or ip_bytes(entry.partition("/")[0]) is not None:
                continue
        name, entry_port = _split_port(entry)
        if not name:
            continue
        if entry_port and entry_port != str(port):
            continue
        entry_ip = ip_bytes(name)
        if entry_ip is not None:
            if ip is not None and entry_ip == ip:
                return True
            continue
        if ip is not None:
            continue  # names never match an IP host
        if name.startswith("*."):
            name = name[1:]
        if name.startswith("."):
            if host.endswith(name):
                return True
        elif host == name or host.endswith("." + name):
            return True
    return False

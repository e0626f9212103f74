"""Proxy choice as Go's http.ProxyFromEnvironment makes it (kubectl's rules), and proxy URLs."""

from __future__ import annotations

import pytest

from runner.kube.proxy import ProxyError, from_environment, no_proxy_matches, parse

#: (NO_PROXY, host, port, exempt?) - each row checked against Go's httpproxy rules
NO_PROXY_CASES = [
    ("", "api.example.com", 443, False),
    ("*", "api.example.com", 443, True),
    ("*", "10.1.2.3", 6443, True),
    ("  API.Example.com ", "api.example.com", 443, True),  # trimmed, case-insensitive
    ("example.com", "example.com", 443, True),  # a bare domain matches itself...
    ("example.com", "api.example.com", 443, True),  # ...and its subdomains
    ("example.com", "badexample.com", 443, False),  # but not a longer name
    (".example.com", "example.com", 443, False),  # a leading dot: subdomains only
    (".example.com", "api.example.com", 443, True),
    ("*.example.com", "example.com", 443, False),  # *. is the same as a leading dot
    ("*.example.com", "a.b.example.com", 443, True),
    ("example.com:6443", "api.example.com", 6443, True),  # with a port: that port only
    ("example.com:6443", "api.example.com", 443, False),
    ("10.1.2.3", "10.1.2.3", 6443, True),
    ("10.1.2.3", "10.1.2.4", 6443, False),
    ("10.1.2.3:6443", "10.1.2.3", 6443, True),
    ("10.1.2.3:6443", "10.1.2.3", 443, False),
    ("10.0.0.0/8", "10.200.3.4", 443, True),
    ("10.0.0.0/8", "11.0.0.1", 443, False),
    ("10.0.0.0/8", "ten.example", 443, False),  # CIDRs match IP hosts only
    ("192.168.0.0/16,fd00::/8", "fd00::1", 443, True),
    ("fd00::/8", "fe80::1", 443, False),
    ("::1", "::1", 443, True),
    ("[fd00::2]:443", "fd00::2", 443, True),
    ("[fd00::2]:443", "fd00::2", 6443, False),
    ("10.0.0.0/8", "::ffff:10.0.0.1", 443, True),  # IPv4-mapped IPv6 is IPv4
    ("other.example, ,api.example.com", "api.example.com", 443, True),  # empty entries skipped
    (":443", "api.example.com", 443, False),  # no host: ignored
    ("0.0.1", "10.0.0.1", 443, False),  # names never match an IP host
    ("10.0.0.0/40", "10.0.0.1", 443, False),  # not a CIDR, so a name: matches nothing
]


@pytest.mark.parametrize(("no_proxy", "host", "port", "exempt"), NO_PROXY_CASES)
def test_no_proxy_matching(no_proxy: str, host: str, port: int, exempt: bool) -> None:
    assert no_proxy_matches(no_proxy, host, port) is exempt


def test_loopback_and_localhost_are_never_proxied_from_the_environment() -> None:
    env = {"HTTPS_PROXY": "http://proxy.example:3128", "HTTP_PROXY": "http://proxy.example:3128"}
    for server in (
        "https://127.0.0.1:6443",
        "https://127.9.9.9",
        "https://[::1]:6443",
        "https://localhost:6443",
        "http://127.0.0.1:8080",
    ):
        assert from_environment(server, env) is None, server
    # Go compares "localhost" as written
    upper = from_environment("https://LOCALHOST:6443", env)
    assert upper is not None
    for server in ("https://10.0.0.1:6443", "https://kubernetes.default.svc", "https://[fd00::1]"):
        proxy = from_environment(server, env)
        assert proxy is not None and proxy.host == "proxy.example", server


def test_proxy_variables_by_scheme_and_case() -> None:
    assert from_environment("https://k.example", {"HTTP_PROXY": "http://p:1"}) is None
    assert from_environment("http://k.example", {"HTTPS_PROXY": "http://p:1"}) is None
    http = from_environment("http://k.example", {"http_proxy": "p:8"})
    assert http is not None and http.address == "http://p:8"
    both = {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:1"}
    chosen = from_environment("https://k.example", both)
    assert chosen is not None and chosen.host == "upper"
    # an empty upper-case value falls through to the lower-case one, as in Go
    chosen = from_environment("https://k.example", {"HTTPS_PROXY": "", "https_proxy": "http://l:2"})
    assert chosen is not None and chosen.host == "l"
    # a scheme kubectl cannot use is an error naming the variable; garbage is ignored, as in Go
    with pytest.raises(ProxyError, match='https_proxy: unsupported scheme "ftp"'):
        from_environment("https://k.example", {"https_proxy": "ftp://p:21"})
    assert from_environment("https://k.example", {"HTTPS_PROXY": "http://p:99999"}) is None
    # NO_PROXY uses the server's default port when the URL has none
    assert from_environment("https://k.example", {**both, "NO_PROXY": "k.example:443"}) is None


def test_parse_proxy_urls() -> None:
    proxy = parse("socks5://u:p%40ss@[fd00::9]")
    assert (proxy.scheme, proxy.host, proxy.port, proxy.username, proxy.password) == (
        "socks5",
        "fd00::9",
        1080,
        "u",
        "p@ss",
    )
    assert proxy.address == "socks5://[fd00::9]:1080"
    assert "p@ss" not in repr(proxy)
    assert parse("http://u:p@h:1").basic_authorization() == "Basic dTpw"
    assert parse("http://h:1").basic_authorization() is None
    for bad, why in (
        ("ftp://h", 'unsupported scheme "ftp"'),
        ("h:3128", 'unsupported scheme "h"'),
        ("http://", "no host"),
        ("http://h:99999", "cannot parse"),
    ):
        with pytest.raises(ProxyError, match=why):
            parse(bad)

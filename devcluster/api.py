"""The smallest HTTPS client the devcluster needs: JSON requests and a line-wise watch.

The harness must not depend on the product's own API client (runner/kube), or a
bug there would break the very cluster that tests it. urllib3 is already a
project dependency; client-certificate authentication keeps this tiny.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import urllib3

from devcluster.layout import Layout

JsonObj = dict[str, Any]


class ApiError(RuntimeError):
    """A non-2xx answer from the API server; ``status`` is the HTTP code, 0 if none came.

    Transport failures (refused connection, dropped stream) are ApiErrors too, so
    callers handle "the API server is unavailable" in one place.
    """

    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body[:300]}")
        self.status = status


class Api:
    """JSON over HTTPS to one API server, authenticated by a client certificate."""

    def __init__(self, server: str, ca_file: str, cert_file: str, key_file: str) -> None:
        self.server = server.rstrip("/")
        self._pool = urllib3.PoolManager(
            ca_certs=ca_file, cert_file=cert_file, key_file=key_file, retries=False, maxsize=8
        )

    @classmethod
    def for_client(cls, lay: Layout, client: str) -> Api:
        """A client with one of the devcluster's generated identities (see pki.CLIENTS)."""
        pki = lay.pki_dir
        return cls(
            lay.server, str(pki / "ca.crt"), str(pki / f"{client}.crt"), str(pki / f"{client}.key")
        )

    def _url(self, path: str, query: Mapping[str, Any] | None) -> str:
        return self.server + path + ("?" + urlencode(query) if query else "")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> JsonObj:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        try:
            resp = self._pool.request(
                method, self._url(path, query), body=data, headers=headers, timeout=timeout
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ApiError(0, method, path, str(exc)) from exc
        text = resp.data.decode(errors="replace")
        if resp.status >= 300:
            raise ApiError(resp.status, method, path, text)
        if not text:
            return {}
        try:
            parsed: JsonObj = json.loads(text)
        except json.JSONDecodeError:
            return {"raw": text}
        return parsed

    def get(self, path: str, **query: Any) -> JsonObj:
        return self.request("GET", path, query=query or None)

    def get_text(self, path: str, timeout: float = 5.0) -> tuple[int, str]:
        """Status and body of a plain GET (health endpoints answer text, not JSON)."""
        resp = self._pool.request("GET", self.server + path, timeout=timeout)
        return resp.status, resp.data.decode(errors="replace")

    def watch(self, path: str, **query: Any) -> Iterator[JsonObj]:
        """Yield watch events until the server ends the stream."""
        query = {**query, "watch": "true"}
        try:
            resp = self._pool.request(
                "GET",
                self._url(path, query),
                headers={"Accept": "application/json"},
                preload_content=False,
                timeout=urllib3.Timeout(connect=10.0, read=None),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ApiError(0, "WATCH", path, str(exc)) from exc
        try:
            if resp.status >= 300:
                raise ApiError(resp.status, "WATCH", path, resp.read().decode(errors="replace"))
            buf = b""
            for chunk in resp.stream(64 * 1024, decode_content=True):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        except urllib3.exceptions.HTTPError as exc:
            raise ApiError(0, "WATCH", path, str(exc)) from exc
        finally:
            resp.release_conn()

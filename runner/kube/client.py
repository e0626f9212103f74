"""A small Kubernetes API client over the standard library, shared by the runner and the plugin.

The official client costs 146 ms and 43 MiB to import; this one needs only
http.client, json and ssl (``runner.kube.transport`` pools the connections), so
the runner stays small and the plugin answers fast. It speaks plain REST:
discovery maps kinds to URLs, every verb is one HTTP call, and failures become
the ``runner.kube.errors`` tree. It holds no object cache and never reconnects
a watch: list+watch+relist belongs to the caller.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

from runner.kube.auth import Credential, StaticSource, credential_source
from runner.kube.config import ClientConfig, load_config
from runner.kube.discovery import DiscoveryCache, ResourceInfo
from runner.kube.errors import ApiError, ConnectionFailed, error_from_response
from runner.kube.tls import tls_context, tls_settings
from runner.kube.transport import ConnectionPool, HTTPException, Response, Timeout
from runner.kube.watch import WatchStream

__all__ = ["PATCH_CONTENT_TYPES", "ByteStream", "KubeClient", "PatchType", "QueryValue"]

QueryValue = str | int | bool | None
PatchType = Literal["merge", "json", "strategic", "apply"]

#: patch type -> the Content-Type that selects it on the server
PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}

#: A watch with no event for this much longer than its timeoutSeconds is dead.
_WATCH_READ_MARGIN = 30.0
_CONNECT_TIMEOUT = 10.0


def _query_text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _encode_body(body: Any) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def _name_of(body: Mapping[str, Any]) -> str:
    name = (body.get("metadata") or {}).get("name")
    if not name:
        raise ValueError("the object has no metadata.name")
    return str(name)


class KubeClient:
    """Talks to one API server; thread-safe, one connection pool shared by all threads.

    ``max_connections`` idle connections are kept (a few workers plus a watch);
    more are opened when needed and dropped afterwards.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        user_agent: str = "kubectl-trigger",
        timeout: float = 30.0,
        max_connections: int = 8,
    ) -> None:
        self.config = config
        self._user_agent = user_agent
        self._default_timeout = timeout
        self._max_connections = max_connections
        try:
            url = urlsplit(config.server)
            port = url.port
        except ValueError:
            url, port = None, None
        if url is None or url.scheme not in ("https", "http") or not url.hostname:
            raise ValueError(f"server must be an http(s) URL, got {config.server!r}")
        self._scheme = url.scheme
        self._host = url.hostname
        self._port = port or (443 if url.scheme == "https" else 80)
        self._base_path = (url.path or "").rstrip("/")
        self._credentials = credential_source(config)
        self._refreshable = not isinstance(self._credentials, StaticSource)
        self._pool_lock = threading.Lock()
        self._pool: ConnectionPool | None = None
        self._pool_key: tuple[str | None, str | None] = (None, None)
        self._discovery = DiscoveryCache(lambda path: self.request("GET", path))

    @classmethod
    def from_config(cls, kubeconfig: str | None = None, context: str | None = None) -> KubeClient:
        """A client for the usual case: in-cluster in a pod, else kubeconfig."""
        return cls(load_config(kubeconfig, context))

    def __repr__(self) -> str:
        return f"KubeClient(server={self.config.server!r}, auth={self.config.auth_kind!r})"

    @property
    def default_namespace(self) -> str:
        """The config's namespace, used when an object call names none."""
        return self.config.namespace

    # --- transport -----------------------------------------------------------------------

    def _pool_for(self, cred: Credential) -> ConnectionPool:
        """The pool for the credential's client certificate (an exec plugin may rotate it).

        Raises:
            OSError: the CA or client certificate cannot be loaded.
        """
        key = (cred.cert_data, cred.key_data)
        with self._pool_lock:
            if self._pool is None or key != self._pool_key:
                old = self._pool
                if self._scheme == "https":
                    settings = tls_settings(self.config, cred.cert_data, cred.key_data)
                    self._pool = ConnectionPool(
                        self._host,
                        self._port,
                        tls=tls_context(settings),
                        server_hostname=settings.get("server_hostname"),
                        proxy=self.config.proxy,
                        extra_headers=self.config.impersonate,
                        maxsize=self._max_connections,
                    )
                else:
                    self._pool = ConnectionPool(
                        self._host,
                        self._port,
                        proxy=self.config.proxy,
                        extra_headers=self.config.impersonate,
                        maxsize=self._max_connections,
                    )
                self._pool_key = key
                if old is not None:
                    old.close()  # closes idle connections only; in-flight ones finish
            return self._pool

    def _url(self, path: str, query: Mapping[str, QueryValue] | None) -> str:
        url = self._base_path + path
        if query:
            pairs = [(k, _query_text(v)) for k, v in query.items() if v is not None]
            if pairs:
                url += "?" + urlencode(pairs, quote_via=quote)
        return url

    def _headers(self, cred: Credential, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        if cred.token:
            headers["Authorization"] = f"Bearer {cred.token}"
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def _open(
        self,
        method: str,
        path: str,
        query: Mapping[str, QueryValue] | None,
        body: bytes | None,
        content_type: str,
        timeout: Timeout,
    ) -> Response:
        """Send one request; a 2xx answer is returned with its body unread, anything else
        raised as an ApiError (``ConnectionFailed`` when no answer arrived).

        A 401 with a refreshable credential (token file, exec plugin) is retried
        once with a fresh credential.
        """
        url = self._url(path, query)
        for attempt in (1, 2):
            cred = self._credentials.get()
            try:
                response = self._pool_for(cred).request(
                    method,
                    url,
                    body=body,
                    headers=self._headers(cred, content_type if body is not None else None),
                    timeout=timeout,
                )
            except (HTTPException, OSError) as e:
                raise ConnectionFailed(f"{method} {self.config.server}{path} failed: {e}") from e
            if 200 <= response.status < 300:
                return response
            try:
                data = response.read()
            except (HTTPException, OSError):
                data = b""
                response.close()
            if response.status == 401 and attempt == 1 and self._refreshable:
                self._credentials.invalidate()
                continue
            raise error_from_response(response.status, data, response.headers)
        raise AssertionError("unreachable")  # pragma: no cover

    def _timeout(self, timeout: float | None) -> Timeout:
        total = self._default_timeout if timeout is None else timeout
        return Timeout(connect=min(_CONNECT_TIMEOUT, total), read=total)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One API call; the JSON answer decoded (``{}`` when empty).

        ``body`` is sent as is when bytes or str, else encoded as JSON.

        Raises:
            ApiError: a subclass per status (``NotFound``, ``Conflict``, ...), or
                ``ConnectionFailed`` when no answer arrived.
        """
        response = self._open(
            method, path, query, _encode_body(body), content_type, self._timeout(timeout)
        )
        try:
            data = response.read()
        except (HTTPException, OSError) as e:
            response.close()
            raise ConnectionFailed(f"{method} {self.config.server}{path} failed: {e}") from e
        if not data:
            return {}
        try:
            decoded = json.loads(data)
        except ValueError:
            raise ApiError(
                response.status, "BadResponse", f"{method} {path}: the answer is not JSON"
            ) from None
        if not isinstance(decoded, dict):
            raise ApiError(response.status, "BadResponse", f"{method} {path}: not a JSON object")
        return decoded

    # --- discovery and paths -------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> ResourceInfo:
        """The REST resource for a kind, from (cached) discovery.

        Raises:
            ResourceNotFound: ``no kind "X" in apiVersion "Y"``, with a hint.
        """
        return self._discovery.by_kind(api_version, kind)

    def resource_for_plural(self, api_version: str, plural: str) -> ResourceInfo:
        """The REST resource by its plural name (``deployments``)."""
        return self._discovery.by_plural(api_version, plural)

    def invalidate_discovery(self) -> None:
        """Forget discovered resources (after installing or removing CRDs)."""
        self._discovery.invalidate()

    def path(
        self,
        info: ResourceInfo,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
    ) -> str:
        """The URL path of a collection, an object, or an object's subresource.

        ``namespace`` is ignored for cluster-scoped kinds; None for a namespaced
        kind is the all-namespaces collection.
        """
        path = info.prefix
        if info.namespaced and namespace:
            path += f"/namespaces/{quote(namespace, safe='')}"
        path += f"/{info.plural}"
        if name:
            path += f"/{quote(name, safe='')}"
            if subresource:
                path += f"/{subresource}"
        elif subresource:
            raise ValueError("a subresource needs an object name")
        return path

    def _object_namespace(
        self, info: ResourceInfo, namespace: str | None, body: Mapping[str, Any] | None = None
    ) -> str | None:
        """For one object: the given namespace, else the body's, else the config default."""
        if not info.namespaced:
            return None
        if namespace:
            return namespace
        from_body = ((body or {}).get("metadata") or {}).get("namespace")
        return str(from_body) if from_body else self.config.namespace

    # --- verbs ---------------------------------------------------------------------------

    def get(self, info: ResourceInfo, name: str, namespace: str | None = None) -> dict[str, Any]:
        """One object; ``NotFound`` when it does not exist."""
        return self.request("GET", self.path(info, self._object_namespace(info, namespace), name))

    def list_pages(
        self,
        info: ResourceInfo,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
        resource_version: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Each page (a List object) in turn, so callers never hold every item at once.

        ``namespace`` None lists every namespace. Watch from the last page's
        ``metadata.resourceVersion``.

        Raises:
            Gone: the continue token expired between pages; list again.
        """
        path = self.path(info, namespace)
        query: dict[str, QueryValue] = {
            "limit": limit,
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
            "resourceVersion": resource_version,
        }
        while True:
            page = self.request("GET", path, query=query)
            yield page
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            # a continue token carries its own resourceVersion; sending both is refused
            query = {**query, "continue": token, "resourceVersion": None}

    def watch(
        self,
        info: ResourceInfo,
        namespace: str | None = None,
        *,
        resource_version: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
        allow_bookmarks: bool = True,
        read_timeout: float | None = None,
    ) -> WatchStream:
        """Open a watch and iterate its raw events (``{"type": ..., "object": {...}}``).

        The request is sent now, so errors such as ``Forbidden`` raise here; events
        are decoded as each line arrives. Iteration ends when the server closes the
        stream (after ``timeout_seconds``). ``close()`` (any thread) releases the
        connection. Nothing reconnects: the caller watches again from its last
        resourceVersion, or relists after ``Gone``.

        Raises:
            Gone: (while iterating) the resourceVersion is too old; relist.
            ConnectionFailed: (while iterating) the stream broke or went silent for
                ``read_timeout`` seconds (default ``timeout_seconds`` + 30).
        """
        query: dict[str, QueryValue] = {
            "watch": True,
            "resourceVersion": resource_version,
            "allowWatchBookmarks": allow_bookmarks or None,
            "timeoutSeconds": timeout_seconds,
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
        }
        read = read_timeout if read_timeout is not None else timeout_seconds + _WATCH_READ_MARGIN
        path = self.path(info, namespace)
        response = self._open(
            "GET",
            path,
            query,
            None,
            "application/json",
            Timeout(connect=min(_CONNECT_TIMEOUT, read), read=read),
        )
        return WatchStream(response, path)

    def stream(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        read_timeout: float | None = None,
        chunk_size: int = 8192,
    ) -> ByteStream:
        """One API call whose raw answer is read piece by piece as it arrives.

        For answers that are not one JSON object or do not end: a pod's log,
        ``follow`` included (``/api/v1/namespaces/NS/pods/POD/log``). The request is
        sent now, so an error status raises here; iterating yields each piece of the
        body (at most ``chunk_size`` bytes) as soon as it arrives, and ends with the
        answer. ``read_timeout`` None waits for the next piece forever (a followed
        log may be quiet for hours). Close the stream (or use it in ``with``) when
        leaving early; reading it to the end releases the connection by itself.

        Raises:
            ApiError: a subclass per status, or ``ConnectionFailed`` when no answer
                arrived (and, while iterating, when the answer broke off).
        """
        connect = _CONNECT_TIMEOUT if read_timeout is None else min(_CONNECT_TIMEOUT, read_timeout)
        response = self._open(
            method,
            path,
            query,
            _encode_body(body),
            content_type,
            Timeout(connect=connect, read=read_timeout),
        )
        return ByteStream(response, f"{method} {self.config.server}{path}", chunk_size)

    def create(
        self,
        info: ResourceInfo,
        body: Mapping[str, Any],
        namespace: str | None = None,
        *,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Create an object (``generateName`` works); ``Conflict`` if the name is taken."""
        path = self.path(info, self._object_namespace(info, namespace, body))
        return self.request("POST", path, body=body, query={"dryRun": "All" if dry_run else None})

    def apply(
        self,
        info: ResourceInfo,
        body: Mapping[str, Any],
        namespace: str | None = None,
        *,
        field_manager: str,
        force: bool = True,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply ``body`` (which needs apiVersion, kind and metadata.name).

        JSON is valid YAML, so the body is sent as JSON with the apply content type.
        """
        return self.patch(
            info,
            _name_of(body),
            body,
            self._object_namespace(info, namespace, body),
            patch_type="apply",
            field_manager=field_manager,
            force=force,
            dry_run=dry_run,
        )

    def patch(
        self,
        info: ResourceInfo,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: PatchType = "merge",
        field_manager: str | None = None,
        subresource: str | None = None,
        force: bool | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Patch one object; ``patch`` is a dict/list (sent as JSON) or ready text.

        ``force`` is only meaningful for ``apply`` (take over conflicting fields).
        """
        content_type = PATCH_CONTENT_TYPES.get(patch_type)
        if content_type is None:
            raise ValueError(f"patch_type must be one of {', '.join(PATCH_CONTENT_TYPES)}")
        path = self.path(info, self._object_namespace(info, namespace), name, subresource)
        query: dict[str, QueryValue] = {
            "fieldManager": field_manager,
            "force": force if patch_type == "apply" else None,
            "dryRun": "All" if dry_run else None,
        }
        return self.request("PATCH", path, query=query, body=patch, content_type=content_type)

    def replace(
        self,
        info: ResourceInfo,
        body: Mapping[str, Any],
        namespace: str | None = None,
        subresource: str | None = None,
        *,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """PUT the whole object; with metadata.resourceVersion set, ``Conflict`` if it changed."""
        path = self.path(
            info, self._object_namespace(info, namespace, body), _name_of(body), subresource
        )
        return self.request("PUT", path, body=body, query={"dryRun": "All" if dry_run else None})

    def delete(
        self,
        info: ResourceInfo,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: Literal["Background", "Foreground", "Orphan"] | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any] | None:
        """Delete one object.

        Returns:
            The object when it still exists (finalizers pending, Foreground
            propagation), None when the server answered with a success Status.
        """
        path = self.path(info, self._object_namespace(info, namespace), name)
        query: dict[str, QueryValue] = {
            "propagationPolicy": propagation_policy,
            "dryRun": "All" if dry_run else None,
        }
        result = self.request("DELETE", path, query=query)
        return None if result.get("kind") == "Status" else result

    # --- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Close idle connections; the client stays usable (a new pool is made on demand)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
            self._pool = None

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ByteStream(Iterator[bytes]):
    """The body of one open answer, piece by piece (``KubeClient.stream``).

    The connection goes back to the pool when the body has been read to the
    end; ``close`` (or leaving a ``with`` block) drops it before that.
    """

    def __init__(self, response: Response, description: str, chunk_size: int) -> None:
        self._response: Response | None = response
        self._description = description
        self._chunk_size = chunk_size

    def __iter__(self) -> ByteStream:
        return self

    def __next__(self) -> bytes:
        response = self._response
        if response is None:
            raise StopIteration
        try:
            data = response.read1(self._chunk_size)
        except (HTTPException, OSError, ValueError) as e:
            self.close()
            raise ConnectionFailed(f"{self._description} broke off: {e}") from e
        if not data:
            self._response = None
            response.release()
            raise StopIteration
        return data

    def close(self) -> None:
        """Stop reading and drop the connection; safe more than once."""
        response, self._response = self._response, None
        if response is not None:
            response.close()

    def interrupt(self) -> None:
        """Wake a read another thread is blocked in: shut the socket down (from any thread).

        ``close`` from another thread would wait for that read (the buffered
        reader's lock), which a quiet stream may never finish; after a shutdown the
        reader sees the stream end and closes it itself. Nothing to do once ended.
        """
        shutdown = getattr(self._response, "shutdown", None)
        if callable(shutdown):
            with contextlib.suppress(OSError):
                shutdown()

    def __enter__(self) -> ByteStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

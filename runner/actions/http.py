"""Sending one HTTP request for webhook and chat actions, and judging the answer.

One urllib3 ``PoolManager`` serves every outgoing request (pools keyed by host
and TLS settings). The answer decides the outcome: 2xx succeeds; 408, 429, 5xx
and connection failures are retryable (``Retry-After`` is honoured); any other
status is permanent, as is a redirect (not followed: a POST must not silently
become a GET) and a certificate that fails verification. URLs often carry
tokens in their path or query, so every message shows only scheme and host
(``runner.actions.urls``). User info in a URL (``https://user:pass@host/``) is
sent as HTTP Basic authentication unless an ``Authorization`` header is given.

A receiver's reply body never goes into an error (errors become Events and
``status.lastError``): an error names the status code and its standard reason
phrase only. Receivers echo what they were sent, tokens included, so the body
is only logged at debug level, as a short excerpt scrubbed of every registered
secret (``runner.redact``) before it is cut.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import ssl
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    InsecureRequestWarning,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from runner import __version__, redact
from runner.actions.base import ActionContext, PermanentActionError, RetryableActionError
from runner.actions.tls import TlsConfig
from runner.actions.urls import check_url, parsed_url, redact_url

USER_AGENT = f"kubectl-trigger/{__version__}"
RETRYABLE_STATUS = frozenset({408, 425, 429})  # and every 5xx
SNIPPET = 120
#: how much of a reply body is scrubbed before the excerpt is cut from it
_SCRUB_WINDOW = 4096

#: urllib3 failure -> what the message says (most specific first; never the URL)
_FAILURES: tuple[tuple[type[Exception], str], ...] = (
    (NewConnectionError, "cannot connect"),
    (ConnectTimeoutError, "connect timed out"),
    (ReadTimeoutError, "timed out waiting for the answer"),
    (SSLError, "TLS handshake failed"),
    (ProtocolError, "connection broken"),
)

_pool_lock = threading.Lock()
_pool: urllib3.PoolManager | None = None
_quiet = False


def pool_manager() -> urllib3.PoolManager:
    """The process-wide pool manager (made on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = urllib3.PoolManager(num_pools=16, maxsize=4, headers={"User-Agent": USER_AGENT})
        return _pool


@dataclass(frozen=True)
class Answer:
    """A 2xx answer: status and a short, single-line piece of the body."""

    status: int
    text: str


def send(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    timeout: float,
    tls: TlsConfig,
    ctx: ActionContext,
) -> Answer:
    """Send one request; raise Retryable/PermanentActionError unless the answer is 2xx."""
    shown = f"{method} {redact_url(url)}"
    problem = check_url(url)
    if problem:
        raise PermanentActionError(f"{shown}: the URL {problem}")
    parsed = parsed_url(url)
    kwargs = tls.pool_kwargs(ctx) if parsed.scheme == "https" else {}
    headers = {"User-Agent": USER_AGENT, **_basic_auth(parsed.auth, headers), **headers}
    try:
        pool = pool_manager().connection_from_host(
            parsed.host, parsed.port, parsed.scheme, pool_kwargs=kwargs
        )
        if tls.insecure_skip_verify:
            _quiet_insecure_warning()
        response = pool.urlopen(
            method,
            parsed.request_uri,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(total=timeout),
            retries=False,
            redirect=False,
            assert_same_host=False,
            preload_content=True,
        )
    except HTTPError as exc:
        raise _failure(shown, exc) from None
    except OSError as exc:
        raise RetryableActionError(f"{shown} failed: {type(exc).__name__}") from None
    text = _snippet(response.data, url)
    status = response.status
    if 200 <= status < 300:
        return Answer(status, text)
    if text:
        ctx.log.debug("%s → %d; the reply began: %s", shown, status, text)
    phrase = reason(status)
    detail = f"{shown} → {status}" + (f" {phrase}" if phrase else "")
    if status in RETRYABLE_STATUS or status >= 500:
        wait = retry_after(response.headers.get("Retry-After"))
        raise RetryableActionError(detail, retry_after=wait)
    if 300 <= status < 400:
        raise PermanentActionError(f"{detail} (redirects are not followed; use the final URL)")
    raise PermanentActionError(detail)


def reason(status: int) -> str:
    """The standard reason phrase of ``status`` (never the receiver's own, which it may fill)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _basic_auth(auth: str | None, headers: Mapping[str, str]) -> dict[str, str]:
    """``Authorization: Basic ...`` from a URL's user info, unless the headers set one."""
    if not auth or any(name.lower() == "authorization" for name in headers):
        return {}
    user, _, password = auth.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _quiet_insecure_warning() -> None:
    """The spec asked for no verification; one warning per request would only be noise."""
    global _quiet
    if not _quiet:
        warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        _quiet = True


def _failure(shown: str, exc: HTTPError) -> Exception:
    if isinstance(exc, SSLError) and _verification_failed(exc):
        return PermanentActionError(f"{shown} failed: the server's certificate is not trusted")
    for cls, phrase in _FAILURES:
        if isinstance(exc, cls):
            return RetryableActionError(f"{shown} failed: {phrase}")
    return RetryableActionError(f"{shown} failed: {type(exc).__name__}")


def _verification_failed(exc: BaseException) -> bool:
    seen: list[BaseException] = [exc, *(a for a in exc.args if isinstance(a, BaseException))]
    if exc.__cause__ is not None:
        seen.append(exc.__cause__)
    if exc.__context__ is not None:
        seen.append(exc.__context__)
    return any(isinstance(e, ssl.SSLCertVerificationError) for e in seen) or (
        "CERTIFICATE_VERIFY_FAILED" in str(exc)
    )


def retry_after(header: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not header:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


def _snippet(data: bytes, url: str) -> str:
    """A short, single-line piece of a reply body, scrubbed of secrets and the URL, then cut."""
    text = " ".join(data[:_SCRUB_WINDOW].decode("utf-8", "replace").split())
    if not text:
        return ""
    parsed = parsed_url(url)
    for secret in (url, parsed.request_uri if parsed.path not in (None, "", "/") else ""):
        if secret:
            text = text.replace(secret, "…")
    return redact.scrub(text)[:SNIPPET]

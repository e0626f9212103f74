"""The API client's one error tree, and the one place HTTP answers become errors.

Callers decide what to do from the class (``NotFound``, ``Gone``, ...) and from
``retryable``, never from status codes or message text. Messages are the API
server's own ``Status.message`` so users see what kubectl would show. Nothing
here ever sees a credential: errors are built from response bodies only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "Gone",
    "Invalid",
    "NotFound",
    "ResourceNotFound",
    "ServerError",
    "TooManyRequests",
    "Unauthorized",
    "error_from_response",
    "error_from_status",
]

#: How much of a non-JSON error body (a proxy's HTML page, say) goes into a message.
_TEXT_LIMIT = 200


class ApiError(Exception):
    """The API server refused or failed a request.

    ``body`` is the decoded ``Status`` object when the server sent one.
    ``retry_after`` is the delay the server asked for (Retry-After header or
    ``details.retryAfterSeconds``), if any.
    """

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        body: dict[str, Any] | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.message} ({self.status} {self.reason})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, reason={self.reason!r}, "
            f"message={self.message!r})"
        )


class BadRequest(ApiError):
    """400: the request itself is malformed (a bad selector, say)."""


class Unauthorized(ApiError):
    """401: the credentials are missing, wrong or expired."""


class Forbidden(ApiError):
    """403: authenticated, but RBAC does not allow this."""


class NotFound(ApiError):
    """404: no such object (or no such resource type)."""


class Conflict(ApiError):
    """409: already exists, or the object changed since it was read; re-read and retry."""

    retryable = True


class Gone(ApiError):
    """410: the resourceVersion or continue token expired; the caller must relist."""


class Invalid(ApiError):
    """422: the object fails validation; retrying the same body cannot help."""


class TooManyRequests(ApiError):
    """429: throttled (API priority and fairness); wait ``retry_after`` seconds."""

    retryable = True


class ServerError(ApiError):
    """5xx: the server or something behind it failed; try again later."""

    retryable = True


class ConnectionFailed(ApiError):
    """No HTTP answer at all: connection refused, TLS failure, timeout, reset."""

    retryable = True

    def __init__(self, message: str) -> None:
        super().__init__(0, "ConnectionFailed", message)

    def __str__(self) -> str:
        return self.message


class ResourceNotFound(NotFound):
    """Discovery does not know a kind: usually a typo or a CRD that is not installed."""

    def __init__(self, message: str, hint: str) -> None:
        self.hint = hint
        super().__init__(404, "NotFound", message)

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}"


#: Status code -> error class; 5xx and everything else are handled in ``_class_for``.
_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}


def _class_for(status: int) -> type[ApiError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)


def _retry_after(header: str | None, status: Mapping[str, Any] | None) -> float | None:
    """Seconds to wait: the header (delta-seconds form) wins over the Status details."""
    if header:
        try:
            return max(0.0, float(header.strip()))
        except ValueError:
            pass  # an HTTP-date; the API server never sends one, so ignore it
    details = (status or {}).get("details")
    if isinstance(details, Mapping):
        seconds = details.get("retryAfterSeconds")
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            return float(seconds)
    return None


def error_from_status(
    status: Mapping[str, Any], *, http_status: int = 0, retry_after: str | None = None
) -> ApiError:
    """The error for a ``Status`` object (an error response or a watch ERROR event)."""
    code = status.get("code")
    code = code if isinstance(code, int) and code > 0 else http_status
    reason = str(status.get("reason") or _class_for(code).__name__)
    message = str(status.get("message") or reason)
    cls = _class_for(code)
    return cls(code, reason, message, dict(status), retry_after=_retry_after(retry_after, status))


class Headers(Protocol):
    """Response headers: a mapping, or ``http.client``'s case-insensitive message."""

    def get(self, name: str, /) -> str | None: ...


def error_from_response(status: int, data: bytes, headers: Headers) -> ApiError:
    """Translate one non-2xx HTTP answer; the only place an HTTP status becomes an error."""
    decoded: Any = None
    if data:
        try:
            decoded = json.loads(data)
        except ValueError:
            decoded = None
    retry_after = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(decoded, dict) and decoded.get("kind") == "Status":
        return error_from_status(decoded, http_status=status, retry_after=retry_after)
    text = data[:_TEXT_LIMIT].decode("utf-8", "replace").strip() if data else ""
    cls = _class_for(status)
    reason = cls.__name__ if cls is not ApiError else "Error"
    body = decoded if isinstance(decoded, dict) else None
    return cls(
        status,
        reason,
        text or f"the server answered HTTP {status}",
        body,
        retry_after=_retry_after(retry_after, None),
    )

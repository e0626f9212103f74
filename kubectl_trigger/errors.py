"""The plugin's errors and their exit codes, and the one place client errors are translated.

Commands raise ``PluginError`` subclasses only. Errors from the API client, the
kubeconfig loader and the spec parser are turned into them by ``translated()``,
which every command that talks to a cluster or parses input wraps its work in;
``cli.main`` prints the message on stderr and exits with the error's code.

Exit codes (documented in docs/cli.md):

====  =======================================================================
0     success
1     the operation failed (conflict, already exists, timeout, server error)
2     bad input: usage, unreadable file, bad YAML, invalid spec, unknown kind
3     a named object was not found, or the CRDs are not installed
4     the cluster cannot be used: no kubeconfig, unreachable, unauthorized,
      forbidden
====  =======================================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_FOUND = 3
EXIT_CLUSTER = 4
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a SIGINT


class PluginError(Exception):
    """Something the user is told about on stderr; ``exit_code`` says how the process ends."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class OperationFailed(PluginError):
    """The API server refused or failed an operation for a reason other than input."""


class BadInput(PluginError):
    """A file, a flag or a spec is wrong; ``details`` lists every problem found."""

    exit_code = EXIT_BAD_INPUT


class NotFoundError(PluginError):
    """A Trigger (or another named object) does not exist."""

    exit_code = EXIT_NOT_FOUND


class ClusterUnavailable(PluginError):
    """No usable kubeconfig, the server is unreachable, or the user lacks the rights."""

    exit_code = EXIT_CLUSTER


#: What every command says when the API server does not serve the plugin's kinds.
CRD_MISSING = "the Trigger CRD is not installed in this cluster; run: kubectl trigger install"


class CrdMissing(NotFoundError):
    """The API server does not serve the plugin's own kinds: ``install`` was never run."""

    def __init__(self) -> None:
        super().__init__(CRD_MISSING)


def type_not_served(exc: BaseException) -> bool:
    """Whether a 404 means the resource type is not served, rather than a missing object.

    A missing object is answered with a ``Status`` naming it (``details.name``);
    an API path nobody serves gets ``404 page not found`` (plain text), or a
    ``Status`` without details when only the group-version exists.
    """
    from runner.kube import errors as kube_errors

    if not isinstance(exc, kube_errors.NotFound) or isinstance(exc, kube_errors.ResourceNotFound):
        return False
    details = (exc.body or {}).get("details")
    return not (isinstance(details, dict) and details.get("name"))


def _spec_details(exc: BaseException) -> list[str]:
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list) and errors:
        return [str(e) for e in errors]
    return [str(exc)]


@contextmanager
def ignore_missing() -> Iterator[None]:
    """Suppress the API's NotFound for a missing object; a type not served still raises."""
    from runner.kube import errors as kube_errors

    try:
        yield
    except kube_errors.NotFound as e:
        if type_not_served(e):
            raise


@contextmanager
def translated(what: str = "") -> Iterator[None]:
    """Turn client, kubeconfig and spec errors raised inside into ``PluginError``s.

    ``what`` prefixes the message (``"create shop/web"``) so the user sees which
    object an error belongs to when a command handles several.
    """
    # Imported here: the runner's packages are not needed for --help.
    from runner.kube import errors as kube_errors
    from runner.kube.config import ConfigError
    from runner.spec.errors import SpecError, SpecErrors

    prefix = f"{what}: " if what else ""
    try:
        yield
    except PluginError:
        raise
    except SpecErrors as e:
        raise BadInput(f"{prefix}invalid spec", _spec_details(e)) from e
    except SpecError as e:
        raise BadInput(f"{prefix}invalid spec", [str(e)]) from e
    except ConfigError as e:
        raise ClusterUnavailable(f"{prefix}kubeconfig: {e}") from e
    except kube_errors.ApiError as e:
        if type_not_served(e):
            raise CrdMissing() from e
        cls = _API_ERRORS.get(type(e).__name__) or _by_status(e.status)
        raise cls(f"{prefix}{_api_message(e)}") from e


#: API error classes of runner.kube.errors (by name) -> the plugin error they become.
_API_ERRORS: dict[str, type[PluginError]] = {
    "NotFound": NotFoundError,
    "Forbidden": ClusterUnavailable,
    "Unauthorized": ClusterUnavailable,
    "Invalid": BadInput,
    "BadRequest": BadInput,
    "Conflict": OperationFailed,
    "ConnectionFailed": ClusterUnavailable,
    "ResourceNotFound": BadInput,  # discovery does not know a kind
}

#: HTTP status -> plugin error, for API errors without a dedicated class.
_STATUS_ERRORS: dict[int, type[PluginError]] = {
    400: BadInput,
    401: ClusterUnavailable,
    403: ClusterUnavailable,
    404: NotFoundError,
    422: BadInput,
}


def _by_status(status: int) -> type[PluginError]:
    return _STATUS_ERRORS.get(status, OperationFailed)


def _api_message(e: BaseException) -> str:
    """The server's own message (what kubectl shows), plus discovery's hint if any."""
    message = getattr(e, "message", "") or str(e)
    hint = getattr(e, "hint", "")
    return f"{message}; {hint}" if hint else message

"""Reads keys of Secrets in the trigger's namespace for actions, with a short cache.

Actions ask for one key at a time (a webhook URL, an SMTP password). The
Secret is fetched through the runner's client (RBAC limits it to the names the
spec mentions) and kept for ``ttl`` seconds, so a burst of events costs one
read and a rotated Secret is picked up soon. Values are never logged: errors
name the Secret and key only. Every value handed out is first registered with
``runner.redact``, so whatever a receiver echoes of it is scrubbed from logs,
Events, status and metrics; a value too short to scrub is warned about once.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runner import redact
from runner.actions.base import PermanentActionError, RetryableActionError

if TYPE_CHECKING:
    from runner.kube.client import KubeClient


class SecretReader:
    """``reader(name, key) -> str``, as ``ActionContext.read_secret`` expects."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        ttl: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.Lock()
        self._info: Any = None
        self._too_short: set[tuple[str, str]] = set()

    def __call__(self, name: str, key: str) -> str:
        data = self._data(name)
        if key not in data:
            raise PermanentActionError(f"Secret {self.namespace}/{name} has no key {key!r}")
        try:
            value = base64.b64decode(data[key]).decode()
        except (ValueError, UnicodeDecodeError):
            raise PermanentActionError(
                f"Secret {self.namespace}/{name} key {key!r} is not UTF-8 text"
            ) from None
        if not redact.register(value) and value and (name, key) not in self._too_short:
            self._too_short.add((name, key))
            logging.getLogger("runner.secrets").warning(
                "Secret %s/%s key %r holds fewer than %d characters: too short to be "
                "scrubbed from logs, Events and status if a receiver echoes it",
                self.namespace,
                name,
                key,
                redact.MIN_LENGTH,
            )
        return value

    def _data(self, name: str) -> dict[str, str]:
        now = self.clock()
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and now - cached[0] < self.ttl:
                return cached[1]
        from runner.kube.errors import ApiError, ConnectionFailed, NotFound

        try:
            if self._info is None:
                self._info = self.client.resource("v1", "Secret")
            secret = self.client.get(self._info, name, namespace=self.namespace)
        except NotFound:
            raise PermanentActionError(f"Secret {self.namespace}/{name} not found") from None
        except ApiError as exc:
            error = f"reading Secret {self.namespace}/{name} failed: HTTP {exc.status}"
            if exc.retryable:
                raise RetryableActionError(error) from None
            raise PermanentActionError(error) from None
        except (ConnectionFailed, OSError):
            raise RetryableActionError(
                f"reading Secret {self.namespace}/{name} failed: API server unreachable"
            ) from None
        data = dict(secret.get("data") or {})
        with self._lock:
            self._cache[name] = (now, data)
        return data

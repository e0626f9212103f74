"""``kubectl trigger test``: run a Trigger's filters and actions on one object, offline.

The runner's own code does the work (its compiled filters, its action ``run``
functions), so what ``test`` shows is what the runner would do. Nothing leaves
the machine: the API client is a recorder that answers reads from the event's
object and records every write, HTTP requests (webhook, slack, ...) are
intercepted below urllib3 and answered 200, and SMTP sessions are recorded.

Values from Secrets are what the ``test`` command could read with the user's
own rights before the run (kubectl_trigger.secretrefs); they are used, never
shown: the report says ``<secret NAME/KEY>`` in their place. A key that could
not be read runs with a stand-in (a URL under ``.invalid``, so URL checks
pass), and a failure of an action that used a stand-in is reported as not
checked, naming the Secret and key, never as a failure that may not happen.
A Secret or key that does not exist is a real failure: the runner's would fail.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from unittest import mock

from kubectl_trigger import rbac
from kubectl_trigger.prepare import Prepared

if TYPE_CHECKING:
    from kubectl_trigger.secretrefs import Lookup

Obj = dict[str, Any]


@dataclass
class Call:
    """One request an action would make."""

    what: str  # "PATCH apps/v1 Deployment shop/web", "POST https://..."
    body: Any = None


@dataclass
class ActionResult:
    """What one action would do."""

    name: str
    kind: str
    summary: str = ""
    calls: list[Call] = field(default_factory=list)
    error: str = ""
    secrets: list[str] = field(default_factory=list)  # "Secret ns/name key 'k': read", ...
    unchecked: str = ""  # why the outcome could not be checked (a Secret not read)


@dataclass
class Result:
    """The whole simulation."""

    trigger: str
    event: str
    object_ref: str
    matched: bool
    filter_lines: list[str] = field(default_factory=list)
    actions: list[ActionResult] = field(default_factory=list)


class RecordingClient:
    """Stands in for runner.kube's KubeClient: reads see the event's object, writes are recorded."""

    def __init__(self, event_object: Mapping[str, Any] | None, calls: list[Call]) -> None:
        self.object = dict(event_object or {})
        self.calls = calls

    def resource(self, api_version: str, kind: str) -> Any:
        """Resolve from the built-in table (no discovery offline)."""
        from kubectl_trigger.session import resource_info

        res = rbac.offline_resolver(api_version, kind)
        return resource_info(api_version, kind, res.resource, res.namespaced)

    def _matches(self, info: Any, name: str | None, namespace: str | None) -> bool:
        meta = self.object.get("metadata") or {}
        return (
            self.object.get("kind") == info.kind
            and (name is None or meta.get("name") == name)
            and (namespace is None or meta.get("namespace") in (None, namespace))
        )

    def get(self, info: Any, name: str, namespace: str | None = None, **_: Any) -> Obj:
        """The event object if it is the one asked for, else NotFound."""
        from runner.kube import errors as kube_errors

        self.calls.append(Call(f"GET {_ref(info, namespace, name)}"))
        if self._matches(info, name, namespace):
            return self.object
        raise kube_errors.NotFound(404, "NotFound", f"{info.kind} {name} (offline: not given)")

    def list_pages(self, info: Any, namespace: str | None = None, **kw: Any) -> Iterator[Obj]:
        """The event object, if it is of the listed kind; else nothing."""
        selector = kw.get("label_selector")
        self.calls.append(
            Call(f"LIST {_ref(info, namespace, '')}" + (f" -l {selector}" if selector else ""))
        )
        items = [self.object] if self._matches(info, None, namespace) else []
        yield {"items": items, "metadata": {}}

    def _write(self, verb: str, info: Any, name: str, namespace: str | None, body: Any) -> Obj:
        self.calls.append(Call(f"{verb} {_ref(info, namespace, name)}", body))
        return dict(body) if isinstance(body, Mapping) else {}

    def create(
        self, info: Any, body: Mapping[str, Any], namespace: str | None = None, **_: Any
    ) -> Obj:
        """Recorded, echoed back."""
        meta = body.get("metadata") or {}
        return self._write(
            "CREATE", info, meta.get("name") or meta.get("generateName", "") + "*", namespace, body
        )

    def apply(
        self, info: Any, body: Mapping[str, Any], namespace: str | None = None, **_: Any
    ) -> Obj:
        """Recorded, echoed back."""
        return self._write(
            "APPLY", info, (body.get("metadata") or {}).get("name", ""), namespace, body
        )

    def patch(
        self, info: Any, name: str, patch: Any, namespace: str | None = None, **kw: Any
    ) -> Obj:
        """Recorded; returns the event object when it is the one patched."""
        kind = kw.get("patch_type", "")
        self._write(f"PATCH({kind})" if kind else "PATCH", info, name, namespace, patch)
        return self.object if self._matches(info, name, namespace) else {}

    def delete(self, info: Any, name: str, namespace: str | None = None, **_: Any) -> Obj:
        """Recorded."""
        return self._write("DELETE", info, name, namespace, None)

    def request(self, method: str, path: str, **kw: Any) -> Any:
        """Recorded raw request."""
        self.calls.append(Call(f"{method} {path}", kw.get("body")))
        return {}


def _ref(info: Any, namespace: str | None, name: str) -> str:
    where = f"{namespace}/{name}" if namespace else name
    return f"{info.api_version} {info.kind} {where}".rstrip()


@contextlib.contextmanager
def offline_network(calls: list[Call]) -> Iterator[None]:
    """Record HTTP and SMTP instead of sending; answer HTTP with 200 and an empty body."""
    import smtplib
    import socket

    import urllib3

    def urlopen(
        pool: Any, method: str, url: str, body: Any = None, headers: Any = None, **_: Any
    ) -> urllib3.HTTPResponse:
        host = getattr(pool, "host", "")
        full = url if "://" in url else f"{getattr(pool, 'scheme', 'https')}://{host}{url}"
        shown: Any = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        with contextlib.suppress(TypeError, ValueError):
            shown = json.loads(shown)
        calls.append(Call(f"{method} {full}", shown))
        return urllib3.HTTPResponse(body=b"{}", status=200, headers={}, preload_content=True)

    class RecordingSMTP:
        def __init__(self, host: str = "", port: int = 0, *a: Any, **kw: Any) -> None:
            self.where = f"{host}:{port}"

        def __enter__(self) -> RecordingSMTP:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def send_message(self, msg: Any, *a: Any, **kw: Any) -> dict[str, Any]:
            calls.append(Call(f"SMTP {self.where} send", str(msg)))
            return {}

        def sendmail(self, from_: str, to: Any, msg: Any, *a: Any, **kw: Any) -> dict[str, Any]:
            calls.append(Call(f"SMTP {self.where} sendmail {from_} -> {to}", str(msg)))
            return {}

        def __getattr__(self, name: str) -> Any:  # starttls, login, ehlo, quit, ...
            return lambda *a, **kw: (250, b"ok")

    def no_connect(self: Any, address: Any) -> None:
        raise ConnectionRefusedError(f"kubectl trigger test is offline: no connection to {address}")

    with (
        mock.patch.object(socket.socket, "connect", no_connect),  # the backstop: nothing leaves
        mock.patch.object(urllib3.HTTPConnectionPool, "urlopen", urlopen),
        mock.patch.object(
            urllib3.PoolManager,
            "urlopen",
            lambda self, method, url, body=None, headers=None, **kw: urlopen(
                self, method, url, body, headers
            ),
        ),
        mock.patch.object(smtplib, "SMTP", RecordingSMTP),
        mock.patch.object(smtplib, "SMTP_SSL", RecordingSMTP),
    ):
        yield


def _event_type(trig: Prepared, given: str | None) -> str:
    if given:
        return given
    src = trig.expanded.get("source") or {}
    if "cron" in src:
        return "cron"
    events = (src.get("resource") or {}).get("events") or ["create"]
    return str(events[0])


#: (name, key) of a Secret -> what the user's rights gave for it (kubectl_trigger.secretrefs)
Secrets = Mapping[tuple[str, str], "Lookup"]


class SecretValues:
    """``read_secret`` for one action: values read beforehand, stand-ins for the rest.

    Remembers what it handed out, so the report can hide every value and say
    which Secret keys were used and whether they were read.
    """

    def __init__(self, namespace: str, known: Secrets, why_unread: str) -> None:
        self.namespace = namespace
        self.known = known
        self.why_unread = why_unread
        self.used: dict[tuple[str, str], str] = {}  # (name, key) -> value or stand-in
        self.unread: set[tuple[str, str]] = set()

    def __call__(self, name: str, key: str) -> str:
        from runner.actions.base import PermanentActionError

        if (name, key) in self.used:
            return self.used[(name, key)]
        ref = f"Secret {self.namespace}/{name} key {key!r}"
        found = self.known.get((name, key))
        if found is not None and found.missing:
            raise PermanentActionError(f"{ref}: {found.problem}")
        if found is not None and found.value is not None:
            value = found.value
        else:
            self.unread.add((name, key))
            value = f"https://unread-secret-{len(self.used) + 1}.invalid/"
        self.used[(name, key)] = value
        return value

    def lines(self) -> list[str]:
        """One line per Secret key used: read (value not shown), or why not."""
        out = []
        for name, key in self.used:
            ref = f"Secret {self.namespace}/{name} key {key!r}"
            if (name, key) in self.unread:
                found = self.known.get((name, key))
                why = found.problem if found is not None else self.why_unread
                out.append(f"{ref}: not read ({why}); a stand-in value was used")
            else:
                out.append(f"{ref}: read with your rights (value not shown)")
        return out

    def hide(self, text: str) -> str:
        """``text`` with every value (and a URL value's whole address) replaced by its name."""
        for (name, key), value in self.used.items():
            shown = f"<secret {name}/{key}>"
            if not value:
                continue
            address = _url_address(value)
            if address:
                text = re.sub(re.escape(address) + r"\S*", shown, text)
            text = text.replace(value, shown)
        return text


def _url_address(value: str) -> str:
    """``scheme://host[:port]`` of a URL value, or "" when it is not one."""
    match = re.match(r"(https?://[^/?#\s]+)", value.strip())
    return match.group(1) if match else ""


def _hidden(value: Any, secrets: SecretValues) -> Any:
    if isinstance(value, str):
        return secrets.hide(value)
    if isinstance(value, Mapping):
        return {secrets.hide(str(k)): _hidden(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_hidden(v, secrets) for v in value]
    return value


def simulate(
    trig: Prepared,
    obj: Obj | None,
    old: Obj | None,
    event: str | None,
    secrets: Secrets | None = None,
    why_unread: str = "not read",
) -> Result:
    """Run the filters and every action of ``trig`` on ``obj``, offline.

    ``secrets`` holds what reading the Secrets the actions use gave; keys not
    in it were not read, for the reason ``why_unread``.
    """
    from runner.event import Event

    etype = _event_type(trig, event)
    meta = (obj or {}).get("metadata") or {}
    namespace = meta.get("namespace", trig.namespace)  # none: a cluster-scoped object
    key = (f"{namespace}/" if namespace else "") + str(meta.get("name", "")) if obj else ""
    ev = Event(
        type=etype, key=key, object=obj, resource_version=str(meta.get("resourceVersion", ""))
    )
    result = Result(str(trig.ref), etype, key or "<none>", True)
    matched, lines = _filters(trig, ev, old)
    result.matched, result.filter_lines = matched, lines
    if not matched:
        return result
    for entry in trig.config.actions:
        values = SecretValues(str(trig.config.namespace), secrets or {}, why_unread)
        result.actions.append(_run_action(trig, entry, ev, obj, values))
    return result


def _filters(trig: Prepared, ev: Any, old: Obj | None) -> tuple[bool, list[str]]:
    from runner import filters

    check = getattr(filters, "explain", None)
    if check is not None:
        return check(trig.config, ev, old)  # type: ignore[no-any-return]
    matched = bool(filters.matches(trig.config.filters, ev.object or {}))
    return matched, []


def _run_action(
    trig: Prepared, entry: Any, ev: Any, obj: Obj | None, secrets: SecretValues
) -> ActionResult:
    from runner.actions import ACTIONS
    from runner.actions.base import ActionContext, ActionError

    out = ActionResult(name=entry.name or entry.kind, kind=entry.kind)
    client = RecordingClient(obj, out.calls)
    ctx = ActionContext(
        client=client,  # type: ignore[arg-type]
        read_secret=secrets,
        trigger_name=trig.name,
        trigger_namespace=trig.home,  # a ClusterTrigger's: the controlled namespace
        log=logging.getLogger(f"kubectl_trigger.test.{entry.kind}"),
    )
    row = ACTIONS[entry.kind]
    try:
        with offline_network(out.calls):
            out.summary = row.run(entry.config, ev, ctx)
    except ActionError as e:
        if secrets.unread:  # it ran on a stand-in: its failure says nothing about the real value
            names = ", ".join(f"Secret {n} key {k!r}" for n, k in sorted(secrets.unread))
            out.unchecked = f"depends on {names}, which was not read"
        else:
            out.error = str(e)
    out.summary = secrets.hide(out.summary or "")
    out.error = secrets.hide(out.error)
    out.calls = [Call(secrets.hide(c.what), _hidden(c.body, secrets)) for c in out.calls]
    out.secrets = secrets.lines()
    return out


def report(result: Result) -> str:
    """The human-readable report ``test`` prints."""
    lines = [
        f"{result.trigger}: event {result.event} on {result.object_ref}",
        f"Filters: {'MATCH' if result.matched else 'NO MATCH'}",
        *[f"  {line}" for line in result.filter_lines],
    ]
    if not result.matched:
        lines.append("Actions: none run (the filters do not match)")
        return "\n".join(lines) + "\n"
    lines.append("Actions:")
    for i, act in enumerate(result.actions, start=1):
        head = f"  {i}. {act.name} ({act.kind})"
        lines.append(head + (f": {act.summary}" if act.summary else ""))
        for call in act.calls:
            lines.append(f"     {call.what}")
            if call.body is not None:
                text = (
                    call.body
                    if isinstance(call.body, str)
                    else json.dumps(call.body, indent=2, sort_keys=True)
                )
                lines += [f"       {line}" for line in text.splitlines()]
        lines += [f"     {line}" for line in act.secrets]
        if act.error:
            lines.append(f"     would fail: {act.error}")
        if act.unchecked:
            lines.append(f"     not checked: {act.unchecked}")
    return "\n".join(lines) + "\n"

"""Webhook, chat and e-mail actions against real receivers on 127.0.0.1 (no cluster needed).

Each test parses a spec fragment with the real action module, runs it with an
ActionContext whose secrets come from a dict, and asserts on exactly what the
receiver got: method, path, headers, body, or the delivered mail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from runner import __version__
from runner.actions import ACTIONS
from runner.actions.base import (
    ActionContext,
    ActionError,
    ParseContext,
    PermanentActionError,
    RetryableActionError,
)
from runner.event import Event
from tests.e2e.action_receivers import (
    HttpReceiver,
    Reply,
    SelfSigned,
    SmtpRecorder,
    free_port,
    self_signed,
    smtp_server,
    temp_dir,
)

PARSE = ParseContext("shop", "v1", "ConfigMap", ("shop",))
TOKEN = "T0KEN-s3cr3t-value"  # appears only in secret URLs and passwords


def context(secrets: dict[tuple[str, str], str] | None = None) -> ActionContext:
    table = secrets or {}

    def read_secret(name: str, key: str) -> str:
        if (name, key) not in table:
            raise PermanentActionError(f"Secret shop/{name} has no key {key!r}")
        return table[(name, key)]

    return ActionContext(
        client=None,  # type: ignore[arg-type]  # notification actions never call the API
        read_secret=read_secret,
        trigger_name="notify",
        trigger_namespace="shop",
        log=logging.getLogger("test.actions"),
    )


def event(labels: dict[str, str] | None = None, **data: str) -> Event:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "web-config",
            "namespace": "shop",
            "uid": "u-1",
            "resourceVersion": "42",
            "labels": labels or {"app": "web"},
        },
        "data": data or {"color": "blue"},
    }
    return Event("update", "shop/web-config", obj, "42")


def run(
    key: str, raw: dict[str, Any], ev: Event | None = None, ctx: ActionContext | None = None
) -> str:
    config = ACTIONS[key].parse(raw, f"spec.actions[0].{key}", PARSE)
    return ACTIONS[key].run(config, ev or event(), ctx or context())


def fail(key: str, raw: dict[str, Any], ctx: ActionContext | None = None) -> ActionError:
    with pytest.raises(ActionError) as info:
        run(key, raw, ctx=ctx)
    return info.value


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as server:
        yield server


@pytest.fixture(scope="module")
def certs() -> dict[str, SelfSigned]:
    directory = temp_dir()
    return {"server": self_signed(directory, "server"), "other": self_signed(directory, "other")}


def secret_hook(receiver: HttpReceiver, path: str = f"/hooks/{TOKEN}") -> ActionContext:
    return context({("hooks", "url"): receiver.base + path})


HOOK_REF = {"secretKeyRef": {"name": "hooks", "key": "url"}}


# -- webhook --------------------------------------------------------------------------------


def test_webhook_sends_exact_request(receiver: HttpReceiver) -> None:
    ctx = context(
        {("hooks", "url"): receiver.base + f"/hooks/{TOKEN}?team=ops", ("tok", "t"): "Bearer x1"}
    )
    raw = {
        "url": HOOK_REF,
        "method": "PUT",
        "headers": {
            "Authorization": {"secretKeyRef": {"name": "tok", "key": "t"}},
            "X-Env": "prod",
        },
        "body": {
            "text": "{{ .object.metadata.name }} changed",
            "data": "{{ .object.data }}",
            "rv": "{{ .object.metadata.resourceVersion }}",
        },
    }
    summary = run("webhook", raw, ctx=ctx)
    assert summary == f"PUT {receiver.base}/… → 200"
    [got] = receiver.requests
    assert (got.method, got.path) == ("PUT", f"/hooks/{TOKEN}?team=ops")
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Authorization"] == "Bearer x1"
    assert got.headers["X-Env"] == "prod"
    assert got.headers["User-Agent"] == f"kubectl-trigger/{__version__}"
    assert got.json() == {"text": "web-config changed", "data": {"color": "blue"}, "rv": "42"}


def test_webhook_default_body_is_a_reference_without_object_data(receiver: HttpReceiver) -> None:
    ev = event()
    run("webhook", {"url": HOOK_REF}, ev, secret_hook(receiver))
    [got] = receiver.requests
    assert got.json() == {
        "event": "update",
        "trigger": {"name": "notify", "namespace": "shop"},
        "time": ev.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "object": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "namespace": "shop",
            "name": "web-config",
            "uid": "u-1",
            "resourceVersion": "42",
        },
    }


def test_webhook_json_text_body_and_text_body(receiver: HttpReceiver) -> None:
    ctx = secret_hook(receiver)
    run(
        "webhook",
        {"url": HOOK_REF, "body": '{"n": "{{ .object.metadata.name }}", "k": 1}'},
        ctx=ctx,
    )
    raw = {
        "url": HOOK_REF,
        "contentType": "text/plain",
        "body": "{{ .event }}: {{ .object.data.color }}",
    }
    run("webhook", raw, ctx=ctx)
    first, second = receiver.requests
    assert first.json() == {"n": "web-config", "k": 1}
    assert (second.headers["Content-Type"], second.body) == ("text/plain", b"update: blue")


def test_webhook_get_has_no_body_and_url_values_are_percent_encoded(receiver: HttpReceiver) -> None:
    url = (
        receiver.base + "/objects/{{ .object.metadata.name }}?app={{ .object.metadata.labels.app }}"
    )
    summary = run("webhook", {"url": url, "method": "GET"}, event({"app": "a b&c=/d?"}))
    assert summary == f"GET {receiver.base}/… → 200"
    [got] = receiver.requests
    assert (got.method, got.path, got.body) == (
        "GET",
        "/objects/web-config?app=a%20b%26c%3D%2Fd%3F",
        b"",
    )
    assert "Content-Type" not in got.headers


INJECTION = 'x", "admin": true, "y": "{{ .trigger.name }}\n}\'{'


def test_label_value_cannot_add_fields_to_a_json_body(receiver: HttpReceiver) -> None:
    label = "{{ .object.metadata.labels.app }}"
    body = '{"text": "app=' + label + '", "app": "' + label + '"}'
    run(
        "webhook", {"url": HOOK_REF, "body": body}, event({"app": INJECTION}), secret_hook(receiver)
    )
    [got] = receiver.requests
    assert got.json() == {"text": f"app={INJECTION}", "app": INJECTION}


def test_secret_url_is_never_shown(receiver: HttpReceiver) -> None:
    receiver.reply = Reply(400, body=f"bad request to /hooks/{TOKEN}".encode())
    error = fail("webhook", {"url": HOOK_REF}, secret_hook(receiver))
    assert isinstance(error, PermanentActionError)
    assert str(error) == f"POST {receiver.base}/… → 400 Bad Request"  # never the reply body
    assert TOKEN not in str(error)
    receiver.reply = Reply(200, body=f"thanks {TOKEN}".encode())
    assert TOKEN not in run("webhook", {"url": HOOK_REF}, ctx=secret_hook(receiver))


def test_status_mapping(receiver: HttpReceiver) -> None:
    ctx = secret_hook(receiver)
    cases = [
        (400, {}, PermanentActionError, None),
        (404, {}, PermanentActionError, None),
        (301, {"Location": "https://elsewhere/"}, PermanentActionError, None),
        (408, {}, RetryableActionError, None),
        (429, {"Retry-After": "7"}, RetryableActionError, 7.0),
        (500, {}, RetryableActionError, None),
        (503, {"Retry-After": "120"}, RetryableActionError, 120.0),
    ]
    for status, headers, cls, retry_after in cases:
        receiver.reply = Reply(status, headers, body=b"")
        error = fail("webhook", {"url": HOOK_REF}, ctx)
        assert type(error) is cls, status
        assert error.retry_after == retry_after, status
        assert str(error).startswith(f"POST {receiver.base}/… → {status}"), str(error)


def test_receiver_down_is_retryable() -> None:
    ctx = context({("hooks", "url"): f"http://127.0.0.1:{free_port()}/hooks/{TOKEN}"})
    error = fail("webhook", {"url": HOOK_REF}, ctx)
    assert isinstance(error, RetryableActionError)
    assert str(error).endswith("failed: cannot connect")
    assert TOKEN not in str(error)


def test_slow_receiver_times_out_retryably(receiver: HttpReceiver) -> None:
    receiver.reply = Reply(200, delay=1.0)
    error = fail("webhook", {"url": HOOK_REF, "timeout": "200ms"}, secret_hook(receiver))
    assert isinstance(error, RetryableActionError)
    assert str(error) == f"POST {receiver.base}/… failed: timed out waiting for the answer"


def test_secret_that_is_not_a_url_is_permanent_and_not_shown() -> None:
    error = fail("webhook", {"url": HOOK_REF}, context({("hooks", "url"): f"ftp://{TOKEN}"}))
    assert isinstance(error, PermanentActionError)
    assert str(error) == "secret hooks/url does not hold an http(s) URL"


def test_missing_secret_is_permanent() -> None:
    error = fail("webhook", {"url": HOOK_REF}, context())
    assert isinstance(error, PermanentActionError)
    assert str(error) == "Secret shop/hooks has no key 'url'"


def test_tls_verification(certs: dict[str, SelfSigned]) -> None:
    with HttpReceiver(tls=certs["server"]) as server:
        secrets = {
            ("hooks", "url"): server.base + f"/hooks/{TOKEN}",
            ("ca", "ca.crt"): certs["server"].cert_pem,
            ("wrong-ca", "ca.crt"): certs["other"].cert_pem,
        }
        ctx = context(secrets)
        untrusted = fail("webhook", {"url": HOOK_REF}, ctx)
        assert isinstance(untrusted, PermanentActionError)
        assert (
            str(untrusted)
            == f"POST {server.base}/… failed: the server's certificate is not trusted"
        )
        wrong = fail(
            "webhook", {"url": HOOK_REF, "tls": {"caSecretRef": {"name": "wrong-ca"}}}, ctx
        )
        assert isinstance(wrong, PermanentActionError)
        raw: dict[str, Any] = {"url": HOOK_REF, "tls": {"caSecretRef": {"name": "ca"}}}
        assert run("webhook", raw, ctx=ctx) == f"POST {server.base}/… → 200"
        raw = {"url": HOOK_REF, "tls": {"insecureSkipVerify": True}}
        assert run("webhook", raw, ctx=ctx) == f"POST {server.base}/… → 200"
        assert [r.path for r in server.requests] == [f"/hooks/{TOKEN}"] * 2


# -- chat -----------------------------------------------------------------------------------


def test_chat_payloads(receiver: HttpReceiver) -> None:
    ctx = secret_hook(receiver)
    text = "{{ .object.metadata.name }} is {{ .object.data.color }}"
    summaries = [
        run(key, {"url": HOOK_REF, "text": text}, ctx=ctx) for key in ("slack", "teams", "discord")
    ]
    assert summaries == [
        f"{key}: POST {receiver.base}/… → 200" for key in ("slack", "teams", "discord")
    ]
    slack, teams, discord = (r.json() for r in receiver.requests)
    assert slack == {"text": "web-config is blue"}
    assert discord == {"content": "web-config is blue", "allowed_mentions": {"parse": []}}
    assert teams == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.2",
                    "body": [{"type": "TextBlock", "text": "web-config is blue", "wrap": True}],
                },
            }
        ],
    }
    for request in receiver.requests:
        assert (request.method, request.path) == ("POST", f"/hooks/{TOKEN}")
        assert request.headers["Content-Type"] == "application/json"


def test_chat_text_values_cannot_inject(receiver: HttpReceiver) -> None:
    ctx = secret_hook(receiver)
    ev = event({"app": "<!channel> & <https://evil|click>"})
    run(
        "slack",
        {"url": HOOK_REF, "text": "<https://ok.example|{{ .object.metadata.labels.app }}>"},
        ev,
        ctx,
    )
    run(
        "teams",
        {"url": HOOK_REF, "text": "{{ .object.metadata.labels.app }}"},
        event({"app": INJECTION}),
        ctx,
    )
    slack, teams = (r.json() for r in receiver.requests)
    assert slack == {
        "text": "<https://ok.example|&lt;!channel&gt; &amp; &lt;https://evil|click&gt;>"
    }
    assert teams["attachments"][0]["content"]["body"] == [
        {"type": "TextBlock", "text": INJECTION, "wrap": True}
    ]
    assert set(teams) == {"type", "attachments"}


def test_discord_text_is_cut_to_the_limit(receiver: HttpReceiver) -> None:
    run(
        "discord",
        {"url": HOOK_REF, "text": "{{ .object.data.long }}"},
        event(long="x" * 2500),
        secret_hook(receiver),
    )
    content = receiver.requests[0].json()["content"]
    assert (len(content), content[-1]) == (2000, "…")


def test_chat_receiver_errors(receiver: HttpReceiver) -> None:
    receiver.reply = Reply(429, {"Retry-After": "3"}, b"rate limited")
    error = fail("slack", {"url": HOOK_REF, "text": "hi"}, secret_hook(receiver))
    assert isinstance(error, RetryableActionError) and error.retry_after == 3.0
    assert str(error) == f"POST {receiver.base}/… → 429 Too Many Requests"


# -- email ----------------------------------------------------------------------------------

MAIL = {
    "from": "alerts@example.com",
    "to": ["ops@example.com", "dev@example.com"],
    "subject": "{{ .object.metadata.name }} changed",
    "body": "color is now {{ .object.data.color }}\n",
}


def test_email_plain_relay() -> None:
    recorder = SmtpRecorder()
    for port in smtp_server(recorder):
        raw = {**MAIL, "smtp": {"host": "127.0.0.1", "port": port, "security": "none"}}
        assert run("email", raw) == f"mailed 2 recipients via 127.0.0.1:{port}"
    [mail] = recorder.mails
    assert mail.mail_from == "alerts@example.com"
    assert mail.rcpt_tos == ["ops@example.com", "dev@example.com"]
    assert mail.message["Subject"] == "web-config changed"
    assert mail.message["From"] == "alerts@example.com"
    assert mail.message["To"] == "ops@example.com, dev@example.com"
    assert mail.message.get_payload(decode=True) == b"color is now blue\r\n"  # CRLF on the wire
    assert mail.login is None


def test_email_starttls_with_auth(certs: dict[str, SelfSigned]) -> None:
    recorder = SmtpRecorder()
    secrets = {("smtp", "password"): TOKEN, ("smtp-ca", "ca.crt"): certs["server"].cert_pem}
    for port in smtp_server(recorder, cert=certs["server"], credentials=("alerts", TOKEN)):
        smtp = {
            "host": "127.0.0.1",
            "port": port,
            "username": "alerts",
            "password": {"secretKeyRef": {"name": "smtp", "key": "password"}},
            "tls": {"caSecretRef": {"name": "smtp-ca"}},
        }
        assert run("email", {**MAIL, "smtp": smtp}, ctx=context(secrets)) == (
            f"mailed 2 recipients via 127.0.0.1:{port}"
        )
        wrong = {**secrets, ("smtp", "password"): "not-it"}
        error = fail("email", {**MAIL, "smtp": smtp}, context(wrong))
        assert isinstance(error, PermanentActionError)
        assert str(error).startswith(f"mail via 127.0.0.1:{port} failed: 535 ")
        untrusted = fail("email", {**MAIL, "smtp": {**smtp, "tls": None}}, context(secrets))
        assert isinstance(untrusted, PermanentActionError)
        assert (
            str(untrusted)
            == f"mail via 127.0.0.1:{port} failed: the server's certificate is not trusted"
        )
        for err in (error, untrusted):
            assert TOKEN not in str(err)
    [mail] = recorder.mails
    assert mail.login == "alerts"
    assert mail.message["Subject"] == "web-config changed"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_implicit_tls(certs: dict[str, SelfSigned]) -> None:
    recorder = SmtpRecorder()
    for port in smtp_server(
        recorder, cert=certs["server"], implicit_tls=True, credentials=("u", TOKEN)
    ):
        smtp = {
            "host": "127.0.0.1",
            "port": port,
            "security": "tls",
            "username": "u",
            "password": {"secretKeyRef": {"name": "smtp", "key": "password"}},
            "tls": {"insecureSkipVerify": True},
        }
        ctx = context({("smtp", "password"): TOKEN})
        assert run("email", {**MAIL, "to": ["ops@example.com"], "smtp": smtp}, ctx=ctx) == (
            f"mailed 1 recipient via 127.0.0.1:{port}"
        )
    [mail] = recorder.mails
    assert (mail.login, mail.rcpt_tos) == ("u", ["ops@example.com"])


def test_email_replies_map_to_retryable_or_permanent() -> None:
    recorder = SmtpRecorder()
    for port in smtp_server(recorder):
        raw = {**MAIL, "smtp": {"host": "127.0.0.1", "port": port, "security": "none"}}
        recorder.data_reply = "451 4.3.0 try again later"
        error = fail("email", raw)
        assert isinstance(error, RetryableActionError)
        assert str(error) == f"mail via 127.0.0.1:{port} failed: 451 4.3.0"  # not the words
        recorder.data_reply = "554 5.7.1 rejected"
        assert isinstance(fail("email", raw), PermanentActionError)
        recorder.data_reply = None
        recorder.refuse_rcpt = {
            "ops@example.com": "450 mailbox busy",
            "dev@example.com": "450 busy",
        }
        error = fail("email", raw)
        assert isinstance(error, RetryableActionError)
        assert str(error) == f"mail via 127.0.0.1:{port} failed: every recipient was refused"
        recorder.refuse_rcpt = {"ops@example.com": "550 no such user"}
        assert run("email", raw) == f"mailed 1 recipient via 127.0.0.1:{port} (1 refused)"
    assert [m.rcpt_tos for m in recorder.mails] == [["dev@example.com"]]


def test_email_server_down_is_retryable() -> None:
    port = free_port()
    raw = {**MAIL, "smtp": {"host": "127.0.0.1", "port": port, "security": "none"}}
    error = fail("email", raw)
    assert isinstance(error, RetryableActionError)
    assert str(error) == f"mail via 127.0.0.1:{port} failed: ConnectionRefusedError"


def test_email_subject_cannot_gain_headers() -> None:
    recorder = SmtpRecorder()
    for port in smtp_server(recorder):
        raw = {**MAIL, "smtp": {"host": "127.0.0.1", "port": port, "security": "none"}}
        run("email", raw, _evil_event())
    [mail] = recorder.mails
    assert mail.message["Subject"] == "web Bcc: evil@example.com changed"
    assert mail.message["Bcc"] is None
    assert mail.rcpt_tos == ["ops@example.com", "dev@example.com"]


def _evil_event() -> Event:
    ev = event()
    obj = dict(ev.object or {})
    obj["metadata"] = {**obj["metadata"], "name": "web\r\nBcc: evil@example.com"}
    return Event("update", "shop/web", obj, "43")


def test_smtp_reply_text_stays_out_of_the_error(caplog: pytest.LogCaptureFixture) -> None:
    """A server that quotes what it got: the error keeps the codes, the debug log is scrubbed."""
    from runner import redact

    recorder = SmtpRecorder()
    redact.register(TOKEN)
    try:
        for port in smtp_server(recorder):
            raw = {**MAIL, "smtp": {"host": "127.0.0.1", "port": port, "security": "none"}}
            recorder.data_reply = f"554 5.7.1 rejected: your key {TOKEN} is revoked"
            with caplog.at_level(logging.DEBUG, logger="test.actions"):
                error = fail("email", raw)
            assert str(error) == f"mail via 127.0.0.1:{port} failed: 554 5.7.1"
            [debug] = [r.getMessage() for r in caplog.records if r.name == "test.actions"]
            replied = "5.7.1 rejected: your key [redacted] is revoked"
            assert debug == f"mail via 127.0.0.1:{port}: the server replied {replied}"
    finally:
        redact.REGISTRY.clear()

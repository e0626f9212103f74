"""Secret scrubbing: what is registered for a value, and every door text leaves the runner by.

The registry is process-wide (one runner serves one Trigger); each test starts
from an empty one.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from runner import redact
from runner.k8s_events import WARNING, EventRecorder
from runner.log import JsonFormatter, TextFormatter, escape_controls
from runner.metrics import Metrics
from runner.redact import MASK, Redactor, secret_pieces
from runner.secrets import SecretReader
from tests.unit.test_status import FakeClient, writer

TOKEN = "xoxb-4711-S3cr3tT0ken"
HOOK = "https://hooks.example/services/T0420/B0815/AbCdEf123456zz?sig=Qw3rty99xyz&v=1"


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    redact.REGISTRY.clear()
    yield
    redact.REGISTRY.clear()


@pytest.fixture(autouse=True)
def keep_logging() -> Iterator[None]:
    """``runner.log.setup`` reconfigures the root logger: put it back afterwards."""
    import sys
    import threading

    root = logging.getLogger()
    saved = root.handlers[:], root.level, sys.excepthook, threading.excepthook
    yield
    root.handlers[:], level, sys.excepthook, threading.excepthook = saved
    root.setLevel(level)


def test_a_value_and_its_encodings_are_scrubbed() -> None:
    secret = 'p@ss/word "quoted" <x>&y'
    registry = Redactor()
    assert registry.register(secret)
    for echoed in (
        secret,
        quote(secret, safe=""),
        quote(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        html.escape(secret),
        base64.b64encode(secret.encode()).decode(),
        secret.upper(),  # matching ignores case
    ):
        assert registry.scrub(f"401: you sent {echoed}!") == f"401: you sent {MASK}!", echoed
    assert registry.scrub("p@ss and word") == "p@ss and word"
    # a text whose length changes when lower-cased ("İ" becomes two characters)
    assert registry.scrub(f"İ {secret.upper()} ß") == f"İ {MASK} ß"


def test_bearer_and_basic_credentials_are_scrubbed_on_their_own() -> None:
    registry = Redactor()
    registry.register(f"Bearer {TOKEN}")
    assert registry.scrub(f"invalid token {TOKEN}") == f"invalid token {MASK}"
    assert registry.scrub("Bearer tokens are refused") == "Bearer tokens are refused"
    basic = base64.b64encode(b"robot:hunter2-pw").decode()
    registry.register(f"Basic {basic}")
    assert registry.scrub("user robot:hunter2-pw") == f"user {MASK}"
    assert registry.scrub("password hunter2-pw wrong") == f"password {MASK} wrong"
    assert registry.scrub("robot logged in") == "robot logged in"
    assert registry.scrub(f"got {basic}") == f"got {MASK}"


def test_secret_url_parts_are_scrubbed_separately() -> None:
    registry = Redactor()
    registry.register("https://bot:pa55word@hooks.example/api/webhooks/123456789/tokenPART99")
    registry.register(HOOK)
    cases = {
        "no hook at /services/T0420/B0815/AbCdEf123456zz": "no hook at " + MASK,
        "unknown token AbCdEf123456zz": f"unknown token {MASK}",
        "bad signature Qw3rty99xyz": f"bad signature {MASK}",
        "query sig=Qw3rty99xyz&v=1 refused": f"query {MASK} refused",
        "hook 123456789 tokenPART99": f"hook {MASK} {MASK}",
        "user bot:pa55word": f"user {MASK}",
        "password pa55word": f"password {MASK}",
        # plain words of the path are not secrets: messages stay readable
        "the services and webhooks APIs": "the services and webhooks APIs",
        "a bot, a robot": "a bot, a robot",  # a user name that is a word stays
        "hooks.example answered": "hooks.example answered",
    }
    for text, expected in cases.items():
        assert registry.scrub(text) == expected, text
    auth = base64.b64encode(b"bot:pa55word").decode()
    assert registry.scrub(f"Authorization: Basic {auth}") == f"Authorization: Basic {MASK}"


def test_short_values_are_not_scrubbed_and_say_so() -> None:
    registry = Redactor()
    assert not registry.register("ab")
    assert not registry.register("xyz ")
    assert registry.scrub("a table of xyz and ab") == "a table of xyz and ab"
    assert registry.register("abcd")
    assert registry.scrub("ABCD abcde") == f"{MASK} {MASK}e"
    assert secret_pieces("ab") == secret_pieces(" xyz\n") == set()


def test_scrub_data_reaches_nested_strings_and_keys() -> None:
    registry = Redactor()
    registry.register(TOKEN)
    data = {"a": [TOKEN, {"b": f"x{TOKEN}x", TOKEN: 1}], "n": 3, "t": True}
    assert registry.scrub_data(data) == {
        "a": [MASK, {"b": f"x{MASK}x", MASK: 1}],
        "n": 3,
        "t": True,
    }


class _Client:
    """Enough of KubeClient for SecretReader: one Secret."""

    def __init__(self, data: dict[str, str]) -> None:
        self.data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}

    def resource(self, api_version: str, kind: str) -> str:
        return kind

    def get(self, info: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        return {"data": self.data}


def test_the_secret_reader_registers_what_it_hands_out(caplog: pytest.LogCaptureFixture) -> None:
    reader = SecretReader(_Client({"token": TOKEN, "pin": "42"}), "shop")  # type: ignore[arg-type]
    assert redact.scrub(TOKEN) == TOKEN  # nothing read yet
    assert reader("hooks", "token") == TOKEN
    assert redact.scrub(f"echo {TOKEN}") == f"echo {MASK}"
    with caplog.at_level(logging.WARNING, logger="runner.secrets"):
        assert reader("hooks", "pin") == "42"
        reader("hooks", "pin")
    warnings = [r.getMessage() for r in caplog.records if r.name == "runner.secrets"]
    assert warnings == [
        "Secret shop/hooks key 'pin' holds fewer than 4 characters: too short to be "
        "scrubbed from logs, Events and status if a receiver echoes it"
    ]


def _record(message: str, level: int = logging.DEBUG, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("runner.action", level, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_both_log_formats_scrub_message_extras_and_tracebacks() -> None:
    redact.register(TOKEN)
    try:
        raise ValueError(f"boom {TOKEN}")
    except ValueError:
        import sys

        record = _record(f"reply: {TOKEN}", key=f"ns/{TOKEN}", body={"t": [TOKEN]})
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert TOKEN not in line
    data = json.loads(line)
    assert data["message"] == f"reply: {MASK}" and data["key"] == f"ns/{MASK}"
    assert data["body"] == {"t": [MASK]} and f"boom {MASK}" in data["exception"]
    text = TextFormatter().format(record)
    assert TOKEN not in text and f"reply: {MASK}" in text


def test_text_log_escapes_control_characters() -> None:
    forged = "ok\n12:00:00 error  forged line\r\x1b[31mred\x00\x85\u2028end\ttab"
    line = TextFormatter().format(_record(forged, logging.INFO, key=forged))
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert "\u2028" not in line and "\x85" not in line and "\x00" not in line
    assert "ok\\n12:00:00 error  forged line\\r\\x1b[31mred\\x00\\x85\\u2028end\\ttab" in line
    assert escape_controls("plain text, ünïcödé") == "plain text, ünïcödé"


def test_json_log_lines_are_one_line_by_encoding() -> None:
    forged = 'ok\n{"level":"error"}\r\x1b[2J\u2028'
    line = JsonFormatter().format(_record(forged, logging.INFO, key=forged))
    assert line.count("\n") == 0 and "\x1b" not in line and "\u2028" not in line
    assert json.loads(line)["message"] == forged


def test_a_traceback_in_text_logs_is_indented() -> None:
    try:
        raise RuntimeError("line one\nline two")
    except RuntimeError:
        import sys

        record = _record("failed", logging.ERROR)
        record.exc_info = sys.exc_info()
    first, *rest = TextFormatter().format(record).split("\n")
    assert first.endswith("failed") and rest
    assert all(line.startswith("    ") for line in rest)


def test_events_are_scrubbed_before_they_are_cut() -> None:
    redact.register(TOKEN)
    client = FakeClient()
    trigger = {"metadata": {"name": "t", "namespace": "ns", "uid": "u"}}
    recorder = EventRecorder(client, trigger, logging.getLogger("test"))  # type: ignore[arg-type]
    # the secret straddles the 1,024-character cut: no prefix of it may survive
    recorder.record(WARNING, "ActionFailed", "x" * 1020 + TOKEN)
    recorder.flush()
    [event] = client.created
    assert TOKEN[:4] not in event["message"] and event["message"].startswith("x" * 1020)


def test_status_texts_are_scrubbed() -> None:
    redact.register(HOOK)
    client, metrics = FakeClient(), Metrics()
    status = writer(client, metrics)
    status.error("hook (webhook)", "ns/cm", "y" * 990 + "AbCdEf123456zz")
    status.set_condition("Ready", False, "Failing", "token AbCdEf123456zz refused")
    assert status.flush()
    body = json.dumps(client.patches[-1][1])
    assert "AbCdEf" not in body and "Qw3rty" not in body
    st = client.patches[-1][1]["status"]
    assert st["lastError"]["message"] == "y" * 990 + MASK[:10]
    assert st["conditions"][0]["message"] == f"token {MASK} refused"


def test_metrics_labels_are_scrubbed() -> None:
    redact.register(TOKEN)
    text = Metrics().render({"trigger": f"ns/{TOKEN}"})
    assert TOKEN not in text and f'trigger="ns/{MASK}"' in text


def test_logging_setup_writes_scrubbed_lines() -> None:
    from runner import log as logsetup

    redact.register(TOKEN)
    stream = io.StringIO()
    log = logsetup.setup(stream, "text", "DEBUG")
    log.debug("the reply began: %s", f"no such token {TOKEN}\nforged")
    assert stream.getvalue().count("\n") == 1
    assert TOKEN not in stream.getvalue() and f"no such token {MASK}\\nforged" in stream.getvalue()


def test_uncaught_thread_exceptions_are_logged_scrubbed() -> None:
    import threading

    from runner import log as logsetup

    redact.register(TOKEN)
    stream = io.StringIO()
    logsetup.setup(stream, "json", "INFO")

    def fail() -> None:
        raise RuntimeError(f"leaked {TOKEN}")

    thread = threading.Thread(target=fail, name="worker-x")
    thread.start()
    thread.join()
    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "uncaught exception in thread worker-x"
    assert f"RuntimeError: leaked {MASK}" in record["exception"] and TOKEN not in line

"""Event values arrive literally: chat markup, JSON patch pointers, text log lines.

Real runners on the local control plane fire on ConfigMaps whose data holds
hostile values, and the tests look at what arrived: the chat payloads at a
real HTTP receiver (markup in the values escaped for Slack, Teams and
Discord, the template's own markup untouched), the patched object in the API
server (a key ``a/b~c`` added as exactly that key), and the runner's text log
(a value with a newline and an ANSI sequence stays on its record's line).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.e2e.action_receivers import HttpReceiver
from tests.e2e.runner_support import Runner, make_trigger, settle
from tests.e2e.test_secret_scrubbing import runner_environment
from tests.polling import wait_for

HOSTILE = "[Reset](https://evil.example) <https://x|y> @everyone <@123> *b* _i_"
CM = {"apiVersion": "v1", "kind": "ConfigMap"}


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as rec:
        yield rec


def _configmap(cluster: Cluster, namespace: str, name: str, data: dict[str, str]) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
    cluster.kubectl("create", "-n", namespace, "-f", "-", input=json.dumps(body))


def test_chat_values_arrive_with_their_markup_escaped(
    crd: Cluster, namespace: str, tmp_path: Path, receiver: HttpReceiver
) -> None:
    text = "*{{ .object.metadata.name }}*: {{ .object.data.title }}"
    actions = [
        {service: {"url": f"{receiver.base}/{service}", "text": text}}
        for service in ("slack", "teams", "discord")
    ]
    make_trigger(crd, namespace, "chat", CM, actions=actions)
    runner = Runner(crd, namespace, "chat", tmp_path).start()
    try:
        runner.wait_ready()
        _configmap(crd, namespace, "web", {"title": HOSTILE})
        wait_for(lambda: len(receiver.requests) == 3, 60, "three chat messages")
    finally:
        runner.kill()
    got = {r.path.lstrip("/"): r.json() for r in receiver.requests}
    assert got["slack"] == {
        "text": "*web*: [Reset](https://evil.example) &lt;https://x|y&gt; "
        "@everyone &lt;@123&gt; *b* _i_"
    }
    card = got["teams"]["attachments"][0]["content"]["body"][0]
    assert card["text"] == (
        r"*web*: \[Reset\]\(https://evil.example\) \<https://x|y\> @everyone \<@123\> \*b\* \_i\_"
    )
    assert got["discord"] == {
        "content": "*web*: \\[Reset\\]\\(https://evil.example\\) \\<https://x\\|y\\> "
        "@\u200beveryone \\<@123\\> \\*b\\* \\_i\\_",
        "allowed_mentions": {"parse": []},
    }


def test_a_json_patch_key_with_slash_and_tilde_is_one_key(
    crd: Cluster, namespace: str, tmp_path: Path, kubevela: None
) -> None:
    app = {
        "apiVersion": "core.oam.dev/v1beta1",
        "kind": "Application",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {"components": []},
    }
    crd.kubectl("create", "-f", "-", input=json.dumps(app))
    patch = {
        "target": {"apiVersion": "core.oam.dev/v1beta1", "kind": "Application", "name": "app"},
        "type": "json",
        "patch": [
            {
                "op": "add",
                "path": "/spec/{{ .object.data.key }}",
                "value": "{{ .object.data.key }}",
            }
        ],
    }
    make_trigger(crd, namespace, "pointer", CM, actions=[{"patch": patch}])
    runner = Runner(crd, namespace, "pointer", tmp_path).start()
    try:
        runner.wait_ready()
        _configmap(crd, namespace, "src", {"key": "a/b~c"})
        rv = crd.get_json("configmap", "src", "-n", namespace)["metadata"]["resourceVersion"]
        settle(runner, Counter({("create", f"{namespace}/src", rv): 1}), "the patch")
    finally:
        runner.kill()
    spec = crd.get_json("application", "app", "-n", namespace)["spec"]
    assert spec == {"components": [], "a/b~c": "a/b~c"}


def test_a_value_cannot_forge_a_text_log_line(
    crd: Cluster, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner_environment(monkeypatch, LOG_FORMAT="text")
    log_action = {"log": {"message": "note: {{ .object.data.note }}"}}
    make_trigger(crd, namespace, "textlog", CM, actions=[log_action])
    runner = Runner(crd, namespace, "textlog", tmp_path).start()
    note = "line one\n12:00:00 error   forged record\r\x1b[2Jcleared\u2028end"
    try:
        started = "after process start"  # the runner's line once it is ready
        wait_for(lambda: started in runner.log_path.read_text(), 60, "the runner to be ready")
        _configmap(crd, namespace, "web", {"note": note})
        wait_for(lambda: "note: line one" in runner.log_path.read_text(), 60, "the log action")
    finally:
        runner.kill()
    lines = runner.log_path.read_text().splitlines()
    [line] = [x for x in lines if "note: line one" in x]
    assert "note: line one\\n12:00:00 error   forged record\\r\\x1b[2Jcleared\\u2028end" in line
    assert not any(x.startswith("12:00:00 error") or "\x1b" in x for x in lines)

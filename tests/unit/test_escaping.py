"""Event values escaped for where they land: chat markup, JSON pointers; reply texts kept out."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from runner.actions import ACTIONS
from runner.actions.base import ParseContext
from runner.actions.chat import discord_escape, slack_escape, teams_escape
from runner.actions.http import _basic_auth, reason
from runner.actions.patch import pointer_token
from runner.event import Event
from runner.spec.errors import SpecError

LINK = "[Reset](https://evil.example)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (LINK, LINK),  # mrkdwn has no [text](url) links
        ("<https://evil.example|Reset>", "&lt;https://evil.example|Reset&gt;"),
        ("<!channel> <@U123>", "&lt;!channel&gt; &lt;@U123&gt;"),
        ("a & b", "a &amp; b"),
    ],
)
def test_slack(value: str, expected: str) -> None:
    assert slack_escape(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (LINK, r"\[Reset\]\(https://evil.example\)"),
        ("@everyone and @here", "@\u200beveryone and @\u200bhere"),
        ("<@80351110224678912> <@&1655> <#1037>", r"\<@80351110224678912\> \<@&1655\> \<\#1037\>"),
        (
            "**bold** __u__ ~~s~~ `c` ||spoiler||",
            r"\*\*bold\*\* \_\_u\_\_ \~\~s\~\~ \`c\` \|\|spoiler\|\|",
        ),
        ("# title\n> quote\n- item\n1. one", "\\# title\n\\> quote\n\\- item\n1\\. one"),
        ("back\\slash", "back\\\\slash"),
        ("web-1.shop.svc 10.0.0.1 v1.2", "web-1.shop.svc 10.0.0.1 v1.2"),
    ],
)
def test_discord(value: str, expected: str) -> None:
    assert discord_escape(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (LINK, r"\[Reset\]\(https://evil.example\)"),
        ("<https://evil.example>", r"\<https://evil.example\>"),
        ("**bold** _it_", r"\*\*bold\*\* \_it\_"),
        ("- a\r+ b\r2. c", "\\- a\r\\+ b\r2\\. c"),
        ("web-1.shop 10.0.0.1 @everyone", "web-1.shop 10.0.0.1 @everyone"),
    ],
)
def test_teams(value: str, expected: str) -> None:
    assert teams_escape(value) == expected


PARSE = ParseContext("shop", "v1", "ConfigMap", ("shop",))


def _event(annotations: dict[str, str]) -> Event:
    obj = {"metadata": {"name": "web", "namespace": "shop", "annotations": annotations}}
    return Event("update", "shop/web", obj, "1")


def test_chat_escapes_only_the_event_values() -> None:
    raw = {
        "url": "https://hooks.example/x",
        "text": "**{{ .object.metadata.name }}**: [docs](https://d)",
    }
    config = ACTIONS["discord"].parse(raw, "spec.actions[0].discord", PARSE)
    data = _event({}).template_data("t", "shop")
    data["object"]["metadata"]["name"] = LINK
    assert config.text.render(data) == r"**\[Reset\]\(https://evil.example\)**: [docs](https://d)"


@pytest.mark.parametrize(
    ("key", "token"),
    [("a/b~c", "a~1b~0c"), ("~1", "~01"), ("plain", "plain"), ("/", "~1"), ("", "")],
)
def test_pointer_token(key: str, token: str) -> None:
    assert pointer_token(key) == token


def _patch_config(ops: Any) -> Any:
    return ACTIONS["patch"].parse(
        {
            "target": {"apiVersion": "v1", "kind": "ConfigMap", "name": "web"},
            "type": "json",
            "patch": ops,
        },
        "spec.actions[0].patch",
        PARSE,
    )


def test_json_patch_placeholders_fill_one_reference_token() -> None:
    config = _patch_config(
        [
            {
                "op": "add",
                "path": "/metadata/annotations/{{ .object.metadata.annotations.key }}",
                "value": "{{ .object.metadata.annotations.key }}",
            },
            {"op": "move", "from": "/data/{{ .object.metadata.name }}", "path": "/data/b"},
        ]
    )
    data = _event({"key": "a/b~c"}).template_data("t", "shop")
    assert config.render(data) == [
        {"op": "add", "path": "/metadata/annotations/a~1b~0c", "value": "a/b~c"},
        {"op": "move", "from": "/data/web", "path": "/data/b"},
    ]


def test_json_patch_pointer_must_start_with_a_slash() -> None:
    with pytest.raises(SpecError) as info:
        _patch_config([{"op": "remove", "path": "{{ .object.metadata.name }}"}])
    assert info.value.path == "spec.actions[0].patch.patch[0].path"
    with pytest.raises(SpecError) as info:
        _patch_config([{"op": "copy", "from": "data", "path": "/a"}])
    assert info.value.path == "spec.actions[0].patch.patch[0].from"


def test_error_reason_is_the_standard_phrase() -> None:
    assert (reason(401), reason(404), reason(599)) == ("Unauthorized", "Not Found", "")


def test_basic_auth_from_url_user_info() -> None:
    header = _basic_auth("bot:p%40ss", {})
    assert base64.b64decode(header["Authorization"].split()[1]) == b"bot:p@ss"
    assert _basic_auth("bot:x", {"authorization": "Bearer t"}) == {}
    assert _basic_auth(None, {}) == {}

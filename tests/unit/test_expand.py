"""expand_uses: TriggerTemplates spliced into filters and actions, parameters, nesting, errors."""
# ruff: noqa: E501  (exact error messages read best one per line)

from __future__ import annotations

import copy
from typing import Any

import pytest

from runner import API_VERSION
from runner.spec.errors import SpecErrors
from runner.spec.expand import expand_uses, template_problems, uses


def template(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "TriggerTemplate",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": spec,
    }


NOTIFY = template(
    "notify",
    {
        "description": "tell a channel",
        "parameters": [
            {"name": "channel", "required": True, "description": "where"},
            {"name": "apps", "default": ["web"]},
            {"name": "suffix"},
        ],
        "filters": [{"path": "{.metadata.labels.app}", "in": "{{ .params.apps }}"}],
        "actions": [
            {
                "webhook": {
                    "url": {"value": "https://hooks.example/{{ .params.channel }}"},
                    "body": '{"text": "{{ .object.metadata.name }} in {{ .params.channel }}{{ .params.suffix }}"}',
                }
            }
        ],
    },
)


def fetcher(*templates: dict[str, Any]) -> Any:
    table = {t["metadata"]["name"]: t for t in templates}
    fetched: list[str] = []

    def fetch(name: str) -> dict[str, Any]:
        fetched.append(name)
        if name not in table:
            raise LookupError(f"TriggerTemplate {name!r} not found in namespace 'shop'")
        return table[name]

    fetch.fetched = fetched  # type: ignore[attr-defined]
    return fetch


def errors(spec: dict[str, Any], *templates: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecErrors) as info:
        expand_uses(spec, fetcher(*templates))
    return [str(e) for e in info.value.errors]


SOURCE = {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}}


def test_expands_filters_and_actions_in_place() -> None:
    spec = {
        "source": SOURCE,
        "filters": [
            {"path": "{.data.x}", "exists": True},
            {"use": {"name": "notify", "with": {"channel": "ops"}}},
        ],
        "actions": [
            {"log": {"message": "first"}},
            {"use": {"name": "notify", "with": {"channel": "ops", "suffix": "!"}}},
            {"log": {"message": "last"}},
        ],
    }
    original = copy.deepcopy(spec)
    out = expand_uses(spec, fetcher(NOTIFY))
    assert spec == original
    assert out == {
        "source": SOURCE,
        "filters": [
            {"path": "{.data.x}", "exists": True},
            {"path": "{.metadata.labels.app}", "in": ["web"]},
        ],
        "actions": [
            {"log": {"message": "first"}},
            {
                "webhook": {
                    "url": {"value": "https://hooks.example/ops"},
                    "body": '{"text": "{{ .object.metadata.name }} in ops!"}',
                }
            },
            {"log": {"message": "last"}},
        ],
    }


def test_whole_leaf_parameters_keep_their_type() -> None:
    spec = {"filters": [{"use": {"name": "notify", "with": {"channel": "x", "apps": ["a", "b"]}}}]}
    assert expand_uses(spec, fetcher(NOTIFY))["filters"] == [
        {"path": "{.metadata.labels.app}", "in": ["a", "b"]}
    ]


def test_use_inside_groups() -> None:
    spec = {
        "filters": [
            {
                "any": [
                    {"use": {"name": "notify", "with": {"channel": "x"}}},
                    {"path": "{.a}", "exists": True},
                ]
            },
            {"not": {"use": {"name": "notify", "with": {"channel": "x", "apps": ["z"]}}}},
        ]
    }
    assert expand_uses(spec, fetcher(NOTIFY))["filters"] == [
        {
            "any": [
                {"path": "{.metadata.labels.app}", "in": ["web"]},
                {"path": "{.a}", "exists": True},
            ]
        },
        {"not": {"path": "{.metadata.labels.app}", "in": ["z"]}},
    ]


def test_not_over_several_filters_becomes_all() -> None:
    two = template(
        "two",
        {"filters": [{"path": "{.a}", "exists": True}, {"path": "{.b}", "exists": True}]},
    )
    spec = {"filters": [{"not": {"use": {"name": "two"}}}]}
    assert expand_uses(spec, fetcher(two))["filters"] == [
        {"not": {"all": [{"path": "{.a}", "exists": True}, {"path": "{.b}", "exists": True}]}}
    ]


def test_nested_templates_with_outer_parameters() -> None:
    inner = template(
        "inner",
        {
            "parameters": [{"name": "msg", "required": True}],
            "actions": [{"log": {"message": "{{ .params.msg }}!"}}],
        },
    )
    outer = template(
        "outer",
        {
            "parameters": [{"name": "who", "default": "ops"}],
            "actions": [{"use": {"name": "inner", "with": {"msg": "hello {{ .params.who }}"}}}],
        },
    )
    spec = {"actions": [{"use": {"name": "outer"}}]}
    assert expand_uses(spec, fetcher(inner, outer))["actions"] == [
        {"log": {"message": "hello ops!"}}
    ]


def test_spec_without_uses_is_copied_unchanged() -> None:
    spec = {"source": SOURCE, "actions": [{"log": {"message": "x"}}]}
    fetch = fetcher()
    out = expand_uses(spec, fetch)
    assert out == spec and out is not spec
    assert fetch.fetched == []


def test_uses_lists_direct_references() -> None:
    spec = {
        "filters": [{"use": {"name": "a"}}, {"not": {"use": {"name": "b"}}}],
        "actions": [{"use": {"name": "a"}}, {"log": {}}],
    }
    assert uses(spec) == ["a", "b"]


def test_argument_errors() -> None:
    spec = {
        "filters": [{"use": {"name": "notify", "with": {"chanel": "x"}}}],
        "actions": [{"use": {"name": "notify", "with": "ops"}}],
    }
    assert errors(spec, NOTIFY) == [
        "spec.filters[0].use.with.chanel: unknown parameter of 'notify'; did you mean channel? known: channel, apps, suffix",
        "spec.filters[0].use.with: missing required parameter 'channel' of TriggerTemplate 'notify'; add with: {channel: ...}",
        "spec.actions[0].use.with: must be a mapping of parameter values",
    ]


def test_reference_errors() -> None:
    spec = {
        "filters": [{"use": {"name": "missing"}}, {"use": {}}, {"use": "notify"}],
        "actions": [
            {"use": {"name": "notify", "with": {"channel": "x"}}, "name": "n"},
            {"use": {"name": "notify", "wiht": {}}},
        ],
    }
    assert errors(spec, NOTIFY) == [
        "spec.filters[0].use: TriggerTemplate 'missing' not found in namespace 'shop'; create the TriggerTemplate first",
        "spec.filters[1].use.name: is required: the TriggerTemplate's name",
        "spec.filters[2].use: must be a mapping {name, with}; e.g. use: {name: notify}",
        "spec.actions[0]: a use item takes no other fields, found name",
        "spec.actions[1].use.wiht: unknown field; did you mean with? known: name, with",
        "spec.actions[1].use.with: missing required parameter 'channel' of TriggerTemplate 'notify'; add with: {channel: ...}",
    ]


def test_template_without_the_part() -> None:
    only_filters = template("only", {"filters": [{"path": "{.a}", "exists": True}]})
    assert errors({"actions": [{"use": {"name": "only"}}]}, only_filters) == [
        "spec.actions[0].use: TriggerTemplate 'only' has no actions; use it under filters"
    ]


def test_undeclared_parameter_in_template() -> None:
    bad = template("bad", {"actions": [{"log": {"message": "{{ .params.nope }}"}}]})
    assert errors({"actions": [{"use": {"name": "bad"}}]}, bad) == [
        "spec.actions[0].use: TriggerTemplate 'bad' spec.actions: {{ .params.nope }} is not a declared parameter (none declared)"
    ]


def test_cycles_are_reported() -> None:
    a = template("a", {"actions": [{"use": {"name": "b"}}]})
    b = template("b", {"actions": [{"use": {"name": "a"}}]})
    assert errors({"actions": [{"use": {"name": "a"}}]}, a, b) == [
        "spec.actions[0].use(a).actions[0].use(b).actions[0].use: TriggerTemplates use each other in a cycle: a -> b -> a"
    ]


def test_invalid_templates() -> None:
    broken = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "spec": {
            "parametrs": [],
            "parameters": [{"name": "1x"}, {"name": "a", "required": "yes"}, {"name": "a"}],
        },
    }
    assert template_problems(broken) == [
        f"apiVersion: must be {API_VERSION}",
        "kind: must be TriggerTemplate",
        "spec.parametrs: unknown field; did you mean parameters? known: description, parameters, filters, actions",
        "spec.parameters[0].name: must be an identifier like app_name",
        "spec.parameters[1].required: must be true or false",
        "spec.parameters[2].name: parameter 'a' is declared twice",
    ]
    broken["metadata"] = {"name": "broken"}
    assert errors({"actions": [{"use": {"name": "broken"}}]}, broken)[0] == (
        f"spec.actions[0].use: TriggerTemplate 'broken' is invalid: apiVersion: must be {API_VERSION}"
    )


def test_docs_trigger_template_example_expands_and_parses() -> None:
    import re
    from pathlib import Path

    import yaml

    from runner.spec.parse import parse_trigger
    from tests.unit.spec_stubs import STUB_ACTIONS

    text = (Path(__file__).resolve().parents[2] / "docs" / "spec.md").read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    (tmpl,) = [b for b in blocks if isinstance(b, dict) and b.get("kind") == "TriggerTemplate"]
    (usage,) = [b for b in blocks if isinstance(b, dict) and "kind" not in b and "filters" in b]
    spec = {"source": SOURCE, **usage}
    expanded = expand_uses(spec, fetcher(tmpl))
    assert expanded["filters"] == [{"path": "{.metadata.labels.app}", "in": ["web", "api"]}]
    assert expanded["actions"][0]["webhook"]["url"] == {"value": "https://hooks.example.com/ops"}
    obj = {
        "apiVersion": API_VERSION,
        "kind": "Trigger",
        "metadata": {"name": "t"},
        "spec": expanded,
    }
    cfg = parse_trigger(obj, STUB_ACTIONS)
    assert cfg.filters is not None and cfg.filters({"metadata": {"labels": {"app": "api"}}}) is True

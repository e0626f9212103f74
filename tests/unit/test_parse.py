"""parse_trigger: defaults, typed config, every error collected with its full field path."""
# ruff: noqa: E501  (a table of exact error messages reads best one case per line)

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner import API_VERSION
from runner.spec.cron import CronSchedule
from runner.spec.errors import SpecErrors
from runner.spec.model import CronSource, Options, ResourceSource, RunnerOptions, TriggerConfig
from runner.spec.parse import parse_trigger
from tests.unit.spec_stubs import STUB_ACTIONS, StubConfig

DOCS = Path(__file__).resolve().parents[2] / "docs" / "spec.md"


def trigger(spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Trigger",
        "metadata": {"name": "t", "namespace": "shop", **meta},
        "spec": spec,
    }


MINIMAL: dict[str, Any] = {
    "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
    "actions": [{"log": {"message": "hi"}}],
}


def parse(obj: dict[str, Any]) -> TriggerConfig:
    return parse_trigger(obj, STUB_ACTIONS)


def errors(obj: Any) -> list[str]:
    with pytest.raises(SpecErrors) as info:
        parse_trigger(obj, STUB_ACTIONS)
    return [str(e) for e in info.value.errors]


def test_minimal_trigger_gets_the_documented_defaults() -> None:
    cfg = parse(trigger(MINIMAL, generation=7, uid="u-1"))
    assert (cfg.name, cfg.namespace, cfg.generation, cfg.uid) == ("t", "shop", 7, "u-1")
    assert cfg.source == ResourceSource(
        api_version="v1",
        kind="ConfigMap",
        namespaces=("shop",),
        label_selector=None,
        field_selector=None,
        events=frozenset({"create", "update", "delete"}),
        changed=(),
        fire_on_start=False,
    )
    assert cfg.filters is None
    assert cfg.filter_specs == ()
    assert cfg.options == Options(
        rate_per_second=10.0,
        burst=20,
        retry_attempts=5,
        retry_initial=1.0,
        retry_max=60.0,
        workers=4,
        queue_size=10000,
    )
    assert cfg.runner == RunnerOptions(image=None, resources=None)
    (entry,) = cfg.actions
    assert (entry.name, entry.kind, entry.field) == ("log", "log", "spec.actions[0]")
    assert isinstance(entry.config, StubConfig)
    assert entry.config.field == "spec.actions[0].log"
    assert entry.config.raw == {"message": "hi"}


def test_missing_namespace_uses_the_default() -> None:
    obj = trigger(MINIMAL)
    del obj["metadata"]["namespace"]
    assert parse_trigger(obj, STUB_ACTIONS).namespace == "default"
    assert parse_trigger(obj, STUB_ACTIONS, default_namespace="team").source.namespaces == ("team",)  # type: ignore[union-attr]


def test_full_resource_source() -> None:
    spec = copy.deepcopy(MINIMAL)
    spec["source"]["resource"].update(
        {
            "namespaces": ["a", "b"],
            "labelSelector": "tier!=db,app=web",
            "fieldSelector": "metadata.name==web-config",
            "events": ["update", "delete"],
            "changed": ["{.data}", ".binaryData"],
            "fireOnStart": True,
        }
    )
    src = parse(trigger(spec)).source
    assert isinstance(src, ResourceSource)
    assert src.namespaces == ("a", "b")
    assert src.label_selector is not None and src.label_selector.text == "app=web,tier!=db"
    assert src.field_selector is not None and src.field_selector.text == "metadata.name=web-config"
    assert src.events == frozenset({"update", "delete"})
    assert [p.source for p in src.changed] == ["{.data}", ".binaryData"]
    assert src.changed[0].values({"data": {"k": "v"}}) == [{"k": "v"}]
    assert src.fire_on_start is True


def test_all_namespaces() -> None:
    spec = copy.deepcopy(MINIMAL)
    spec["source"]["resource"]["namespaces"] = ["*"]
    src = parse(trigger(spec)).source
    assert isinstance(src, ResourceSource) and src.namespaces is None


def test_cron_source() -> None:
    spec = {
        "source": {
            "cron": {"schedule": "0 2 * * *", "timeZone": "Europe/Berlin", "catchUpWindow": "1h"}
        },
        "actions": [{"log": {"message": "tick"}}],
    }
    cfg = parse(trigger(spec))
    assert isinstance(cfg.source, CronSource)
    assert isinstance(cfg.source.schedule, CronSchedule)
    assert (cfg.source.time_zone, cfg.source.catch_up_window) == ("Europe/Berlin", 3600.0)
    assert cfg.source.schedule.text == "0 2 * * *"
    assert cfg.actions[0].config.ctx.source_kind is None
    assert cfg.actions[0].config.ctx.source_namespaces is None


def test_cron_defaults() -> None:
    cfg = parse(
        trigger(
            {"source": {"cron": {"schedule": "@daily"}}, "actions": [{"log": {"message": "x"}}]}
        )
    )
    assert isinstance(cfg.source, CronSource)
    assert (cfg.source.time_zone, cfg.source.catch_up_window) == ("UTC", 0.0)


def test_filters_compile_and_are_kept_for_describe() -> None:
    spec = {
        **MINIMAL,
        "filters": [
            {"path": "{.data.mode}", "equals": "on"},
            {"path": "{.metadata.annotations.skip}", "exists": False},
        ],
    }
    cfg = parse(trigger(spec))
    assert cfg.filters is not None
    assert cfg.filters({"data": {"mode": "on"}, "metadata": {}}) is True
    assert (
        cfg.filters({"data": {"mode": "on"}, "metadata": {"annotations": {"skip": "1"}}}) is False
    )
    assert cfg.filter_specs == tuple(spec["filters"])


def test_actions_get_context_names_and_fields() -> None:
    spec = copy.deepcopy(MINIMAL)
    spec["source"]["resource"]["namespaces"] = ["a"]
    spec["actions"] = [
        {"log": {"message": "one"}},
        {"name": "second", "log": {"message": "two"}},
        {"webhook": {"url": {"value": "http://x"}}},
        {"log": {"message": "three"}},
    ]
    cfg = parse(trigger(spec))
    assert [(a.name, a.kind, a.field) for a in cfg.actions] == [
        ("log-0", "log", "spec.actions[0]"),
        ("second", "log", "spec.actions[1]"),
        ("webhook", "webhook", "spec.actions[2]"),
        ("log-3", "log", "spec.actions[3]"),
    ]
    ctx = cfg.actions[2].config.ctx
    assert (
        ctx.trigger_namespace,
        ctx.source_api_version,
        ctx.source_kind,
        ctx.source_namespaces,
    ) == (
        "shop",
        "v1",
        "ConfigMap",
        ("a",),
    )


def test_options_and_runner() -> None:
    spec = {
        **MINIMAL,
        "options": {
            "rateLimit": {"perSecond": 2.5, "burst": 5},
            "retry": {"attempts": 3, "initialDelay": "500ms", "maxDelay": "10s"},
            "workers": 2,
            "queueSize": 50,
        },
        "runner": {
            "image": "example.com/runner:dev",
            "resources": {"limits": {"memory": "64Mi", "cpu": 1}},
        },
    }
    cfg = parse(trigger(spec))
    assert cfg.options == Options(2.5, 5, 3, 0.5, 10.0, 2, 50)
    assert cfg.runner == RunnerOptions(
        "example.com/runner:dev", {"limits": {"memory": "64Mi", "cpu": 1}}
    )


def docs_examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    docs = [d for block in blocks for d in yaml.safe_load_all(block)]
    return [d for d in docs if isinstance(d, dict) and d.get("kind") == "Trigger"]


def test_docs_examples_parse_with_stub_actions() -> None:
    examples = docs_examples()
    assert examples, "docs/spec.md has Trigger examples"
    for example in examples:
        parse_trigger(example, {**STUB_ACTIONS, **_permissive_stubs(example)})


def _permissive_stubs(example: dict[str, Any]) -> dict[str, Any]:
    """Stub every action key the example uses that the stub table lacks."""
    from tests.unit.spec_stubs import stub_kind

    keys = {k for item in example["spec"].get("actions", []) for k in item if k != "name"}
    return {k: stub_kind(k) for k in keys if k not in STUB_ACTIONS}


def test_docs_examples_parse_with_the_real_registry() -> None:
    import runner.actions

    registry = getattr(runner.actions, "ACTIONS", None)
    if not registry:
        pytest.skip("the action registry (runner.actions.ACTIONS) has not landed yet")
    for example in docs_examples():
        parse_trigger(example)


# -- errors ----------------------------------------------------------------------------------


def test_not_a_mapping() -> None:
    assert errors(["x"]) == ["a Trigger must be a mapping, got a list"]


def test_header_errors() -> None:
    obj = trigger(MINIMAL)
    obj["apiVersion"] = "triggers.kubectl-trigger.dev/v1"
    obj["kind"] = "Trigers"
    obj["metadata"]["name"] = "Bad_Name"
    obj["extra"] = 1
    assert errors(obj) == [
        "extra: unknown field; known fields: apiVersion, kind, metadata, spec, status",
        f"apiVersion: must be {API_VERSION}, got 'triggers.kubectl-trigger.dev/v1'; write apiVersion: {API_VERSION}",
        "kind: expected Trigger or ClusterTrigger, got 'Trigers'; write kind: Trigger "
        "(or ClusterTrigger for a trigger that reaches other namespaces)",
        "metadata.name: 'Bad_Name' is not a valid name; use lowercase letters, digits, '-' and '.', "
        "starting and ending with a letter/digit",
    ]


def test_missing_everything() -> None:
    assert errors({}) == [
        f"apiVersion: is required; write apiVersion: {API_VERSION}",
        "kind: is required; write kind: Trigger "
        "(or ClusterTrigger for a trigger that reaches other namespaces)",
        "metadata: is required; add metadata: {name: ..., namespace: ...}",
        "spec: is required; add spec: {source: ..., actions: [...]}",
        "spec.source: is required; add source: {resource: {apiVersion: v1, kind: ConfigMap}} or source: {cron: {...}}",
        "spec.actions: is required; add at least one action, e.g. - log: {message: hi}",
    ]


def test_all_errors_are_collected_across_the_spec() -> None:
    spec = {
        "sourc": {},
        "filters": [{"path": "{.a", "equals": 1}],
        "actions": [{"webhok": {}}, {"log": {"message": "x"}, "webhook": {}}, {"log": {}}],
        "options": {"workers": 0, "retry": {"initialDelay": "1x"}},
    }
    assert errors(trigger(spec)) == [
        "spec.sourc: unknown field; did you mean source?",
        "spec.source: is required; add source: {resource: {apiVersion: v1, kind: ConfigMap}} or source: {cron: {...}}",
        "spec.filters[0].path: unclosed '{' in \"{.a\"; add the closing '}'",
        "spec.actions[0].webhok: unknown action; did you mean webhook? valid actions: log, patch, rolloutRestart, webhook",
        "spec.actions[1]: has several action keys (log, webhook); put each action in its own list item",
        "spec.actions[2].log.message: is required",
        "spec.options.retry.initialDelay: duration '1x' has an unknown unit 'x'; "
        "write a number with a unit (ns, us, ms, s, m, h), e.g. 500ms, 30s, 1h30m",
        "spec.options.workers: must be between 1 and 64, got 0",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "x"}}},
            "spec.source.resource.namespace: unknown field; did you mean namespaces?",
        ),
        (
            {"source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": "x"}}},
            "spec.source.resource.namespaces: must be a list of strings, got a string; write namespaces: [x]",
        ),
        (
            {
                "source": {
                    "resource": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": ["*", "a"]}
                }
            },
            'spec.source.resource.namespaces: "*" (all namespaces) cannot be combined with names; write namespaces: ["*"] alone',
        ),
        (
            {
                "source": {
                    "resource": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": ["Bad"]}
                }
            },
            "spec.source.resource.namespaces[0]: 'Bad' is not a valid namespace name",
        ),
        (
            {"source": {"resource": {"kind": "ConfigMap"}}},
            "spec.source.resource.apiVersion: is required",
        ),
        (
            {"source": {"resource": {"apiVersion": "v1", "kind": "configmap"}}},
            "spec.source.resource.kind: 'configmap' is not a kind; kinds are CamelCase, e.g. ConfigMap",
        ),
        (
            {"source": {"resource": {"apiVersion": "apps/v1/x", "kind": "Deployment"}}},
            "spec.source.resource.apiVersion: 'apps/v1/x' is not an apiVersion; e.g. v1 or apps/v1",
        ),
        (
            {
                "source": {
                    "resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": ["updated"]}
                }
            },
            "spec.source.resource.events[0]: unknown event 'updated'; did you mean update?",
        ),
        (
            {"source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": []}}},
            "spec.source.resource.events: must not be an empty list; omit events to use the default",
        ),
        (
            {
                "source": {
                    "resource": {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "events": ["create"],
                        "changed": ["{.data}"],
                    }
                }
            },
            "spec.source.resource.changed: only applies to update events, and events does not include update; add update to events, or remove changed",
        ),
        (
            {
                "source": {
                    "resource": {"apiVersion": "v1", "kind": "ConfigMap", "fireOnStart": "yes"}
                }
            },
            "spec.source.resource.fireOnStart: must be true or false, got a string",
        ),
        (
            {
                "source": {
                    "resource": {"apiVersion": "v1", "kind": "ConfigMap"},
                    "cron": {"schedule": "@daily"},
                }
            },
            "spec.source: has both resource and cron; a Trigger has exactly one source",
        ),
        ({"source": {}}, "spec.source: needs resource or cron; add exactly one of them"),
        ({"source": "cron"}, "spec.source: must be a mapping, got a string"),
        (
            {"source": {"cron": {"schedule": "@daily", "timezone": "UTC"}}},
            "spec.source.cron.timezone: unknown field; did you mean timeZone?",
        ),
        (
            {"source": {"cron": {"schedule": "@daily", "timeZone": "Mars/Base"}}},
            "spec.source.cron.timeZone: unknown time zone 'Mars/Base'; use an IANA name like Europe/Berlin",
        ),
        (
            {"source": {"cron": {"schedule": "@daily", "catchUpWindow": "1 day"}}},
            "spec.source.cron.catchUpWindow: duration '1 day' has an unknown unit ' day'; write a number with a unit (ns, us, ms, s, m, h), e.g. 500ms, 30s, 1h30m",
        ),
        (
            {
                "source": {"cron": {"schedule": "@daily"}},
                "filters": [{"path": "{.a}", "exists": True}],
            },
            "spec.filters: filters need an event object, and a cron source has none; remove filters, or use a resource source",
        ),
        ({"actions": []}, "spec.actions: must list at least one action"),
        (
            {"actions": {"log": {"message": "x"}}},
            "spec.actions: must be a list of actions, got a mapping",
        ),
        (
            {"actions": [{"name": "x"}]},
            "spec.actions[0]: has no action; add one of: log, patch, rolloutRestart, webhook",
        ),
        ({"actions": [{"log": "hello"}]}, "spec.actions[0].log: must be a mapping, got a string"),
        (
            {"actions": [{"use": {"name": "notify"}}]},
            "spec.actions[0].use: a TriggerTemplate reference must be expanded before the spec is parsed; apply the Trigger with kubectl trigger, which expands use: items into the spec",
        ),
        (
            {
                "actions": [
                    {"name": "a", "log": {"message": "1"}},
                    {"name": "a", "log": {"message": "2"}},
                ]
            },
            "spec.actions[1].name: duplicate action name 'a'; give each action its own name",
        ),
        (
            {"options": {"retry": {"initialDelay": "10s", "maxDelay": "1s"}}},
            "spec.options.retry.maxDelay: must not be shorter than initialDelay",
        ),
        (
            {"options": {"rateLimit": {"perSecond": 0}}},
            "spec.options.rateLimit.perSecond: must be greater than 0, got 0",
        ),
        (
            {"options": {"queueSize": "big"}},
            "spec.options.queueSize: must be a whole number, got a string",
        ),
        ({"options": {"retries": 3}}, "spec.options.retries: unknown field; did you mean retry?"),
        (
            {"runner": {"resources": {"limits": {"memory": "lots"}}}},
            "spec.runner.resources.limits.memory: invalid quantity 'lots': not a number with an optional suffix; write a number with an optional suffix, e.g. 2, 100m, 500Mi, 1.5Gi, 1e3",
        ),
        (
            {"runner": {"resources": {"requests": {"cpu": 0.5}}}},
            'spec.runner.resources.requests.cpu: 0.5 is not a whole number; write it as a string: "0.5"',
        ),
        (
            {"runner": {"resources": {"limits": {"cpu": "-100m"}}}},
            "spec.runner.resources.limits.cpu: must not be negative, got -100m",
        ),
        ({"runner": {"imag": "x"}}, "spec.runner.imag: unknown field; did you mean image?"),
    ],
)
def test_single_errors(change: dict[str, Any], expected: str) -> None:
    assert errors(trigger({**MINIMAL, **change})) == [expected]

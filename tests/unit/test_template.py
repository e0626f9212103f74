"""Templates: placeholders, escaping per context, typed leaves, and injection that cannot happen."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runner.spec.errors import SpecError
from runner.spec.template import (
    compile_json_text,
    compile_structured,
    compile_text,
    compile_url,
    placeholders,
)

EVIL = 'x", "admin": true, "extra": {"a": 1}}\n{{ .trigger.name }}\'}'


def data(label: str = "web") -> dict[str, Any]:
    return {
        "event": "update",
        "object": {
            "metadata": {
                "name": "web-config",
                "namespace": "shop",
                "labels": {"app.kubernetes.io/name": label, "app": label},
            },
            "data": {"a": "1", "b": "2"},
            "spec": {"replicas": 3, "paused": False, "containers": [{"image": "nginx:1"}]},
        },
        "trigger": {"name": "t", "namespace": "shop"},
        "time": "2024-05-01T10:00:00Z",
    }


def test_text_placeholders() -> None:
    template = compile_text(
        "{{ .object.metadata.name }} in {{.object.metadata.namespace}} ({{ .event }}) "
        '{{ .object.metadata.labels["app.kubernetes.io/name"] }} '
        "{{ .object.spec.containers[0].image }} {{ .object.spec.replicas }} "
        "{{ .object.spec.paused }} {{ .object.data }} [{{ .object.missing.deep }}] "
        "{{ .trigger.name }}/{{ .trigger.namespace }} at {{ .time }}",
        "f",
    )
    assert template.render(data()) == (
        'web-config in shop (update) web nginx:1 3 false {"a":"1","b":"2"} [] t/shop '
        "at 2024-05-01T10:00:00Z"
    )


def test_literal_escape_and_single_quoted_keys() -> None:
    template = compile_text("{{ \"{{\" }} .x }} {{ .object.metadata.labels['app'] }}", "f")
    assert template.render(data()) == "{{ .x }} web"
    assert compile_text("no placeholders }} here", "f").render({}) == "no placeholders }} here"


def test_values_are_not_expanded_again() -> None:
    assert compile_text("{{ .object.metadata.labels.app }}", "f").render(data(EVIL)) == EVIL


def test_url_values_are_percent_encoded() -> None:
    template = compile_url(
        "https://h.example/hook/{{ .object.metadata.name }}?q={{ .object.metadata.labels.app }}",
        "f",
    )
    assert (
        template.render(data("a/b?c=d&e f"))
        == "https://h.example/hook/web-config?q=a%2Fb%3Fc%3Dd%26e%20f"
    )


def test_structured_whole_leaf_keeps_type_and_partial_leaf_is_text() -> None:
    template = compile_structured(
        {
            "spec": {"replicas": "{{ .object.spec.replicas }}", "data": "{{ .object.data }}"},
            "text": "replicas={{ .object.spec.replicas }}",
            "list": ["{{ .object.spec.paused }}", 1, None, True, "plain"],
            "missing": "{{ .object.nope }}",
        },
        "spec.actions[0].patch.patch",
    )
    assert template.render(data()) == {
        "spec": {"replicas": 3, "data": {"a": "1", "b": "2"}},
        "text": "replicas=3",
        "list": [False, 1, None, True, "plain"],
        "missing": "",
    }


def test_structured_render_returns_fresh_objects() -> None:
    template = compile_structured({"a": {"b": ["c"]}, "d": "{{ .object.data }}"}, "f")
    source = data()
    first = template.render(source)
    first["a"]["b"].append("mutated")
    first["d"]["a"] = "mutated"
    assert template.render(source) == {"a": {"b": ["c"]}, "d": {"a": "1", "b": "2"}}
    assert source["object"]["data"] == {"a": "1", "b": "2"}


def test_json_text_template() -> None:
    template = compile_json_text(
        '{"text": "{{ .object.metadata.name }} changed", "labels": "{{ .object.metadata.labels }}",'
        ' "n": [1, "{{ .event }}"]}',
        "spec.actions[1].webhook.body",
    )
    assert template.render(data()) == {
        "text": "web-config changed",
        "labels": {"app.kubernetes.io/name": "web", "app": "web"},
        "n": [1, "update"],
    }


@pytest.mark.parametrize("evil", [EVIL, '"}', "{{ .event }}", "\n\t\\", "}}{{", "'; DROP"])
def test_injection_cannot_add_fields_or_keys(evil: str) -> None:
    body = compile_json_text(
        '{"text": "label {{ .object.metadata.labels.app }} changed",'
        ' "value": "{{ .object.metadata.labels.app }}"}',
        "f",
    ).render(data(evil))
    assert set(body) == {"text", "value"}
    assert body == {"text": f"label {evil} changed", "value": evil}
    # serialising the result is the only way text is produced: it stays one JSON string value
    assert json.loads(json.dumps(body)) == body
    patch = compile_structured(
        {"metadata": {"labels": {"seen": "{{ .object.metadata.labels.app }}"}}}, "f"
    )
    assert patch.render(data(evil)) == {"metadata": {"labels": {"seen": evil}}}
    text = compile_text("{{ .object.metadata.labels.app }}", "f").render(data(evil))
    assert text == evil


def test_placeholders_in_keys_are_rejected() -> None:
    with pytest.raises(SpecError) as info:
        compile_structured(
            {"metadata": {"labels": {"{{ .event }}": "x"}}}, "spec.actions[0].patch.patch"
        )
    assert info.value.path == 'spec.actions[0].patch.patch.metadata.labels["{{ .event }}"]'
    assert info.value.message == "placeholders are not allowed in mapping keys"


def test_unsupported_values_in_structured_templates() -> None:
    import datetime

    with pytest.raises(SpecError) as info:
        compile_structured({"when": datetime.date(2024, 1, 1)}, "f")
    assert info.value.path == "f.when"
    assert info.value.message == "unsupported value of type date in a template"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ .object.name", "unclosed '{{' at column 1 in '{{ .object.name'"),
        (
            "hi {{ object.name }}",
            "a placeholder path must start with '.', found 'o' "
            "at column 7 in 'hi {{ object.name }}'",
        ),
        ("{{ .objct.name }}", "unknown placeholder root .objct at column 4 in '{{ .objct.name }}'"),
        ("{{ }}", "empty placeholder {{ }} at column 4 in '{{ }}'"),
        ("{{ .object[x] }}", "unexpected '[x]' in placeholder at column 11 in '{{ .object[x] }}'"),
        ("{{ .object..x }}", "unexpected '..x' in placeholder at column 11 in '{{ .object..x }}'"),
        ("{{ .params.x }}", "unknown placeholder root .params at column 4 in '{{ .params.x }}'"),
    ],
)
def test_bad_placeholders_name_field_and_column(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        compile_text(text, "spec.actions[0].log.message")
    assert info.value.path == "spec.actions[0].log.message"
    assert info.value.message == message


def test_did_you_mean_for_roots() -> None:
    with pytest.raises(SpecError) as info:
        compile_text("{{ .objct.name }}", "f")
    assert info.value.fix == "did you mean .object?"


def test_bad_json_text() -> None:
    with pytest.raises(SpecError) as info:
        compile_json_text('{"a": {{ .event }}}', "spec.actions[1].webhook.body")
    assert info.value.path == "spec.actions[1].webhook.body"
    assert info.value.message == (
        "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 8"
    )
    assert (
        info.value.fix
        == 'put placeholders inside quotes, e.g. {"name": "{{ .object.metadata.name }}"}'
    )


def test_templates_must_be_strings() -> None:
    with pytest.raises(SpecError) as info:
        compile_text(5, "f")  # type: ignore[arg-type]
    assert info.value.message == "a template must be a string, got a number"


def test_placeholders_lists_paths_and_allows_other_roots() -> None:
    found = placeholders("{{ .params.a }} and {{ .object.x[2] }}", "f", roots=())
    assert [(p.text, p.keys) for p in found] == [
        ("{{ .params.a }}", ("params", "a")),
        ("{{ .object.x[2] }}", ("object", "x", 2)),
    ]
    assert compile_text("{{ .object.x }}", "f").is_constant is False
    assert compile_text('a {{ "b" }}', "f").is_constant is True

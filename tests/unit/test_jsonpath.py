"""The JSONPath compiler: what each form selects, what never raises, and the exact errors."""

from __future__ import annotations

from typing import Any

import pytest

from runner.spec.errors import SpecError
from runner.spec.jsonpath import (
    ONE_EXPRESSION,
    REFUSED_CONSTRUCTS,
    RUNTIME_ERRORS,
    JsonPath,
    JsonPathError,
    compile_path,
    render_value,
    without_braces,
)

POD: dict[str, Any] = {
    "metadata": {
        "name": "web-1",
        "labels": {"app": "web", "app.kubernetes.io/name": "shop"},
        "annotations": {},
    },
    "spec": {
        "replicas": 3,
        "containers": [
            {"name": "web", "image": "web:1", "ports": [{"containerPort": 80}]},
            {"name": "proxy", "image": "proxy:2"},
            {"name": "log", "image": "log:3"},
        ],
    },
    "status": {
        "phase": "Running",
        "conditions": [
            {"type": "Ready", "status": "True", "count": 2, "ready": True},
            {"type": "Initialized", "status": "False", "count": 5, "ready": False},
        ],
    },
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("{.status.phase}", ["Running"]),
        (".status.phase", ["Running"]),
        ("  {  .status.phase  }  ", ["Running"]),
        ("{$.status.phase}", ["Running"]),
        ("{@.status.phase}", ["Running"]),
        # a bracketed key is read as a path, as kubectl reads it; an escaped dot is a key's dot
        ("{.metadata.labels['app.kubernetes.io/name']}", []),
        ("{.metadata.labels['app\\.kubernetes\\.io/name']}", ["shop"]),
        ("{.metadata.labels.app\\.kubernetes\\.io/name}", ["shop"]),
        ("{['metadata.name']}", ["web-1"]),
        ("{.spec.containers[0]['name', 'image']}", ["web", "web:1"]),
        (
            "{.spec.containers[*]['name', 'image']}",
            ["web", "proxy", "log", "web:1", "proxy:2", "log:3"],
        ),
        ("{.spec.containers[0].name}", ["web"]),
        ("{.spec.containers[-1].name}", ["log"]),
        ("{.spec.containers[2,0].name}", ["log", "web"]),
        ("{.spec.containers[*].image}", ["web:1", "proxy:2", "log:3"]),
        ("{.spec.containers.*.name}", ["web", "proxy", "log"]),
        ("{.metadata.labels.*}", ["web", "shop"]),
        ("{.spec.containers[0:2].name}", ["web", "proxy"]),
        ("{.spec.containers[1:].name}", ["proxy", "log"]),
        ("{.spec.containers[:1].name}", ["web"]),
        ("{.spec.containers[::2].name}", ["web", "log"]),
        ("{.spec.containers[-2:].name}", ["proxy", "log"]),
        ("{.spec.containers[3:3]}", []),
        ("{..containerPort}", [80]),
        ("{..name}", ["web-1", "web", "proxy", "log"]),
        ("{.spec..image}", ["web:1", "proxy:2", "log:3"]),
        ("{...containerPort}", [80]),
        ('{.status.conditions[?(@.type=="Ready")].status}', ["True"]),
        ("{.status.conditions[?(@.type=='Ready')].status}", ["True"]),
        ('{.status.conditions[?(@.type != "Ready")].type}', ["Initialized"]),
        ("{.status.conditions[?(@.count > 2)].type}", ["Initialized"]),
        ("{.status.conditions[?(@.count >= 2)].type}", ["Ready", "Initialized"]),
        ("{.status.conditions[?(@.count < 5)].type}", ["Ready"]),
        ("{.status.conditions[?(@.count <= 5)].type}", ["Ready", "Initialized"]),
        ('{.status.conditions[?(@.type < "J")].type}', ["Initialized"]),
        ("{.status.conditions[?(@.ready==true)].type}", ["Ready"]),
        ("{.status.conditions[?(@.ready==false)].type}", ["Initialized"]),
        ("{.status.conditions[?(@.count == @.count)].type}", ["Ready", "Initialized"]),
        ("{.spec.containers[?(@.ports)].name}", ["web"]),
        ("{.spec.containers[?(@.ports[0].containerPort == 80)].name}", ["web"]),
        ("{.status.nothing}", []),
        ("{.status.phase.deeper}", []),
        ("{.spec.replicas}", [3]),
        ("{.metadata.annotations}", [{}]),
        # {.} is the key "" (kubectl's reading); the whole object is {@}, {$} or {}
        ("{.}", []),
    ],
)
def test_selects(path: str, expected: list[Any]) -> None:
    assert compile_path(path).values(POD) == expected


@pytest.mark.parametrize(
    "path",
    [
        "{.spec.containers[5].name}",  # out of range
        "{.spec.containers[-4].name}",
        "{.spec.containers[1:9]}",  # a slice past the end
        "{.spec.replicas[0]}",  # an index on a number, a string, a map
        "{.metadata.name[0]}",
        "{.metadata.name[*]}",
        "{.metadata.labels[*]}",
        "{.metadata.labels[0]}",
        "{.status[?(@.x)]}",  # a filter on a map
        '{.status.conditions[?(@.count == "2")].type}',  # a number against a string
        "{.status.conditions[?(@.count == 2.0)].type}",  # an integer against a float
        "{.status.conditions[?(@.ready < true)].type}",  # booleans do not order
        '{.status.conditions[?(@.* == "Ready")]}',  # several values on the left
    ],
)
def test_where_kubectl_fails_at_run_time_nothing_is_selected(path: str) -> None:
    assert compile_path(path).values(POD) == []


def test_one_failing_item_fails_the_whole_path_as_in_kubectl() -> None:
    obj = {"items": [{"n": 1}, {"n": "x"}, {"n": 3}]}
    assert compile_path("{.items[?(@.n > 0)].n}").values(obj) == []
    assert compile_path("{.items[?(@.n > 0)].n}").values({"items": [{"n": 1}, {"n": 3}]}) == [1, 3]


def test_null_in_a_comparison_fails_but_exists_holds() -> None:
    obj = {"items": [{"n": None}, {"m": 1}]}
    assert compile_path("{.items[?(@.n == 1)]}").values(obj) == []
    assert compile_path("{.items[?(@.n)]}").values(obj) == [{"n": None}]


def test_existence_test_counts_what_kubectl_returns_with_an_error() -> None:
    """kubectl's [?(@.x[5])] keeps an item whose x is a too-short list (its quirk, followed)."""
    obj = {"items": [{"x": []}, {"x": "s"}, {"x": None}, {"y": 1}]}
    assert compile_path("{.items[?(@.x[5])]}").values(obj) == [{"x": []}, {"x": "s"}]


def test_an_empty_slice_ends_the_step_as_in_kubectl() -> None:
    obj = {"items": [{"a": [1, 2]}, {"a": [5]}, {"a": [7, 8]}]}
    assert compile_path("{.items[*].a[1:]}").values(obj) == [2]


def test_root_forms_select_the_whole_object() -> None:
    assert compile_path("{@}").values(POD) == [POD]
    assert compile_path("{$}").values(POD) == [POD]
    assert compile_path("{}").values(POD) == [POD]
    assert compile_path("{.}").values({"": 1}) == [1]


def test_filter_on_plain_values_with_at() -> None:
    obj = {"finalizers": ["a", "keep", "b"], "n": [2, 6, 3, 7]}
    assert compile_path('{.finalizers[?(@ == "keep")]}').values(obj) == ["keep"]
    assert compile_path("{.n[?(@<5)]}").values(obj) == [2, 3]


def test_booleans_are_not_numbers_in_filters() -> None:
    assert compile_path("{.items[?(@.n == 1)]}").values({"items": [{"n": True}, {"n": 1}]}) == []
    assert compile_path("{.items[?(@.n == true)]}").values({"items": [{"n": True}]}) == [
        {"n": True}
    ]


@pytest.mark.parametrize("obj", [None, "text", 5, [], [1, 2], {"status": None}, {"status": "x"}])
def test_never_raises_on_odd_objects(obj: Any) -> None:
    for path in ("{.status.phase}", "{.status[0]}", "{..phase}", "{.status[?(@.a)]}"):
        assert compile_path(path).values(obj) == []


def test_wildcard_and_descent_follow_kubectl() -> None:
    assert compile_path("{.*}").values([1, 2]) == [1, 2]
    assert compile_path("{.*}").values({"a": None}) == [None]
    assert compile_path("{.*}").values("ab") == [97, 98]  # kubectl yields a string's bytes
    # .. yields the maps, lists and non-empty strings it passes, not numbers or empty ones
    assert compile_path("{..}").values({"a": "x", "b": 1, "c": ""}) == [
        {"a": "x", "b": 1, "c": ""},
        "x",
    ]


def test_values_returns_a_fresh_list_each_time() -> None:
    path = compile_path("{.status.phase}")
    first = path.values(POD)
    first.append("x")
    assert path.values(POD) == ["Running"]


def test_jsonpath_is_frozen_and_compares_by_source() -> None:
    a, b = compile_path("{.a}"), compile_path("{.a}")
    assert a == b
    assert a.source == "{.a}"
    assert isinstance(a, JsonPath)
    with pytest.raises(AttributeError):
        a.source = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("{.metadata.name", "f: unclosed '{' in \"{.metadata.name\"; add the closing '}'"),
        (
            "{metadata.name}",
            "f: 'metadata' is not a key: a key follows a dot in \"{metadata.name}\"; "
            "start the path with '.', e.g. {.metadata...}",
        ),
        (
            "{.a}{.b}",
            'f: several {...} blocks in "{.a}{.b}": that is a kubectl text template, not a path;'
            " a path is one expression in braces, e.g. {.status.phase}",
        ),
        ("{.a[}", "f: unclosed '[' at column 4 in \"{.a[}\"; add the closing ']'"),
        (
            "{.a[1:2:0]}",
            'f: a slice step of 0 (kubectl fails on it for any non-empty list) in "{.a[1:2:0]}";'
            " use a step of 1 or more; kubectl cannot reverse a list",
        ),
        (
            "{.a[::-1]}",
            'f: a slice step of -1 (kubectl fails on it for any non-empty list) in "{.a[::-1]}";'
            " use a step of 1 or more; kubectl cannot reverse a list",
        ),
        (
            '{.a["x"]}',
            'f: invalid array index \'"x"\' at column 4 in "{.a[\\"x\\"]}"; '
            "quote keys with single quotes, ['key']",
        ),
        (
            ".a}",
            'f: text outside the braces in ".a}": that is a kubectl text template, not a path;'
            " a path is one expression in braces, e.g. {.status.phase}",
        ),
    ],
)
def test_exact_errors(path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        compile_path(path, "f")
    assert str(info.value) == message
    assert info.value.path == "f"


@pytest.mark.parametrize(
    ("path", "fragment", "difference"),
    [
        ("", "empty JSONPath", ""),
        ("  ", "empty JSONPath", ""),
        ("{range .items[*]}", "{range}/{end} templates are not paths", ONE_EXPRESSION),
        ("{end}", "{range}/{end} templates are not paths", ONE_EXPRESSION),
        ("{.a} x", "text outside the braces", ONE_EXPRESSION),
        ("{.a b}", "'b' is not a key", REFUSED_CONSTRUCTS),
        ("{.a 1}", "the constant '1' is not a step of a path", REFUSED_CONSTRUCTS),
        ('{.a "x"}', "the constant 'x' is not a step of a path", REFUSED_CONSTRUCTS),
        ("{.a[?(@.x=Ready)]}", "use '==' to compare", REFUSED_CONSTRUCTS),
        ("{.a[?(@.x<>1)]}", "unknown comparison '<>'", REFUSED_CONSTRUCTS),
        ("{.a[?(@.x==Ready)]}", "found 'Ready'", REFUSED_CONSTRUCTS),
        ("{.a[?(@.x=='\\xff')]}", "a byte escape above \\x7f", REFUSED_CONSTRUCTS),
        ("{.a[x]}", "invalid array index 'x' at column 4", ""),
        ("{.a[+1]}", "invalid array index '+1' at column 4", ""),
        ("{.a[1:2:3:4]}", "invalid array index", ""),
        ("{.a[-]}", "array index '-' is not a number", ""),
        ("{..*}", "unrecognized character '*' at column 4", ""),
        ("{....a}", "'..' twice in a row at column 4", ""),
        ("{.a\t}", "unrecognized character '\\t' at column 4", ""),
        ("{.a[?(@.x==1]}", "unterminated filter at column 4", ""),
        ("{.a[?(@.x==1)}", "expected ']' after the filter's ')' at column 14", ""),
        ("{.a[?(@.x=='y)]}", "unterminated filter at column 4", ""),
        ("{.a[?(@.x=='\\q')]}", "unknown escape \\q", ""),
        ("{'abc}", "unterminated string '... at column 2", ""),
        ("{1.2.3}", "cannot read the number '1.2.3' at column 2", ""),
        (".a[0", "unclosed '[' at column 3", ""),
    ],
)
def test_errors_name_the_problem_and_column(path: str, fragment: str, difference: str) -> None:
    with pytest.raises(JsonPathError) as info:
        compile_path(path, "spec.filters[0].path")
    assert fragment in info.value.message
    assert info.value.path == "spec.filters[0].path"
    assert info.value.difference == difference


def test_non_string_path_is_an_error() -> None:
    with pytest.raises(SpecError) as info:
        compile_path(5, "p")  # type: ignore[arg-type]
    assert info.value.message == "a JSONPath must be a string, got int"


def test_without_braces() -> None:
    assert without_braces(".a.b")
    assert not without_braces("{.a.b}")
    assert not without_braces("  ")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        ("<a&b>", "<a&b>"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (3, "3"),
        (-(2**63), "-9223372036854775808"),
        (2**64, "1.8446744073709552e+19"),  # beyond int64 kubectl has a float64
        (2.5, "2.5"),
        (2.0, "2"),
        (-0.0, "-0"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (123456789.5, "1.234567895e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e21, "1e+21"),
        ({"b": 1, "a": [1, "x"]}, '{"a":[1,"x"],"b":1}'),
        ([1, "ü"], '[1,"ü"]'),
        (
            {"f": 3.0, "big": 123456789.5, "e": 1e21, "tiny": 1e-7},
            '{"big":123456789.5,"e":1e+21,"f":3,"tiny":1e-7}',
        ),
        (
            {"h": "<a&b>", "n": None, "c": "\u2028\n\u0001\b"},
            '{"c":"\\u2028\\n\\u0001\\b","h":"\\u003ca\\u0026b\\u003e","n":null}',
        ),
        ([2**64, 1e20, -0.0], "[18446744073709552000,100000000000000000000,-0]"),
    ],
)
def test_render_value_like_kubectl(value: Any, text: str) -> None:
    assert render_value(value) == text


def resource_trigger(filters: list[Any], changed: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "triggers.kubectl-trigger.dev/v1alpha1",
        "kind": "Trigger",
        "metadata": {"name": "t", "namespace": "shop"},
        "spec": {
            "source": {
                "resource": {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "events": ["update"],
                    "changed": changed,
                }
            },
            "filters": filters,
            "actions": [{"log": {"message": "x"}}],
        },
    }


def test_validate_warns_about_paths_without_braces() -> None:
    from runner.spec.differences import BY_ID, spec_warnings
    from runner.spec.parse import parse_trigger

    spec = resource_trigger(
        [
            {"path": ".data.a", "exists": True},
            {"any": [{"path": "{.data.b}", "exists": True}, {"not": {"path": ".x", "equals": 1}}]},
        ],
        ["{.data}", ".metadata.labels"],
    )
    warnings = spec_warnings(parse_trigger(spec))
    assert [w.split(":")[0] for w in warnings] == [
        "spec.source.resource.changed[1]",
        "spec.filters[0].path",
        "spec.filters[1].any[1].not.path",
    ]
    assert "reads it as {.data.a}" in warnings[1]
    assert "jsonpath-one-expression" in warnings[1]
    assert {ONE_EXPRESSION, REFUSED_CONSTRUCTS, RUNTIME_ERRORS} <= set(BY_ID)
    braced = resource_trigger([{"path": "{.data.a}", "exists": True}], ["{.data}"])
    assert spec_warnings(parse_trigger(braced)) == []


@pytest.mark.parametrize(
    ("value", "operand", "holds"),
    [
        (None, "null", True),  # kubectl prints null
        (None, "", False),
        ({"a": 3.0}, '{"a":3}', True),
        ({"h": "<a&b>"}, '{"h":"\\u003ca\\u0026b\\u003e"}', True),
        (123456789.5, "1.234567895e+08", True),
        (123456789.5, 123456789.5, True),  # a number operand prints the same way
        (1000000, 1000000.0, True),  # a whole decimal operand is the integer the server sends
        (1000000, "1e+06", False),
        (3, "3", True),
    ],
)
def test_filters_compare_values_as_kubectl_prints_them(
    value: Any, operand: Any, holds: bool
) -> None:
    from runner.filters import compile_filter, matches

    predicate = compile_filter({"path": "{.v}", "equals": operand}, "spec.filters[0]")
    assert matches(predicate, {"v": value}) is holds

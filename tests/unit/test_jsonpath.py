"""The JSONPath compiler: what each form selects, what never raises, and the exact errors."""

from __future__ import annotations

from typing import Any

import pytest

from runner.spec.errors import SpecError
from runner.spec.jsonpath import JsonPath, compile_path, render_value

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
            {"type": "Ready", "status": "True", "count": 2},
            {"type": "Initialized", "status": "False", "count": 5},
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
        ("{.metadata.labels['app.kubernetes.io/name']}", ["shop"]),
        ('{.metadata.labels["app.kubernetes.io/name"]}', ["shop"]),
        ("{.metadata.labels.app\\.kubernetes\\.io/name}", ["shop"]),
        ("{.spec.containers[0].name}", ["web"]),
        ("{.spec.containers[-1].name}", ["log"]),
        ("{.spec.containers[5].name}", []),
        ("{.spec.containers[-4].name}", []),
        ("{.spec.containers[*].image}", ["web:1", "proxy:2", "log:3"]),
        ("{.spec.containers.*.name}", ["web", "proxy", "log"]),
        ("{.metadata.labels.*}", ["web", "shop"]),
        ("{.metadata.labels[*]}", ["web", "shop"]),
        ("{.spec.containers[0:2].name}", ["web", "proxy"]),
        ("{.spec.containers[1:].name}", ["proxy", "log"]),
        ("{.spec.containers[:1].name}", ["web"]),
        ("{.spec.containers[::2].name}", ["web", "log"]),
        ("{.spec.containers[::-1].name}", ["log", "proxy", "web"]),
        ("{.spec.containers[-2:].name}", ["proxy", "log"]),
        ("{..containerPort}", [80]),
        ("{..name}", ["web-1", "web", "proxy", "log"]),
        ("{.spec..image}", ["web:1", "proxy:2", "log:3"]),
        ('{.status.conditions[?(@.type=="Ready")].status}', ["True"]),
        ("{.status.conditions[?(@.type=='Ready')].status}", ["True"]),
        ('{.status.conditions[?(@.type != "Ready")].type}', ["Initialized"]),
        ("{.status.conditions[?(@.count > 2)].type}", ["Initialized"]),
        ("{.status.conditions[?(@.count >= 2)].type}", ["Ready", "Initialized"]),
        ("{.status.conditions[?(@.count < 5)].type}", ["Ready"]),
        ("{.status.conditions[?(@.count <= 5)].type}", ["Ready", "Initialized"]),
        ("{.status.conditions[?(@.count == 2.0)].type}", ["Ready"]),
        ('{.status.conditions[?(@.count == "2")].type}', []),
        ('{.status.conditions[?(@.type < "J")].type}', ["Initialized"]),
        ("{.spec.containers[?(@.ports)].name}", ["web"]),
        ("{.spec.containers[?(@.ports[0].containerPort == 80)].name}", ["web"]),
        ("{.status.nothing}", []),
        ("{.status.phase.deeper}", []),
        ("{.spec.replicas[0]}", []),
        ("{.metadata.name[0]}", []),
        ("{.metadata.name[*]}", []),
        ("{.status[?(@.x)]}", []),
        ("{.spec.replicas}", [3]),
        ("{.metadata.annotations}", [{}]),
    ],
)
def test_selects(path: str, expected: list[Any]) -> None:
    assert compile_path(path).values(POD) == expected


def test_root_forms_select_the_whole_object() -> None:
    assert compile_path("{.}").values(POD) == [POD]
    assert compile_path("{$}").values(POD) == [POD]
    assert compile_path(".").values(POD) == [POD]


def test_filter_on_plain_values_with_at() -> None:
    obj = {"finalizers": ["a", "keep", "b"]}
    assert compile_path('{.finalizers[?(@ == "keep")]}').values(obj) == ["keep"]


def test_booleans_are_not_numbers_in_filters() -> None:
    obj = {"items": [{"n": True}, {"n": 1}]}
    assert compile_path("{.items[?(@.n == 1)]}").values(obj) == [{"n": 1}]


@pytest.mark.parametrize("obj", [None, "text", 5, [], [1, 2], {"status": None}, {"status": "x"}])
def test_never_raises_on_odd_objects(obj: Any) -> None:
    for path in ("{.status.phase}", "{.status[0]}", "{..phase}", "{.status[?(@.a)]}"):
        assert compile_path(path).values(obj) == []


def test_wildcard_on_the_root() -> None:
    assert compile_path("{.*}").values([1, 2]) == [1, 2]
    assert compile_path("{.*}").values({"a": None}) == [None]
    assert compile_path("{.*}").values("text") == []


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
            "metadata.name",
            "f: unknown token 'm' at column 1 in \"metadata.name\"; "
            "start the path with '.', e.g. {.metadata.name}",
        ),
        (
            "{.a}{.b}",
            "f: text after the closing '}' at column 5 in \"{.a}{.b}\"; "
            "a path is a single expression; kubectl text templates are not supported",
        ),
        ("{.a[}", "f: unclosed '[' at column 4 in \"{.a[}\"; add the closing ']'"),
        (
            "{.a[1:2:0]}",
            'f: slice step must not be 0 at column 10 in "{.a[1:2:0]}"; use a step of 1 or more',
        ),
        ('.a["x]', 'f: unclosed string "... at column 4 in ".a[\\"x]"; add the closing "'),
        (".a}", "f: unexpected '}' at column 3 in \".a}\"; add the opening '{' or remove the '}'"),
    ],
)
def test_exact_errors(path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        compile_path(path, "f")
    assert str(info.value) == message
    assert info.value.path == "f"


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("{}", "empty JSONPath"),
        ("", "empty JSONPath"),
        ("{range .items[*]}", "{range}/{end} templates are not paths"),
        ("{end}", "{range}/{end} templates are not paths"),
        (".a.", "expected a key after '.', found the end at column 4"),
        ("{.a b}", "unknown token ' ' at column 4"),
        (".a[x]", "unknown token 'x' inside '[...]' at column 4"),
        ("{.a[?(@.x=Ready)]}", "use '==' to compare at column 10"),
        (
            "{.a[?(@.x==Ready)]}",
            "expected a quoted string or a number to compare with at column 12",
        ),
        ("{.a[?(.x)]}", "a filter must start with '@' at column 7"),
        ("{.a[?(@.x==1]}", "expected ')', found ']' at column 13"),
        ("{..}", "expected a key after '..', found the end at column 4"),
        (".a[0", "unclosed '[' at column 3"),
    ],
)
def test_errors_name_the_problem_and_column(path: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        compile_path(path, "spec.filters[0].path")
    assert fragment in info.value.message
    assert info.value.path == "spec.filters[0].path"


def test_non_string_path_is_an_error() -> None:
    with pytest.raises(SpecError) as info:
        compile_path(5, "p")  # type: ignore[arg-type]
    assert info.value.message == "a JSONPath must be a string, got int"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (2.5, "2.5"),
        (2.0, "2"),
        (None, ""),
        ({"b": 1, "a": [1, "x"]}, '{"a":[1,"x"],"b":1}'),
        ([1, "ü"], '[1,"ü"]'),
    ],
)
def test_render_value_like_kubectl(value: Any, text: str) -> None:
    assert render_value(value) == text

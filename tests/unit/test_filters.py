"""Filters: each operator, any-value and missing-path rules, errors, groups, the registry."""

from __future__ import annotations

from typing import Any

import pytest

from runner.filters import (
    GROUP_OPERATORS,
    PATH_OPERATORS,
    FilterError,
    compile_filter,
    compile_filters,
    explain,
    matches,
)
from runner.filters.base import missing_paths
from runner.spec.errors import SpecError, SpecErrors

OBJ: dict[str, Any] = {
    "metadata": {
        "name": "web-1",
        "labels": {"app": "web"},
        "annotations": {"note": "keep"},
        "creationTimestamp": "2024-05-01T10:00:00Z",
    },
    "spec": {
        "replicas": 3,
        "paused": False,
        "containers": [
            {"image": "web:1", "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}}},
            {"image": "proxy:2", "resources": {"limits": {"memory": "1Gi", "cpu": "2"}}},
        ],
    },
    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    "odd": "abc",
}


def holds(raw: dict[str, Any]) -> bool:
    return compile_filter(raw, "spec.filters[0]")(OBJ)


def test_registry_tables() -> None:
    assert list(PATH_OPERATORS) == [
        "exists",
        "equals",
        "notEquals",
        "in",
        "matches",
        "greaterThan",
        "lessThan",
    ]
    assert list(GROUP_OPERATORS) == ["all", "any", "not"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"path": "{.metadata.annotations.note}", "exists": True}, True),
        ({"path": "{.metadata.annotations.skip}", "exists": True}, False),
        ({"path": "{.metadata.annotations.skip}", "exists": False}, True),
        ({"path": "{.metadata.annotations.note}", "exists": False}, False),
        ({"path": "{.status.phase}", "equals": "Running"}, True),
        ({"path": "{.status.phase}", "equals": "running"}, False),
        ({"path": '{.status.conditions[?(@.type=="Ready")].status}', "equals": "True"}, True),
        ({"path": "{.spec.replicas}", "equals": 3}, True),
        ({"path": "{.spec.replicas}", "equals": "3"}, True),
        ({"path": "{.spec.paused}", "equals": False}, True),
        ({"path": "{.spec.paused}", "equals": "false"}, True),
        ({"path": "{.spec.containers[*].image}", "equals": "proxy:2"}, True),
        ({"path": "{.missing}", "equals": ""}, False),
        ({"path": "{.status.phase}", "notEquals": "Pending"}, True),
        ({"path": "{.status.phase}", "notEquals": "Running"}, False),
        ({"path": "{.missing}", "notEquals": "x"}, False),
        ({"path": "{.spec.containers[*].image}", "notEquals": "web:1"}, False),
        ({"path": "{.spec.containers[*].image}", "notEquals": "other"}, True),
        ({"path": "{.metadata.labels.app}", "in": ["web", "api"]}, True),
        ({"path": "{.metadata.labels.app}", "in": ["api"]}, False),
        ({"path": "{.spec.replicas}", "in": [1, 3]}, True),
        ({"path": "{.missing}", "in": ["x"]}, False),
        ({"path": "{.metadata.name}", "matches": "^web-[0-9]+$"}, True),
        ({"path": "{.metadata.name}", "matches": "api"}, False),
        ({"path": "{.metadata.name}", "matches": "b-1"}, True),
        ({"path": "{.missing}", "matches": ".*"}, False),
        ({"path": "{.spec.replicas}", "greaterThan": 2}, True),
        ({"path": "{.spec.replicas}", "greaterThan": "3"}, False),
        ({"path": "{.spec.replicas}", "lessThan": "3.5"}, True),
        ({"path": "{.spec.containers[*].resources.limits.memory}", "greaterThan": "512Mi"}, True),
        ({"path": "{.spec.containers[0].resources.limits.memory}", "greaterThan": "512Mi"}, False),
        ({"path": "{.spec.containers[0].resources.limits.cpu}", "lessThan": "1"}, True),
        ({"path": "{.spec.containers[0].resources.limits.cpu}", "greaterThan": "0.4"}, True),
        ({"path": "{.metadata.creationTimestamp}", "greaterThan": "2024-01-01T00:00:00Z"}, True),
        ({"path": "{.metadata.creationTimestamp}", "lessThan": "2024-05-01T11:00:00+02:00"}, False),
        ({"path": "{.metadata.creationTimestamp}", "lessThan": "2024-05-01T13:00:00+02:00"}, True),
        ({"path": "{.missing}", "greaterThan": "1"}, False),
    ],
)
def test_operators(raw: dict[str, Any], expected: bool) -> None:
    assert holds(raw) is expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"path": "{.odd}", "greaterThan": "1"}, "{.odd}: 'abc' is not a number or quantity"),
        (
            {"path": "{.spec.paused}", "lessThan": 1},
            "{.spec.paused}: a boolean is not a number or quantity",
        ),
        (
            {"path": "{.spec.replicas}", "greaterThan": "2024-01-01T00:00:00Z"},
            "{.spec.replicas}: 3 is not an RFC 3339 timestamp",
        ),
    ],
)
def test_values_that_cannot_be_compared_raise_filter_error(
    raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(FilterError) as info:
        holds(raw)
    assert str(info.value) == message


def test_errors_are_never_a_pass_even_under_not() -> None:
    bad = compile_filter({"not": {"path": "{.odd}", "greaterThan": "1"}}, "f")
    with pytest.raises(FilterError):
        bad(OBJ)
    assert matches(bad, OBJ) is False
    assert matches(None, OBJ) is True
    assert (
        matches(compile_filter({"path": "{.status.phase}", "equals": "Running"}, "f"), OBJ) is True
    )


def test_groups() -> None:
    assert (
        holds(
            {
                "all": [
                    {"path": "{.status.phase}", "equals": "Running"},
                    {"path": "{.spec.replicas}", "equals": 3},
                ]
            }
        )
        is True
    )
    assert (
        holds(
            {
                "all": [
                    {"path": "{.status.phase}", "equals": "Running"},
                    {"path": "{.spec.replicas}", "equals": 4},
                ]
            }
        )
        is False
    )
    assert (
        holds(
            {"any": [{"path": "{.x}", "exists": True}, {"path": "{.spec.replicas}", "equals": 3}]}
        )
        is True
    )
    assert (
        holds({"any": [{"path": "{.x}", "exists": True}, {"path": "{.y}", "exists": True}]})
        is False
    )
    assert holds({"not": {"path": "{.x}", "exists": True}}) is True
    assert (
        holds(
            {
                "not": {
                    "any": [
                        {"path": "{.x}", "exists": True},
                        {"path": "{.status.phase}", "equals": "Running"},
                    ]
                }
            }
        )
        is False
    )


@pytest.mark.parametrize("operator", ["equals", "notEquals", "in", "matches", "greaterThan"])
def test_a_comparison_on_a_missing_path_is_false_and_noted(operator: str) -> None:
    operand = {"in": ["x"], "greaterThan": 1}.get(operator, "x")
    pred = compile_filter({"path": "{.spec.replcas}", operator: operand}, "f")
    with missing_paths() as missing:
        assert pred(OBJ) is False
    assert missing == ["{.spec.replcas}"]
    pred(OBJ)  # outside a recording block nothing is kept, and nothing fails
    assert missing == ["{.spec.replcas}"]


def test_present_paths_and_exists_note_nothing() -> None:
    preds = [
        compile_filter({"path": "{.status.phase}", "equals": "Pending"}, "f"),
        compile_filter({"path": "{.metadata.labels.gone}", "exists": False}, "f"),
    ]
    with missing_paths() as missing:
        assert [p(OBJ) for p in preds] == [False, True]
    assert missing == []


def test_compile_filters_all_must_hold() -> None:
    both = compile_filters(
        [
            {"path": "{.status.phase}", "equals": "Running"},
            {"path": "{.metadata.labels.app}", "in": ["web"]},
        ]
    )
    assert both(OBJ) is True
    one_fails = compile_filters(
        [
            {"path": "{.status.phase}", "equals": "Running"},
            {"path": "{.metadata.labels.app}", "in": ["api"]},
        ]
    )
    assert one_fails(OBJ) is False
    assert compile_filters([])(OBJ) is True


@pytest.mark.parametrize(
    ("raw", "path", "message", "fix"),
    [
        (
            {"path": "{.a}", "equal": "x"},
            "spec.filters[3].equal",
            "unknown filter operator 'equal'",
            "did you mean equals? valid: path, exists, equals, notEquals, in, matches, "
            "greaterThan, lessThan, all, any, not",
        ),
        ({"path": "{.a}"}, "spec.filters[3]", "needs one operator", None),
        ({"equals": "x"}, "spec.filters[3].path", "is required", None),
        (
            {"path": "{.a}", "equals": "x", "in": ["a"]},
            "spec.filters[3]",
            "has several operators (equals, in)",
            None,
        ),
        ({"path": "{.a", "equals": "x"}, "spec.filters[3].path", "unclosed '{' in \"{.a\"", None),
        (
            {"path": "{.a}", "matches": "("},
            "spec.filters[3].matches",
            "bad regular expression '(': missing ), unterminated subpattern at position 0",
            None,
        ),
        (
            {"path": "{.a}", "exists": "yes"},
            "spec.filters[3].exists",
            "must be true or false, got a string",
            None,
        ),
        ({"path": "{.a}", "in": []}, "spec.filters[3].in", "must be a non-empty list", None),
        ({"path": "{.a}", "in": "a"}, "spec.filters[3].in", "must be a list, got a string", None),
        (
            {"path": "{.a}", "in": [["x"]]},
            "spec.filters[3].in[0]",
            "must be a string, number or boolean, got a list",
            None,
        ),
        (
            {"path": "{.a}", "equals": None},
            "spec.filters[3].equals",
            "needs a value, got null",
            "to test that a field is unset, use exists: false",
        ),
        (
            {"path": "{.a}", "greaterThan": "abc"},
            "spec.filters[3].greaterThan",
            "cannot compare with 'abc'",
            None,
        ),
        (
            {"path": "{.a}", "lessThan": True},
            "spec.filters[3].lessThan",
            "must be a number, quantity or timestamp, got a boolean",
            None,
        ),
        ({"all": []}, "spec.filters[3].all", "must be a non-empty list of filters", None),
        ({"not": [1]}, "spec.filters[3].not", "must be one filter (a mapping), got a list", None),
        (
            {"use": {"name": "x"}},
            "spec.filters[3].use",
            "a TriggerTemplate reference must be expanded before the spec is parsed",
            None,
        ),
        (
            {"any": [{}], "path": "{.a}"},
            "spec.filters[3]",
            "a group (any) takes no other fields, found path",
            None,
        ),
        ("x", "spec.filters[3]", "a filter must be a mapping, got a string", None),
    ],
)
def test_compile_errors(raw: Any, path: str, message: str, fix: str | None) -> None:
    with pytest.raises(SpecError) as info:
        compile_filter(raw, "spec.filters[3]")
    assert info.value.path == path
    assert info.value.message == message
    if fix is not None:
        assert info.value.fix == fix


def test_every_bad_item_is_reported() -> None:
    with pytest.raises(SpecErrors) as info:
        compile_filters(
            [
                {"path": "{.a}", "equals": "x"},
                {"path": "{.b"},
                {"all": [{"path": "{.c}", "equls": 1}, {"path": "{.d}", "exists": 1}]},
            ]
        )
    assert [(e.path, e.message) for e in info.value.errors] == [
        ("spec.filters[1].path", "unclosed '{' in \"{.b\""),
        ("spec.filters[1]", "needs one operator"),
        ("spec.filters[2].all[0].equls", "unknown filter operator 'equls'"),
        ("spec.filters[2].all[1].exists", "must be true or false, got a number"),
    ]


def test_filters_must_be_a_list() -> None:
    with pytest.raises(SpecErrors) as info:
        compile_filters({"path": "{.a}"})
    assert [str(e) for e in info.value.errors] == [
        "spec.filters: must be a list of filters, got a mapping; "
        'e.g. {path: "{.status.phase}", equals: Running}'
    ]


class _Config:
    def __init__(self, specs: list[dict[str, Any]]) -> None:
        self.filter_specs = tuple(specs)
        self.source = None


class _Event:
    type = "update"
    object = OBJ


def test_explain_lists_each_filter() -> None:
    config = _Config(
        [
            {"path": "{.status.phase}", "equals": "Running"},
            {"path": "{.metadata.labels.app}", "in": ["api"]},
            {"path": "{.odd}", "greaterThan": "1"},
        ]
    )
    matched, lines = explain(config, _Event())
    assert matched is False
    assert lines == [
        "pass  spec.filters[0]: {.status.phase} equals 'Running' (selected: 'Running')",
        "fail  spec.filters[1]: {.metadata.labels.app} in ['api'] (selected: 'web')",
        "error spec.filters[2]: {.odd} greaterThan '1' (selected: 'abc'): "
        "{.odd}: 'abc' is not a number or quantity",
    ]


def test_filter_cost_bar() -> None:
    """Four typical filters cost less CPU than json.loads of the Pod (bench/filter_cost.py)."""
    from bench.filter_cost import measure

    figures = measure(iterations=2000, repeats=3)
    assert figures["meets_bar"] is True, figures

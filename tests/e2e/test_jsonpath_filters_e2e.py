"""Filters with kubectl's JSONPath, end to end: paths and printed values as kubectl reads them.

One trigger on Widgets (a CRD that keeps whatever spec it is given), one filter
per case, judged on objects that the real API server stored and sent back: a
bracketed key is a path, an escaped dot belongs to a key, unions and boolean
literals work, values compare as kubectl prints them (maps as Go's JSON, decimals
as Go's %v), and what kubectl fails on selects nothing, counted as a missing path
and never as a filter error. The sentinel and the exact set follow
test_runner_sources_filters' method.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Cluster
from tests.e2e.runner_support import metric
from tests.e2e.test_runner_sources_filters import (  # noqa: F401 (fixtures)
    Runners,
    matched,
    ns,
    run_filter_cases,
    runners,
    widgets,
)

pytestmark = pytest.mark.e2e


def test_filters_read_paths_and_print_values_as_kubectl(
    crd: Cluster,
    widgets: Cluster,  # noqa: F811
    ns: str,  # noqa: F811
    runners: Runners,  # noqa: F811
) -> None:
    cases: dict[str, Any] = {
        "bracket-path": {"path": "{['spec.tier']}", "equals": "web"},
        "escaped-dot": {"path": "{.spec.labels.app\\.kubernetes\\.io/name}", "equals": "shop"},
        "union": {"path": "{.spec['a', 'b']}", "equals": "2"},
        "index-union": {"path": "{.spec.list[1,3]}", "equals": "x"},
        "bool-literal": {"path": "{.spec.items[?(@.ready==true)].name}", "equals": "n1"},
        "map-printed": {"path": "{.spec.m}", "equals": '{"a":3,"h":"\\u003cx\\u0026y\\u003e"}'},
        "float-printed": {"path": "{.spec.f}", "equals": "1.234567895e+08"},
        "out-of-range": {"path": "{.spec.list[5]}", "exists": False},
        "type-mismatch": {"path": "{.spec.items[?(@.n > 1)].name}", "exists": True},
    }
    objects: dict[str, tuple[str, dict[str, Any]]] = {
        "tier-web": ("bracket-path", {"tier": "web"}),
        "tier-db": ("bracket-path", {"tier": "db"}),
        "dotted-shop": ("escaped-dot", {"labels": {"app.kubernetes.io/name": "shop"}}),
        "nested-shop": ("escaped-dot", {"labels": {"app": {"kubernetes": {"io/name": "shop"}}}}),
        "union-b": ("union", {"a": 1, "b": 2}),
        "union-none": ("union", {"a": 1, "c": 2}),
        "list-third": ("index-union", {"list": ["a", "b", "c", "x"]}),
        "list-first": ("index-union", {"list": ["x", "b", "c", "d"]}),
        "ready-n1": ("bool-literal", {"items": [{"name": "n0"}, {"name": "n1", "ready": True}]}),
        "ready-text": ("bool-literal", {"items": [{"name": "n1", "ready": "true"}]}),
        "map-escaped": ("map-printed", {"m": {"h": "<x&y>", "a": 3}}),
        "map-other": ("map-printed", {"m": {"h": "<x&y>", "a": 4}}),
        "float-big": ("float-printed", {"f": 123456789.5}),
        "float-other": ("float-printed", {"f": 123456789}),
        "short-list": ("out-of-range", {"list": ["a", "b"]}),
        "long-list": ("out-of-range", {"list": [0, 1, 2, 3, 4, 5]}),
        "numbers": ("type-mismatch", {"items": [{"name": "a", "n": 2}]}),
        "number-and-text": ("type-mismatch", {"items": [{"name": "a", "n": 2}, {"n": "x"}]}),
    }
    runner = run_filter_cases(crd, ns, runners, cases, objects)
    assert matched(runner, ns) == {
        "tier-web",
        "dotted-shop",
        "union-b",
        "list-third",
        "ready-n1",
        "map-escaped",
        "float-big",
        "short-list",  # kubectl fails on [5]: nothing is selected, so exists: false holds
        "numbers",  # with a string among the numbers kubectl fails: nothing is selected
    }
    assert metric(runner, "filter_errors_total") == 0

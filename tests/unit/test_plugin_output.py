"""Tables, ages and object printing."""

from __future__ import annotations

import datetime

from kubectl_trigger import output


def test_table_is_aligned_like_kubectl() -> None:
    text = output.table(["Name", "Ready"], [["a", "True"], ["long-name", ""]])
    assert text == "NAME        READY\na           True\nlong-name\n"
    assert output.table(["Name"], [["a"]], no_headers=True) == "a\n"


def test_age() -> None:
    now = datetime.datetime(2024, 1, 10, 12, 0, 0, tzinfo=datetime.UTC)
    assert output.age("2024-01-10T11:59:55Z", now) == "5s"
    assert output.age("2024-01-10T11:55:00Z", now) == "5m"
    assert output.age("2024-01-10T11:57:30Z", now) == "2m30s"
    assert output.age("2024-01-10T07:00:00Z", now) == "5h"
    assert output.age("2024-01-07T09:00:00Z", now) == "3d3h"
    assert output.age(None, now) == "<none>"


def test_resource_name() -> None:
    trig = {
        "apiVersion": "triggers.kubectl-trigger.dev/v1alpha1",
        "kind": "Trigger",
        "metadata": {"name": "web"},
    }
    assert output.resource_name(trig) == "trigger.triggers.kubectl-trigger.dev/web"
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x"}}
    assert output.resource_name(sa) == "serviceaccount/x"
    assert output.to_yaml([sa, sa]).count("---\n") == 2

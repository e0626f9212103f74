"""The impersonation flags are found anywhere on the line, as kubectl's global flags."""

from __future__ import annotations

import pytest

from kubectl_trigger.errors import BadInput
from kubectl_trigger.impersonation import Impersonation, split


def test_flags_anywhere_in_both_forms_and_repeated_groups() -> None:
    rest, found = split(
        ["get", "x", "--as", "alice", "--as-group=devs", "-n", "a", "--as-group", "ops"]
    )
    assert rest == ["get", "x", "-n", "a"]
    assert found == Impersonation("alice", "", ("devs", "ops"))
    assert found.headers() == (
        ("Impersonate-User", "alice"),
        ("Impersonate-Group", "devs"),
        ("Impersonate-Group", "ops"),
    )


def test_after_a_double_dash_nothing_is_taken() -> None:
    rest, found = split(["run", "--", "--as", "x"])
    assert rest == ["run", "--", "--as", "x"] and found.headers() == ()


@pytest.mark.parametrize(
    "argv",
    [["get", "--as-group", "devs"], ["get", "--as-uid=7"], ["get", "--as"], ["--as=a", "--as=b"]],
)
def test_refused_as_kubectl_refuses(argv: list[str]) -> None:
    with pytest.raises(BadInput):
        split(argv)

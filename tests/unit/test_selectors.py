"""Label and field selectors: canonical text, matching rules and the errors users see."""

from __future__ import annotations

import pytest

from runner.spec.errors import SpecError
from runner.spec.selectors import (
    label_key_problem,
    label_value_problem,
    parse_field_selector,
    parse_label_selector,
)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("app=web", "app=web"),
        ("app==web", "app=web"),
        ("  app = web  ", "app=web"),
        ("tier!=db", "tier!=db"),
        ("env in (b, a)", "env in (a,b)"),
        ("env notin (x)", "env notin (x)"),
        ("legacy", "legacy"),
        ("!legacy", "!legacy"),
        (
            "app=web,tier!=db,env in (prod,staging),!legacy",
            "app=web,env in (prod,staging),!legacy,tier!=db",
        ),
        ("example.com/team=shop", "example.com/team=shop"),
        ("app=", "app="),
        ("a in (x,x)", "a in (x)"),
    ],
)
def test_canonical_text(text: str, canonical: str) -> None:
    assert parse_label_selector(text, "f").text == canonical


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"app": "web", "env": "prod"}, True),
        ({"app": "web", "env": "staging", "tier": "api"}, True),
        ({"app": "web", "env": "dev"}, False),
        ({"app": "web"}, False),
        ({"app": "api", "env": "prod"}, False),
        ({"app": "web", "env": "prod", "tier": "db"}, False),
        ({"app": "web", "env": "prod", "legacy": ""}, False),
    ],
)
def test_matches(labels: dict[str, str], expected: bool) -> None:
    selector = parse_label_selector("app=web,tier!=db,env in (prod,staging),!legacy")
    assert selector.matches(labels) is expected


def test_set_based_negatives_match_missing_keys() -> None:
    assert parse_label_selector("a notin (x)").matches({}) is True
    assert parse_label_selector("a!=x").matches({}) is True
    assert parse_label_selector("a").matches({}) is False
    assert parse_label_selector("a").matches({"a": ""}) is True
    assert parse_label_selector("a=").matches({"a": ""}) is True
    assert parse_label_selector("a=").matches(None) is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty label selector"),
        ("app=we b", "expected ',' but found 'b' at column 8 in 'app=we b'"),
        ("app in x", "expected '(' after 'in' at column 8 in 'app in x'"),
        ("app in ()", "empty value list after 'in' at column 9 in 'app in ()'"),
        ("a in (x", "expected ',' or ')' in the value list at column 8 in 'a in (x'"),
        ("app>1", "unknown operator '>' at column 4 in 'app>1'"),
        ("a,,b", "expected a label key at column 3 in 'a,,b'"),
        ("a=b,", "expected a label key at column 5 in 'a=b,'"),
        ("!a=b", "'!a' takes no operator or value at column 3 in '!a=b'"),
        ("a=b=c", "expected ',' but found '=' at column 4 in 'a=b=c'"),
    ],
)
def test_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_label_selector(text, "spec.source.resource.labelSelector")
    assert info.value.path == "spec.source.resource.labelSelector"
    assert info.value.message == message


def test_label_key_and_value_rules() -> None:
    assert label_key_problem("app") is None
    assert label_key_problem("app.kubernetes.io/name") is None
    assert label_key_problem("-app") is not None
    assert label_key_problem("A.com/x") is not None
    assert label_key_problem("/x") == "label key '/x' has an empty prefix before '/'"
    assert label_key_problem("x" * 63) is None
    assert label_key_problem("x" * 64) is not None
    assert label_value_problem("") is None
    assert label_value_problem("v1.2_3-a") is None
    assert label_value_problem("bad value") is not None
    assert label_value_problem("x" * 64) is not None
    with pytest.raises(SpecError, match="label value 'b@d' must be at most 63 characters"):
        parse_label_selector("a in (ok, b@d)")


def test_label_selector_must_be_a_string() -> None:
    with pytest.raises(SpecError) as info:
        parse_label_selector({"app": "web"}, "f")  # type: ignore[arg-type]
    assert info.value.message == "a label selector must be a string, got dict"


@pytest.mark.parametrize(
    ("text", "canonical", "terms"),
    [
        ("metadata.name=web", "metadata.name=web", (("metadata.name", "=", "web"),)),
        ("metadata.name==web", "metadata.name=web", (("metadata.name", "=", "web"),)),
        ("spec.nodeName=", "spec.nodeName=", (("spec.nodeName", "=", ""),)),
        (
            "status.phase!=Running, metadata.namespace=shop",
            "status.phase!=Running,metadata.namespace=shop",
            (("status.phase", "!=", "Running"), ("metadata.namespace", "=", "shop")),
        ),
        ("metadata.name=a\\,b", "metadata.name=a\\,b", (("metadata.name", "=", "a\\,b"),)),
    ],
)
def test_field_selectors(
    text: str, canonical: str, terms: tuple[tuple[str, str, str], ...]
) -> None:
    selector = parse_field_selector(text, "f")
    assert selector.text == canonical
    assert selector.terms == terms


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty field selector"),
        (
            "metadata.name",
            "term 'metadata.name' has no operator (=, == or !=) at column 1 in 'metadata.name'",
        ),
        (
            "meta data=x",
            "'meta data' is not a field name like metadata.name at column 1 in 'meta data=x'",
        ),
        ("=x", "'' is not a field name like metadata.name at column 1 in '=x'"),
        ("a=b,", "empty term at column 5 in 'a=b,'"),
    ],
)
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_field_selector(text, "spec.source.resource.fieldSelector")
    assert info.value.path == "spec.source.resource.fieldSelector"
    assert info.value.message == message

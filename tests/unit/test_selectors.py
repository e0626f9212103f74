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
        ("app==web", "app==web"),  # apimachinery keeps == in its canonical text
        ("  app = web  ", "app=web"),
        ("x in (a,)", "x in (,a)"),  # an empty item is the empty value
        ("x in ()", "x in ()"),
        ("x notin (,b,,a)", "x notin (,a,b)"),
        ("n>5,n<010", "n>5,n<010"),
        ("in=notin", "in=notin"),  # keywords are plain words where a key or value is expected
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


def test_empty_value_lists_select_the_empty_value() -> None:
    assert parse_label_selector("x in ()").matches({"x": ""}) is True
    assert parse_label_selector("x in ()").matches({"x": "a"}) is False
    assert parse_label_selector("x in (a,)").matches({"x": ""}) is True
    assert parse_label_selector("x in (a,)").matches({"x": "a"}) is True


def test_greater_and_less_compare_integers() -> None:
    selector = parse_label_selector("n>5")
    assert selector.matches({"n": "6"}) is True
    assert selector.matches({"n": "5"}) is False
    assert selector.matches({"n": "x"}) is False  # not an integer: no match
    assert selector.matches({}) is False
    assert parse_label_selector("n<5").matches({"n": "-7"}) is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty label selector"),
        (" \t", "empty label selector"),
        ("app=we b", "expected ',' or the end but found 'b' at column 8 in 'app=we b'"),
        ("app in x", "expected '(' after 'in' at column 8 in 'app in x'"),
        ("a in (x", "expected ',' or ')' in the value list at column 8 in 'a in (x'"),
        ("a in (x,,)", "expected a value or ',' in the value list at column 10 in 'a in (x,,)'"),
        ("app>x", "'>' needs a whole number, got 'x' at column 5 in 'app>x'"),
        ("app>", "'>' needs a whole number, got '' at column 4 in 'app>'"),
        ("a,,b", "expected a label key after ',' but found ',' at column 3 in 'a,,b'"),
        ("a=b,", "expected a label key after ',' but found the end at column 5 in 'a=b,'"),
        ("!a=b", "expected ',' or the end but found '=' at column 3 in '!a=b'"),
        ("a=b=c", "expected ',' or the end but found '=' at column 4 in 'a=b=c'"),
        ("a b", "unknown operator 'b' at column 3 in 'a b'"),
        (
            "a=\u0663",
            "label value '\u0663' must be at most 63 characters: letters, digits, '-', "
            "'_' and '.', starting and ending with a letter or digit at column 3 in 'a=\u0663'",
        ),
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
        # values are taken as written: a space after the operator is part of the value
        ("a!= web", "a!= web", (("a", "!=", " web"),)),
        # terms are sorted, empty terms skipped, as the API server does
        ("b=1,,a=2,", "a=2,b=1", (("a", "=", "2"), ("b", "=", "1"))),
        ("spec.nodeName=", "spec.nodeName=", (("spec.nodeName", "=", ""),)),
        (
            "status.phase!=Running,metadata.namespace=shop",
            "metadata.namespace=shop,status.phase!=Running",
            (("metadata.namespace", "=", "shop"), ("status.phase", "!=", "Running")),
        ),
        ("metadata.name=a\\,b", "metadata.name=a\\,b", (("metadata.name", "=", "a,b"),)),
        ("x=a\\\\b\\=", "x=a\\\\b\\=", (("x", "=", "a\\b="),)),
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
        (",", "empty field selector"),
        ("metadata.name", "term 'metadata.name' has no operator (=, == or !=)"),
        (
            "meta data=x",
            "'meta data' in 'meta data=x' is not a field name like metadata.name "
            "(no spaces around the operator)",
        ),
        ("=x", "'' in '=x' is not a field name like metadata.name (no spaces around the operator)"),
        ("x!==a", "unescaped '=' in the value of 'x!==a'"),
        ("x===a", "unescaped '=' in the value of 'x===a'"),
        ("k=\\", "the value of 'k=\\\\' ends with a lone '\\'"),  # repr doubles it
        ("k=a\\b", "invalid escape '\\b' in the value of 'k=a\\\\b'"),
    ],
)
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_field_selector(text, "spec.source.resource.fieldSelector")
    assert info.value.path == "spec.source.resource.fieldSelector"
    assert info.value.message == message


def test_field_selector_matches_as_the_api_server_does() -> None:
    selector = parse_field_selector("status.phase!=Running,metadata.name=web")
    assert selector.matches({"metadata.name": "web", "status.phase": "Pending"}) is True
    assert selector.matches({"metadata.name": "web", "status.phase": "Running"}) is False
    assert parse_field_selector("spec.nodeName=").matches({}) is True  # missing reads as ""

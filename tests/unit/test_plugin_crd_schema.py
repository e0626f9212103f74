"""The Trigger CRD's schema and the runner's parser agree, field by field.

The API server stores what the schema allows and prunes or refuses the rest,
and the runner reads its spec back from the API server; so a field the parser
accepts but the schema lacks is lost or refused, and a field the schema
accepts but the parser refuses fails only later. Four checks keep them equal:

1. every valid spec (tests/valid_specs.py: tests/data/good_specs, examples/,
   docs/spec.md) parses, and passes the CRD's structural schema, checked
   offline by ``schema_errors`` (types, fields, required, enum, pattern,
   bounds; CEL rules are checked by the real API server in the e2e tier);
2. while the good specs parse, every place the parser states what it accepts
   (the fields of an object, ``fields.check_keys`` / parse's ``_known``; a
   choice, ``fields.choice``; a range, ``fields.integer`` / ``_int`` /
   ``_number``) is recorded with its field path, and the schema at that path
   must state exactly the same;
3. every such call site in runner/actions/*.py and runner/spec/parse.py is
   reached by some good spec, so a new field cannot slip past check 2;
4. the schema's patterns accept exactly what the parser's own checks accept,
   on samples of both.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import runner.actions
from kubectl_trigger import crd
from runner.actions import email, fields, targets
from runner.filters import GROUP_OPERATORS, PATH_OPERATORS
from runner.spec import expand, parse
from runner.spec.durations import parse_duration
from runner.spec.errors import SpecError
from runner.spec.quantities import parse_quantity
from tests.valid_specs import GOOD_SPECS, REPO, Source, sources

SOURCES = sources()
TRIGGER_SCHEMA = crd.trigger_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
TEMPLATE_SCHEMA = crd.template_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
CLUSTER_TRIGGER_SCHEMA = crd.cluster_trigger_crd()["spec"]["versions"][0]["schema"][
    "openAPIV3Schema"
]
SCHEMAS = {
    "Trigger": TRIGGER_SCHEMA,
    "ClusterTrigger": CLUSTER_TRIGGER_SCHEMA,
    "TriggerTemplate": TEMPLATE_SCHEMA,
}

# --- an offline validator for the OpenAPI v3 subset a structural CRD schema uses ----------

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def go_match(pattern: str, text: str) -> bool:
    """Go's ``regexp.MatchString``: a search, where ``$`` is the end of the text only."""
    return re.search(re.sub(r"\$$", r"\\Z", pattern), text) is not None


def schema_errors(value: Any, schema: Mapping[str, Any], path: str = "") -> list[str]:
    """What the API server's structural validation would refuse in ``value`` (CEL aside)."""
    if path == "metadata":  # ObjectMeta: the API server checks it itself
        return []
    if schema.get("x-kubernetes-int-or-string"):
        if not (_TYPES["integer"](value) or isinstance(value, str)):
            return [f"{path}: must be an integer or a string"]
        return _scalar_errors(value, schema, path)
    if "type" not in schema:
        return [] if schema.get("x-kubernetes-preserve-unknown-fields") else [f"{path}: untyped"]
    if not _TYPES[schema["type"]](value):
        return [f"{path}: must be of type {schema['type']}"]
    if isinstance(value, dict):
        return _object_errors(value, schema, path)
    if isinstance(value, list):
        return _array_errors(value, schema, path)
    return _scalar_errors(value, schema, path)


def _object_errors(value: dict[str, Any], schema: Mapping[str, Any], path: str) -> list[str]:
    errors = [f"{path}.{k}: required" for k in schema.get("required", []) if k not in value]
    props = schema.get("properties", {})
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key in props:
            errors += schema_errors(item, props[key], where)
        elif isinstance(schema.get("additionalProperties"), dict):
            errors += schema_errors(item, schema["additionalProperties"], where)
        elif not schema.get("x-kubernetes-preserve-unknown-fields"):
            errors.append(f"{where}: unknown field")
    return errors


def _array_errors(value: list[Any], schema: Mapping[str, Any], path: str) -> list[str]:
    errors = []
    if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
        errors.append(f"{path}: has {len(value)} items")
    keys = schema.get("x-kubernetes-list-map-keys")
    seen = [tuple(i.get(k) for k in keys) for i in value] if keys else value
    if schema.get("x-kubernetes-list-type") in ("set", "map") and len(seen) != len(
        {repr(s) for s in seen}
    ):
        errors.append(f"{path}: has duplicate items")
    for i, item in enumerate(value):
        errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


def _scalar_errors(value: Any, schema: Mapping[str, Any], path: str) -> list[str]:
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not go_match(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
            errors.append(f"{path}: length {len(value)} out of bounds")
    elif not isinstance(value, bool):
        low = schema.get("minimum")
        if low is not None and (value <= low if schema.get("exclusiveMinimum") else value < low):
            errors.append(f"{path}: {value} is below {low}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} is above {schema['maximum']}")
    return errors


def test_the_validator_refuses_what_the_api_server_refuses() -> None:
    spec = {
        "spce": {},
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": ["updated"]}},
        "actions": [
            {"log": {"message": 1, "lvl": "info"}},
            {"email": {"smtp": {"host": "h", "port": 0}, "from": "x", "to": []}},
        ],
        "options": {"rateLimit": {"perSecond": 0}, "workers": 65},
        "runner": {"resources": {"limits": {"cpu": 0.5, "memory": "64MB"}}},
    }
    obj = {"apiVersion": "x", "kind": "Trigger", "metadata": {"name": "t"}, "spec": spec}
    assert schema_errors(obj, TRIGGER_SCHEMA) == [
        "spec.spce: unknown field",
        "spec.source.resource.events[0]: 'updated' not in ['create', 'update', 'delete']",
        "spec.actions[0].log.message: must be of type string",
        "spec.actions[0].log.lvl: unknown field",
        "spec.actions[1].email.smtp.port: 0 is below 1",
        f"spec.actions[1].email.from: 'x' does not match {crd.EMAIL}",
        "spec.actions[1].email.to: has 0 items",
        "spec.options.rateLimit.perSecond: 0 is below 0",
        "spec.options.workers: 65 is above 64",
        "spec.runner.resources.limits.cpu: must be an integer or a string",
        f"spec.runner.resources.limits.memory: '64MB' does not match {crd.QUANTITY}",
    ]


# --- 1. every valid spec parses and passes the schema ------------------------------------


def _template_fetch(source: Source) -> Callable[[str], Mapping[str, Any]]:
    templates = {t["metadata"]["name"]: t for t in source.of_kind("TriggerTemplate")}

    def fetch(name: str) -> Mapping[str, Any]:
        return templates[name]

    return fetch


def test_the_valid_corpus_is_complete() -> None:
    assert [s.id for s in SOURCES if s.id.startswith("docs/")] == [
        "docs/spec.md#1",
        "docs/spec.md#2",
        "docs/spec.md#3",
    ]
    assert len([s for s in SOURCES if s.id.startswith("good_specs/")]) == len(GOOD_SPECS) == 7
    shipped = sorted((REPO / "examples").glob("*.yaml"))
    assert len([s for s in SOURCES if s.id.startswith("examples/")]) == len(shipped)


@pytest.mark.parametrize("source", SOURCES, ids=[s.id for s in SOURCES])
def test_valid_spec_parses_and_passes_the_crd_schema(source: Source) -> None:
    for obj in source.objects:
        assert schema_errors(obj, SCHEMAS[obj["kind"]]) == []
    for template in source.of_kind("TriggerTemplate"):
        assert expand.template_problems(template) == []
    for trigger in [*source.of_kind("Trigger"), *source.of_kind("ClusterTrigger")]:
        expanded = expand.expand_uses(trigger["spec"], _template_fetch(source))
        config = parse.parse_trigger({**trigger, "spec": expanded})
        assert len(config.actions) == len(expanded["actions"])


# --- 2. what the parser states it accepts, recorded while the good specs parse ---------


@dataclass(frozen=True)
class Stated:
    """One statement by the parser: at ``field``, these keys / this choice / this range."""

    site: tuple[str, int]  # the calling file (relative to the repo) and line
    what: str  # "keys", "choice" or "range"
    field: str  # the object's field path, spec.actions[0].webhook
    key: str  # for choice and range: the key inside that object
    value: Any  # keys: the allowed keys; choice: the choices; range: (low, high, exclusive)


#: (module, function name, what) of every parser helper that states what is accepted
STATEMENTS = (
    (fields, "check_keys", "keys"),
    (fields, "choice", "choice"),
    (fields, "integer", "range"),
    (parse, "_known", "keys"),
    (parse, "_int", "range"),
    (parse, "_number", "range"),
)


def _statement(what: str, args: Mapping[str, Any]) -> tuple[str, str, Any]:
    if what == "keys":
        allowed = args.get("allowed")
        return args["field"], "", tuple(allowed) if allowed is not None else None
    if what == "choice":
        return args["field"], args["key"], tuple(args["choices"])
    return args["field"], args["key"], (args["low"], args.get("high"), "high" not in args)


def _recording(original: Callable[..., Any], what: str, out: list[Stated]) -> Callable[..., Any]:
    signature = inspect.signature(original)

    def record(*args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1)
        site = (str(Path(caller.f_code.co_filename).relative_to(REPO)), caller.f_lineno)
        bound = signature.bind(*args, **kwargs).arguments
        out.append(Stated(site, what, *_statement(what, bound)))
        return original(*args, **kwargs)

    return record


@pytest.fixture(scope="module")
def stated() -> Iterator[list[Stated]]:
    """Every statement made while the good specs parse."""
    out: list[Stated] = []
    with pytest.MonkeyPatch.context() as mp:
        for module, name, what in STATEMENTS:
            mp.setattr(module, name, _recording(getattr(module, name), what, out))
        for source in SOURCES:
            if source.id.startswith("good_specs/"):
                for trigger in source.of_kind("Trigger"):
                    parse.parse_trigger(trigger)
    yield out


_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def schema_at(field: str) -> tuple[str, Mapping[str, Any]]:
    """The schema node for a field path (indexes as ``[]``, map values as ``{}``).

    Stops early at an untyped node (a value source, a template): its path is returned.
    """
    node: Mapping[str, Any] = TRIGGER_SCHEMA
    where = ""
    for name, index in _STEP.findall("." + field if field else ""):
        if "type" not in node:
            break
        if index:
            node, where = node["items"], where + "[]"
        elif name in node.get("properties", {}):
            node, where = node["properties"][name], f"{where}.{name}".lstrip(".")
        else:
            node, where = node["additionalProperties"], where + "{}"
    return where, node


#: where the parser checks fields that the schema keeps as written (untyped)
UNTYPED = {
    "spec.actions[].email.smtp.password": "a value source: a string or an object",
    "spec.actions[].email.smtp.username": "a value source",
    "spec.actions[].patch.patch": "a patch body: an object, a list or JSON text",
    "spec.actions[].slack.url": "a value source",
    "spec.actions[].teams.url": "a value source",
    "spec.actions[].webhook.headers{}": "a value source",
    "spec.actions[].webhook.url": "a value source",
}


def test_every_object_the_parser_checks_has_exactly_its_fields(stated: list[Stated]) -> None:
    untyped = set()
    for s in stated:
        if s.what != "keys":
            continue
        where, node = schema_at(s.field)
        if "type" not in node:
            untyped.add(where)
        else:
            assert set(node["properties"]) == set(s.value), (s.site, s.field)
    assert untyped == set(UNTYPED)


def test_every_choice_is_the_schema_enum(stated: list[Stated]) -> None:
    choices = [s for s in stated if s.what == "choice"]
    assert {(schema_at(s.field)[0], s.key) for s in choices} == {
        ("spec.actions[].delete", "propagationPolicy"),
        ("spec.actions[].email.smtp", "security"),
        ("spec.actions[].log", "level"),
        ("spec.actions[].patch", "type"),
        ("spec.actions[].rolloutRestart", "kind"),
        ("spec.actions[].webhook", "method"),
    }
    for s in choices:
        assert schema_at(s.field)[1]["properties"][s.key]["enum"] == list(s.value), s


def test_every_range_is_the_schema_bounds(stated: list[Stated]) -> None:
    ranges = {(schema_at(s.field)[0], s.key): s.value for s in stated if s.what == "range"}
    assert ranges == {
        ("spec.actions[].email.smtp", "port"): (1, 65535, False),
        ("spec.options", "queueSize"): (1, 1_000_000, False),
        ("spec.options", "workers"): (1, 64, False),
        ("spec.options.rateLimit", "burst"): (1, 100_000, False),
        ("spec.options.rateLimit", "perSecond"): (0, None, True),
        ("spec.options.retry", "attempts"): (1, 100, False),
    }
    for (where, key), (low, high, exclusive) in ranges.items():
        prop = dict(schema_at(where.replace("[]", "[0]"))[1]["properties"][key])
        bounds = (prop.get("minimum"), prop.get("maximum"), prop.get("exclusiveMinimum", False))
        assert bounds == (low, high, exclusive), (where, key)


def test_every_typed_object_of_the_spec_is_checked_by_the_parser(stated: list[Stated]) -> None:
    checked = {schema_at(s.field)[0] for s in stated if s.what == "keys"}

    def objects(node: Mapping[str, Any], where: str) -> Iterator[str]:
        if node.get("type") == "object" and "properties" in node:
            yield where
            for name, child in node["properties"].items():
                yield from objects(child, f"{where}.{name}".lstrip("."))
        if isinstance(node.get("items"), Mapping):
            yield from objects(node["items"], where + "[]")
        if isinstance(node.get("additionalProperties"), Mapping):
            yield from objects(node["additionalProperties"], where + "{}")

    unchecked = set(objects(TRIGGER_SCHEMA["properties"]["spec"], "spec")) - checked
    # checked elsewhere: items by the tests below, use references by runner.spec.expand
    assert unchecked == {
        "spec.actions[]",
        "spec.actions[].use",
        "spec.filters[]",
        "spec.filters[].use",
    }


def test_action_and_filter_items_have_exactly_the_parsers_keys() -> None:
    spec = TRIGGER_SCHEMA["properties"]["spec"]["properties"]
    action = spec["actions"]["items"]["properties"]
    assert set(action) == {"name", "use", *runner.actions.ACTIONS}
    item = spec["filters"]["items"]["properties"]
    assert set(item) == {"path", "use", *PATH_OPERATORS, *GROUP_OPERATORS}
    assert set(crd.TYPED_OPERATORS) <= set(PATH_OPERATORS)
    for use in (action["use"], item["use"]):
        assert set(use["properties"]) == set(expand._USE)


def test_template_parameters_have_exactly_the_expanders_keys() -> None:
    spec = TEMPLATE_SCHEMA["properties"]["spec"]["properties"]
    assert set(spec) == set(expand._TEMPLATE_SPEC)
    assert set(spec["parameters"]["items"]["properties"]) == set(expand._PARAMETER)


# --- 3. every statement in the parser's source is reached by a good spec ---------------

PARSER_FILES = [*sorted((REPO / "runner" / "actions").glob("*.py")), REPO / "runner/spec/parse.py"]


def _call_sites() -> set[tuple[str, int]]:
    names = {name for _, name, _ in STATEMENTS}
    sites = set()
    for path in PARSER_FILES:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "fields"
                else func.id
                if isinstance(func, ast.Name) and path.name == "parse.py"
                else None
            )
            if called in names:
                sites.add((str(path.relative_to(REPO)), node.lineno))
    return sites


def test_every_statement_in_the_parser_is_reached_by_a_good_spec(stated: list[Stated]) -> None:
    sites = _call_sites()
    assert len(sites) >= 30
    missed = sites - {s.site for s in stated}
    assert missed == set(), "add a tests/data/good_specs file that reaches these"


# --- 4. the schema's patterns accept exactly what the parser accepts -------------------


def _accepts(check: Callable[[str], Any], text: str) -> bool:
    try:
        check(text)
    except SpecError:
        return False
    return True


def _quantity(text: str) -> None:
    if parse_quantity(text) < Decimal(0):
        raise SpecError("", "negative")


def _email(text: str) -> None:
    email._address(text, "")


def _regex(pattern: re.Pattern[str]) -> Callable[[str], None]:
    def check(text: str) -> None:
        if not pattern.fullmatch(text):
            raise SpecError("", "no match")

    return check


NAMES_OK = ["a", "web-1", "a.b", "x" * 63]
NAMES_BAD = ["A", "-a", "a-", "a_b", "", "x" * 64, "a b"]
#: (pattern name in kubectl_trigger.crd, the parser's check, accepted, refused)
PATTERNS: list[tuple[str, Callable[[str], Any], list[str], list[str]]] = [
    (
        "DURATION",
        lambda t: parse_duration(t, ""),
        ["0", "+0", "-0", "1s", "1h30m", "1.5h", ".5s", "1.s", "+1s", "500ms", "3µs", "3μs"],
        ["-1s", " 30s ", "00", "1", "1d", "", " ", "1.2.3s", "s", "1h-", ".s", "1 s", "١s"],
    ),
    (
        "QUANTITY",
        _quantity,
        ["64Mi", "100m", "1", "1.5Gi", ".5", "1e3", "1E", "+1", "5.", "1e-3", "2k"],
        ["-1", "64MB", "lots", "", "1.5.5", "1 Mi", "1ki", " 2 ", "٣"],
    ),
    ("EMAIL", _email, ["a@b", "ops+x@example.com", "a@b@c"], ["@b", "a@", "ab", "a b@c", "<a@b>"]),
    (
        "API_VERSION",
        _regex(parse._API_VERSION),
        ["v1", "apps/v1", "core.oam.dev/v1beta1", "x/v2alpha3"],
        ["V1", "apps/", "apps/v1x", "/v1", "v1 "],
    ),
    ("KIND", _regex(parse._KIND), ["ConfigMap", "A", "A1"], ["configMap", "1A", "Config-Map"]),
    ("ACTION_NAME", _regex(parse._ACTION_NAME), [*NAMES_OK, "A", "a_b", "A.b_c-d"], NAMES_BAD[1:3]),
    ("NAMESPACE", _regex(parse._DNS_LABEL), NAMES_OK[:2], ["a.b", *NAMES_BAD]),
    (
        "TARGET_API_VERSION",
        _regex(targets._API_VERSION),
        ["v1", "apps/v1", "x.io/v1beta1", "v1x"],
        ["Apps/v1", "apps/", "v"],
    ),
    ("TARGET_NAMESPACE", _regex(targets._NAMESPACE), [*NAMES_OK[:2], "x" * 64], NAMES_BAD[:5]),
    ("PARAMETER", _regex(expand._PARAM_NAME), ["a", "_a", "app_name", "A1"], ["1a", "a-b", ""]),
]


@pytest.mark.parametrize(
    ("name", "check", "accepted", "refused"), PATTERNS, ids=[p[0] for p in PATTERNS]
)
def test_pattern_accepts_what_the_parser_accepts(
    name: str, check: Callable[[str], Any], accepted: list[str], refused: list[str]
) -> None:
    pattern = getattr(crd, name)
    assert [t for t in accepted if not (go_match(pattern, t) and _accepts(check, t))] == []
    assert [t for t in refused if go_match(pattern, t) or _accepts(check, t)] == []

"""The real API server, holding the CRD ``kubectl trigger install`` applies, agrees with the parser.

Every valid spec (tests/valid_specs.py) is accepted by ``kubectl create
--dry-run=server --validate=strict`` (so no field is pruned), invalid specs are
refused with the bad field named, and of the malformed-spec corpus the server
refuses exactly the specs a schema can judge; the rest (JSONPath, cron and
selector syntax, templates, value sources) are the parser's alone. The unit
tier checks the same schema offline, field by field
(tests/unit/test_plugin_crd_schema.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.spec.errors import SpecErrors
from runner.spec.parse import parse_trigger
from tests.conftest import Cluster
from tests.e2e.plugin_support import GROUP, installed  # noqa: F401 - fixture
from tests.valid_specs import GOOD_SPECS, Source, sources

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

SOURCES = sources()
CORPUS = sorted((Path(__file__).resolve().parents[1] / "data" / "bad_specs").glob("*.yaml"))
API_VERSION = f"{GROUP}/v1alpha1"


def dry_run(cluster: Cluster, namespace: str, text: str) -> tuple[int, str]:
    """``kubectl create --dry-run=server``: the exit code and what kubectl said."""
    proc = cluster.kubectl(
        "create",
        "--dry-run=server",
        "--validate=strict",
        "-n",
        namespace,
        "-f",
        "-",
        input=text,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def in_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}


@pytest.fixture(scope="module")
def current_schema(installed: Cluster) -> Cluster:  # noqa: F811 - the fixture above
    """The cluster once the API server validates with the schema just installed."""
    probe = GOOD_SPECS[-1].read_text("utf-8")  # smtp.tls and smtp.timeout: new fields
    deadline = time.monotonic() + 30
    while dry_run(installed, "default", probe)[0] != 0:
        if time.monotonic() > deadline:
            pytest.fail(f"the API server never accepted {GOOD_SPECS[-1].name}")
        time.sleep(0.5)
    return installed


@pytest.mark.parametrize("source", SOURCES, ids=[s.id for s in SOURCES])
def test_valid_spec_is_stored_as_written(
    current_schema: Cluster, namespace: str, source: Source
) -> None:
    objects = [in_namespace(o, namespace) for o in source.objects]
    code, said = dry_run(current_schema, namespace, yaml.safe_dump_all(objects))
    assert code == 0, said
    assert said.splitlines() == [
        f"{o['kind'].lower()}.{GROUP}/{o['metadata']['name']} created (server dry run)"
        for o in objects
    ]


def trigger(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "Trigger", "metadata": {"name": "t"}, "spec": spec}


CM = {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}}
LOG = {"log": {"message": "x"}}

#: (spec, what the API server says, the runner's parser's one error)
INVALID = [
    pytest.param(
        {"source": CM, "actions": [{"log": {"message": "x", "level": "loud"}}]},
        'spec.actions[0].log.level: Unsupported value: "loud"',
        "spec.actions[0].log.level: must be one of debug, info, warning, error, got 'loud'; "
        "use info",
        id="log-level",
    ),
    pytest.param(
        {
            "source": CM,
            "actions": [
                {"rolloutRestart": {"kind": "Deployment", "name": "web", "consumers": True}}
            ],
        },
        'spec.actions[0].rolloutRestart: Invalid value: "object": exactly one of name, '
        "selector, consumers must be set",
        "spec.actions[0].rolloutRestart: needs exactly one of name, selector, consumers; "
        "got name, consumers",
        id="consumers-and-name",
    ),
    pytest.param(
        {
            "source": CM,
            "actions": [
                {"email": {"smtp": {"host": "h", "tsl": {}}, "from": "a@b", "to": ["c@d"]}}
            ],
        },
        'unknown field "spec.actions[0].email.smtp.tsl"',
        "spec.actions[0].email.smtp.tsl: unknown field; did you mean tls?",
        id="smtp-typo",
    ),
    pytest.param(
        {"source": {"cron": {"schedule": "@daily"}}, "filters": [{"path": ".a", "exists": True}]}
        | {"actions": [LOG]},
        'spec.filters: Invalid value: "object": filters need an event object, and a cron '
        "source has none",
        "spec.filters: filters need an event object, and a cron source has none; remove "
        "filters, or use a resource source",
        id="filters-on-cron",
    ),
    pytest.param(
        {
            "source": {"resource": {"apiVersion": "v1", "kind": "Pod"}},
            "actions": [{"rolloutRestart": {"kind": "Deployment", "consumers": True}}],
        },
        'spec.actions: Invalid value: "object": rolloutRestart consumers needs a v1 ConfigMap '
        "or Secret source",
        "spec.actions[0].rolloutRestart.consumers: needs a ConfigMap or Secret source, not Pod; "
        "watch apiVersion v1 ConfigMap or Secret, or use name or selector",
        id="consumers-of-pod",
    ),
    pytest.param(
        {"source": CM, "actions": [LOG], "options": {"retry": {"initialDelay": "2m"}}},
        'spec.options.retry.maxDelay: Invalid value: "object": must not be shorter than '
        "initialDelay",
        "spec.options.retry.maxDelay: must not be shorter than initialDelay",
        id="max-delay",
    ),
    pytest.param(
        {
            "source": CM,
            "actions": [
                {
                    "webhook": {
                        "url": "https://h.example/",
                        "tls": {"insecureSkipVerify": True, "caSecretRef": {"name": "ca"}},
                    }
                }
            ],
        },
        'spec.actions[0].webhook.tls.caSecretRef: Invalid value: "object": insecureSkipVerify '
        "and caSecretRef cannot be combined",
        "spec.actions[0].webhook.tls: insecureSkipVerify and caSecretRef cannot be combined; "
        "keep caSecretRef to verify against your CA",
        id="insecure-with-ca",
    ),
    pytest.param(
        {"source": CM, "actions": [{"webhook": {"url": "https://h.example/", "timeout": "0s"}}]},
        'spec.actions[0].webhook.timeout: Invalid value: "object": must be more than 0s',
        "spec.actions[0].webhook.timeout: must be more than 0s; e.g. 10s",
        id="zero-timeout",
    ),
    pytest.param(
        {
            "source": CM,
            "actions": [
                {
                    "email": {
                        "smtp": {"host": "h", "security": "none", "tls": {}},
                        "from": "a@b",
                        "to": ["c@d"],
                    }
                }
            ],
        },
        'spec.actions[0].email.smtp.tls: Invalid value: "object": has no effect with security: '
        "none",
        "spec.actions[0].email.smtp.tls: has no effect with security: none; remove tls",
        id="tls-without-security",
    ),
    pytest.param(
        {"source": CM, "actions": [LOG], "runner": {"resources": {"limits": {"cpu": 0.5}}}},
        'spec.runner.resources.limits.cpu: Invalid value: "number": '
        "spec.runner.resources.limits.cpu in body must be of type integer,string",
        'spec.runner.resources.limits.cpu: 0.5 is not a whole number; write it as a string: "0.5"',
        id="float-quantity",
    ),
]


@pytest.mark.parametrize(("spec", "server", "parser"), INVALID)
def test_invalid_spec_is_refused_naming_the_field(
    current_schema: Cluster, namespace: str, spec: dict[str, Any], server: str, parser: str
) -> None:
    code, said = dry_run(current_schema, namespace, yaml.safe_dump(trigger(spec)))
    assert code == 1
    assert server in said
    with pytest.raises(SpecErrors) as info:
        parse_trigger(trigger(spec))
    assert [str(e) for e in info.value.errors] == [parser]


#: malformed specs only the parser can refuse, and why the schema cannot say it
PARSER_ONLY = {
    "12-jsonpath-unclosed-brace": "JSONPath syntax",
    "13-jsonpath-missing-dot": "JSONPath syntax",
    "14-jsonpath-range-template": "JSONPath syntax",
    "15-jsonpath-single-equals": "JSONPath syntax",
    "16-jsonpath-unquoted-literal": "JSONPath syntax",
    "17-jsonpath-bad-changed": "JSONPath syntax",
    "18-label-selector-in-without-parens": "label selector syntax",
    "19-label-selector-bad-value": "label selector syntax",
    "20-field-selector-no-operator": "field selector syntax",
    "21-cron-four-fields": "cron syntax",
    "22-cron-hour-out-of-range": "cron syntax",
    "23-cron-sunday-as-seven": "cron semantics",
    "24-bad-time-zone": "the IANA time zone database",
    "30-bad-regex": "Python regular expression syntax",
    "31-bad-template-placeholder": "template syntax",
    "32-unclosed-template-placeholder": "template syntax",
    "41-filter-two-operators": "equals and notEquals are untyped, so invisible to CEL",
    "42-greater-than-not-a-number": "an untyped operand",
    "46-leftover-use": "use is valid as written; only the runner needs it expanded",
    "48-webhook-url-two-value-sources": "a value source is untyped (a string or an object)",
    "49-webhook-body-bad-json": "JSON text in a string",
}


def test_the_server_refuses_every_malformed_spec_a_schema_can_judge(
    current_schema: Cluster, namespace: str
) -> None:
    judged = [p for p in CORPUS if not p.read_text("utf-8").startswith("# expect: invalid YAML")]
    assert len(judged) == len(CORPUS) - 3
    accepted = {
        p.stem for p in judged if dry_run(current_schema, namespace, p.read_text("utf-8"))[0] == 0
    }
    assert accepted == set(PARSER_ONLY)

"""The Trigger, ClusterTrigger and TriggerTemplate CustomResourceDefinitions, from Python.

The schema is written once here, as data, so the API server itself rejects a
malformed Trigger (``kubectl apply`` of a bad spec fails, not only the plugin's
own validation). It mirrors the runner's parser (``runner.spec.parse`` and the
action modules): the same fields, enums, ranges and patterns, so whatever the
parser accepts the API server stores unchanged, and what the parser rejects
the server rejects too wherever a schema can say so. tests/unit/
test_plugin_crd_schema.py holds the two together field by field.

It is a structural schema: no ``$ref`` and no recursion, so nested filter
groups, patch bodies, object templates, webhook bodies and value sources (a
string *or* an object), whose shape the schema cannot express, are
``x-kubernetes-preserve-unknown-fields``. Rules across fields ("exactly one
of", "consumers needs a ConfigMap or Secret source") are CEL validations; CEL
cannot see untyped fields, so rules only involve typed ones.

``make crd`` (``python -m kubectl_trigger.crd > manifests/crd.yaml``) writes the
manifest and copies it to kubectl_trigger/manifests/crd.yaml, the package data
``kubectl trigger install`` applies; a unit test fails when either copy is stale.
"""

from __future__ import annotations

import sys
from typing import Any

from kubectl_trigger.naming import ANNOTATION_ACTIONS, ANNOTATION_SOURCE
from runner import API_GROUP

Schema = dict[str, Any]

VERSION = "v1alpha1"
TRIGGER_PLURAL = "triggers"
CLUSTER_TRIGGER_PLURAL = "clustertriggers"
TEMPLATE_PLURAL = "triggertemplates"
MAX_ITEMS = 64  # bounds lists so the CEL cost estimate stays within the server's budget
MAX_DURATION = 64  # characters: bounds duration strings for the same reason

# --- schema building blocks -------------------------------------------------------------


def string(description: str = "", **extra: Any) -> Schema:
    """A string field."""
    return _described({"type": "string", **extra}, description)


def boolean(description: str = "") -> Schema:
    """A boolean field."""
    return _described({"type": "boolean"}, description)


def integer(
    description: str = "", minimum: int | None = None, maximum: int | None = None
) -> Schema:
    """An integer field, optionally bounded."""
    schema: Schema = {"type": "integer", "format": "int64"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return _described(schema, description)


def number(description: str = "", above: float | None = None) -> Schema:
    """A number field; ``above``: an exclusive lower bound."""
    schema: Schema = {"type": "number"}
    if above is not None:
        schema |= {"minimum": above, "exclusiveMinimum": True}
    return _described(schema, description)


def anything(description: str = "") -> Schema:
    """Any JSON value, kept as written: templates and bodies the schema cannot describe."""
    return _described({"x-kubernetes-preserve-unknown-fields": True}, description)


def array(items: Schema, description: str = "", min_items: int = 0, unique: bool = False) -> Schema:
    """A list with bounded length; ``unique``: no item twice (a set)."""
    schema: Schema = {"type": "array", "items": items, "maxItems": MAX_ITEMS}
    if min_items:
        schema["minItems"] = min_items
    if unique:
        schema["x-kubernetes-list-type"] = "set"
    return _described(schema, description)


def string_map(description: str = "", values: Schema | None = None) -> Schema:
    """An object with arbitrary keys whose values share one schema (strings by default)."""
    return _described(
        {"type": "object", "additionalProperties": values or {"type": "string"}}, description
    )


def rule(cel: str, message: str, field: str = "") -> dict[str, str]:
    """A CEL validation rule, its message, and the field the API server blames (``.timeout``)."""
    return {"rule": cel, "message": message, **({"fieldPath": field} if field else {})}


def obj(
    properties: dict[str, Schema],
    description: str = "",
    required: tuple[str, ...] = (),
    one_of: tuple[str, ...] = (),
    at_most_one_of: tuple[str, ...] = (),
    rules: tuple[dict[str, str], ...] = (),
) -> Schema:
    """An object with known fields; ``one_of`` adds a CEL rule "exactly one of these"."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    checks = []
    if one_of:
        checks.append(_count_rule(one_of, "==", f"exactly one of {', '.join(one_of)} must be set"))
    if at_most_one_of:
        checks.append(
            _count_rule(at_most_one_of, "<=", f"at most one of {', '.join(at_most_one_of)}")
        )
    checks += rules
    if checks:
        schema["x-kubernetes-validations"] = checks
    return _described(schema, description)


def _count_rule(fields: tuple[str, ...], op: str, message: str) -> dict[str, str]:
    terms = " + ".join(f"({_set(f)} ? 1 : 0)" for f in fields)
    return rule(f"{terms} {op} 1", message)


def _set(field: str) -> str:
    """CEL: ``field`` is set; a boolean flag (``consumers``) counts only when true."""
    name = cel_name(field)
    if field in FLAGS:
        return f"(has(self.{name}) && self.{name})"
    return f"has(self.{name})"


#: CEL keywords; the API server exposes a field named like one as ``__name__``
CEL_RESERVED = frozenset(
    [
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ]
)


def cel_name(field: str) -> str:
    """How a CEL rule refers to property ``field`` (``namespace`` -> ``__namespace__``)."""
    return f"__{field}__" if field in CEL_RESERVED else field


def _described(schema: Schema, description: str) -> Schema:
    if description:
        schema["description"] = description
    return schema


# --- patterns the runner's parser applies, in RE2 syntax --------------------------------

#: runner.spec.durations (Go syntax, not negative): "0", "-0", or number+unit repeated (1h30m, .5s)
DURATION = r"^(-0|\+?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+))$"
#: runner.spec.quantities (a sign is refused for runner resources): 2, 100m, 500Mi, 1e3
QUANTITY = (
    r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)
#: runner.spec.parse: the source's apiVersion, kind and namespaces
API_VERSION = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$"
KIND = r"^[A-Z][A-Za-z0-9]*$"
NAMESPACE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
ACTION_NAME = r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
#: runner.actions.targets: an action target's apiVersion and namespace
TARGET_API_VERSION = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+[a-z0-9]*$"
TARGET_NAMESPACE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
#: runner.actions.email: a plain address, local@domain
EMAIL = r"^[^@ <>,;\r\n\t]+@[^ <>,;\r\n\t]+$"
#: runner.spec.expand: a TriggerTemplate parameter name
PARAMETER = r"^[A-Za-z_][A-Za-z0-9_]*$"
NO_SPACE = r"^\S+$"

EVENTS = ["create", "update", "delete"]
#: boolean fields that mean "set" only when true (``consumers: false`` is the same as absent)
FLAGS = ("consumers", "insecureSkipVerify")


def nonempty(description: str = "", **extra: Any) -> Schema:
    """A string that must not be empty."""
    return string(description, minLength=1, **extra)


def duration(description: str) -> Schema:
    """A Go-style duration (``500ms``, ``30s``, ``1h30m``); bounded so CEL may compare it."""
    return string(
        description + " A duration: 500ms, 30s, 1h30m.", pattern=DURATION, maxLength=MAX_DURATION
    )


def positive_duration(field: str) -> dict[str, str]:
    """CEL on the parent: ``field``, when set, is more than zero."""
    name = cel_name(field)
    return rule(
        f"!has(self.{name}) || duration(self.{name}.trim()) > duration('0s')",
        "must be more than 0s",
        f".{field}",
    )


def quantity(description: str = "") -> Schema:
    """A Kubernetes quantity: a whole number or a string (``64Mi``, ``100m``), not negative."""
    return _described(
        {"x-kubernetes-int-or-string": True, "pattern": QUANTITY, "minimum": 0}, description
    )


def value_source(description: str) -> Schema:
    """A literal string, ``{value: literal}`` or ``{secretKeyRef: {name, key}}``.

    A string or an object: a structural schema cannot say "one of two types", so
    the field is kept as written and the runner's parser checks its shape.
    """
    return anything(description + ' A string, {value: "..."} or {secretKeyRef: {name, key}}.')


def template(description: str) -> Schema:
    """A structured template: YAML data inline, or JSON text; kept as written."""
    return anything(description + " A template: {{ .path }} placeholders take event values.")


def text(description: str) -> Schema:
    """A text template: a string with ``{{ .path }}`` placeholders."""
    return string(description + " A template: {{ .path }} placeholders take event values.")


def target(description: str) -> Schema:
    """The objects a patch or delete acts on: by name or by label selector."""
    return obj(
        {
            "apiVersion": nonempty(
                "API version of the target, e.g. apps/v1.", pattern=TARGET_API_VERSION
            ),
            "kind": nonempty("Kind of the target, e.g. Deployment."),
            "name": nonempty("Name of the target (a template)."),
            "selector": nonempty("Label selector choosing targets."),
            "namespace": nonempty(
                "Namespace of the target (default: the event object's).", pattern=TARGET_NAMESPACE
            ),
        },
        description,
        required=("apiVersion", "kind"),
        one_of=("name", "selector"),
    )


def workload_selection(kinds: list[str] | None, description: str) -> Schema:
    """rolloutRestart / bumpApplicationRevision: which workloads, by name, selector or use."""
    props: dict[str, Schema] = {}
    if kinds:
        props["kind"] = string("Workload kind.", enum=kinds)
    props |= {
        "name": nonempty("Name of the workload (a template)."),
        "selector": nonempty("Label selector choosing workloads."),
        "consumers": boolean("Workloads that reference the event's object."),
        "namespace": nonempty(
            "Namespace of the workloads (default: the event object's).", pattern=TARGET_NAMESPACE
        ),
    }
    return obj(
        props,
        description,
        required=("kind",) if kinds else (),
        one_of=("name", "selector", "consumers"),
        rules=(
            rule(
                f"!{_set('consumers')} || !{_set('namespace')}",
                "cannot be combined with consumers (they are in the event object's namespace)",
                ".namespace",
            ),
        ),
    )


def tls() -> Schema:
    """How a webhook or SMTP server's certificate is verified."""
    return obj(
        {
            "insecureSkipVerify": boolean("Skip certificate verification (for tests)."),
            "caSecretRef": obj(
                {
                    "name": nonempty("Secret name."),
                    "key": nonempty("Key holding the PEM CA bundle (default ca.crt)."),
                },
                "Trust only the CA bundle in this Secret.",
                required=("name",),
            ),
        },
        "TLS settings.",
        rules=(
            rule(
                f"!({_set('insecureSkipVerify')} && has(self.caSecretRef))",
                "insecureSkipVerify and caSecretRef cannot be combined",
                ".caSecretRef",
            ),
        ),
    )


def chat(service: str) -> Schema:
    """slack / teams / discord: an incoming-webhook URL and a text."""
    return obj(
        {
            "url": value_source(f"The {service} incoming-webhook URL."),
            "text": text("The message."),
        },
        f"Post a message to {service}.",
        required=("url", "text"),
    )


def use_ref(what: str) -> Schema:
    """``use: {name, with}``: a TriggerTemplate expanded at render time."""
    return obj(
        {
            "name": nonempty("TriggerTemplate name in the Trigger's namespace."),
            "with": _described(
                {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "Parameter values, by parameter name.",
            ),
        },
        f"Use a TriggerTemplate's {what}, expanded by the plugin.",
        required=("name",),
    )


ACTION_SCHEMAS: dict[str, Schema] = {
    "patch": obj(
        {
            "target": target("The objects to patch; omit it to patch the event's own object."),
            "type": string("Patch type (default merge).", enum=["merge", "json", "strategic"]),
            "patch": template("The patch: an object, a list of operations for json, or JSON text."),
        },
        "Patch objects.",
        required=("patch",),
    ),
    "apply": obj(
        {"template": template("One object, server-side applied.")},
        "Server-side apply an object.",
        required=("template",),
    ),
    "create": obj(
        {"template": template("One object; generateName gives unique names.")},
        "Create an object.",
        required=("template",),
    ),
    "delete": obj(
        {
            "target": target("The objects to delete."),
            "propagationPolicy": string(
                "Deletion propagation.", enum=["Background", "Foreground", "Orphan"]
            ),
        },
        "Delete objects.",
        required=("target",),
    ),
    "rolloutRestart": workload_selection(
        ["Deployment", "StatefulSet", "DaemonSet"], "Restart workloads (rollout restart)."
    ),
    "bumpApplicationRevision": workload_selection(
        None, "Set app.oam.dev/publishVersion on KubeVela Applications to a new value."
    ),
    "webhook": obj(
        {
            "url": value_source("The URL."),
            "method": string(
                "HTTP method (default POST).", enum=["POST", "PUT", "PATCH", "GET", "DELETE"]
            ),
            "headers": string_map("Request headers.", value_source("A header value.")),
            "body": template("The request body (text for a non-JSON contentType)."),
            "contentType": nonempty("Content-Type (default application/json)."),
            "timeout": duration("Request timeout (default 10s)."),
            "tls": tls(),
        },
        "Send an HTTP request.",
        required=("url",),
        rules=(positive_duration("timeout"),),
    ),
    "slack": chat("Slack"),
    "teams": chat("Microsoft Teams"),
    "discord": chat("Discord"),
    "email": obj(
        {
            "smtp": obj(
                {
                    "host": nonempty("SMTP server host."),
                    "port": integer("SMTP server port.", minimum=1, maximum=65535),
                    "security": string(
                        "Transport security (default starttls).", enum=["starttls", "tls", "none"]
                    ),
                    "username": value_source("SMTP user name."),
                    "password": value_source("SMTP password."),
                    "tls": tls(),
                    "timeout": duration("Connection timeout (default 30s)."),
                },
                "The SMTP server.",
                required=("host",),
                rules=(
                    positive_duration("timeout"),
                    rule(
                        "!(has(self.security) && self.security == 'none' && has(self.tls))",
                        "has no effect with security: none",
                        ".tls",
                    ),
                ),
            ),
            "from": string("Sender address.", pattern=EMAIL),
            "to": array(string(pattern=EMAIL), "Recipients.", min_items=1),
            "subject": text("Subject."),
            "body": text("Body (plain text)."),
        },
        "Send an e-mail.",
        required=("smtp", "from", "to"),
    ),
    "log": obj(
        {
            "message": text("The message."),
            "level": string(
                "Log level (default info).", enum=["debug", "info", "warning", "error"]
            ),
        },
        "Log a line.",
        required=("message",),
    ),
    "use": use_ref("actions"),
}

#: Operands are strings, numbers or booleans (a structural schema has no "one of these
#: types" short of int-or-string, which refuses 0.5 and true), so they are kept as written.
COMPARISONS: dict[str, Schema] = {
    "exists": boolean("The path does (not) resolve to a value."),
    "equals": anything("The value, as kubectl prints it, equals this."),
    "notEquals": anything("The value exists and differs from this."),
    "in": array(anything(), "The value is one of these.", min_items=1),
    "matches": string("A regular expression the value matches (re.search)."),
    "greaterThan": anything("Numeric, quantity or timestamp comparison."),
    "lessThan": anything("Numeric, quantity or timestamp comparison."),
}
#: the operators CEL rules can see; the others are untyped (or, for in, hold untyped items)
TYPED_OPERATORS = ("exists", "matches")


def filter_item() -> Schema:
    """One filter: a comparison on a path, a group (all/any/not) or a TriggerTemplate use."""
    group = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return obj(
        {
            "path": nonempty("A JSONPath in kubectl syntax, e.g. {.metadata.labels.app}."),
            **COMPARISONS,
            "all": _described(
                {"type": "array", "maxItems": MAX_ITEMS, "minItems": 1, "items": dict(group)},
                "All of these filters hold.",
            ),
            "any": _described(
                {"type": "array", "maxItems": MAX_ITEMS, "minItems": 1, "items": dict(group)},
                "At least one of these filters holds.",
            ),
            "not": _described(dict(group), "This filter does not hold."),
            "use": use_ref("filters"),
        },
        "A comparison on a path, or a group.",
        one_of=("path", "all", "any", "not", "use"),
        at_most_one_of=TYPED_OPERATORS,
        rules=(
            rule(
                "has(self.path) || !(" + " || ".join(_set(op) for op in TYPED_OPERATORS) + ")",
                "an operator needs path; a group takes no other fields",
            ),
        ),
    )


def action_item() -> Schema:
    """One action: exactly one action key, plus an optional name."""
    return obj(
        {"name": string("Name shown in status and Events.", pattern=ACTION_NAME), **ACTION_SCHEMAS},
        "One action; exactly one action key.",
        one_of=tuple(ACTION_SCHEMAS),
    )


def source() -> Schema:
    """Where events come from: a resource watch or a cron schedule."""
    return obj(
        {
            "resource": obj(
                {
                    "apiVersion": string("API version, e.g. v1 or apps/v1.", pattern=API_VERSION),
                    "kind": string("Kind, e.g. ConfigMap.", pattern=KIND),
                    "namespaces": _described(
                        {
                            **array(
                                string(pattern=r"^(\*|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$"),
                                min_items=1,
                                unique=True,
                            ),
                            "x-kubernetes-validations": [
                                rule("!('*' in self) || size(self) == 1", '"*" must be alone')
                            ],
                        },
                        'Namespaces to watch (default: the Trigger\'s); ["*"] for all.',
                    ),
                    "labelSelector": nonempty("Label selector sent to the API server."),
                    "fieldSelector": nonempty("Field selector sent to the API server."),
                    "events": array(
                        string(enum=EVENTS), "Event types (default: all three).", min_items=1
                    ),
                    "changed": array(
                        nonempty(), "An update fires only if one of these changed.", min_items=1
                    ),
                    "fireOnStart": boolean("Fire create for objects existing at start-up."),
                },
                "Watch objects of one kind.",
                required=("apiVersion", "kind"),
                rules=(
                    rule(
                        "!has(self.changed) || !has(self.events) || 'update' in self.events",
                        "only applies to update events, and events does not include update",
                        ".changed",
                    ),
                ),
            ),
            "cron": obj(
                {
                    "schedule": nonempty("5-field cron or @hourly/@daily/..."),
                    "timeZone": nonempty("IANA time zone (default UTC)."),
                    "catchUpWindow": duration("Missed-run window after a restart."),
                },
                "Fire on a schedule.",
                required=("schedule",),
            ),
        },
        "What fires the trigger: exactly one of resource or cron.",
        one_of=("resource", "cron"),
    )


def options() -> Schema:
    """Runner tuning: rate limit, retries, workers, queue size."""
    initial = "(has(self.initialDelay) ? duration(self.initialDelay.trim()) : duration('1s'))"
    maximum = "(has(self.maxDelay) ? duration(self.maxDelay.trim()) : duration('60s'))"
    return obj(
        {
            "rateLimit": obj(
                {
                    "perSecond": number("Sustained actions per second.", above=0),
                    "burst": integer("Burst size.", minimum=1, maximum=100_000),
                },
                "Limit on action runs.",
            ),
            "retry": obj(
                {
                    "attempts": integer(
                        "Tries for a retryable failure, the first included.", minimum=1, maximum=100
                    ),
                    "initialDelay": duration("First back-off (default 1s)."),
                    "maxDelay": duration("Longest back-off (default 60s)."),
                },
                "Retries with exponential back-off and jitter.",
                rules=(
                    positive_duration("initialDelay"),
                    rule(
                        f"{maximum} >= {initial}",
                        "must not be shorter than initialDelay",
                        ".maxDelay",
                    ),
                ),
            ),
            "workers": integer("Events handled in parallel.", minimum=1, maximum=64),
            "queueSize": integer("Most queued keys.", minimum=1, maximum=1_000_000),
        },
        "Runner tuning.",
    )


def runner_options() -> Schema:
    """The runner Deployment's image and resources."""
    quantities = string_map("Resource quantities.", quantity())
    return obj(
        {
            "image": string("Runner image.", pattern=NO_SPACE),
            "resources": obj(
                {"requests": quantities, "limits": dict(quantities)},
                "Requests and limits of the runner container.",
            ),
        },
        "The runner Deployment.",
    )


def _consumers(action: str) -> str:
    """CEL over an action item ``a``: it is ``action`` with ``consumers: true``."""
    return f"has(a.{action}) && has(a.{action}.consumers) && a.{action}.consumers"


def trigger_spec() -> Schema:
    """The Trigger's spec; rules across source and actions are the parser's, where CEL sees them."""
    cron = "has(self.source) && has(self.source.cron)"
    config_source = (
        "has(self.source) && has(self.source.resource) && self.source.resource.apiVersion == 'v1'"
        " && self.source.resource.kind in ['ConfigMap', 'Secret']"
    )
    return obj(
        {
            "source": source(),
            "filters": array(filter_item(), "All must hold."),
            "actions": array(action_item(), "Run in order for each matching event.", min_items=1),
            "options": options(),
            "runner": runner_options(),
        },
        "What to watch, which events matter, what to do.",
        required=("source", "actions"),
        rules=(
            rule(
                f"!({cron}) || !has(self.filters) || size(self.filters) == 0",
                "filters need an event object, and a cron source has none",
                ".filters",
            ),
            rule(
                f"!({cron}) || self.actions.all(a, !has(a.patch) || has(a.patch.target))",
                "patch needs a target with a cron source (a cron event has no object)",
                ".actions",
            ),
            rule(
                f"!({cron}) || !self.actions.exists(a, {_consumers('rolloutRestart')}"
                f" || {_consumers('bumpApplicationRevision')})",
                "consumers needs a resource source (a cron event has no object to be consumed)",
                ".actions",
            ),
            rule(
                f"({config_source}) || {cron}"
                f" || !self.actions.exists(a, {_consumers('rolloutRestart')})",
                "rolloutRestart consumers needs a v1 ConfigMap or Secret source",
                ".actions",
            ),
        ),
    )


def trigger_status() -> Schema:
    """Written by the runner; unknown fields kept so an older schema never drops data."""
    counter = integer(minimum=0)
    return {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "description": "Observed state, written by the runner.",
        "properties": {
            "observedGeneration": integer("The generation the runner runs."),
            "conditions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {
                        "type": string(),
                        "status": string(),
                        "reason": string(),
                        "message": string(),
                        "lastTransitionTime": string(format="date-time"),
                        "observedGeneration": integer(),
                    },
                    "required": ["type", "status"],
                },
            },
            "counters": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "properties": {
                    name: dict(counter)
                    for name in (
                        "eventsSeen",
                        "eventsMatched",
                        "actionsSucceeded",
                        "actionsFailed",
                        "filterErrors",
                    )
                },
            },
            "lastFired": string("When an event last matched.", format="date-time"),
            "lastError": anything("The last error."),
            "checkpoint": anything("Resume point after a restart."),
        },
    }


def _annotation_path(key: str) -> str:
    return ".metadata.annotations." + key.replace(".", "\\.")


#: (name, type, JSONPath, priority, description); priority 1 = shown with -o wide only.
TRIGGER_COLUMNS: tuple[tuple[str, str, str, int, str], ...] = (
    ("Source", "string", _annotation_path(ANNOTATION_SOURCE), 0, "What fires the trigger."),
    ("Actions", "string", _annotation_path(ANNOTATION_ACTIONS), 0, "Action kinds, in order."),
    (
        "Ready",
        "string",
        '.status.conditions[?(@.type=="Ready")].status',
        0,
        "True while the runner of this generation watches its source (docs/runner.md).",
    ),
    (
        "Reason",
        "string",
        '.status.conditions[?(@.type=="Ready")].reason',
        0,
        "Why Ready is what it is (Running, RunnerStarting, SourceUnavailable, ...).",
    ),
    (
        "Synced",
        "string",
        '.status.conditions[?(@.type=="SpecInSync")].status',
        0,
        "The runner runs this spec (False: edited without kubectl trigger apply).",
    ),
    ("Fired", "integer", ".status.counters.eventsMatched", 0, "Events that matched."),
    ("Last Fired", "date", ".status.lastFired", 0, "When an event last matched."),
    ("Age", "date", ".metadata.creationTimestamp", 0, "Age."),
    ("Failed", "integer", ".status.counters.actionsFailed", 1, "Failed actions."),
    ("Seen", "integer", ".status.counters.eventsSeen", 1, "Events seen."),
    ("Last Error", "string", ".status.lastError.summary", 1, "The last failed action, short."),
)


def _columns(columns: tuple[tuple[str, str, str, int, str], ...]) -> list[Schema]:
    return [
        {"name": n, "type": t, "jsonPath": p, "description": d, **({"priority": pr} if pr else {})}
        for n, t, p, pr, d in columns
    ]


def _crd(
    kind: str,
    plural: str,
    short: list[str],
    spec: Schema,
    status: Schema | None,
    columns: Any,
    scope: str = "Namespaced",
) -> Schema:
    version: Schema = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": {
                "type": "object",
                "description": f"{kind}: see docs/spec.md.",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object"},
                    "spec": spec,
                    **({"status": status} if status else {}),
                },
                "required": ["spec"],
            }
        },
    }
    if status:
        version["subresources"] = {"status": {}}
    if columns:
        version["additionalPrinterColumns"] = columns
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{API_GROUP}",
            "labels": {"app.kubernetes.io/name": "kubectl-trigger"},
        },
        "spec": {
            "group": API_GROUP,
            "scope": scope,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short,
                # `kubectl get kubectl-trigger` lists Triggers and TriggerTemplates; a
                # category named like a plural would shadow it (kubectl expands categories
                # first: `kubectl get triggers` would list TriggerTemplates too)
                **({"categories": ["kubectl-trigger"]} if scope == "Namespaced" else {}),
            },
            "versions": [version],
        },
    }


def template_spec() -> Schema:
    """A TriggerTemplate: parameters plus reusable filters and/or actions.

    Filters and actions stay loose: a whole-leaf ``{{ .params.NAME }}`` takes its
    argument's type at use, so an item is only checked once expanded.
    """
    loose_list = {
        "type": "array",
        "maxItems": MAX_ITEMS,
        "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }
    parameter = obj(
        {
            "name": string("Parameter name, an identifier (app_name).", pattern=PARAMETER),
            "description": string("What it means."),
            "default": anything("Value when not given."),
            "required": boolean("Must be given in use.with."),
        },
        "A parameter, referenced as {{ .params.NAME }}.",
        required=("name",),
    )
    return obj(
        {
            "description": string("What the template is for."),
            "parameters": {
                **array(parameter, "Parameters; each name once."),
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
            "filters": _described(dict(loose_list), "Filters (parameters substituted at use)."),
            "actions": _described(dict(loose_list), "Actions (parameters substituted at use)."),
        },
        "Reusable filters and actions.",
    )


def trigger_crd() -> Schema:
    """The Trigger CRD."""
    return _crd(
        "Trigger",
        TRIGGER_PLURAL,
        ["trg"],
        trigger_spec(),
        trigger_status(),
        _columns(TRIGGER_COLUMNS),
    )


def cluster_trigger_crd() -> Schema:
    """The ClusterTrigger CRD: a Trigger's spec, cluster-scoped, for cluster admins.

    ``install`` adds the controlled namespace's name as an annotation
    (kubectl_trigger.system_namespace); the generated manifest leaves it out.
    """
    return _crd(
        "ClusterTrigger",
        CLUSTER_TRIGGER_PLURAL,
        ["ctrg"],
        trigger_spec(),
        trigger_status(),
        _columns(TRIGGER_COLUMNS),
        scope="Cluster",
    )


def template_crd() -> Schema:
    """The TriggerTemplate CRD."""
    columns = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    return _crd("TriggerTemplate", TEMPLATE_PLURAL, ["trgt"], template_spec(), None, columns)


def crds() -> list[Schema]:
    """Every CRD the plugin installs, in install order."""
    return [trigger_crd(), cluster_trigger_crd(), template_crd()]


HEADER = "# Generated by `python -m kubectl_trigger.crd`; do not edit by hand.\n"


def render_yaml() -> str:
    """The manifest text: every CRD as a multi-document YAML stream."""
    import yaml

    docs = [yaml.safe_dump(c, sort_keys=False, width=100, allow_unicode=True) for c in crds()]
    return HEADER + "---\n" + "---\n".join(docs)


if __name__ == "__main__":
    sys.stdout.write(render_yaml())

"""The Trigger and TriggerTemplate CustomResourceDefinitions, generated from Python.

The schema is written once here, as data, so the API server itself rejects a
malformed Trigger (``kubectl apply`` of a bad spec fails, not only the plugin's
own validation). It is a structural schema: no ``$ref`` and no recursion, so
nested filter groups, patch bodies, object templates and webhook bodies, whose
shape the schema cannot express, are ``x-kubernetes-preserve-unknown-fields``.
Rules across fields ("exactly one of") are CEL validations.

``python -m kubectl_trigger.crd > manifests/crd.yaml`` writes the manifest; the
same text is shipped as package data (kubectl_trigger/manifests/crd.yaml) for
``kubectl trigger install``; a unit test fails when either copy is stale.
"""

from __future__ import annotations

import sys
from typing import Any

from kubectl_trigger.naming import ANNOTATION_ACTIONS, ANNOTATION_SOURCE
from runner import API_GROUP

Schema = dict[str, Any]

VERSION = "v1alpha1"
TRIGGER_PLURAL = "triggers"
TEMPLATE_PLURAL = "triggertemplates"
MAX_ITEMS = 64  # bounds lists so the CEL cost estimate stays within the server's budget

# --- schema building blocks -------------------------------------------------------------


def string(description: str = "", **extra: Any) -> Schema:
    """A string field."""
    return _described({"type": "string", **extra}, description)


def boolean(description: str = "") -> Schema:
    """A boolean field."""
    return _described({"type": "boolean"}, description)


def integer(description: str = "", minimum: int | None = None) -> Schema:
    """An integer field, optionally bounded below."""
    schema: Schema = {"type": "integer", "format": "int64"}
    if minimum is not None:
        schema["minimum"] = minimum
    return _described(schema, description)


def number(description: str = "") -> Schema:
    """A number field."""
    return _described({"type": "number"}, description)


def int_or_string(description: str = "") -> Schema:
    """A field that is an integer or a string (quantities, ports)."""
    return _described({"x-kubernetes-int-or-string": True}, description)


def anything(description: str = "") -> Schema:
    """Any JSON value, kept as written: templates and bodies the schema cannot describe."""
    return _described({"x-kubernetes-preserve-unknown-fields": True}, description)


def array(items: Schema, description: str = "", min_items: int = 0) -> Schema:
    """A list with bounded length."""
    schema: Schema = {"type": "array", "items": items, "maxItems": MAX_ITEMS}
    if min_items:
        schema["minItems"] = min_items
    return _described(schema, description)


def string_map(description: str = "", values: Schema | None = None) -> Schema:
    """An object with arbitrary keys whose values share one schema (strings by default)."""
    return _described(
        {"type": "object", "additionalProperties": values or {"type": "string"}}, description
    )


def obj(
    properties: dict[str, Schema],
    description: str = "",
    required: tuple[str, ...] = (),
    one_of: tuple[str, ...] = (),
    at_most_one_of: tuple[str, ...] = (),
) -> Schema:
    """An object with known fields; ``one_of`` adds a CEL rule "exactly one of these"."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    rules = []
    if one_of:
        rules.append(_count_rule(one_of, "==", f"exactly one of {', '.join(one_of)} must be set"))
    if at_most_one_of:
        rules.append(
            _count_rule(at_most_one_of, "<=", f"at most one of {', '.join(at_most_one_of)}")
        )
    if rules:
        schema["x-kubernetes-validations"] = rules
    return _described(schema, description)


def _count_rule(fields: tuple[str, ...], op: str, message: str) -> dict[str, str]:
    terms = " + ".join(f"(has(self.{f}) ? 1 : 0)" for f in fields)
    return {"rule": f"{terms} {op} 1", "message": message}


def _described(schema: Schema, description: str) -> Schema:
    if description:
        schema["description"] = description
    return schema


# --- the Trigger spec -------------------------------------------------------------------

DURATION = r"^\s*\+?(0|([0-9.]+(ns|us|µs|ms|s|m|h))+)\s*$"
EVENTS = ["create", "update", "delete"]


def value_source(description: str) -> Schema:
    """A literal string, ``{value: literal}`` or ``{secretKeyRef: {name, key}}``.

    A string or an object: a structural schema cannot say "one of two types", so
    the field is kept as written and the runner's parser checks its shape.
    """
    return anything(description + ' A string, {value: "..."} or {secretKeyRef: {name, key}}.')


def template(description: str) -> Schema:
    """A template: text with ``{{ .path }}`` placeholders, or a YAML/JSON structure."""
    return anything(description + " A template: {{ .path }} placeholders take event values.")


def target() -> Schema:
    """The object an action acts on; omitted: the event's own object."""
    return obj(
        {
            "apiVersion": string("API version of the target, e.g. apps/v1."),
            "kind": string("Kind of the target, e.g. Deployment."),
            "name": string("Name of the target (a template)."),
            "selector": string("Label selector choosing targets."),
            "namespace": string("Namespace of the target (default: the event object's)."),
        },
        "The object to act on; omit it to act on the event's own object.",
        at_most_one_of=("name", "selector"),
    )


def workload_selection(kinds: list[str] | None, description: str) -> Schema:
    """rolloutRestart / bumpApplicationRevision: which workloads, by name, selector or use."""
    props: dict[str, Schema] = {}
    if kinds:
        props["kind"] = string("Workload kind.", enum=kinds)
    props |= {
        "name": string("Name of the workload (a template)."),
        "selector": string("Label selector choosing workloads."),
        "consumers": boolean("Workloads that reference the event's object."),
        "namespace": string("Namespace of the workloads (default: the event object's)."),
    }
    return obj(
        props,
        description,
        required=("kind",) if kinds else (),
        one_of=("name", "selector", "consumers"),
    )


def chat(service: str) -> Schema:
    """slack / teams / discord: an incoming-webhook URL and a text."""
    return obj(
        {
            "url": value_source(f"The {service} incoming-webhook URL."),
            "text": template("The message."),
        },
        f"Post a message to {service}.",
        required=("url", "text"),
    )


def use_ref(what: str) -> Schema:
    """``use: {name, with}``: a TriggerTemplate expanded at render time."""
    return obj(
        {
            "name": string("TriggerTemplate name in the Trigger's namespace.", minLength=1),
            "with": anything("Parameter values."),
        },
        f"Use a TriggerTemplate's {what}, expanded by the plugin.",
        required=("name",),
    )


ACTION_SCHEMAS: dict[str, Schema] = {
    "patch": obj(
        {
            "target": target(),
            "type": string("Patch type.", enum=["merge", "json", "strategic"]),
            "patch": template("The patch body (YAML or JSON text, or a structure)."),
        },
        "Patch an object.",
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
            "target": target(),
            "propagationPolicy": string(
                "Deletion propagation.", enum=["Background", "Foreground", "Orphan"]
            ),
        },
        "Delete an object.",
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
            "method": string("HTTP method (default POST)."),
            "headers": string_map("Request headers.", value_source("A header value.")),
            "body": template("The request body."),
            "contentType": string("Content-Type (default application/json)."),
            "timeout": string("Request timeout (default 10s).", pattern=DURATION),
            "tls": obj(
                {
                    "insecureSkipVerify": boolean("Skip certificate verification."),
                    "caSecretRef": obj(
                        {"name": string("Secret name."), "key": string("Key with the PEM CA.")},
                        "CA bundle from a Secret.",
                        required=("name", "key"),
                    ),
                },
                "TLS settings.",
            ),
        },
        "Send an HTTP request.",
        required=("url",),
    ),
    "slack": chat("Slack"),
    "teams": chat("Microsoft Teams"),
    "discord": chat("Discord"),
    "email": obj(
        {
            "smtp": obj(
                {
                    "host": string("SMTP server host."),
                    "port": integer("SMTP server port.", minimum=1),
                    "security": string("Transport security.", enum=["starttls", "tls", "none"]),
                    "username": value_source("SMTP user name."),
                    "password": value_source("SMTP password."),
                },
                "The SMTP server.",
                required=("host",),
            ),
            "from": string("Sender address."),
            "to": array(string(), "Recipients.", min_items=1),
            "subject": template("Subject."),
            "body": template("Body."),
        },
        "Send an e-mail.",
        required=("smtp", "from", "to"),
    ),
    "log": obj({"message": template("The message.")}, "Log a line.", required=("message",)),
    "use": use_ref("actions"),
}

#: Operands are strings, numbers or booleans (a structural schema has no "one of these
#: types" short of int-or-string, which refuses 0.5 and true), so they are kept as written.
COMPARISONS: dict[str, Schema] = {
    "exists": boolean("The path does (not) resolve to a value."),
    "equals": anything("The value, as kubectl prints it, equals this."),
    "notEquals": anything("The value exists and differs from this."),
    "in": array(anything(), "The value is one of these."),
    "matches": string("A regular expression the value matches (re.search)."),
    "greaterThan": anything("Numeric, quantity or timestamp comparison."),
    "lessThan": anything("Numeric, quantity or timestamp comparison."),
}


def filter_item() -> Schema:
    """One filter: a comparison on a path, a group (all/any/not) or a TriggerTemplate use."""
    group = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return obj(
        {
            "path": string("A JSONPath in kubectl syntax, e.g. {.metadata.labels.app}."),
            **COMPARISONS,
            "all": _described(
                {"type": "array", "maxItems": MAX_ITEMS, "items": dict(group)},
                "All of these filters hold.",
            ),
            "any": _described(
                {"type": "array", "maxItems": MAX_ITEMS, "items": dict(group)},
                "At least one of these filters holds.",
            ),
            "not": _described(dict(group), "This filter does not hold."),
            "use": use_ref("filters"),
        },
        "A comparison on a path, or a group.",
        one_of=("path", "all", "any", "not", "use"),
    )


def action_item() -> Schema:
    """One action: exactly one action key, plus an optional name.

    Each action's own fields keep unknown keys instead of pruning them: the
    runner's parser (which the plugin runs before any write) is the authority on
    action fields and rejects unknown ones with a did-you-mean, whereas pruning
    would silently drop a field the schema has not caught up with.
    """
    keys = tuple(ACTION_SCHEMAS)
    actions = {
        k: {**v, "x-kubernetes-preserve-unknown-fields": True} for k, v in ACTION_SCHEMAS.items()
    }
    return obj(
        {"name": string("Name shown in status and Events."), **actions},
        "One action; exactly one action key.",
        one_of=keys,
    )


def source() -> Schema:
    """Where events come from: a resource watch or a cron schedule."""
    return obj(
        {
            "resource": obj(
                {
                    "apiVersion": string("API version, e.g. v1 or apps/v1.", minLength=1),
                    "kind": string("Kind, e.g. ConfigMap.", minLength=1),
                    "namespaces": array(
                        string(),
                        'Namespaces to watch (default: the Trigger\'s); ["*"] for all.',
                    ),
                    "labelSelector": string("Label selector sent to the API server."),
                    "fieldSelector": string("Field selector sent to the API server."),
                    "events": array(string(enum=EVENTS), "Event types (default: all three)."),
                    "changed": array(string(), "An update fires only if one of these changed."),
                    "fireOnStart": boolean("Fire create for objects existing at start-up."),
                },
                "Watch objects of one kind.",
                required=("apiVersion", "kind"),
            ),
            "cron": obj(
                {
                    "schedule": string("5-field cron or @hourly/@daily/...", minLength=1),
                    "timeZone": string("IANA time zone (default UTC)."),
                    "catchUpWindow": string("Missed-run window after a restart.", pattern=DURATION),
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
    return obj(
        {
            "rateLimit": obj(
                {
                    "perSecond": number("Sustained actions per second."),
                    "burst": integer("Burst size.", minimum=1),
                },
                "Limit on action runs.",
            ),
            "retry": obj(
                {
                    "attempts": integer("Attempts for a retryable failure.", minimum=1),
                    "initialDelay": string("First back-off.", pattern=DURATION),
                    "maxDelay": string("Longest back-off.", pattern=DURATION),
                },
                "Retries with exponential back-off and jitter.",
            ),
            "workers": integer("Events handled in parallel.", minimum=1),
            "queueSize": integer("Most queued keys.", minimum=1),
        },
        "Runner tuning.",
    )


def runner_options() -> Schema:
    """The runner Deployment's image and resources."""
    quantities = string_map("Resource quantities.", int_or_string())
    return obj(
        {
            "image": string("Runner image."),
            "resources": obj(
                {"requests": quantities, "limits": dict(quantities)},
                "Requests and limits of the runner container.",
            ),
        },
        "The runner Deployment.",
    )


def trigger_spec() -> Schema:
    """The Trigger's spec."""
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
    ("Ready", "string", '.status.conditions[?(@.type=="Ready")].status', 0, "Runner ready."),
    ("Fired", "integer", ".status.counters.eventsMatched", 0, "Events that matched."),
    ("Last Fired", "date", ".status.lastFired", 0, "When an event last matched."),
    ("Age", "date", ".metadata.creationTimestamp", 0, "Age."),
    ("Failed", "integer", ".status.counters.actionsFailed", 1, "Failed actions."),
    ("Seen", "integer", ".status.counters.eventsSeen", 1, "Events seen."),
)


def _columns(columns: tuple[tuple[str, str, str, int, str], ...]) -> list[Schema]:
    return [
        {"name": n, "type": t, "jsonPath": p, "description": d, **({"priority": pr} if pr else {})}
        for n, t, p, pr, d in columns
    ]


def _crd(
    kind: str, plural: str, short: list[str], spec: Schema, status: Schema | None, columns: Any
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
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short,
                "categories": ["triggers"],
            },
            "versions": [version],
        },
    }


def template_spec() -> Schema:
    """A TriggerTemplate: parameters plus reusable filters and/or actions."""
    loose_list = {
        "type": "array",
        "maxItems": MAX_ITEMS,
        "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }
    return obj(
        {
            "description": string("What the template is for."),
            "parameters": array(
                obj(
                    {
                        "name": string("Parameter name.", minLength=1),
                        "description": string("What it means."),
                        "default": anything("Value when not given."),
                        "required": boolean("Must be given in use.with."),
                    },
                    "A parameter, referenced as {{ .params.NAME }}.",
                    required=("name",),
                ),
                "Parameters.",
            ),
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


def template_crd() -> Schema:
    """The TriggerTemplate CRD."""
    columns = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    return _crd("TriggerTemplate", TEMPLATE_PLURAL, ["trgt"], template_spec(), None, columns)


def crds() -> list[Schema]:
    """Every CRD the plugin installs, in install order."""
    return [trigger_crd(), template_crd()]


HEADER = "# Generated by `python -m kubectl_trigger.crd`; do not edit by hand.\n"


def render_yaml() -> str:
    """The manifest text: both CRDs as a multi-document YAML stream."""
    import yaml

    docs = [yaml.safe_dump(c, sort_keys=False, width=100, allow_unicode=True) for c in crds()]
    return HEADER + "---\n" + "---\n".join(docs)


if __name__ == "__main__":
    sys.stdout.write(render_yaml())

"""Action parsing and permissions: exact errors at exact field paths, least-privilege RBAC."""

from __future__ import annotations

from typing import Any

import pytest

from runner.actions import ACTIONS
from runner.actions.base import ParseContext
from runner.permissions import Permission
from runner.spec.errors import SpecError

CONFIGMAPS = ParseContext("shop", "v1", "ConfigMap", ("shop",))
EVERYWHERE = ParseContext("shop", "v1", "ConfigMap", None)
TWO_NAMESPACES = ParseContext("shop", "v1", "ConfigMap", ("shop", "web"))
DEPLOYMENTS = ParseContext("shop", "apps/v1", "Deployment", ("shop",))
CRON = ParseContext("shop", None, None, None)

GET = frozenset({"get"})


def parse(key: str, raw: dict[str, Any], ctx: ParseContext = CONFIGMAPS) -> Any:
    return ACTIONS[key].parse(raw, f"spec.actions[1].{key}", ctx)


def error(key: str, raw: dict[str, Any], ctx: ParseContext = CONFIGMAPS) -> str:
    with pytest.raises(SpecError) as info:
        parse(key, raw, ctx)
    return str(info.value)


def perms(key: str, raw: dict[str, Any], ctx: ParseContext = CONFIGMAPS) -> list[Permission]:
    return ACTIONS[key].permissions(parse(key, raw, ctx), ctx)


def test_registry_lists_every_kind_once() -> None:
    assert sorted(ACTIONS) == [
        "apply",
        "bumpApplicationRevision",
        "create",
        "delete",
        "discord",
        "email",
        "log",
        "patch",
        "rolloutRestart",
        "slack",
        "teams",
        "webhook",
    ]
    assert all(kind.key == key for key, kind in ACTIONS.items())


# -- errors ---------------------------------------------------------------------------------

HOOK = {"url": {"secretKeyRef": {"name": "hooks", "key": "url"}}}

ERRORS: list[tuple[str, dict[str, Any], ParseContext, str]] = [
    # unknown fields, with the closest known one suggested
    (
        "webhook",
        {**HOOK, "bdy": "{}"},
        CONFIGMAPS,
        "spec.actions[1].webhook.bdy: unknown field; did you mean body?",
    ),
    (
        "webhook",
        {**HOOK, "tls": {"insecure": True}},
        CONFIGMAPS,
        "spec.actions[1].webhook.tls.insecure: unknown field; did you mean insecureSkipVerify?",
    ),
    (
        "email",
        {"smtp": {"host": "mx", "pasword": "x"}, "from": "a@b.c", "to": ["d@e.f"]},
        CONFIGMAPS,
        "spec.actions[1].email.smtp.pasword: unknown field; did you mean password?",
    ),
    (
        "slack",
        {**HOOK, "text": "hi", "channel": "#ops"},
        CONFIGMAPS,
        "spec.actions[1].slack.channel: unknown field; use one of: text, url",
    ),
    # webhook
    (
        "webhook",
        {},
        CONFIGMAPS,
        "spec.actions[1].webhook.url: is required; "
        "e.g. url: {secretKeyRef: {name: hooks, key: url}}",
    ),
    (
        "webhook",
        {"url": {"value": "https://h/x", "secretKeyRef": {"name": "a", "key": "b"}}},
        CONFIGMAPS,
        "spec.actions[1].webhook.url: needs exactly one of value, secretKeyRef; "
        'use {value: "..."} or {secretKeyRef: {name: my-secret, key: my-key}}',
    ),
    (
        "webhook",
        {"url": {"secretKeyRef": {"name": "hooks"}}},
        CONFIGMAPS,
        "spec.actions[1].webhook.url.secretKeyRef.key: is required",
    ),
    (
        "webhook",
        {"url": {"value": "ftp://files.example/x"}},
        CONFIGMAPS,
        "spec.actions[1].webhook.url.value: ftp://files.example/… must start with http:// or "
        "https://; e.g. https://hooks.example/x",
    ),
    (
        "webhook",
        {**HOOK, "method": "post"},
        CONFIGMAPS,
        "spec.actions[1].webhook.method: must be one of POST, PUT, PATCH, GET, DELETE, "
        "got 'post'; use POST",
    ),
    (
        "webhook",
        {**HOOK, "timeout": "10"},
        CONFIGMAPS,
        "spec.actions[1].webhook.timeout: duration '10' has a number without a unit; "
        "write a number with a unit (ns, us, ms, s, m, h), e.g. 500ms, 30s, 1h30m",
    ),
    (
        "webhook",
        {**HOOK, "headers": {"Content-Type": "text/plain"}},
        CONFIGMAPS,
        "spec.actions[1].webhook.headers.Content-Type: is set by the action; use contentType",
    ),
    (
        "webhook",
        {**HOOK, "body": '{"text": {{ .object.metadata.name }}}'},
        CONFIGMAPS,
        "spec.actions[1].webhook.body: not valid JSON: Expecting property name enclosed in double "
        "quotes at line 1 column 11; "
        'put placeholders inside quotes, e.g. {"name": "{{ .object.metadata.name }}"}',
    ),
    (
        "webhook",
        {**HOOK, "method": "GET", "body": "{}"},
        CONFIGMAPS,
        "spec.actions[1].webhook.body: GET requests have no body; remove body, or use POST",
    ),
    (
        "webhook",
        {**HOOK, "contentType": "text/plain"},
        CONFIGMAPS,
        "spec.actions[1].webhook.body: is required with contentType text/plain",
    ),
    (
        "webhook",
        {**HOOK, "body": "{{ .object.metadata.nme }", "contentType": "text/plain"},
        CONFIGMAPS,
        "spec.actions[1].webhook.body: unclosed '{{' at column 1 in "
        "'{{ .object.metadata.nme }'; add the closing }}",
    ),
    (
        "webhook",
        {**HOOK, "tls": {"insecureSkipVerify": True, "caSecretRef": {"name": "ca"}}},
        CONFIGMAPS,
        "spec.actions[1].webhook.tls: insecureSkipVerify and caSecretRef cannot be combined; "
        "keep caSecretRef to verify against your CA",
    ),
    # chat
    (
        "teams",
        dict(HOOK),
        CONFIGMAPS,
        'spec.actions[1].teams.text: is required; e.g. text: "{{ .object.metadata.name }} changed"',
    ),
    # patch
    (
        "patch",
        {"type": "apply", "patch": {}},
        CONFIGMAPS,
        "spec.actions[1].patch.type: must be one of merge, json, strategic, got 'apply'; use merge",
    ),
    (
        "patch",
        {"type": "merge", "patch": [{"op": "remove", "path": "/data/a"}]},
        CONFIGMAPS,
        "spec.actions[1].patch.patch: a merge patch must be an object, got a list; "
        "use type: json for a list of operations",
    ),
    (
        "patch",
        {"type": "json", "patch": [{"op": "replace", "path": "/data/a"}]},
        CONFIGMAPS,
        "spec.actions[1].patch.patch[0].value: is required for op replace",
    ),
    (
        "patch",
        {"type": "json", "patch": [{"op": "bump", "path": "/data/a"}]},
        CONFIGMAPS,
        "spec.actions[1].patch.patch[0].op: must be one of add, remove, replace, move, copy, "
        "test, got 'bump'",
    ),
    (
        "patch",
        {"patch": "metadata:\n  labels: {a: b}\n"},
        CONFIGMAPS,
        "spec.actions[1].patch.patch: is text that is not JSON; YAML text templates are not "
        "supported; write the object inline as YAML (drop the '|'), or as JSON text",
    ),
    (
        "patch",
        {"patch": {"metadata": {"{{ .object.metadata.name }}": "x"}}},
        CONFIGMAPS,
        'spec.actions[1].patch.patch.metadata["{{ .object.metadata.name }}"]: placeholders '
        "are not allowed in mapping keys; keys are literal; put the placeholder in a value",
    ),
    (
        "patch",
        {"patch": {"a": "b"}},
        CRON,
        "spec.actions[1].patch.target: is required with a cron source (a cron event has no "
        "object); add target: {apiVersion: v1, kind: ConfigMap, name: my-config}",
    ),
    (
        "patch",
        {"patch": {}, "target": {"apiVersion": "v1", "kind": "Pod", "name": "a", "selector": "b"}},
        CONFIGMAPS,
        "spec.actions[1].patch.target: needs exactly one of name, selector; got name, selector",
    ),
    (
        "patch",
        {"patch": {}, "target": {"apiVersion": "v1", "name": "a"}},
        CONFIGMAPS,
        "spec.actions[1].patch.target.kind: is required",
    ),
    (
        "patch",
        {"patch": {}, "target": {"apiVersion": "v1", "kind": "Pod", "selector": "app in (a"}},
        CONFIGMAPS,
        "spec.actions[1].patch.target.selector",
    ),
    # apply / create
    (
        "apply",
        {"template": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "j-"}}},
        CONFIGMAPS,
        "spec.actions[1].apply.template.metadata: needs metadata.name; e.g. template: "
        "{apiVersion: batch/v1, kind: Job, metadata: {generateName: job-}, spec: ...}",
    ),
    (
        "create",
        {"template": {"apiVersion": "batch/v1", "kind": "{{ .object.kind }}", "metadata": {}}},
        CONFIGMAPS,
        "spec.actions[1].create.template.kind: must be literal, not a template; e.g. template: "
        "{apiVersion: batch/v1, kind: Job, metadata: {generateName: job-}, spec: ...}",
    ),
    (
        "create",
        {"template": {"apiVersion": "batch/v1", "kind": "Job"}},
        CONFIGMAPS,
        "spec.actions[1].create.template.metadata: needs metadata.name or metadata.generateName; "
        "e.g. template: {apiVersion: batch/v1, kind: Job, metadata: {generateName: job-}, "
        "spec: ...}",
    ),
    (
        "create",
        {"templates": {}},
        CONFIGMAPS,
        "spec.actions[1].create.templates: unknown field; did you mean template?",
    ),
    # delete
    (
        "delete",
        {},
        CONFIGMAPS,
        "spec.actions[1].delete.target: is required; say what to delete, e.g. target: "
        "{apiVersion: v1, kind: Pod, selector: app=web}",
    ),
    (
        "delete",
        {
            "target": {"apiVersion": "v1", "kind": "Pod", "name": "x"},
            "propagationPolicy": "background",
        },
        CONFIGMAPS,
        "spec.actions[1].delete.propagationPolicy: must be one of Background, Foreground, "
        "Orphan, got 'background'",
    ),
    # rolloutRestart
    (
        "rolloutRestart",
        {"name": "web"},
        CONFIGMAPS,
        "spec.actions[1].rolloutRestart.kind: is required; use one of Deployment, StatefulSet, "
        "DaemonSet",
    ),
    (
        "rolloutRestart",
        {"kind": "ReplicaSet", "name": "web"},
        CONFIGMAPS,
        "spec.actions[1].rolloutRestart.kind: must be one of Deployment, StatefulSet, "
        "DaemonSet, got 'ReplicaSet'; use Deployment",
    ),
    (
        "rolloutRestart",
        {"kind": "Deployment"},
        CONFIGMAPS,
        "spec.actions[1].rolloutRestart: needs exactly one of name, selector, consumers; got none",
    ),
    (
        "rolloutRestart",
        {"kind": "Deployment", "name": "web", "consumers": True},
        CONFIGMAPS,
        "spec.actions[1].rolloutRestart: needs exactly one of name, selector, consumers; "
        "got name, consumers",
    ),
    (
        "rolloutRestart",
        {"kind": "Deployment", "consumers": True},
        DEPLOYMENTS,
        "spec.actions[1].rolloutRestart.consumers: needs a ConfigMap or Secret source, not "
        "Deployment; watch apiVersion v1 ConfigMap or Secret, or use name or selector",
    ),
    (
        "rolloutRestart",
        {"kind": "Deployment", "consumers": True},
        CRON,
        "spec.actions[1].rolloutRestart.consumers: needs a resource source (a cron event has no "
        "object to be consumed); use name or selector",
    ),
    (
        "rolloutRestart",
        {"kind": "Deployment", "consumers": True, "namespace": "web"},
        CONFIGMAPS,
        "spec.actions[1].rolloutRestart.namespace: cannot be combined with consumers (they are "
        "in the event object's namespace); remove namespace",
    ),
    (
        "rolloutRestart",
        {"kind": "Deployment", "name": "web", "namespace": "Shop"},
        CONFIGMAPS,
        "spec.actions[1].rolloutRestart.namespace: 'Shop' is not a namespace name; e.g. shop",
    ),
    (
        "rolloutRestart",
        {"kind": "Deployment", "selector": "app=web", "consumers": "yes"},
        CONFIGMAPS,
        "spec.actions[1].rolloutRestart: needs exactly one of name, selector, consumers; "
        "got selector, consumers",
    ),
    # bumpApplicationRevision
    (
        "bumpApplicationRevision",
        {"kind": "Application", "name": "web"},
        CONFIGMAPS,
        "spec.actions[1].bumpApplicationRevision.kind: unknown field; "
        "use one of: consumers, name, namespace, selector",
    ),
    (
        "bumpApplicationRevision",
        {"consumers": True},
        CRON,
        "spec.actions[1].bumpApplicationRevision.consumers: needs a resource source (a cron "
        "event has no object to be consumed); use name or selector",
    ),
    # email
    (
        "email",
        {"smtp": {"host": "mx"}, "from": "alerts", "to": ["ops@example.com"]},
        CONFIGMAPS,
        "spec.actions[1].email.from: 'alerts' is not an e-mail address; "
        "write a plain address such as alerts@example.com",
    ),
    (
        "email",
        {"smtp": {"host": "mx"}, "from": "a@example.com", "to": []},
        CONFIGMAPS,
        "spec.actions[1].email.to: must be a non-empty list of strings",
    ),
    (
        "email",
        {"smtp": {"host": "mx"}, "from": "a@example.com", "to": ["ok@example.com", "Bob <b@x>"]},
        CONFIGMAPS,
        "spec.actions[1].email.to[1]: 'Bob <b@x>' is not an e-mail address; "
        "write a plain address such as alerts@example.com",
    ),
    (
        "email",
        {
            "smtp": {"host": "mx", "security": "none", "username": "u", "password": "p"},
            "from": "a@example.com",
            "to": ["b@example.com"],
        },
        CONFIGMAPS,
        "spec.actions[1].email.smtp.security: none would send the password in clear text; "
        "use starttls or tls",
    ),
    (
        "email",
        {"smtp": {"host": "mx", "username": "u"}, "from": "a@example.com", "to": ["b@x.y"]},
        CONFIGMAPS,
        "spec.actions[1].email.smtp.password: is required with username",
    ),
    (
        "email",
        {"smtp": {"host": "mx", "port": 70000}, "from": "a@example.com", "to": ["b@x.y"]},
        CONFIGMAPS,
        "spec.actions[1].email.smtp.port: must be between 1 and 65535, got 70000",
    ),
    (
        "email",
        {"smtp": {"host": "mx", "security": "ssl"}, "from": "a@example.com", "to": ["b@x.y"]},
        CONFIGMAPS,
        "spec.actions[1].email.smtp.security: must be one of starttls, tls, none, got 'ssl'; "
        "use starttls",
    ),
    (
        "email",
        {"from": "a@example.com", "to": ["b@x.y"]},
        CONFIGMAPS,
        "spec.actions[1].email.smtp: is required; e.g. smtp: {host: smtp.example.com}",
    ),
    # log
    (
        "log",
        {"message": "hi", "level": "loud"},
        CONFIGMAPS,
        "spec.actions[1].log.level: must be one of debug, info, warning, error, got 'loud'; "
        "use info",
    ),
    (
        "log",
        {"message": "{{ object.metadata.name }}"},
        CONFIGMAPS,
        "spec.actions[1].log.message: a placeholder path must start with '.', found 'o' at "
        "column 4 in '{{ object.metadata.name }}'; write {{ .object.metadata.name }}",
    ),
]


@pytest.mark.parametrize(
    ("key", "raw", "ctx", "expected"),
    ERRORS,
    ids=[f"{i:02d}-{e[0]}" for i, e in enumerate(ERRORS)],
)
def test_parse_error_names_the_field(
    key: str, raw: dict[str, Any], ctx: ParseContext, expected: str
) -> None:
    message = error(key, raw, ctx)
    if expected.endswith(".selector"):  # the selector parser words its own message
        assert message.startswith(expected + ": ")
    else:
        assert message == expected


def test_secret_url_never_appears_in_parse_errors() -> None:
    message = error("webhook", {"url": {"value": "hxxps://hooks.example/T0/SECRET"}})
    assert "SECRET" not in message and "T0" not in message


# -- what parses ----------------------------------------------------------------------------


def test_good_configs_parse() -> None:
    parse("webhook", {"url": "https://hooks.example/{{ .object.metadata.name }}"})
    parse("webhook", {**HOOK, "body": {"text": "{{ .object.metadata.name }}"}, "timeout": "2s"})
    parse("webhook", {**HOOK, "contentType": "text/plain", "body": "hi {{ .event }}"})
    parse("patch", {"type": "json", "patch": '[{"op": "remove", "path": "/data/a"}]'})
    parse("patch", {"type": "strategic", "patch": {"spec": {"replicas": 2}}})
    parse("rolloutRestart", {"kind": "StatefulSet", "consumers": True})
    parse("bumpApplicationRevision", {"consumers": True}, DEPLOYMENTS)
    parse("email", {"smtp": {"host": "mx", "security": "none"}, "from": "a@b.c", "to": ["d@e.f"]})


def test_email_default_ports() -> None:
    def port(security: str) -> int:
        raw = {"smtp": {"host": "mx", "security": security}, "from": "a@b.c", "to": ["d@e.f"]}
        return int(parse("email", raw).smtp.port)

    assert (port("starttls"), port("tls"), port("none")) == (587, 465, 25)


# -- permissions ----------------------------------------------------------------------------


def P(
    api_version: str,
    kind: str,
    verbs: set[str],
    namespace: str | None,
    names: tuple[str, ...] = (),
) -> Permission:
    return Permission(api_version, kind, frozenset(verbs), namespace, names)


def test_patch_permissions() -> None:
    assert perms("patch", {"patch": {"a": "b"}}) == [P("v1", "ConfigMap", {"get", "patch"}, "shop")]
    assert perms("patch", {"patch": {"a": "b"}}, EVERYWHERE) == [
        P("v1", "ConfigMap", {"get", "patch"}, None)
    ]
    assert perms("patch", {"patch": {"a": "b"}}, TWO_NAMESPACES) == [
        P("v1", "ConfigMap", {"get", "patch"}, "shop"),
        P("v1", "ConfigMap", {"get", "patch"}, "web"),
    ]
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "selector": "app=web"}
    assert perms("patch", {"patch": {}, "target": target}) == [
        P("apps/v1", "Deployment", {"get", "list", "patch"}, "shop")
    ]
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "prod"}
    assert perms("patch", {"patch": {}, "target": target}, EVERYWHERE) == [
        P("apps/v1", "Deployment", {"get", "patch"}, "prod", ("web",))
    ]
    target = {"apiVersion": "v1", "kind": "ConfigMap", "name": "{{ .object.metadata.name }}-x"}
    assert perms("patch", {"patch": {}, "target": target}, CRON) == [
        P("v1", "ConfigMap", {"get", "patch"}, "shop")
    ]


def test_apply_and_create_permissions() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}}
    assert perms("apply", {"template": job}) == [
        P("batch/v1", "Job", {"get", "create", "patch"}, "shop")
    ]
    gen = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "j-"}}
    assert perms("create", {"template": gen}, EVERYWHERE) == [
        P("batch/v1", "Job", {"create"}, None)
    ]
    there = {**gen, "metadata": {"generateName": "j-", "namespace": "jobs"}}
    assert perms("create", {"template": there}, EVERYWHERE) == [
        P("batch/v1", "Job", {"create"}, "jobs")
    ]
    templated = {**gen, "metadata": {"generateName": "j-", "namespace": "{{ .object.data.ns }}"}}
    assert perms("create", {"template": templated}) == [P("batch/v1", "Job", {"create"}, None)]


def test_delete_permissions() -> None:
    target = {"apiVersion": "v1", "kind": "Pod", "selector": "app=web"}
    assert perms("delete", {"target": target}) == [
        P("v1", "Pod", {"get", "list", "delete"}, "shop")
    ]
    target = {"apiVersion": "v1", "kind": "Pod", "name": "web-0"}
    assert perms("delete", {"target": target}) == [
        P("v1", "Pod", {"get", "delete"}, "shop", ("web-0",))
    ]


def test_rollout_restart_permissions() -> None:
    assert perms("rolloutRestart", {"kind": "Deployment", "consumers": True}) == [
        P("apps/v1", "Deployment", {"get", "list", "patch"}, "shop")
    ]
    assert perms("rolloutRestart", {"kind": "DaemonSet", "selector": "app=web"}, EVERYWHERE) == [
        P("apps/v1", "DaemonSet", {"get", "list", "patch"}, None)
    ]
    assert perms("rolloutRestart", {"kind": "StatefulSet", "name": "db"}) == [
        P("apps/v1", "StatefulSet", {"get", "patch"}, "shop", ("db",))
    ]


def test_bump_application_revision_permissions() -> None:
    app = "core.oam.dev/v1beta1"
    assert perms("bumpApplicationRevision", {"consumers": True}, EVERYWHERE) == [
        P(app, "Application", {"get", "list", "patch"}, None)
    ]
    assert perms("bumpApplicationRevision", {"name": "web", "namespace": "apps"}, CRON) == [
        P(app, "Application", {"get", "patch"}, "apps", ("web",))
    ]


def test_notification_permissions_are_only_the_named_secrets() -> None:
    assert perms("webhook", {"url": "https://hooks.example/x"}) == []
    raw = {
        **HOOK,
        "headers": {
            "Authorization": {"secretKeyRef": {"name": "token", "key": "bearer"}},
            "X-Team": "ops",
        },
        "tls": {"caSecretRef": {"name": "hooks-ca"}},
    }
    assert perms("webhook", raw, EVERYWHERE) == [
        P("v1", "Secret", {"get"}, "shop", ("hooks", "hooks-ca", "token"))
    ]
    for chat in ("slack", "teams", "discord"):
        assert perms(chat, {**HOOK, "text": "hi"}) == [
            P("v1", "Secret", {"get"}, "shop", ("hooks",))
        ]
    mail = {
        "smtp": {
            "host": "mx",
            "username": "alerts",
            "password": {"secretKeyRef": {"name": "smtp", "key": "password"}},
        },
        "from": "a@b.c",
        "to": ["d@e.f"],
    }
    assert perms("email", mail) == [P("v1", "Secret", {"get"}, "shop", ("smtp",))]
    assert perms("log", {"message": "hi"}) == []


def test_tls_ca_key_defaults_to_ca_crt() -> None:
    config = parse("webhook", {**HOOK, "tls": {"caSecretRef": {"name": "hooks-ca"}}})
    assert (config.tls.ca.name, config.tls.ca.key) == ("hooks-ca", "ca.crt")

"""From input documents to validated, rendered Triggers, before anything is written.

Every check that can fail on bad input runs here, for every document, before
the first write: YAML shape, metadata, TriggerTemplate expansion, the runner's
own parser (``runner.spec.parse``), resolving every kind the spec names
(discovery, or the offline table), and the trust rule: a namespaced Trigger may
need rights only in its own namespace (``runner.spec.scope``); anything wider
is a ClusterTrigger. All problems of all documents are reported together; one
bad document means nothing is created.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubectl_trigger import naming, rbac, render
from kubectl_trigger.errors import BadInput, CrdMissing, PluginError, translated
from kubectl_trigger.inputs import Document
from runner import API_GROUP, API_VERSION
from runner.rendered import spec_digest

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

Obj = dict[str, Any]
#: a TriggerTemplate object's own fields (it has no status)
TEMPLATE_FIELDS = ("apiVersion", "kind", "metadata", "spec")
#: name -> a TriggerTemplate object (in the Trigger's namespace), or None if absent
TemplateFetch = Callable[[str, str], Mapping[str, Any] | None]
TRIGGER_KINDS = (naming.TRIGGER, naming.CLUSTER_TRIGGER)


class UnknownKind(BadInput):
    """A kind the cluster does not serve; ``path`` says which spec field named it."""

    def __init__(self, api_version: str, kind: str, hint: str = "") -> None:
        super().__init__(f"kind {kind} (apiVersion {api_version}) is not served by the cluster")
        self.hint = hint
        self.api_version = api_version
        self.kind = kind
        self.path = "spec"


@dataclass
class Prepared:
    """One validated Trigger or ClusterTrigger and what it needs, ready to render and write."""

    origin: str
    ref: naming.Ref
    home: str  # the runner's namespace: the Trigger's own, or the controlled namespace
    trigger: Obj  # the object to write (user's spec + plugin annotations)
    expanded: Obj  # the expanded spec the runner runs
    config: Any  # runner.spec TriggerConfig
    rules: dict[str | None, list[rbac.Rule]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def render(
        self,
        image: str | None = None,
        owner: render.Owner | None = None,
        written: Obj | None = None,
    ) -> list[Obj]:
        """The derived objects (ServiceAccount, RBAC, Deployment).

        ``written``: the object as the API server returned it; its generation and its
        stored spec are what the runner compares its Trigger against.
        """
        meta = (written or {}).get("metadata") or {}
        generation = meta.get("generation")
        return render.derived_objects(
            render.RenderInput(
                ref=self.ref,
                home=self.home,
                spec=self.expanded,
                rules=self.rules,
                image=image,
                owner=owner,
                spec_digest=spec_digest((written or self.trigger).get("spec")),
                generation=generation if isinstance(generation, int) else None,
            )
        )

    @property
    def name(self) -> str:
        """The trigger's name."""
        return self.ref.name

    @property
    def namespace(self) -> str:
        """The Trigger's namespace ("" for a ClusterTrigger)."""
        return self.ref.namespace

    @property
    def key(self) -> str:
        """``namespace/name``, or the name of a ClusterTrigger."""
        return f"{self.ref.namespace}/{self.ref.name}" if self.ref.namespace else self.ref.name


@dataclass
class Batch:
    """Everything one ``-f`` input holds, validated."""

    triggers: list[Prepared]
    templates: list[Obj]  # TriggerTemplate objects, written before the Triggers


def discovery_resolver(client: KubeClient) -> rbac.Resolver:
    """Resolve kinds through the cluster's discovery; unknown kinds raise ``UnknownKind``."""
    from runner.kube import errors as kube_errors

    cache: dict[tuple[str, str], rbac.Resource] = {}

    def resolve(api_version: str, kind: str) -> rbac.Resource:
        if (api_version, kind) in cache:
            return cache[(api_version, kind)]
        base, _, sub = kind.partition("/")
        try:
            with translated(f"discovery of {base} ({api_version})"):
                info = client.resource(api_version, base)
        except PluginError as e:
            if isinstance(e.__cause__, kube_errors.NotFound):
                if api_version == API_VERSION:  # the plugin's own kinds: install never ran
                    raise CrdMissing() from e
                raise UnknownKind(api_version, base, getattr(e.__cause__, "hint", "")) from e
            raise
        if sub and info.subresources and sub not in info.subresources:
            raise UnknownKind(api_version, kind)
        res = rbac.Resource(
            info.group, f"{info.plural}/{sub}" if sub else info.plural, info.namespaced
        )
        cache[(api_version, kind)] = res
        return res

    return resolve


def locate_kind(spec: Any, api_version: str, kind: str, path: str = "spec") -> str | None:
    """The path of the first spec field naming ``kind`` (with ``api_version`` if given there)."""
    if isinstance(spec, Mapping):
        if spec.get("kind") == kind and spec.get("apiVersion", api_version) == api_version:
            return path
        for key, value in spec.items():
            found = locate_kind(value, api_version, kind, f"{path}.{key}")
            if found:
                return found
    elif isinstance(spec, list):
        for i, value in enumerate(spec):
            found = locate_kind(value, api_version, kind, f"{path}[{i}]")
            if found:
                return found
    return None


def _unknown_fields(doc: Document) -> list[str]:
    """Top-level keys the kind does not have: a typo (``spce:``) must not be dropped silently."""
    from runner.spec.parse import TOP_LEVEL_FIELDS

    allowed = TOP_LEVEL_FIELDS if doc.kind in TRIGGER_KINDS else TEMPLATE_FIELDS
    problems = []
    for key in doc.body:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        fix = f"did you mean {close[0]}?" if close else f"known fields: {', '.join(allowed)}"
        problems.append(f"{key}: unknown field; {fix}")
    return problems


def _check_header(doc: Document) -> list[str]:
    problems = _unknown_fields(doc)
    if doc.body.get("apiVersion") != API_VERSION:
        problems.append(f"apiVersion: must be {API_VERSION} (got {doc.body.get('apiVersion')!r})")
    meta = doc.body.get("metadata")
    if not isinstance(meta, Mapping) or not meta.get("name"):
        problems.append("metadata.name: required; give the object a name")
    if not isinstance(doc.body.get("spec"), Mapping):
        problems.append("spec: required; a mapping with source and actions")
    return problems


def _namespace(doc: Document, flag: str | None, default: str) -> str:
    meta = doc.body.get("metadata") or {}
    ns = meta.get("namespace") if isinstance(meta, Mapping) else None
    if ns and flag and ns != flag:
        raise BadInput(
            f"{doc.origin}: metadata.namespace {ns!r} does not match --namespace {flag!r}; "
            "drop one of them"
        )
    return str(ns or flag or default)


def prepare(
    docs: list[Document],
    *,
    namespace_flag: str | None,
    default_namespace: str,
    resolve: rbac.Resolver,
    fetch_template: TemplateFetch | None,
    system_namespace: Callable[[], str] = lambda: naming.DEFAULT_SYSTEM_NAMESPACE,
) -> Batch:
    """Validate every document; raise one ``BadInput`` listing every problem found.

    ``system_namespace`` gives the controlled namespace ClusterTriggers' runners live
    in (asked only when the input holds a ClusterTrigger).
    """
    from runner.spec.errors import SpecError, SpecErrors

    problems: list[str] = []
    templates: list[Obj] = []
    trigger_docs: list[tuple[Document, naming.Ref]] = []
    for doc in docs:
        if doc.kind == naming.CLUSTER_TRIGGER:  # cluster-scoped: -n does not apply
            trigger_docs.append((doc, naming.Ref.cluster(doc.name or "")))
            continue
        try:
            ns = _namespace(doc, namespace_flag, default_namespace)
        except BadInput as e:
            problems.append(e.message)
            continue
        if doc.kind == "TriggerTemplate":
            header = _check_header(doc)
            if header:
                problems += [f"{doc.origin}: {p}" for p in header]
                continue
            tmpl = copy.deepcopy(doc.body)
            tmpl["metadata"] = {
                k: v for k, v in tmpl["metadata"].items() if k not in render.SERVER_METADATA
            } | {"namespace": ns}
            tmpl.pop("status", None)
            templates.append(tmpl)
        elif doc.kind == naming.TRIGGER:
            trigger_docs.append((doc, naming.Ref.trigger(ns, doc.name or "")))
        else:
            problems.append(
                f"{doc.origin}: kind: expected Trigger, ClusterTrigger or TriggerTemplate "
                f"({API_GROUP}), got {doc.kind or 'nothing'!r}"
            )

    local = {(t["metadata"]["namespace"], t["metadata"]["name"]): t for t in templates}

    def fetcher(ns: str) -> Callable[[str], Mapping[str, Any]]:
        def fetch(name: str) -> Mapping[str, Any]:
            found: Mapping[str, Any] | None = local.get((ns, name))
            if found is None and fetch_template is not None:
                found = fetch_template(ns, name)
            if found is None:
                raise LookupError(
                    f"TriggerTemplate {name!r} not found in namespace {ns!r}"
                    + ("" if fetch_template else " (offline: pass it with -f)")
                )
            return found

        return fetch

    prepared: list[Prepared] = []
    seen: set[naming.Ref] = set()
    for doc, ref in trigger_docs:
        header = _check_header(doc)
        if header:
            problems += [f"{doc.origin}: {p}" for p in header]
            continue
        if ref in seen:
            problems.append(f"{doc.origin}: {ref} appears twice in the input")
            continue
        seen.add(ref)
        home = system_namespace() if ref.cluster_scoped else ref.namespace
        try:
            prepared.append(_prepare_one(doc, ref, home, fetcher(home), resolve))
        except (SpecErrors, SpecError) as e:
            errors = getattr(e, "errors", None) or [e]
            problems += [f"{doc.origin}: {err}" for err in errors]
        except UnknownKind as e:
            fix = e.hint or (
                "check the kind's spelling and apiVersion "
                "(kubectl api-resources lists what is served), or install its CRD first"
            )
            problems.append(f"{doc.origin}: {e.path}: {e.message}; {fix}")
        except BadInput as e:
            problems += [f"{doc.origin}: {e.message}", *e.details]
    if problems:
        raise BadInput(
            "invalid input; nothing was created or changed"
            if len(problems) == 1
            else f"invalid input ({len(problems)} problems); nothing was created or changed",
            problems,
        )
    return Batch(prepared, templates)


def _prepare_one(
    doc: Document,
    ref: naming.Ref,
    home: str,
    fetch: Callable[[str], Mapping[str, Any]],
    resolve: rbac.Resolver,
) -> Prepared:
    from runner.spec.errors import SpecError, SpecErrors
    from runner.spec.expand import expand_uses
    from runner.spec.parse import parse_trigger
    from runner.spec.rbac import required_permissions
    from runner.spec.scope import reach_errors, wide_writes

    spec = doc.body["spec"]
    try:
        expanded = dict(expand_uses(spec, fetch))
    except LookupError as e:
        raise SpecError(
            "spec", str(e.args[0] if e.args else e), "create the TriggerTemplate"
        ) from e
    meta = copy.deepcopy(dict(doc.body["metadata"]))
    if not ref.cluster_scoped:
        meta["namespace"] = ref.namespace
    obj = {"apiVersion": API_VERSION, "kind": ref.kind, "metadata": meta, "spec": expanded}
    config = parse_trigger(obj, default_namespace=home)
    permissions = required_permissions(config)  # its own Trigger's, status and Events too

    def namespaced(api_version: str, kind: str) -> bool:
        return resolve(api_version, kind).namespaced

    try:
        outside = reach_errors(config, expanded, namespaced)
        if outside:
            raise SpecErrors(outside)
        rules = rbac.plan_rules(permissions, resolve)
    except UnknownKind as e:
        e.path = (
            locate_kind(expanded, e.api_version, e.kind)
            or _action_needing(config, expanded, home, e.api_version, e.kind)
            or "spec"
        )
        raise
    warnings = []
    if ref.cluster_scoped:
        wide = wide_writes(config, namespaced, permissions)
        if wide:
            warnings.append(
                f"{doc.origin}: {ref} gets cluster-wide write rights: {'; '.join(wide)}. "
                f"Whoever can edit Deployments or mint tokens in namespace {home} holds them"
            )
    return Prepared(
        origin=doc.origin,
        ref=ref,
        home=home,
        trigger=render.trigger_object(doc.body, ref, expanded),
        expanded=expanded,
        config=config,
        rules=rules,
        warnings=warnings,
    )


def _action_needing(
    config: Any, spec: Mapping[str, Any], namespace: str, api_version: str, kind: str
) -> str | None:
    """The field of the first action whose permissions name ``kind`` (best effort)."""
    try:
        from runner.actions import ACTIONS
        from runner.actions.base import ParseContext

        rows = ACTIONS.values() if isinstance(ACTIONS, Mapping) else ACTIONS
        by_key = {row.key: row for row in rows}
        res = (spec.get("source") or {}).get("resource") or {}
        watched = res.get("namespaces") or [namespace]
        ctx = ParseContext(
            namespace,
            res.get("apiVersion"),
            res.get("kind"),
            None if "*" in watched else tuple(watched),
        )
        for entry in config.actions:
            perms = by_key[entry.kind].permissions(entry.config, ctx)
            if any(p.api_version == api_version and p.kind.split("/")[0] == kind for p in perms):
                return f"{entry.field}.{entry.kind}"
    except Exception:  # attribution only improves a message; never fail on it
        return None
    return None

"""Expanding ``use:`` items: TriggerTemplates spliced into a Trigger's filters and actions.

A TriggerTemplate packages filters and actions for reuse, with declared
parameters. The plugin expands every ``{use: {name, with}}`` before it
validates or stores a Trigger, so the runner only ever sees a plain spec; this
module is that expansion, as a pure function over data plus a ``fetch``
callback that returns a TriggerTemplate object by name (raising LookupError
when there is none).

Parameters are substituted in string leaves of the template's filters and
actions: ``{{ .params.x }}`` as a whole leaf takes the argument with its type
(so a parameter can be a list for ``in:``), inside longer text it is inserted
as text. Other placeholders (``{{ .object... }}``) are left for run time.
Templates may use other templates; a cycle or nesting deeper than
``MAX_DEPTH`` is an error.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any

from runner import API_VERSION
from runner.spec.errors import SpecError, SpecErrors
from runner.spec.jsonpath import render_value
from runner.spec.template import placeholders

MAX_DEPTH = 5
_TEMPLATE_SPEC = ("description", "parameters", "filters", "actions")
_PARAMETER = ("name", "required", "default", "description")
_USE = ("name", "with")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GROUPS_OF_LISTS = ("all", "any")

Fetch = Callable[[str], Mapping[str, Any]]


class _Expander:
    """One expansion run: collects errors, remembers the templates on the current path."""

    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch
        self.errors: list[SpecError] = []

    # -- lists of filters / actions ------------------------------------------------------------
    def items(self, raw: Any, field: str, part: str, stack: tuple[str, ...]) -> Any:
        """A filters/actions list with every ``use`` item replaced by the template's items."""
        if not isinstance(raw, list):
            return copy.deepcopy(raw)
        out: list[Any] = []
        for i, item in enumerate(raw):
            item_field = f"{field}[{i}]"
            if isinstance(item, Mapping) and "use" in item:
                out.extend(self.use(item, item_field, part, stack))
            elif part == "filters" and isinstance(item, Mapping):
                out.append(self.filter_groups(item, item_field, stack))
            else:
                out.append(copy.deepcopy(item))
        return out

    def filter_groups(self, item: Mapping[str, Any], field: str, stack: tuple[str, ...]) -> Any:
        """Expand ``use`` inside ``all``/``any``/``not`` groups of one filter item."""
        out = dict(copy.deepcopy(item))
        for key in _GROUPS_OF_LISTS:
            if isinstance(item.get(key), list):
                out[key] = self.items(item[key], f"{field}.{key}", "filters", stack)
        inner = item.get("not")
        if isinstance(inner, Mapping):
            if "use" in inner:
                expanded = self.use(inner, f"{field}.not", "filters", stack)
                out["not"] = expanded[0] if len(expanded) == 1 else {"all": expanded}
            else:
                out["not"] = self.filter_groups(inner, f"{field}.not", stack)
        return out

    # -- one use item ----------------------------------------------------------------------------
    def use(
        self, item: Mapping[str, Any], field: str, part: str, stack: tuple[str, ...]
    ) -> list[Any]:
        extra = [str(k) for k in item if k != "use"]
        if extra:
            self.errors.append(
                SpecError(field, f"a use item takes no other fields, found {', '.join(extra)}")
            )
            return []
        ref = item["use"]
        use_field = f"{field}.use"
        if not isinstance(ref, Mapping):
            self.errors.append(
                SpecError(use_field, "must be a mapping {name, with}", "e.g. use: {name: notify}")
            )
            return []
        for key in ref:
            if key not in _USE:
                self.errors.append(_unknown(f"{use_field}.{key}", str(key), _USE))
        name = ref.get("name")
        if not isinstance(name, str) or not name:
            self.errors.append(
                SpecError(f"{use_field}.name", "is required: the TriggerTemplate's name")
            )
            return []
        if name in stack:
            chain = " -> ".join((*stack, name))
            self.errors.append(
                SpecError(use_field, f"TriggerTemplates use each other in a cycle: {chain}")
            )
            return []
        if len(stack) >= MAX_DEPTH:
            self.errors.append(
                SpecError(
                    use_field, f"TriggerTemplates nest deeper than {MAX_DEPTH} levels at {name!r}"
                )
            )
            return []
        template = self.load(name, use_field)
        if template is None:
            return []
        spec = template.get("spec") or {}
        params = self.arguments(template, ref.get("with"), f"{use_field}.with", name)
        if params is None:
            return []
        body = spec.get(part)
        if body is None:
            self.errors.append(
                SpecError(
                    use_field,
                    f"TriggerTemplate {name!r} has no {part}",
                    f"use it under {_other(part)}",
                )
            )
            return []
        where = f"TriggerTemplate {name!r} spec.{part}"
        substituted = self.substitute(body, use_field, where, params, name)
        return list(self.items(substituted, f"{use_field}({name}).{part}", part, (*stack, name)))

    def load(self, name: str, field: str) -> Mapping[str, Any] | None:
        """Fetch and check one TriggerTemplate."""
        try:
            template = self.fetch(name)
        except LookupError as exc:
            message = str(exc.args[0]) if exc.args else f"TriggerTemplate {name!r} not found"
            self.errors.append(SpecError(field, message, "create the TriggerTemplate first"))
            return None
        problems = template_problems(template)
        if problems:
            self.errors += [
                SpecError(field, f"TriggerTemplate {name!r} is invalid: {p}") for p in problems
            ]
            return None
        return template

    def arguments(
        self, template: Mapping[str, Any], given: Any, field: str, name: str
    ) -> dict[str, Any] | None:
        """Argument values for every declared parameter, or None after recording errors."""
        if given is None:
            given = {}
        if not isinstance(given, Mapping):
            self.errors.append(SpecError(field, "must be a mapping of parameter values"))
            return None
        declared = {p["name"]: p for p in (template.get("spec") or {}).get("parameters") or []}
        start = len(self.errors)
        for key in given:
            if key not in declared:
                self.errors.append(
                    _unknown(f"{field}.{key}", str(key), tuple(declared), f"parameter of {name!r}")
                )
        values: dict[str, Any] = {}
        for pname, param in declared.items():
            if pname in given:
                values[pname] = given[pname]
            elif param.get("required"):
                self.errors.append(
                    SpecError(
                        field,
                        f"missing required parameter {pname!r} of TriggerTemplate {name!r}",
                        f"add with: {{{pname}: ...}}",
                    )
                )
            else:
                values[pname] = param.get("default", "")
        return values if len(self.errors) == start else None

    def substitute(
        self, value: Any, field: str, where: str, params: Mapping[str, Any], name: str
    ) -> Any:
        """``value`` with ``{{ .params.x }}`` replaced in string leaves (errors at ``field``)."""
        if isinstance(value, str):
            return self.substitute_text(value, field, where, params, name)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if isinstance(key, str) and ".params" in key and "{{" in key:
                    self.errors.append(
                        SpecError(
                            field, f"{where}: parameters are not allowed in mapping keys ({key!r})"
                        )
                    )
                out[key] = self.substitute(item, field, where, params, name)
            return out
        if isinstance(value, list):
            return [self.substitute(item, field, where, params, name) for item in value]
        return value

    def substitute_text(
        self, text: str, field: str, where: str, params: Mapping[str, Any], name: str
    ) -> Any:
        if "{{" not in text or ".params" not in text:
            return text
        try:
            found = placeholders(text, where, roots=())
        except SpecError as exc:
            self.errors.append(SpecError(field, f"{where}: {exc.message}", exc.fix))
            return text
        used = [(p.text, _param_name(p.keys)) for p in found if p.keys and p.keys[0] == "params"]
        for shown, pname in used:
            if pname is None or pname not in params:
                known = ", ".join(params) or "none declared"
                self.errors.append(
                    SpecError(field, f"{where}: {shown} is not a declared parameter ({known})")
                )
                return text
        if len(used) == 1 and text == used[0][0]:
            return copy.deepcopy(params[str(used[0][1])])
        out = text
        for shown, pname in used:
            out = out.replace(shown, render_value(params[str(pname)]), 1)
        return out


def _param_name(keys: tuple[str | int, ...] | None) -> str | None:
    """``x`` for the path ``.params.x``; None for anything longer or shorter."""
    if keys is None or len(keys) != 2 or not isinstance(keys[1], str):
        return None
    return keys[1]


def _other(part: str) -> str:
    return "actions" if part == "filters" else "filters"


def _unknown(field: str, key: str, valid: tuple[str, ...], what: str = "field") -> SpecError:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return SpecError(field, f"unknown {what}", f"{hint}known: {', '.join(valid) or 'none'}")


def template_problems(template: Any) -> list[str]:
    """What is wrong with a TriggerTemplate object's shape (empty when it is fine)."""
    if not isinstance(template, Mapping):
        return ["must be a mapping"]
    problems: list[str] = []
    if template.get("apiVersion") != API_VERSION:
        problems.append(f"apiVersion: must be {API_VERSION}")
    if template.get("kind") != "TriggerTemplate":
        problems.append("kind: must be TriggerTemplate")
    spec = template.get("spec")
    if not isinstance(spec, Mapping):
        return [*problems, "spec: is required"]
    for key in spec:
        if key not in _TEMPLATE_SPEC:
            err = _unknown(f"spec.{key}", str(key), _TEMPLATE_SPEC)
            problems.append(f"{err.path}: {err.message}; {err.fix}")
    for part in ("filters", "actions"):
        if part in spec and not isinstance(spec[part], list):
            problems.append(f"spec.{part}: must be a list")
    params = spec.get("parameters") or []
    if not isinstance(params, list):
        return [*problems, "spec.parameters: must be a list"]
    seen: set[str] = set()
    for i, param in enumerate(params):
        where = f"spec.parameters[{i}]"
        if not isinstance(param, Mapping):
            problems.append(f"{where}: must be a mapping {{name, required, default, description}}")
            continue
        for key in param:
            if key not in _PARAMETER:
                err = _unknown(f"{where}.{key}", str(key), _PARAMETER)
                problems.append(f"{err.path}: {err.message}; {err.fix}")
        pname = param.get("name")
        if not isinstance(pname, str) or not _PARAM_NAME.fullmatch(pname):
            problems.append(f"{where}.name: must be an identifier like app_name")
        elif pname in seen:
            problems.append(f"{where}.name: parameter {pname!r} is declared twice")
        else:
            seen.add(pname)
        if "required" in param and not isinstance(param["required"], bool):
            problems.append(f"{where}.required: must be true or false")
    return problems


def expand_uses(spec: Mapping[str, Any], fetch: Fetch) -> dict[str, Any]:
    """A copy of a Trigger's ``spec`` with every ``use`` item expanded.

    ``fetch(name)`` returns the TriggerTemplate object (raising LookupError
    when it does not exist). Raises SpecErrors listing every problem.
    """
    if not isinstance(spec, Mapping):
        raise SpecErrors([SpecError("spec", "must be a mapping")])
    expander = _Expander(fetch)
    out = {key: copy.deepcopy(value) for key, value in spec.items()}
    for part in ("filters", "actions"):
        if part in spec:
            out[part] = expander.items(spec[part], f"spec.{part}", part, ())
    if expander.errors:
        raise SpecErrors(expander.errors)
    return out


def uses(spec: Mapping[str, Any]) -> list[str]:
    """Names of the TriggerTemplates a spec uses directly (for fetching them up front)."""
    names: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            ref = value.get("use")
            name = ref.get("name") if isinstance(ref, Mapping) else None
            if isinstance(name, str) and name not in names:
                names.append(name)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk([spec.get("filters"), spec.get("actions")])
    return names

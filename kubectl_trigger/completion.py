"""Shell completion for ``kubectl trigger <TAB>``, answered the way kubectl asks plugins.

kubectl (1.26+) completes a plugin's words by running ``kubectl_complete-trigger``
from PATH with the words typed after ``trigger``, the word being completed last
(empty after a space). It reads cobra's completion protocol back: one candidate
per line (``value<TAB>description``), then ``:<directive>``, a bit set telling
the shell what to do when nothing matches (0: complete file names; 4: nothing).

The answer comes from the typer app itself (commands, their flags and whether a
flag takes a value), so it cannot drift from the CLI; flag values come from a
small table of choices, and Trigger names and namespaces from the cluster, with
the ``--kubeconfig``, ``--context`` and ``-n`` already typed and a short timeout.
Any failure completes nothing rather than printing an error into the shell.

Installed as the ``kubectl_complete-trigger`` console script (pip) and as
``kubectl-trigger __complete`` (hack/kubectl_complete-trigger wraps it for krew).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from typer.core import TyperGroup, TyperOption

#: cobra's ShellCompDirective bits (github.com/spf13/cobra completions.go).
FILES = 0  # ShellCompDirectiveDefault: the shell may complete file names
NO_SPACE = 2  # ShellCompDirectiveNoSpace
NO_FILES = 4  # ShellCompDirectiveNoFileComp
#: Seconds a cluster lookup may take before completion gives up on it.
CLUSTER_TIMEOUT = 3.0

#: Commands whose arguments are Trigger names, and how many they take (None: any number).
TRIGGER_ARGUMENTS: dict[str, int | None] = {
    "get": None,
    "list": None,
    "describe": 1,
    "logs": 1,
    "delete": None,
}
#: Flags whose value is a file name: the shell completes those.
FILE_FLAGS = frozenset({"--filename", "--kubeconfig", "--object", "--old-object"})


def _output_formats(command: str) -> tuple[str, ...]:
    from kubectl_trigger.output import OUTPUT_FORMATS

    return OUTPUT_FORMATS if command in ("get", "list") else ("yaml", "json", "name")


#: flag -> its allowed values, given the command (the checks themselves are in the commands).
CHOICES: dict[str, Callable[[str], Sequence[str]]] = {
    "--output": _output_formats,
    "--dry-run": lambda _: ("none", "client", "server"),
    "--event": lambda _: ("create", "update", "delete", "cron"),
}


@dataclass
class Line:
    """The words typed after ``trigger``, read the way the CLI will parse them."""

    command: Any | None = None
    name: str = ""
    values: dict[str, str] = field(default_factory=dict)  # flag -> value typed
    arguments: list[str] = field(default_factory=list)
    pending: TyperOption | None = None  # the flag the word being completed is a value of


def _options(command: Any) -> dict[str, TyperOption]:
    found: dict[str, TyperOption] = {}
    for param in command.params:
        if isinstance(param, TyperOption):
            for opt in (*param.opts, *param.secondary_opts):
                found[opt] = param
    return found


def _long(param: TyperOption) -> str:
    return next((o for o in param.opts if o.startswith("--")), param.opts[0])


def read_line(root: TyperGroup, words: Sequence[str]) -> Line:
    """Find the subcommand, the flag values and arguments in ``words`` (all but the last)."""
    line = Line()
    options: dict[str, TyperOption] = {}
    for word in words:
        if line.pending is not None:
            line.values[_long(line.pending)] = word
            line.pending = None
        elif word.startswith("-") and word != "-":
            flag, eq, value = word.partition("=")
            param = options.get(flag)
            if param is not None and not param.is_flag:
                if eq:
                    line.values[_long(param)] = value
                else:
                    line.pending = param
        elif line.command is None:
            line.command = root.commands.get(word)
            line.name = word
            if line.command is None:
                break
            options = _options(line.command)
        else:
            line.arguments.append(word)
    return line


def _described(pairs: Sequence[tuple[str, str]], prefix: str) -> list[str]:
    out = []
    for value, help_text in pairs:
        if value.startswith(prefix):
            summary = " ".join(help_text.split()).rstrip(".")
            out.append(f"{value}\t{summary}" if summary else value)
    return out


def _commands(root: TyperGroup, prefix: str) -> list[str]:
    pairs = [
        (name, (cmd.help or "").strip().split("\n")[0])
        for name, cmd in root.commands.items()
        if not cmd.hidden
    ]
    return _described(pairs, prefix)


def _flags(command: Any, prefix: str) -> list[str]:
    pairs: list[tuple[str, str]] = []
    for param in command.params:
        if isinstance(param, TyperOption) and not param.hidden:
            for opt in (*param.opts, *param.secondary_opts):
                pairs.append((opt, param.help or ""))
    pairs.append(("--help", "Show this message and exit"))
    return _described(pairs, prefix)


def _client(line: Line) -> Any:
    from runner.kube.client import KubeClient
    from runner.kube.config import load_config

    config = load_config(line.values.get("--kubeconfig"), line.values.get("--context"))
    return KubeClient(config, timeout=CLUSTER_TIMEOUT)


def _names(line: Line, kind: str, namespaced: bool) -> list[str]:
    """Names of ``kind`` objects in the namespace typed (else the context's); [] on any error."""
    from kubectl_trigger.session import items, known

    try:
        client = _client(line)
        namespace = line.values.get("--namespace") or client.default_namespace or "default"
        pages = client.list_pages(known(kind), namespace if namespaced else None)
        return sorted(str(obj["metadata"]["name"]) for obj in items(pages))
    except Exception:  # completion never prints an error into the user's shell
        return []


def _contexts(line: Line) -> list[str]:
    """Context names from the kubeconfig files kubectl would read; [] on any error."""
    import os

    import yaml

    given = line.values.get("--kubeconfig")
    env = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    paths = [given] if given else env or [os.path.expanduser("~/.kube/config")]
    names: set[str] = set()
    for path in paths:
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as f:
                doc = yaml.safe_load(f) or {}
            names |= {str(c["name"]) for c in doc.get("contexts") or [] if c.get("name")}
        except Exception:  # completion never prints an error into the user's shell
            continue
    return sorted(names)


def _values(line: Line, flag: str, prefix: str) -> tuple[list[str], int]:
    if flag in FILE_FLAGS:
        return [], FILES
    if flag in CHOICES:
        return [v for v in CHOICES[flag](line.name) if v.startswith(prefix)], NO_FILES
    if flag == "--namespace":
        return [n for n in _names(line, "Namespace", False) if n.startswith(prefix)], NO_FILES
    if flag == "--context":
        return [c for c in _contexts(line) if c.startswith(prefix)], NO_FILES
    return [], NO_FILES


def complete(words: Sequence[str]) -> tuple[list[str], int]:
    """Candidates and cobra directive for ``kubectl trigger WORDS``; the last word is partial."""
    import typer

    from kubectl_trigger.cli import app

    *typed, current = list(words) or [""]
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    line = read_line(root, typed)
    if line.name and line.command is None:  # an unknown command: nothing to offer
        return [], NO_FILES
    if line.command is None:
        if current.startswith("-"):
            return _described([("--help", "Show this message and exit")], current), NO_FILES
        return _commands(root, current), NO_FILES
    if line.pending is not None:
        return _values(line, _long(line.pending), current)
    if current.startswith("-") and "=" in current:
        flag, _, prefix = current.partition("=")
        param = _options(line.command).get(flag)
        if param is None or param.is_flag:
            return [], NO_FILES
        found, directive = _values(line, _long(param), prefix)
        return [f"{flag}={v}" for v in found], directive
    if current.startswith("-"):
        return _flags(line.command, current), NO_FILES
    return _trigger_names(line, current), NO_FILES


def _trigger_names(line: Line, current: str) -> list[str]:
    """Names for a command's arguments: Triggers; after ``clustertrigger``, ClusterTriggers.

    ``TYPE/NAME`` is completed too (kubectl_trigger.kinds reads both spellings).
    """
    from kubectl_trigger import kinds

    wanted = TRIGGER_ARGUMENTS.get(line.name, 0)
    typed = kinds.TYPES.get(line.arguments[0].lower()) if line.arguments else None
    given = len(line.arguments) - (1 if typed else 0)
    if wanted == 0 or (wanted is not None and given >= wanted):
        return []
    type_, slash, prefix = current.rpartition("/")
    if slash and kinds.TYPES.get(type_.lower()) and not typed:
        kind = kinds.TYPES[type_.lower()]
        names = _names(line, kind, kind == kinds.TRIGGER)
        return [f"{type_}/{n}" for n in names if n.startswith(prefix)]
    kind = typed or kinds.TRIGGER
    taken = set(line.arguments)
    names = _names(line, kind, kind == kinds.TRIGGER)
    return [n for n in names if n.startswith(current) and n not in taken]


def run(words: Sequence[str]) -> int:
    """Print the answer in cobra's protocol; always exit 0 (kubectl ignores a failed helper)."""
    try:
        candidates, directive = complete(words)
    except Exception:  # completion never prints an error into the user's shell
        candidates, directive = [], NO_FILES
    sys.stdout.write("".join(f"{c}\n" for c in candidates) + f":{directive}\n")
    sys.stdout.flush()
    return 0


def main() -> None:
    """The ``kubectl_complete-trigger`` console script."""
    raise SystemExit(run(sys.argv[1:]))

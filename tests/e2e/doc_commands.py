"""The commands a reader would copy from the docs, as tests/e2e/test_docs_commands.py runs them.

Reading the Markdown at test time (never a copied list) is what keeps the docs and the
behaviour in step. The conventions are few so that writers follow them without thinking;
they are described for writers in docs/devcluster.md ("Docs are tests"):

- A fenced block tagged ``sh``, ``bash`` or ``shell`` is run line by line: each command
  (``\\`` continuations, heredocs and quotes spanning lines joined) is one step, ``#``
  comment lines are dropped. A ``yaml`` block holding a whole Trigger, ClusterTrigger or
  TriggerTemplate is one step, ``kubectl trigger validate --offline`` of it. Other blocks
  (fragments, ``text``, untagged) are never run.
- A ``console`` block runs its ``$ `` lines; the lines after one, up to the next ``$ ``,
  are the output it must print, compared loosely: the same columns in order (spacing free),
  ``<anything>`` matches any text (kubectl's own ``<none>``, ``<never>``... stay literal), a
  line ``...`` matches any lines.
- In ``examples/*.yaml``, the opening comment's lines indented two spaces or more after
  ``#`` are commands (``#   kubectl -n shop create secret ...``), run after the set-up
  examples/README.md asks for (``kubectl trigger install``, namespace ``shop``); directives
  there are ``# docs-test: ...`` lines.
- A command's trailing comment starting ``exit N`` states its exit code (default 0); one
  mentioning ``Ctrl-C`` marks a command that runs until interrupted: it must still be
  running after a few seconds and end on SIGINT with 0 (or 130).
- ``<!-- docs-test: ... -->`` lines right above a block (blank lines between are fine):
  ``skip: REASON`` (the block is not run), ``skip "PREFIX": REASON`` (its commands starting
  with PREFIX are not run), ``xfail "PREFIX": REASON`` (must fail, the reason names the
  issue), ``setup: COMMAND`` (run first and not shown: what the prose asks the reader to
  have done), ``file: NAME`` (this block's text is written to NAME in the checkout).

Every marker is checked: an unknown directive, one above no block, or a PREFIX that matches
no command is a :class:`DocError`, so a stale marker cannot hide a command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

RUNNABLE_TAGS = frozenset({"sh", "bash", "shell"})
CONSOLE_TAGS = frozenset({"console", "shell-session"})
MANIFEST_TAGS = frozenset({"yaml", "yml"})
MANIFEST_API = re.compile(r"^apiVersion:\s*triggers\.kubectl-trigger\.dev/")
MANIFEST_KIND = re.compile(r"^kind:\s*(Trigger|ClusterTrigger|TriggerTemplate)\s*$")
MANIFEST_EOF = "DOCS_TEST_MANIFEST"
EXAMPLE_COMMAND = re.compile(r"^#\s{2,}\S")
DIRECTIVE_COMMENT = re.compile(r"^#\s*docs-test:\s*(?P<body>.*?)\s*$")
DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<body>.*?)\s*-->\s*$")
#: any indentation: a block inside a list item is indented and still runs
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
PREFIXED = re.compile(r'^(?P<kind>skip|xfail)\s+"(?P<prefix>[^"]+)"\s*:\s*(?P<reason>\S.*)$')
PLAIN = re.compile(r"^(?P<kind>skip|setup|file)\s*:\s*(?P<value>\S.*)$")
EXIT_COMMENT = re.compile(r"^exit\s+(?P<code>\d+)(?=$|[\s:;,.)(])")
CTRL_C = re.compile(r"ctrl[-+]c|\^c", re.IGNORECASE)
HEREDOC = re.compile(
    r"<<(?P<dash>-?)\s*(?P<quote>['\"]?)(?P<word>[A-Za-z_][A-Za-z0-9_]*)(?P=quote)"
)
#: kubectl prints these itself; in shown output they are literal, not placeholders.
KUBECTL_LITERALS = frozenset(
    {"<none>", "<never>", "<unset>", "<unknown>", "<pending>", "<invalid>", "<nil>"}
)
PLACEHOLDER = re.compile(r"<[^<>\s][^<>]*>")


class DocError(ValueError):
    """A doc that breaks the conventions above (the message names file and line)."""


@dataclass(frozen=True)
class Step:
    """One command of a doc, with what the text says about how it ends.

    ``kind`` is ``run`` (a command shown to readers), ``setup`` (a hidden directive
    command) or ``file`` (``text`` written to ``path``). ``output`` is the shown output of
    a console command (``None``: not checked).
    """

    doc: str
    line: int
    kind: str
    command: str = ""
    expect_exit: int = 0
    interrupt: bool = False
    output: tuple[str, ...] | None = None
    skip: str | None = None
    xfail: str | None = None
    path: str = ""
    text: str = ""

    @property
    def where(self) -> str:
        """``docs/cli.md:12``: where a reader finds this step."""
        return f"{self.doc}:{self.line}"

    @property
    def shown(self) -> str:
        """The command's first line, as a short label."""
        first = self.command.splitlines()[0] if self.command else self.path
        return first if len(first) <= 90 else first[:87] + "..."


@dataclass
class Block:
    """A fenced block with the directives above it."""

    line: int  # of the opening fence
    tag: str
    lines: list[str]
    directives: list[tuple[int, str]] = field(default_factory=list)


def blocks(text: str, doc: str) -> Iterator[Block]:
    """Every fenced block of a Markdown text, in order, with its directives."""
    lines = text.splitlines()
    pending: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        raw = lines[i]
        directive = DIRECTIVE.match(raw)
        fence = FENCE.match(raw)
        if directive:
            pending.append((i + 1, directive.group("body")))
        elif fence:
            indent, mark = len(fence.group("indent")), fence.group("fence")
            tag = fence.group("info").split()[0].lower() if fence.group("info").strip() else ""
            body: list[str] = []
            j = i + 1
            closing = re.compile(rf"^ *{re.escape(mark[0])}{{{len(mark)},}}\s*$")
            while j < len(lines) and not closing.match(lines[j]):
                body.append(_dedent(lines[j], indent))
                j += 1
            yield Block(i + 1, tag, body, pending)
            pending = []
            i = j
        elif raw.strip() and pending:
            line, body_text = pending[0]
            raise DocError(f"{doc}:{line}: 'docs-test: {body_text}' is not right above a block")
        i += 1
    if pending:
        line, body_text = pending[0]
        raise DocError(f"{doc}:{line}: 'docs-test: {body_text}' is not right above a block")


def _dedent(line: str, indent: int) -> str:
    stripped = len(line) - len(line.lstrip(" "))
    return line[min(indent, stripped) :]


def steps(text: str, doc: str) -> list[Step]:
    """The steps of one doc in document order (set-up and files first within a block)."""
    found: list[Step] = []
    for block in blocks(text, doc):
        found.extend(_block_steps(block, doc))
    return found


def _block_steps(block: Block, doc: str) -> list[Step]:
    skip_all: str | None = None
    prefixed: list[tuple[int, str, str, str]] = []  # line, kind, prefix, reason
    before: list[Step] = []
    for line, body in block.directives:
        if m := PREFIXED.match(body):
            prefixed.append((line, m.group("kind"), m.group("prefix"), m.group("reason")))
        elif m := PLAIN.match(body):
            kind, value = m.group("kind"), m.group("value")
            if kind == "skip":
                skip_all = value
            elif kind == "setup":
                before.append(Step(doc, line, "setup", command=value))
            else:
                before.append(Step(doc, line, "file", path=value, text="\n".join(block.lines)))
        else:
            raise DocError(
                f"{doc}:{line}: unknown directive 'docs-test: {body}' (use skip: REASON, "
                'skip "PREFIX": REASON, xfail "PREFIX": REASON, setup: COMMAND or file: NAME)'
            )
    if block.tag in RUNNABLE_TAGS:
        commands = list(_shell_steps(block, doc))
    elif block.tag in CONSOLE_TAGS:
        commands = list(_console_steps(block, doc))
        if not commands:
            raise DocError(
                f"{doc}:{block.line}: a console block shows commands after '$ ' "
                "(output alone goes in a text block)"
            )
    elif block.tag in MANIFEST_TAGS and _is_manifest(block.lines):
        commands = [Step(doc, block.line, "run", _validate_command(block.lines))]
    else:
        commands = []
    if skip_all is not None:
        if not commands:
            raise DocError(f"{doc}:{block.line}: 'skip' above a block that runs nothing")
        return [replace(s, skip=skip_all) for s in commands]
    for line, kind, prefix, reason in prefixed:
        hits = [i for i, s in enumerate(commands) if s.command.startswith(prefix)]
        if not hits:
            raise DocError(f'{doc}:{line}: no command of the block below starts with "{prefix}"')
        for i in hits:
            marked = commands[i]
            commands[i] = (
                replace(marked, skip=reason) if kind == "skip" else replace(marked, xfail=reason)
            )
    return before + commands


def _is_manifest(lines: Sequence[str]) -> bool:
    """A whole Trigger, ClusterTrigger or TriggerTemplate document (not a fragment)."""
    return any(MANIFEST_API.match(line) for line in lines) and any(
        MANIFEST_KIND.match(line) for line in lines
    )


def _validate_command(lines: Sequence[str]) -> str:
    body = "\n".join(lines)
    return f"kubectl trigger validate --offline -f - <<'{MANIFEST_EOF}'\n{body}\n{MANIFEST_EOF}"


def _shell_steps(block: Block, doc: str) -> Iterator[Step]:
    for line, command in _commands(block.lines, block.line + 1, doc):
        yield _step(doc, line, command)


def _console_steps(block: Block, doc: str) -> Iterator[Step]:
    command: tuple[int, str] | None = None
    output: list[str] = []
    i = 0
    while i < len(block.lines):
        raw = block.lines[i]
        if raw.startswith("$ ") or raw == "$":
            if command:
                yield _step(doc, command[0], command[1], tuple(output))
            start, text = i, [raw[2:]]
            # a command's continuation lines follow its prompt, with or without "> "
            while _continues("\n".join(text)) and i + 1 < len(block.lines):
                i += 1
                text.append(block.lines[i].removeprefix("> "))
            command, output = (block.line + 1 + start, "\n".join(text)), []
        elif command:
            output.append(raw)
        i += 1
    if command:
        yield _step(doc, command[0], command[1], tuple(output))


def _step(doc: str, line: int, command: str, output: tuple[str, ...] | None = None) -> Step:
    comment = _trailing_comment(command.splitlines()[0] if "<<" in command else command)
    expect_exit = 0
    if comment and (m := EXIT_COMMENT.match(comment)):
        expect_exit = int(m.group("code"))
    interrupt = bool(comment and CTRL_C.search(comment))
    return Step(doc, line, "run", command, expect_exit, interrupt, output)


def _commands(lines: Sequence[str], first_line: int, doc: str) -> Iterator[tuple[int, str]]:
    """(line, command) for each command in shell text: continuations, heredocs joined."""
    i = 0
    while i < len(lines):
        start = i
        if not lines[i].strip() or lines[i].lstrip().startswith("#"):
            i += 1
            continue
        text = [lines[i]]
        while _continues("\n".join(text)):
            i += 1
            if i >= len(lines):
                raise DocError(f"{doc}:{first_line + start}: the command never ends")
            text.append(lines[i])
        for heredoc in HEREDOC.finditer(_code_part("\n".join(text))):
            word, dash = heredoc.group("word"), heredoc.group("dash")
            while True:
                i += 1
                if i >= len(lines):
                    raise DocError(
                        f"{doc}:{first_line + start}: heredoc {word} has no closing line"
                    )
                text.append(lines[i])
                if (lines[i].lstrip("\t") if dash else lines[i]) == word:
                    break
        yield first_line + start, "\n".join(text)
        i += 1


def _scan(text: str) -> tuple[str | None, int | None, bool]:
    """(open quote at the end, index where a trailing comment starts, ends with \\)."""
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote == "'":
            if ch == "'":
                quote = None
        elif ch == "\\":
            if i + 1 == len(text):
                return quote, None, True
            i += 1
        elif quote == '"':
            if ch == '"':
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t\n;|&("):
            newline = text.find("\n", i)
            if newline < 0:
                return None, i, False
            i = newline
            continue
        i += 1
    return quote, None, False


def _continues(text: str) -> bool:
    quote, _, backslash = _scan(text)
    return quote is not None or backslash


def _trailing_comment(command: str) -> str | None:
    last = command.splitlines()[-1] if command else ""
    _, at, _ = _scan(last)
    return None if at is None else last[at + 1 :].strip()


def _code_part(command: str) -> str:
    """The command without trailing comments on any of its lines."""
    kept = []
    for line in command.splitlines():
        _, at, _ = _scan(line)
        kept.append(line if at is None else line[:at])
    return "\n".join(kept)


def _line_pattern(expected: str) -> re.Pattern[str]:
    """A shown output line as a regex: its columns in order, any spacing, placeholders."""
    parts: list[str] = []
    pos = 0
    for m in PLACEHOLDER.finditer(expected):
        parts.append(_literal(expected[pos : m.start()]))
        parts.append(_literal(m.group()) if m.group() in KUBECTL_LITERALS else ".+?")
        pos = m.end()
    parts.append(_literal(expected[pos:]))
    return re.compile("".join(parts))


def _literal(text: str) -> str:
    """Fixed text between placeholders: its words in order, any run of spaces between."""
    words = text.split()
    if not words:
        return r"\s+" if text else ""
    lead = r"\s+" if text[0].isspace() else ""
    trail = r"\s+" if text[-1].isspace() else ""
    return lead + r"\s+".join(re.escape(word) for word in words) + trail


def output_mismatch(expected: Sequence[str], actual: str) -> str | None:
    """Why ``actual`` does not show the ``expected`` lines; ``None`` when it does.

    Blank lines are ignored on both sides; ``...`` stands for any number of lines.
    """
    want = [line.strip() for line in expected if line.strip()]
    have = [line.strip() for line in actual.splitlines() if line.strip()]
    if _match(want, have):
        return None
    for i, line in enumerate(want):
        if line == "...":
            continue
        if i >= len(have) or not _line_pattern(line).fullmatch(have[i]):
            got = have[i] if i < len(have) else "(no more output)"
            return f"shown line {i + 1} {line!r} does not match {got!r}"
    return f"the command printed {len(have) - len(want)} more line(s) than shown"


def _match(want: list[str], have: list[str]) -> bool:
    if not want:
        return not have
    if want[0] == "...":
        return any(_match(want[1:], have[k:]) for k in range(len(have) + 1))
    return (
        bool(have)
        and bool(_line_pattern(want[0]).fullmatch(have[0]))
        and _match(want[1:], have[1:])
    )


def example_steps(text: str, doc: str) -> list[Step]:
    """The commands in an example's opening comment: lines indented two spaces or more.

    ``# docs-test: ...`` lines there are directives, as above a Markdown block.
    """
    code: list[str] = []
    directives: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break
        if m := DIRECTIVE_COMMENT.match(line):
            directives.append((number, m.group("body")))
            code.append("")
        else:
            code.append(line[1:].strip() if EXAMPLE_COMMAND.match(line) else "")
    if not any(code):
        if directives:
            raise DocError(f"{doc}:{directives[0][0]}: a docs-test directive but no command")
        return []
    return _block_steps(Block(0, "sh", code, directives), doc)


def doc_files(repo: Path) -> list[Path]:
    """The docs a reader follows: README.md, docs/*.md, examples/' Markdown and YAML files."""
    found = [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]
    found += sorted((repo / "examples").rglob("*.md"))
    found += sorted((repo / "examples").glob("*.yaml"))
    return [p for p in found if p.is_file()]


def doc_steps(path: Path, name: str) -> list[Step]:
    """A doc's steps: Markdown blocks, or the commands in an example's opening comment."""
    text = path.read_text()
    return example_steps(text, name) if path.suffix in (".yaml", ".yml") else steps(text, name)

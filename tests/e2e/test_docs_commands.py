"""Docs as tests: every command a reader would copy from README.md, docs/ and examples/ runs.

Each doc's commands run in document order, one bash process per command with the shell
state (variables, ``cd``) carried from one to the next as in a reader's terminal, in a
scratch copy of this checkout (tracked and new files, a git repository of its own so
``make`` targets that list files work) that uses this checkout's venv and the built
control-plane binaries: nothing is built anew. KUBECONFIG names the session's control
plane, the built kubectl and the venv's ``kubectl-trigger`` are on PATH, and
``.devcluster`` in the copy is the session's state dir, so ``make cluster-up`` finds the
cluster running. Namespaces a doc creates are removed before it runs (a leftover would
fail its ``kubectl create namespace``) and, with every namespace and ClusterTrigger it
left, after it. ``kubectl trigger install``'s CRDs, roles and namespace stay, as the
``crd`` fixture's CRD stays.

How a doc marks what is not run, exit codes, output and set-up: tests/e2e/doc_commands.py
and docs/devcluster.md ("Docs are tests"). Skipped commands are listed as skipped tests
with their reasons (``pytest -ra`` shows them).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubectl_trigger.naming import DEFAULT_SYSTEM_NAMESPACE
from tests.conftest import Cluster
from tests.e2e import doc_commands
from tests.e2e.doc_commands import DocError, Step

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
#: long enough for a cold `make tools` (Go builds of krew and actionlint)
STEP_TIMEOUT = 420.0
#: how long a command marked Ctrl-C runs before it gets SIGINT, and then may take to end
FOLLOW_SECONDS = 3.0
INTERRUPT_GRACE = 15.0
OUTPUT_TAIL = 4000
CREATES_NAMESPACE = re.compile(r"\bkubectl\s+create\s+(?:namespace|ns)\s+([a-z0-9][-a-z0-9]*)")

#: Saves what a reader's shell would keep after a command (variables, exported or not, and
#: the working directory) to $KT_DOCS_STATE; the next command's bash sources it first.
SAVE_STATE = r"""
__kt_save_state() {
    local __v __d __f
    for __v in $(compgen -v); do
        case $__v in
            __kt_*|BASH*|SHELLOPTS|PIPESTATUS|FUNCNAME|GROUPS|PPID|UID|EUID|RANDOM|SRANDOM|\
            SECONDS|LINENO|HISTCMD|OPTIND|OPTARG|DIRSTACK|EPOCH*|COMP*|_|PWD|OLDPWD) continue;;
        esac
        __d=$(declare -p "$__v" 2>/dev/null) || continue
        __f=${__d#declare }; __f=${__f%% *}
        [[ $__f == *r* ]] && continue
        printf '%s\n' "$__d"
    done
    printf 'cd -- %q\n' "$PWD"
}
"""


def _doc_name(path: Path) -> str:
    return str(path.relative_to(REPO))


#: Each Markdown doc is run on its own; the examples' opening comments are one doc, run
#: after the set-up examples/README.md asks for (one namespace for all: far quicker).
DOCS: dict[str, list[Path]] = {
    _doc_name(path): [path] for path in doc_commands.doc_files(REPO) if path.suffix == ".md"
}
DOCS["examples/*.yaml"] = [p for p in doc_commands.doc_files(REPO) if p.suffix == ".yaml"]
EXAMPLE_SETUP = ("kubectl trigger install", "kubectl create namespace shop")


def _doc_steps(paths: list[Path]) -> list[Step]:
    found = [step for path in paths for step in doc_commands.doc_steps(path, _doc_name(path))]
    if found and paths[0].suffix == ".yaml":
        where = "examples/README.md"
        found = [Step(where, 1, "setup", command) for command in EXAMPLE_SETUP] + found
    return found


def _skipped_steps() -> list[Step]:
    found: list[Step] = []
    for paths in DOCS.values():
        with contextlib.suppress(DocError):  # test_doc_commands_run_as_written reports it
            found += [s for s in _doc_steps(paths) if s.skip]
    return found


@dataclass
class Outcome:
    """How a step ended: its exit code and what it printed (stdout and stderr together)."""

    code: int | None
    output: str
    note: str = ""


class Shell:
    """A reader's terminal in the scratch checkout: one bash per command, state carried."""

    def __init__(self, checkout: Path, env: dict[str, str], state: Path) -> None:
        self.checkout = checkout
        self.env = {**env, "KT_DOCS_STATE": str(state)}
        state.write_text(f"cd -- {shlex.quote(str(checkout))}\n")

    def run(self, step: Step) -> Outcome:
        script = (
            f'{SAVE_STATE}\n. "$KT_DOCS_STATE"\nset -o pipefail\n{step.command}\n__kt_rc=$?\n'
            '__kt_save_state > "$KT_DOCS_STATE.new" && mv "$KT_DOCS_STATE.new" "$KT_DOCS_STATE"\n'
            "exit $__kt_rc\n"
        )
        proc = subprocess.Popen(
            ["bash", "-c", script],
            cwd=self.checkout,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            if step.interrupt:
                return self._interrupt(proc)
            output, _ = proc.communicate(timeout=STEP_TIMEOUT)
            return Outcome(proc.returncode, output)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            hint = " (a command that runs until interrupted says Ctrl-C in its comment)"
            return Outcome(None, output, f"still running after {STEP_TIMEOUT:.0f} s{hint}")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def _interrupt(self, proc: subprocess.Popen[str]) -> Outcome:
        try:
            output, _ = proc.communicate(timeout=FOLLOW_SECONDS)
            note = f"ended after less than {FOLLOW_SECONDS:.0f} s instead of running until Ctrl-C"
            return Outcome(proc.returncode, output, note)
        except subprocess.TimeoutExpired:
            pass
        os.killpg(proc.pid, signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=INTERRUPT_GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            return Outcome(None, output, f"did not end within {INTERRUPT_GRACE:.0f} s of Ctrl-C")
        # 130 or death by SIGINT is how a shell reports Ctrl-C; both mean "stopped as asked"
        code = 0 if proc.returncode in (130, -signal.SIGINT) else proc.returncode
        return Outcome(code, output)


def _failure(step: Step, outcome: Outcome) -> str | None:
    """Why a step's outcome is not what its doc says; ``None`` when it is."""
    if outcome.note:
        return outcome.note
    if outcome.code != step.expect_exit:
        return f"exited {outcome.code}, the doc expects {step.expect_exit}"
    if step.output is not None:
        mismatch = doc_commands.output_mismatch(step.output, outcome.output)
        if mismatch:
            return f"output differs from the doc: {mismatch}"
    return None


def _report(step: Step, why: str, outcome: Outcome) -> str:
    label = {"run": "", "setup": " (docs-test set-up)"}.get(step.kind, "")
    output = outcome.output[-OUTPUT_TAIL:] or "(nothing)\n"
    shown = "".join(f"\n    {line}" for line in step.output or ())
    expected = f"\n--- the doc shows ---{shown}" if step.output is not None else ""
    return (
        f"{step.where}{label}: {step.command}\n{why}\n"
        f"--- output (stdout and stderr) ---\n{output}{expected}"
    )


def _checkout(dest: Path, cluster: Cluster) -> Path:
    """A copy of this checkout's files (as they are now) that uses its venv and binaries."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    git = ["git", "-c", "init.defaultBranch=main", "-c", "advice.addIgnoredFile=false"]
    subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "--all"], cwd=dest, check=True)
    # The venv running the tests, by its parts, with a stamp of its own: make sees it up to
    # date and never reinstalls (which would point the shared editable install at this copy).
    if sys.prefix == sys.base_prefix:
        pytest.fail("the docs tests run from a venv (make venv; .venv/bin/python -m pytest)")
    venv = dest / ".venv"
    venv.mkdir()
    for entry in Path(sys.prefix).iterdir():
        if entry.name != ".installed-stamp":
            (venv / entry.name).symlink_to(entry)
    (venv / ".installed-stamp").touch()
    (dest / ".devcluster").symlink_to(cluster.state_dir)
    return dest


def _names(cluster: Cluster, *args: str) -> set[str]:
    proc = cluster.kubectl("get", *args, "-o", "name", check=False)
    return set(proc.stdout.split()) if proc.returncode == 0 else set()


def _delete(cluster: Cluster, names: set[str]) -> None:
    if names:
        cluster.kubectl(
            "delete", *sorted(names), "--ignore-not-found", "--timeout=120s", timeout=150
        )


@contextlib.contextmanager
def _leaves_nothing(cluster: Cluster, own_namespaces: set[str]) -> Iterator[None]:
    """The namespaces a doc creates are absent before it runs; after it, every namespace,
    ClusterTrigger and controlled-namespace Secret it made is deleted (install's stay)."""
    _delete(cluster, {f"namespace/{ns}" for ns in own_namespaces} & _names(cluster, "namespaces"))
    leftover = _names(cluster, "clustertriggers")
    if leftover:
        # The docs show output for a cluster with only what they create; `get` lists every
        # ClusterTrigger. Another test that leaves one behind leaks a runner: say so.
        warnings.warn(
            f"ClusterTriggers left by earlier tests, deleted: {sorted(leftover)}", stacklevel=2
        )
        _delete(cluster, leftover)
    system = ("secrets", "-n", DEFAULT_SYSTEM_NAMESPACE)  # ClusterTriggers' Secrets live there
    before = _names(cluster, "namespaces") | _names(cluster, *system)
    try:
        yield
    finally:
        made = _names(cluster, "namespaces") | _names(cluster, "clustertriggers")
        made -= before | {f"namespace/{DEFAULT_SYSTEM_NAMESPACE}"}
        for secret in _names(cluster, *system) - before:
            cluster.kubectl("delete", secret, "-n", DEFAULT_SYSTEM_NAMESPACE, check=False)
        _delete(cluster, {n for n in made if n.startswith("clustertrigger")})
        _delete(cluster, {n for n in made if n.startswith("namespace/")})


@pytest.mark.timeout(1500)  # a doc runs many commands; each one has STEP_TIMEOUT
@pytest.mark.parametrize("doc", DOCS)
def test_doc_commands_run_as_written(cluster: Cluster, doc: str, tmp_path: Path) -> None:
    """Each command of the doc, in order, ends as the doc says (exit code, shown output)."""
    try:
        all_steps = _doc_steps(DOCS[doc])
    except DocError as exc:  # a marker or command the suite cannot read: say where
        pytest.fail(str(exc), pytrace=False)
    _run_steps(cluster, doc, all_steps, tmp_path)


def _run_doc(cluster: Cluster, name: str, text: str, tmp_path: Path) -> None:
    """A Markdown text's steps, run as a doc's are."""
    try:
        all_steps = doc_commands.steps(text, name)
    except DocError as exc:
        pytest.fail(str(exc), pytrace=False)
    _run_steps(cluster, name, all_steps, tmp_path)


def _run_steps(cluster: Cluster, name: str, all_steps: list[Step], tmp_path: Path) -> None:
    """Runs a doc's steps in a scratch checkout; pytest.fail at the first that drifted."""
    steps = [s for s in all_steps if not s.skip]
    if not steps:
        return  # nothing to run: the markers above its blocks were still checked
    own = {m for s in steps for m in CREATES_NAMESPACE.findall(s.command)}
    checkout = _checkout(tmp_path / "checkout", cluster)
    env = {
        **os.environ,
        "KUBECONFIG": cluster.kubeconfig,
        "KT_CLUSTER_DIR": str(cluster.state_dir),
        "PATH": os.pathsep.join(
            [str(cluster.bin_dir), str(checkout / ".venv" / "bin"), os.environ["PATH"]]
        ),
    }
    shell = Shell(checkout, env, tmp_path / "shell-state")
    started = time.monotonic()
    with _leaves_nothing(cluster, own):
        ran, expected_failures = _run_in_order(steps, shell, checkout)
    print(
        f"{name}: {ran} commands run in {time.monotonic() - started:.1f} s, "
        f"{len(all_steps) - len(steps)} skipped, {len(expected_failures)} failed as marked"
    )
    for line in expected_failures:
        print(f"  xfail {line}")


def _run_in_order(steps: list[Step], shell: Shell, checkout: Path) -> tuple[int, list[str]]:
    """Runs the steps, failing the test at the first that does not end as its doc says."""
    ran = 0
    expected_failures: list[str] = []
    for step in steps:
        if step.kind == "file":
            target = checkout / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.text + "\n")
            continue
        began = time.monotonic()
        outcome = shell.run(step)
        print(f"  {time.monotonic() - began:5.1f} s  {step.where}  {step.shown}")
        why = _failure(step, outcome)
        ran += 1
        if step.xfail:
            if why is None:
                pytest.fail(
                    f"{step.where}: `{step.shown}` is marked xfail ({step.xfail}) but now "
                    "works as the doc says: remove the marker",
                    pytrace=False,
                )
            expected_failures.append(f"{step.where}: {step.xfail}: {why}")
            continue
        if why is not None:
            pytest.fail(_report(step, why, outcome), pytrace=False)
    return ran, expected_failures


@pytest.mark.parametrize(
    "step", _skipped_steps(), ids=lambda s: f"{s.where} {s.shown.split('#')[0].strip()}"
)
def test_doc_command_marked_not_run_names_where_it_is_covered(step: Step) -> None:
    """A command a doc marks ``docs-test: skip`` has a reason, and what the reason names exists.

    Not a pytest skip: the e2e tier never skips. The reason says which test or workflow
    covers the command instead (or why it is the suite itself); every file it names must
    exist, so a renamed test makes the marker fail rather than rot. ``pytest -s`` prints it.
    """
    assert step.skip and step.skip.strip(), f"{step.where}: a skip marker needs a reason"
    print(f"{step.where}: `{step.shown.split('#')[0].strip()}` not run here: {step.skip}")
    for named in COVER_PATH.findall(step.skip):
        assert (REPO / named).exists(), f"{step.where}: the skip reason names {named}, missing"


#: Files a skip reason may name as the cover of a command (tests, workflows, CI).
COVER_PATH = re.compile(r"(?:tests|\.github|\.ci)/[\w./-]*\w")


# The suite itself: drift it must catch, and a reader's shell it must behave like.

DRIFTED_INSTALL = """
```sh
kubectl trigger install
kubectl trigger create -f examples/restart-on-configmap-change.yaml -n docs-never-created
```
"""


def test_a_trigger_in_a_namespace_the_doc_never_created_is_drift(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Issue 8 item 4 as it was: README's Install without `kubectl create namespace`."""
    with pytest.raises(pytest.fail.Exception) as failed:
        _run_doc(cluster, "README.md", DRIFTED_INSTALL, tmp_path)
    report = str(failed.value)
    assert report.startswith("README.md:4: kubectl trigger create -f examples/")
    assert "exited 3, the doc expects 0" in report
    assert 'namespaces "docs-never-created" not found' in report


SHELL_STATE = """
```sh
cd docs
NAME=cli
export KIND=trigger
test -f "$NAME.md" && test "$(bash -c 'echo $KIND')" = trigger
bash -c 'exit 2'   # exit 2: the doc says so
kubectl version --client -o yaml | grep -q gitVersion
```

```console
$ printf 'NAME  READY\\nweb   True\\n'
NAME   READY
web    True
```
"""


def test_a_readers_shell_keeps_variables_and_directory_and_exit_codes_count(
    cluster: Cluster, tmp_path: Path
) -> None:
    _run_doc(cluster, "shell.md", SHELL_STATE, tmp_path)


@pytest.mark.parametrize(
    ("doc", "why"),
    [
        ("```sh\ntrue   # exit 2\n```", "d.md:2: true   # exit 2\nexited 0, the doc expects 2"),
        ("```sh\nfalse\n```", "exited 1, the doc expects 0"),
        ('<!-- docs-test: skip "make": x -->\n```sh\nls\n```', "d.md:1: no command of"),
        ("```sh\nfalse | cat\n```", "exited 1"),
        ("```sh\necho hi   # follows until Ctrl-C\n```", "ended after less than 3 s"),
        ("```console\n$ echo hi\nho\n```", "shown line 1 'ho' does not match 'hi'"),
        (
            '<!-- docs-test: xfail "true": issue #0 -->\n```sh\ntrue\n```',
            "is marked xfail (issue #0) but now works as the doc says: remove the marker",
        ),
    ],
)
def test_a_command_that_ends_otherwise_than_its_doc_says_fails_the_doc(
    cluster: Cluster, tmp_path: Path, doc: str, why: str
) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        _run_doc(cluster, "d.md", doc, tmp_path)
    assert why in str(failed.value)


def test_ctrl_c_stops_a_following_command_and_an_xfail_may_fail(
    cluster: Cluster, tmp_path: Path
) -> None:
    doc = """
<!-- docs-test: xfail "false": issue #0, a known bug -->
```sh
false
sleep 60   # runs until Ctrl-C
```
"""
    started = time.monotonic()
    _run_doc(cluster, "d.md", doc, tmp_path)
    assert time.monotonic() - started < 30

"""How the docs-as-tests suite reads a doc (tests/e2e/doc_commands.py): steps, markers, output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import doc_commands
from tests.e2e.doc_commands import DocError

REPO = Path(__file__).resolve().parents[2]


def _steps(text: str) -> list[doc_commands.Step]:
    return doc_commands.steps(text, "d.md")


def test_sh_blocks_run_and_other_blocks_never() -> None:
    text = """
intro

```sh
kubectl trigger install   # once
# a comment line is not a command

kubectl get ns
```

```yaml
kind: Trigger
```

```
python -m runner [--file SPEC]
```

~~~bash
echo tilde
~~~
"""
    steps = _steps(text)
    assert [(s.line, s.command) for s in steps] == [
        (5, "kubectl trigger install   # once"),
        (8, "kubectl get ns"),
        (20, "echo tilde"),
    ]
    assert all(s.kind == "run" and s.expect_exit == 0 and s.output is None for s in steps)


def test_continuations_quotes_and_heredocs_make_one_command() -> None:
    text = """```sh
kubectl trigger create -f x.yaml \\
    --image img   # the default
echo 'two
lines'
kubectl apply -f - <<'EOF'
kind: ConfigMap   # not a comment of the command
EOF
cat <<-END | wc -l
\tbody
\tEND
echo "it's # not a comment" # but this is
```"""
    steps = _steps(text)
    assert [s.line for s in steps] == [2, 4, 6, 9, 12]
    assert (
        steps[0].command == "kubectl trigger create -f x.yaml \\\n    --image img   # the default"
    )
    assert steps[1].command == "echo 'two\nlines'"
    assert steps[2].command.endswith("kind: ConfigMap   # not a comment of the command\nEOF")
    assert steps[3].command.endswith("\tEND")
    assert steps[4].command == 'echo "it\'s # not a comment" # but this is'


def test_exit_code_and_ctrl_c_come_from_the_trailing_comment() -> None:
    text = """```sh
kubectl trigger validate -f bad.yaml   # exit 2: names the field
kubectl trigger get missing            # exit 3
python -m devcluster status            # exit 0 only if all run, 3 if stopped
kubectl trigger logs t -f              # follows until Ctrl-C
echo '# exit 5'
```"""
    steps = _steps(text)
    assert [s.expect_exit for s in steps] == [2, 3, 0, 0, 0]
    assert [s.interrupt for s in steps] == [False, False, False, True, False]


def test_console_blocks_pair_each_prompt_with_its_output() -> None:
    text = """```console
$ kubectl trigger get -n shop
NAME     READY   AGE
web      True    <age>
$ kubectl create ns a \\
> --dry-run=client
namespace/a created (dry run)
$ true
```"""
    steps = _steps(text)
    assert [(s.line, s.command) for s in steps] == [
        (2, "kubectl trigger get -n shop"),
        (5, "kubectl create ns a \\\n--dry-run=client"),
        (8, "true"),
    ]
    assert steps[0].output == ("NAME     READY   AGE", "web      True    <age>")
    assert steps[1].output == ("namespace/a created (dry run)",)
    assert steps[2].output == ()


def test_directives_mark_skip_xfail_setup_and_files() -> None:
    text = """
<!-- docs-test: skip "make image": built by its own test -->
<!-- docs-test: xfail "kubectl trigger get": issue #8 item 1 -->

<!-- docs-test: setup: kubectl create secret generic hook --from-literal=url=x -->
```sh
make image
kubectl trigger get
kubectl trigger get -A
echo ok
```

<!-- docs-test: file: t.yaml -->
```yaml
kind: Trigger
```

<!-- docs-test: skip: needs a Docker daemon -->
```sh
docker load -i x.tar
```
"""
    steps = _steps(text)
    assert [(s.kind, s.skip, s.xfail) for s in steps] == [
        ("setup", None, None),
        ("run", "built by its own test", None),
        ("run", None, "issue #8 item 1"),
        ("run", None, "issue #8 item 1"),
        ("run", None, None),
        ("file", None, None),
        ("run", "needs a Docker daemon", None),
    ]
    assert steps[0].command == "kubectl create secret generic hook --from-literal=url=x"
    assert (steps[5].path, steps[5].text) == ("t.yaml", "kind: Trigger")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- docs-test: skipp: typo -->\n```sh\nls\n```", "d.md:1: unknown directive"),
        (
            "<!-- docs-test: skip: x -->\ntext\n```sh\nls\n```",
            "d.md:1: 'docs-test: skip: x' is not",
        ),
        ("text\n<!-- docs-test: skip: x -->\n", "d.md:2: 'docs-test: skip: x' is not right above"),
        ('<!-- docs-test: skip "make lint": x -->\n```sh\nls\n```', 'starts with "make lint"'),
        ("<!-- docs-test: skip: x -->\n```yaml\na: b\n```", "'skip' above a block that runs"),
        ("```sh\necho 'open\n```", "d.md:2: the command never ends"),
        ("```sh\ncat <<EOF\nbody\n```", "heredoc EOF has no closing line"),
        ("```console\nNAME  READY\n```", "d.md:1: a console block shows commands after"),
    ],
)
def test_a_marker_or_command_that_cannot_be_read_is_an_error(text: str, message: str) -> None:
    with pytest.raises(DocError, match=message.replace("(", r"\(")):
        _steps(text)


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (["NAME  READY  AGE", "web   True   <age>"], "NAME   READY   AGE\nweb    True    12s\n"),
        (["LAST FIRED <none>"], "LAST FIRED   <none>"),
        (["Deployment: <name> (1/1 ready)"], "Deployment: trigger-x-5f9 (1/1 ready)"),
        (["first", "...", "last"], "first\nmiddle\nmore\nlast\n"),
        (["first", "...", "last"], "first\nlast\n"),
        (["a", "", "b"], "a\n\n\nb\n"),
        (["...", "b"], "a\nb"),
    ],
)
def test_shown_output_matches_loosely(expected: list[str], actual: str) -> None:
    assert doc_commands.output_mismatch(expected, actual) is None


@pytest.mark.parametrize(
    ("expected", "actual", "why"),
    [
        (["NAME READY AGE"], "NAME READY REASON AGE", "shown line 1 'NAME READY AGE' does not"),
        (["web True <age>"], "web False 3s", "does not match 'web False 3s'"),
        (["LAST FIRED <none>"], "LAST FIRED 3s", "does not match"),
        (["a", "b"], "a", "(no more output)"),
        (["a"], "a\nb", "1 more line(s) than shown"),
        (["a", "...", "z"], "a\nb", "does not match"),
    ],
)
def test_output_that_differs_says_which_line(expected: list[str], actual: str, why: str) -> None:
    mismatch = doc_commands.output_mismatch(expected, actual)
    assert mismatch is not None and why in mismatch


def test_the_docs_of_this_checkout_read_without_errors() -> None:
    docs = doc_commands.doc_files(REPO)
    assert REPO / "README.md" in docs and REPO / "docs" / "cli.md" in docs
    assert REPO / "examples" / "slack-on-crashloop.yaml" in docs
    commands = [s for doc in docs for s in doc_commands.doc_steps(doc, doc.name)]
    assert any(s.command.startswith("kubectl trigger create") for s in commands)
    assert all(s.skip is None or len(s.skip) > 10 for s in commands), "a skip needs a reason"


def test_whole_trigger_manifests_are_validated_and_fragments_are_not() -> None:
    text = """```yaml
apiVersion: triggers.kubectl-trigger.dev/v1alpha1
kind: ClusterTrigger
metadata: {name: x}
```

```yaml
  filters:
    - use: {name: notify-ops}
```

```yaml
apiVersion: v1
kind: ConfigMap
```"""
    (step,) = _steps(text)
    assert step.line == 1
    assert step.command.startswith(
        "kubectl trigger validate --offline -f - <<'DOCS_TEST_MANIFEST'\n"
    )
    assert "kind: ClusterTrigger\nmetadata: {name: x}\nDOCS_TEST_MANIFEST" in step.command


def test_a_block_inside_a_list_item_runs_without_its_indentation() -> None:
    text = """- Install:

    ```sh
    kubectl trigger install
    kubectl trigger create -f t.yaml \\
        -n shop
    ```
"""
    steps = _steps(text)
    assert [(s.line, s.command) for s in steps] == [
        (4, "kubectl trigger install"),
        (5, "kubectl trigger create -f t.yaml \\\n    -n shop"),
    ]


def test_an_examples_opening_comment_holds_its_commands_and_directives() -> None:
    text = """# Post when a Pod fails. The URL comes from a Secret:
# prose with one space is not a command.
#
# docs-test: setup: kubectl -n shop create deployment web --image=x
#   kubectl -n shop create secret generic hook \\
#     --from-literal=url=https://hooks.example/x
#   kubectl trigger create -f examples/x.yaml -n shop
apiVersion: triggers.kubectl-trigger.dev/v1alpha1
#   kubectl not-in-the-opening-comment
"""
    steps = doc_commands.example_steps(text, "examples/x.yaml")
    assert [(s.line, s.kind, s.command) for s in steps] == [
        (4, "setup", "kubectl -n shop create deployment web --image=x"),
        (
            5,
            "run",
            "kubectl -n shop create secret generic hook \\\n--from-literal=url=https://hooks.example/x",
        ),
        (7, "run", "kubectl trigger create -f examples/x.yaml -n shop"),
    ]
    assert doc_commands.example_steps("# just prose\nkind: Trigger\n", "e.yaml") == []

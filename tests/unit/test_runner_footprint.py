"""The runner loads only what its spec needs: its idle memory is a quality bar (docs/runner.md).

bench/runner_memory.py measures the resident memory against a real API server;
this test guards the cause cheaply. In a fresh interpreter it goes through the
runner's start-up imports for a ConfigMap watch with a ``log`` action and lists
which heavy modules got loaded: none may be, since each costs a few hundred
KiB to MiBs for good and only some specs use it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: module -> who needs it (so a failure says which lazy import broke)
HEAVY = {
    "urllib3": "webhook and chat actions (runner.actions.http)",
    "importlib.metadata": "nothing in the runner (urllib3 imports it)",
    "smtplib": "the email action",
    "zoneinfo": "cron sources",
    "decimal": "quantities: order filters, runner resources",
    "shutil": "nothing at start-up (argparse asks it for the terminal width)",
    "tempfile": "client certificates given as data",
    "subprocess": "exec credential plugins",
    "yaml": "kubeconfig files and --file YAML",
    "runner.actions.email": "the email action",
    "runner.actions.webhook": "the webhook action",
    "runner.actions.apply": "apply and create actions",
}

TRIGGER = {
    "apiVersion": "triggers.kubectl-trigger.dev/v1alpha1",
    "kind": "Trigger",
    "metadata": {"name": "t", "namespace": "shop"},
    "spec": {
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "changed": ["{.data}"]}},
        "filters": [{"path": "{.metadata.labels.app}", "equals": "web"}],
        "actions": [{"log": {"message": "{{ .event }} {{ .object.metadata.name }}"}}],
    },
}


def test_start_up_imports_only_what_the_spec_needs() -> None:
    code = textwrap.dedent(
        f"""
        import json, sys
        from runner.main import build_parser
        build_parser().parse_args(["--trigger", "shop/t"])
        from runner import log
        log.setup()
        from runner.kube.client import KubeClient
        from runner.kube.config import ClientConfig
        KubeClient(ClientConfig(server="https://127.0.0.1:6443", token="x"))
        from runner.spec.parse import parse_trigger
        config = parse_trigger({TRIGGER!r})
        from runner.actions import ACTIONS
        ACTIONS[config.actions[0].kind]
        from runner.engine import Engine
        print(json.dumps(sorted(m for m in {sorted(HEAVY)!r} if m in sys.modules)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], "loaded at start-up: " + "; ".join(f"{m} ({HEAVY[m]})" for m in loaded)


def test_an_action_kind_is_loaded_when_looked_up() -> None:
    code = textwrap.dedent(
        """
        import sys
        from runner.actions import ACTIONS
        before = "runner.actions.email" in sys.modules
        listed = "email" in ACTIONS and len(ACTIONS) == len(list(ACTIONS))
        kind = ACTIONS["email"]
        print(before, listed, kind.key, "runner.actions.email" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.split() == ["False", "True", "email", "True"]

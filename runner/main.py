"""``python -m runner``: read the Trigger, parse it, run the engine until SIGTERM.

Exit codes: 0 after a clean shutdown; 1 when the runner cannot work (no API
server, the Trigger does not exist, the source failed); 2 when the spec is
invalid (the errors name the fields; when the Trigger exists its Ready
condition says ``SpecInvalid`` too) or the command line is wrong.

Imports are lazy so ``--help`` is instant and the watch starts well within a
second of process start.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SPEC = 2


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, told the terminal width so that it does not ask ``shutil``.

    argparse imports shutil (and with it bz2 and lzma, 0.3 MiB kept for good) in
    every ``add_argument`` only to learn that width.
    """

    def __init__(self, prog: str) -> None:
        try:
            width = os.get_terminal_size(sys.stdout.fileno()).columns
        except (OSError, ValueError):  # not a terminal
            width = 80
        super().__init__(prog, width=width - 2)


def build_parser() -> argparse.ArgumentParser:
    """The runner's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m runner",
        formatter_class=_HelpFormatter,
        description="Run one Trigger: watch its source, filter events, run its actions.",
        epilog="Environment: TRIGGER_NAME, TRIGGER_NAMESPACE (defaults for --trigger), "
        "RUNNER_METRICS_ADDRESS (default 0.0.0.0:8080; port 0 picks one), "
        "LOG_FORMAT (json|text), LOG_LEVEL. Signals: TERM/INT stop gracefully, "
        "USR1 forces a relist. Exit codes: 0 ok, 1 failed, 2 invalid spec or usage.",
    )
    parser.add_argument(
        "--kubeconfig",
        help="kubeconfig file (default: the files in $KUBECONFIG; else in a pod its "
        "ServiceAccount; else ~/.kube/config)",
    )
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument("--trigger", metavar="NS/NAME", help="the Trigger to run")
    parser.add_argument(
        "--file",
        metavar="SPEC",
        help="run a Trigger from a local JSON (or YAML) file; status is written only if a "
        "Trigger of that name exists in the cluster",
    )
    parser.add_argument(
        "--metrics-address",
        default=os.environ.get("RUNNER_METRICS_ADDRESS", "0.0.0.0:8080"),
        help="host:port for /metrics, /healthz and /readyz ('' turns it off)",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=20.0,
        help="on SIGTERM, how long in-flight actions may take to finish",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    from runner import log as logsetup
    from runner.memory import limit_arenas

    limit_arenas()  # before any thread starts
    log = logsetup.setup()
    try:
        return _run(args, log)
    except KeyboardInterrupt:
        return EXIT_OK


def _run(args: argparse.Namespace, log: Any) -> int:
    import signal
    import threading

    from runner import API_VERSION
    from runner.kube.client import KubeClient
    from runner.kube.config import ConfigError
    from runner.kube.errors import ApiError, ConnectionFailed, NotFound

    try:
        client = KubeClient.from_config(args.kubeconfig, args.context)
        trigger_info = client.resource(API_VERSION, "Trigger")
        trigger, write_status = _load_trigger(args, client, trigger_info, log)
    except _UsageError as exc:
        log.error("%s", exc)
        return EXIT_SPEC
    except ConfigError as exc:
        log.error("kubeconfig: %s", exc)
        return EXIT_FAILED
    except NotFound as exc:
        log.error("the Trigger was not found: %s", exc)
        return EXIT_FAILED
    except (ApiError, ConnectionFailed, OSError) as exc:
        log.error("cannot reach the API server: %s", exc)
        return EXIT_FAILED

    from runner.spec.errors import SpecError, SpecErrors
    from runner.spec.parse import parse_trigger

    try:
        config = parse_trigger(effective_trigger(trigger, client))
    except (SpecErrors, SpecError) as exc:
        _report_invalid(client, trigger, write_status, exc, log)
        return EXIT_SPEC

    from runner.engine import Engine

    engine = Engine(
        config,
        client,
        trigger,
        log,
        write_status=write_status,
        source_digest=source_digest(trigger),
    )
    done = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        log.info("signal %s: shutting down", signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGUSR1, lambda signum, frame: engine.request_relist())
    log.info(
        "running trigger %s/%s (generation %s)",
        config.namespace,
        config.name,
        config.generation,
        extra={"status_writes": write_status},
    )
    engine.start(args.metrics_address or None)
    while not done.wait(0.5):
        if engine.stop.is_set():  # the source gave up
            engine.shutdown(args.drain_seconds)
            return EXIT_FAILED
    engine.shutdown(args.drain_seconds)
    log.info("stopped")
    return EXIT_OK


class _UsageError(Exception):
    """The command line or the spec file cannot be used."""


def _load_trigger(
    args: argparse.Namespace, client: Any, info: Any, log: Any
) -> tuple[dict[str, Any], bool]:
    """The Trigger object to run and whether to write its status."""
    from runner.kube.errors import NotFound

    if args.file:
        trigger = _read_file(args.file)
        meta = trigger.setdefault("metadata", {})
        meta.setdefault("namespace", os.environ.get("TRIGGER_NAMESPACE") or "default")
        if not meta.get("name"):
            raise _UsageError(f"{args.file}: metadata.name is required")
        try:
            live = client.get(info, meta["name"], namespace=meta["namespace"])
        except NotFound:
            log.info(
                "no Trigger %s/%s in the cluster: not writing status",
                meta["namespace"],
                meta["name"],
            )
            return trigger, False
        live_meta = live.get("metadata") or {}
        for field in ("uid", "generation"):
            if field in live_meta:
                meta[field] = live_meta[field]
        trigger["status"] = live.get("status") or {}
        return trigger, True
    ref = args.trigger or _env_ref()
    if not ref:
        raise _UsageError("which Trigger? give --trigger NS/NAME, --file, or TRIGGER_NAME")
    namespace, _, name = ref.rpartition("/")
    namespace = namespace or os.environ.get("TRIGGER_NAMESPACE") or "default"
    return dict(client.get(info, name, namespace=namespace)), True


def _env_ref() -> str | None:
    name = os.environ.get("TRIGGER_NAME")
    if not name:
        return None
    return f"{os.environ.get('TRIGGER_NAMESPACE') or 'default'}/{name}"


def _read_file(path: str) -> dict[str, Any]:
    import json

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise _UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        try:
            import yaml  # a development convenience; the runner image has no PyYAML
        except ImportError:
            raise _UsageError(f"{path} is not JSON (install PyYAML to read YAML)") from None
        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise _UsageError(f"{path} does not hold one Trigger object")
    return data


def effective_trigger(trigger: dict[str, Any], client: Any) -> dict[str, Any]:
    """The Trigger with the spec to run: TriggerTemplate ``use`` entries expanded.

    The plugin stores the expansion in an annotation when it writes the Trigger, so a
    runner in the cluster needs no access to TriggerTemplates. Without the annotation
    (a file given to ``--file``, or a Trigger written by plain kubectl) the runner
    expands ``use`` entries itself, reading the templates with its own credentials.
    """
    import json

    from runner import ANNOTATION_EXPANDED_SPEC
    from runner.spec.errors import SpecError

    meta = trigger.get("metadata") or {}
    stored = (meta.get("annotations") or {}).get(ANNOTATION_EXPANDED_SPEC)
    if stored is not None:
        field = f"metadata.annotations[{ANNOTATION_EXPANDED_SPEC}]"
        try:
            spec = json.loads(stored)
        except ValueError:
            raise SpecError(
                field, "is not JSON", "apply the Trigger again with kubectl trigger apply"
            ) from None
        if not isinstance(spec, dict):
            raise SpecError(
                field,
                "must hold a JSON object",
                "apply the Trigger again with kubectl trigger apply",
            )
        return {**trigger, "spec": spec}
    if '"use"' not in json.dumps(trigger.get("spec")):
        return trigger
    from runner import API_VERSION
    from runner.kube.errors import ApiError
    from runner.spec.expand import expand_uses

    templates = client.resource(API_VERSION, "TriggerTemplate")
    namespace = meta.get("namespace") or "default"

    def fetch(name: str) -> dict[str, Any]:
        try:
            return dict(client.get(templates, name, namespace=namespace))
        except ApiError as exc:
            raise LookupError(f"TriggerTemplate {namespace}/{name}: {exc}") from None

    try:
        spec = expand_uses(trigger.get("spec") or {}, fetch)
    except LookupError as exc:
        raise SpecError(
            "spec", str(exc.args[0] if exc.args else exc), "create the TriggerTemplate"
        ) from None
    return {**trigger, "spec": spec}


def source_digest(trigger: dict[str, Any]) -> str:
    """A short digest of ``spec.source``: a checkpoint is only for the source it was made for."""
    import hashlib
    import json

    source = (trigger.get("spec") or {}).get("source")
    text = json.dumps(source, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _report_invalid(
    client: Any, trigger: dict[str, Any], write_status: bool, exc: Exception, log: Any
) -> None:
    errors = getattr(exc, "errors", None) or [exc]
    meta = trigger.get("metadata") or {}
    for error in errors:
        log.error("invalid spec: %s", error, extra={"field": getattr(error, "path", "")})
    if not write_status:
        return
    from runner.k8s_events import SPEC_INVALID, WARNING, EventRecorder
    from runner.metrics import Metrics
    from runner.status import StatusWriter

    message = "; ".join(str(e) for e in errors)
    status = StatusWriter(
        client,
        str(meta.get("name")),
        str(meta.get("namespace")),
        meta.get("generation"),
        Metrics(),
        log,
        previous=trigger.get("status") or {},
    )
    status.set_condition("Ready", False, SPEC_INVALID, message)
    status.set_condition("Watching", False, SPEC_INVALID, "not started: the spec is invalid")
    status.flush()
    recorder = EventRecorder(client, trigger, log)
    recorder.record(WARNING, SPEC_INVALID, message)
    recorder.flush()


if __name__ == "__main__":
    sys.exit(main())

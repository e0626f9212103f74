"""``python -m runner``: load the rendered spec, parse it, run the engine until SIGTERM.

In a cluster the runner runs the spec the plugin rendered into its pod template
(``runner.rendered``), never the Trigger object's own spec: editing a Trigger
with kubectl changes nothing that runs; the runner only reports it
(``SpecInSync=False``). ``--trigger``/``--cluster-trigger`` and ``--file`` are for
development and ``kubectl trigger run``: the spec comes from the object or the
file, with the caller's own credentials.

Exit codes: 0 after a clean shutdown; 1 when the runner cannot work (no API
server, the Trigger does not exist, the source failed); 2 when the spec is
invalid or a namespaced Trigger reaches outside its namespace (the errors name
the fields; when the Trigger exists its Ready condition says so too) or the
command line is wrong.

Imports are lazy so ``--help`` is instant and the watch starts well within a
second of process start.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

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
        epilog="Environment: TRIGGER_NAME, TRIGGER_NAMESPACE, TRIGGER_KIND (defaults for "
        "--trigger), TRIGGER_SPEC, TRIGGER_SPEC_DIGEST, TRIGGER_GENERATION (the spec the "
        "plugin rendered; when set, it is what runs), "
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
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        help="act as this user, as kubectl --as (in place of the kubeconfig's act-as fields)",
    )
    parser.add_argument(
        "--as-group",
        action="append",
        default=[],
        metavar="GROUP",
        help="with --as: a group to act as; repeatable",
    )
    parser.add_argument("--as-uid", metavar="UID", help="with --as: the uid to act as")
    parser.add_argument("--trigger", metavar="NS/NAME", help="the Trigger to run")
    parser.add_argument(
        "--cluster-trigger",
        metavar="NAME",
        help="the ClusterTrigger to run",
    )
    parser.add_argument(
        "--home-namespace",
        metavar="NS",
        default=os.environ.get("TRIGGER_NAMESPACE") or None,
        help="a ClusterTrigger's namespace for its Secrets, Events and TriggerTemplates "
        "(default: TRIGGER_NAMESPACE; in a pod, the pod's)",
    )
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
    except Exception as exc:  # say so in the Trigger's status, then exit 1
        log.exception("the runner failed")
        _report_exit(args, f"the runner failed: {type(exc).__name__}: {exc}", log)
        return EXIT_FAILED


def _run(args: argparse.Namespace, log: Any) -> int:
    import signal
    import threading

    from runner.kube.config import ConfigError
    from runner.kube.errors import ApiError, ConnectionFailed, NotFound
    from runner.rendered import RenderedSpecError, from_env

    try:
        if args.trigger and args.cluster_trigger:
            raise _UsageError("give --trigger or --cluster-trigger, not both")
        rendered = None if (args.file or args.trigger or args.cluster_trigger) else from_env()
        client = _client(args)
        loaded = _load_trigger(args, client, rendered, log)
    except (_UsageError, RenderedSpecError) as exc:
        log.error("%s", exc)
        if isinstance(exc, RenderedSpecError):
            _report_exit(args, f"the runner cannot start: {exc}", log)
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
    trigger, write_status, live = loaded

    from runner.spec.errors import SpecError, SpecErrors
    from runner.spec.parse import parse_trigger
    from runner.spec.scope import reach_errors

    home = str(
        (trigger.get("metadata") or {}).get("namespace") or args.home_namespace or _home_namespace()
    )
    try:
        obj = trigger if rendered is not None else effective_trigger(trigger, client, home)
        config = parse_trigger(obj, default_namespace=home)
    except (SpecErrors, SpecError) as exc:
        _report_invalid(client, trigger, write_status, exc, log)
        return EXIT_SPEC
    if config.cluster_scoped:  # a ClusterTrigger has none: its runner's, for the parts that ask
        trigger = {**trigger, "metadata": {**(trigger.get("metadata") or {}), "namespace": home}}
    outside = reach_errors(config, obj.get("spec") or {}, _namespaced(client))
    if outside:
        _report_invalid(client, trigger, write_status, SpecErrors(outside), log, outside=True)
        return EXIT_SPEC

    from runner.engine import Engine

    engine = Engine(
        config,
        client,
        trigger,
        log,
        write_status=write_status,
        source_digest=source_digest(obj),
    )
    done = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        log.info("signal %s: shutting down", signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGUSR1, lambda signum, frame: engine.request_relist())
    log.info(
        "running %s %s (generation %s, %s)",
        config.kind,
        config.name if config.cluster_scoped else f"{config.namespace}/{config.name}",
        config.generation,
        "the rendered spec"
        if rendered is not None
        else ("the spec of " + args.file if args.file else "the spec read from the object"),
        extra={"status_writes": write_status},
    )
    sync = None
    if rendered is not None and write_status:
        from runner.sync import SpecSync

        sync = SpecSync(client, config, rendered, engine.status, engine.recorder, log)
        sync.observe(live)
        threading.Thread(target=sync.run, args=(done,), name="spec-sync", daemon=True).start()
    engine.start(args.metrics_address or None)
    while not done.wait(0.5):
        if engine.stop.is_set():  # the source gave up
            _last_look(sync)
            engine.shutdown(args.drain_seconds)
            return EXIT_FAILED
    _last_look(sync)
    engine.shutdown(args.drain_seconds)
    log.info("stopped")
    return EXIT_OK


def _client(args: argparse.Namespace) -> KubeClient:
    """The kubeconfig's client, acting as ``--as`` when given (``kubectl trigger run --as``)."""
    import dataclasses

    from runner.kube.client import KubeClient
    from runner.kube.config import impersonation_headers, load_config

    config = load_config(args.kubeconfig, args.context)
    if not args.as_user:
        if args.as_group or args.as_uid:
            raise _UsageError("--as-group and --as-uid need --as (the user to act as)")
        return KubeClient(config)
    headers = impersonation_headers(args.as_user, args.as_uid or "", args.as_group)
    return KubeClient(dataclasses.replace(config, impersonate=headers))


class _UsageError(Exception):
    """The command line or the spec file cannot be used."""


def _last_look(sync: Any) -> None:
    """Before the final status write: is this runner's spec still the Trigger's?"""
    if sync is not None:
        try:
            sync.last_look()
        except Exception as exc:  # never in the way of a shutdown
            sync.log.debug("last look at the Trigger failed: %s", exc)


def _report_exit(args: argparse.Namespace, message: str, log: Any) -> None:
    """Best effort, before exiting on an error: Ready=False (RunnerFailed) in the status of
    the Trigger this pod runs, so plain ``kubectl get triggers`` shows no stale True.
    Only for a runner the plugin deployed (TRIGGER_NAME), and only while the Trigger
    still holds the spec rendered into this pod (else a newer runner reports)."""
    if args.file or args.trigger or args.cluster_trigger or not os.environ.get("TRIGGER_NAME"):
        return
    try:
        from runner.kube.client import KubeClient
        from runner.status import report_exit

        kind, namespace, name = _target(args)
        client = KubeClient.from_config(args.kubeconfig, args.context)
        report_exit(client, kind, namespace, name, message, log)
    except Exception as exc:  # exiting anyway; the log has the cause
        log.debug("could not report the exit in the Trigger's status: %s", exc)


def _home_namespace() -> str:
    return os.environ.get("TRIGGER_NAMESPACE") or "default"


def _namespaced(client: Any) -> Any:
    """(apiVersion, kind) -> namespaced, by discovery; an unknown kind counts as namespaced
    (the source or action reports it when it runs)."""
    from runner.kube.errors import ApiError

    def namespaced(api_version: str, kind: str) -> bool:
        try:
            return bool(client.resource(api_version, kind).namespaced)
        except ApiError:
            return True

    return namespaced


def _load_trigger(
    args: argparse.Namespace, client: Any, rendered: Any, log: Any
) -> tuple[dict[str, Any], bool, dict[str, Any]]:
    """The Trigger object to run, whether to write its status, and the live object ({})."""
    from runner import API_VERSION
    from runner.kube.errors import NotFound

    if args.file:
        trigger = _read_file(args.file)
        kind = str(trigger.get("kind") or "Trigger")
        meta = trigger.setdefault("metadata", {})
        if kind == "Trigger":
            meta.setdefault("namespace", _home_namespace())
        if not meta.get("name"):
            raise _UsageError(f"{args.file}: metadata.name is required")
        info = client.resource(API_VERSION, kind)
        where = meta.get("namespace") if kind == "Trigger" else None
        try:
            live = dict(client.get(info, meta["name"], namespace=where))
        except NotFound:
            log.info("no %s %s in the cluster: not writing status", kind, meta["name"])
            return trigger, False, {}
        live_meta = live.get("metadata") or {}
        for field in ("uid", "generation"):
            if field in live_meta:
                meta[field] = live_meta[field]
        trigger["status"] = live.get("status") or {}
        if kind != "Trigger":  # where its Events go; parse takes it as the runner's home
            meta.pop("namespace", None)
        return trigger, True, live
    kind, namespace, name = _target(args)
    info = client.resource(API_VERSION, kind)
    live = dict(client.get(info, name, namespace=namespace))
    if rendered is None:
        return live, True, live
    live_meta = live.get("metadata") or {}
    trigger = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {
            "name": name,
            **({"namespace": namespace} if namespace else {}),
            "uid": live_meta.get("uid", ""),
            "generation": rendered.generation
            if rendered.generation is not None
            else (live_meta.get("generation", 0) if rendered.in_sync(live) else 0),
        },
        "spec": rendered.spec,
        "status": live.get("status") or {},
    }
    return trigger, True, live


def _target(args: argparse.Namespace) -> tuple[str, str | None, str]:
    """(kind, namespace or None, name) of the object named on the command line or in the env."""
    if args.cluster_trigger:
        return "ClusterTrigger", None, args.cluster_trigger
    if args.trigger:
        namespace, _, name = args.trigger.rpartition("/")
        return "Trigger", namespace or _home_namespace(), name
    name = os.environ.get("TRIGGER_NAME")
    if not name:
        raise _UsageError(
            "which Trigger? give --trigger NS/NAME, --cluster-trigger NAME, --file, or TRIGGER_NAME"
        )
    if os.environ.get("TRIGGER_KIND") == "ClusterTrigger":
        return "ClusterTrigger", None, name
    return "Trigger", _home_namespace(), name


#: The most ``--file`` reads, as the plugin bounds ``-f`` (a spec is a few KiB).
MAX_FILE_BYTES = 4 * 1024 * 1024


def _read_file(path: str) -> dict[str, Any]:
    import json

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(MAX_FILE_BYTES + 1)
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise _UsageError(f"--file: cannot read {path}: {why}") from None
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise _UsageError(f"--file: {path} is larger than 4 MiB; a Trigger spec is a few KiB")
    try:
        data = json.loads(text)
    except ValueError:
        try:
            import yaml  # a development convenience; the runner image has no PyYAML
        except ImportError:
            raise _UsageError(f"{path} is not JSON (install PyYAML to read YAML)") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" (line {where.line + 1})" if where is not None else ""
            raise _UsageError(f"--file: {path} is neither JSON nor YAML{line}") from None
    if not isinstance(data, dict):
        raise _UsageError(f"{path} does not hold one Trigger object")
    return data


def effective_trigger(trigger: dict[str, Any], client: Any, home: str = "") -> dict[str, Any]:
    """The Trigger with the spec to run, TriggerTemplate ``use`` entries expanded.

    Only for the development modes: a runner the plugin deployed runs its rendered
    spec, already expanded. Here the templates are read with the caller's credentials
    from the Trigger's namespace (a ClusterTrigger's: TRIGGER_NAMESPACE).
    """
    import json

    if '"use"' not in json.dumps(trigger.get("spec")):
        return trigger
    from runner import API_VERSION
    from runner.kube.errors import ApiError
    from runner.spec.errors import SpecError
    from runner.spec.expand import expand_uses

    templates = client.resource(API_VERSION, "TriggerTemplate")
    meta = trigger.get("metadata") or {}
    namespace = (meta.get("namespace") if trigger.get("kind") != "ClusterTrigger" else None) or (
        home or _home_namespace()
    )

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
    client: Any,
    trigger: dict[str, Any],
    write_status: bool,
    exc: Exception,
    log: Any,
    *,
    outside: bool = False,
) -> None:
    """Log the errors and, when the object exists, say so in its status and an Event.

    ``outside``: a namespaced Trigger (made by an older version) whose spec reaches
    other namespaces or cluster-scoped kinds; it never runs, and the message says how
    to move it to a ClusterTrigger.
    """
    errors = getattr(exc, "errors", None) or [exc]
    meta = trigger.get("metadata") or {}
    for error in errors:
        log.error(
            "%s: %s",
            "reaches outside its namespace" if outside else "invalid spec",
            error,
            extra={"field": getattr(error, "path", "")},
        )
    if not write_status:
        return
    from runner.conditions import OUTSIDE_NAMESPACE, SPEC_INVALID, WATCHING
    from runner.k8s_events import WARNING, EventRecorder
    from runner.metrics import Metrics
    from runner.status import StatusWriter

    reason = OUTSIDE_NAMESPACE if outside else SPEC_INVALID
    message = "; ".join(str(e) for e in errors)
    if outside:
        message = (
            f"not running: this Trigger reaches outside namespace {meta.get('namespace')}: "
            f"{message}. Move it to a ClusterTrigger: write kind: ClusterTrigger, drop "
            "metadata.namespace, kubectl trigger create -f it, then kubectl trigger delete "
            "this Trigger (docs/spec.md#security-model)"
        )
    kind = str(trigger.get("kind") or "Trigger")
    status = StatusWriter(
        client,
        str(meta.get("name")),
        str(meta.get("namespace")),
        meta.get("generation"),
        Metrics(),
        log,
        previous=trigger.get("status") or {},
        kind=kind,
    )
    status.fail(reason, message)
    status.set_condition(WATCHING, False, reason, "not started: " + message[:200])
    status.flush()
    recorder = EventRecorder(client, trigger, log)
    recorder.record(WARNING, reason, message)
    recorder.flush()


if __name__ == "__main__":
    sys.exit(main())

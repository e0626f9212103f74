"""Where the client's server address, proxy and credentials come from: kubeconfig or in-cluster.

Everything is resolved here into one frozen ``ClientConfig`` so the client never
reads files or environment variables itself. Kubeconfig files are found and
merged as kubectl (client-go's ``clientcmd``) does, so the plugin and ``run``
see exactly the cluster, user and namespace kubectl sees; see
``load_kubectl_config``. The runner uses the in-cluster path and must stay
small, so PyYAML is imported only when a kubeconfig is read. Credentials that
change over time (a rotated token file, an exec plugin's short-lived token) are
described here and fetched by ``runner.kube.auth``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from runner.kube import proxy as proxies
from runner.kube.proxy import Proxy

__all__ = [
    "ClientConfig",
    "ConfigError",
    "ExecPlugin",
    "in_cluster_config",
    "load_config",
    "load_kubeconfig",
    "load_kubectl_config",
]

DEFAULT_SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_NAMESPACE = "default"


class ConfigError(Exception):
    """No usable cluster configuration: the message says which file, context or field."""


@dataclass(frozen=True)
class ExecPlugin:
    """A kubeconfig ``user.exec`` credential plugin, run on demand by ``runner.kube.auth``."""

    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    api_version: str = "client.authentication.k8s.io/v1"
    install_hint: str | None = None
    provide_cluster_info: bool = False
    interactive_mode: str = "IfAvailable"


@dataclass(frozen=True, repr=False)
class ClientConfig:
    """How to reach and authenticate to one API server.

    ``*_data`` fields hold PEM text (the client writes key material to private
    files because ``ssl`` only loads certificates from files). When several
    credentials are set, the exec plugin wins over ``token_file``, which wins
    over ``token`` (the file is re-read, so it is the fresher one).
    """

    server: str
    ca_file: str | None = None
    ca_data: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    client_cert_data: str | None = None
    client_key_data: str | None = None
    token: str | None = None
    token_file: str | None = None
    exec_plugin: ExecPlugin | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    #: the proxy every connection goes through (kubeconfig proxy-url, else HTTPS_PROXY...)
    proxy: Proxy | None = None
    #: Impersonate-* headers from the user's ``as``, ``as-uid``, ``as-groups``, ``as-user-extra``
    impersonate: tuple[tuple[str, str], ...] = ()
    namespace: str = DEFAULT_NAMESPACE
    context: str | None = None
    #: where this came from ("in-cluster" or the kubeconfig file list), for messages
    source: str = ""

    @property
    def auth_kind(self) -> str:
        """A secret-free name for the credential in use, for logs and messages."""
        if self.exec_plugin is not None:
            return "exec"
        if self.token_file:
            return "token-file"
        if self.token:
            return "token"
        if self.client_cert_file or self.client_cert_data:
            return "client-certificate"
        return "anonymous"

    def __repr__(self) -> str:
        ca = "file" if self.ca_file else "data" if self.ca_data else "system"
        return (
            f"ClientConfig(server={self.server!r}, context={self.context!r}, "
            f"namespace={self.namespace!r}, auth={self.auth_kind!r}, ca={ca!r}, "
            f"insecure_skip_tls_verify={self.insecure_skip_tls_verify}, "
            f"proxy={self.proxy.address if self.proxy else None!r}, "
            f"impersonate={dict(self.impersonate).get('Impersonate-User')!r}, "
            f"source={self.source!r})"
        )


# --- in-cluster ------------------------------------------------------------------------


def in_cluster_config() -> ClientConfig:
    """The pod's own ServiceAccount: server from env, credentials from the mounted dir.

    The token file is only checked here, not read: the client re-reads it
    periodically because the kubelet rotates it.
    """
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError(
            "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
            "must both be set"
        )
    token_file = _service_account_dir() / "token"
    if not token_file.is_file():
        raise ConfigError(f"in-cluster: no ServiceAccount token at {token_file}")
    ca_file = token_file.with_name("ca.crt")
    # POD_NAMESPACE (downward API) first, then the token's namespace: client-go's order
    namespace = os.environ.get("POD_NAMESPACE", "")
    if not namespace:
        try:
            namespace = token_file.with_name("namespace").read_text().strip()
        except OSError:
            namespace = ""
    server_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    server = f"https://{server_host}:{port}"
    return ClientConfig(
        server=server,
        ca_file=str(ca_file) if ca_file.is_file() else None,
        token_file=str(token_file),
        proxy=_environment_proxy(server),
        namespace=namespace or DEFAULT_NAMESPACE,
        context=None,
        source="in-cluster",
    )


def _environment_proxy(server: str) -> Proxy | None:
    try:
        return proxies.from_environment(server)
    except proxies.ProxyError as e:
        raise ConfigError(f"in-cluster proxy: {e}") from None


def _service_account_dir() -> Path:
    return Path(os.environ.get("KT_SERVICEACCOUNT_DIR") or DEFAULT_SERVICEACCOUNT_DIR)


def _in_cluster_possible() -> bool:
    """What client-go checks before falling back to in-cluster: the env and the token file."""
    return bool(
        os.environ.get("KUBERNETES_SERVICE_HOST")
        and os.environ.get("KUBERNETES_SERVICE_PORT")
        and (_service_account_dir() / "token").is_file()
    )


def load_config(kubeconfig: str | None = None, context: str | None = None) -> ClientConfig:
    """The runner's choice: in a pod, its own ServiceAccount unless ``--kubeconfig``,
    ``--context`` or ``$KUBECONFIG`` asks for a kubeconfig; else ``load_kubectl_config``.

    Unlike kubectl, a runner pod never reads ``~/.kube/config``: a pod must not
    pick up whatever credentials its image or host happen to carry.
    """
    in_pod = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    if in_pod and kubeconfig is None and context is None and not os.environ.get("KUBECONFIG"):
        return in_cluster_config()
    return load_kubectl_config(kubeconfig, context)


def load_kubectl_config(kubeconfig: str | None = None, context: str | None = None) -> ClientConfig:
    """The config kubectl would use, in kubectl's order.

    ``kubeconfig`` (``--kubeconfig``: one file, which must exist), else every
    file in ``$KUBECONFIG``, else ``~/.kube/config``, merged as in
    ``load_kubeconfig``. When they choose no context (no file exists, or none
    sets current-context and ``context`` is not given), kubectl falls back to
    the pod's ServiceAccount if it runs in a pod, and so does this.
    """
    merged = _read_merged(kubeconfig)
    if not (context or merged.current_context) and _in_cluster_possible():
        return in_cluster_config()
    return _select(merged, context)


# --- kubeconfig ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One named cluster/user/context, with the directory of the file that defined it."""

    body: Mapping[str, Any]
    base_dir: Path


@dataclass
class _Merged:
    """Several kubeconfig files merged the way kubectl does: the first definition wins."""

    #: the files looked at, in order, and those of them that exist
    paths: list[str]
    found: list[str] = field(default_factory=list)
    current_context: str = ""
    sections: dict[str, dict[str, _Entry]] = field(
        default_factory=lambda: {"clusters": {}, "users": {}, "contexts": {}}
    )

    @property
    def files(self) -> str:
        """The files that were read, for messages."""
        return ", ".join(self.found or self.paths)


#: kubeconfig list key -> the key holding each entry's body
_SECTION_BODY = {"clusters": "cluster", "users": "user", "contexts": "context"}


def _kubeconfig_paths(path: str | None) -> list[str]:
    """The files to read, in precedence order: ``path``, else $KUBECONFIG, else ~/.kube/config.

    $KUBECONFIG is split on ``os.pathsep``; empty entries and repeats are
    dropped, as clientcmd does.
    """
    if path:
        return [os.path.expanduser(path)]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        paths: list[str] = []
        for part in env.split(os.pathsep):
            if part and part not in paths:
                paths.append(part)
        return paths
    return [os.path.join(os.path.expanduser("~"), ".kube", "config")]


def _read_merged(path: str | None) -> _Merged:
    """Read and merge the kubeconfig files; missing files are skipped unless named by ``path``."""
    import yaml  # lazily: the runner in a pod never gets here

    merged = _Merged(paths=_kubeconfig_paths(path))
    for file in merged.paths:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except FileNotFoundError:
            if path:
                raise ConfigError(f"{file} (from --kubeconfig) does not exist") from None
            continue
        except (OSError, UnicodeDecodeError) as e:
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise ConfigError(f"cannot read {file}: {why}") from None
        merged.found.append(file)
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            where = getattr(e, "problem_mark", None)
            at = f" (line {where.line + 1})" if where is not None else ""
            raise ConfigError(f"{file} is not valid YAML{at}") from None
        if doc is None:
            continue  # an empty file is an empty config, as in kubectl
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{file} is not a mapping")
        _merge_file(merged, doc, file)
    return merged


def _merge_file(merged: _Merged, doc: Mapping[str, Any], file: str) -> None:
    """Add one file: a name already defined by an earlier file keeps its first definition,
    whole (even fields the later one adds); the first non-empty current-context wins."""
    if not merged.current_context and doc.get("current-context"):
        merged.current_context = str(doc["current-context"])
    # relative paths inside resolve against the file's directory (not following symlinks)
    base_dir = Path(os.path.abspath(os.path.dirname(file)))
    for section, body_key in _SECTION_BODY.items():
        items = doc.get(section) or []
        if not isinstance(items, list):
            raise ConfigError(f"{file}: {section} must be a list")
        seen: set[str] = set()
        for i, item in enumerate(items):
            if not isinstance(item, Mapping) or not item.get("name"):
                raise ConfigError(f"{file}: {section}[{i}] has no name")
            name = str(item["name"])
            if name in seen:
                raise ConfigError(f'{file}: {section} lists "{name}" twice')
            seen.add(name)
            body = item.get(body_key) or {}
            if not isinstance(body, Mapping):
                raise ConfigError(f"{file}: {section}[{i}].{body_key} must be a mapping")
            merged.sections[section].setdefault(name, _Entry(body, base_dir))


def _server(cluster: Mapping[str, Any], where: str) -> str:
    """The cluster's server URL, which the client can use: http(s) with a host."""
    server = str(cluster.get("server") or "")
    if not server:
        raise ConfigError(f"{where} has no server")
    try:
        parts = urlsplit(server)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: server {server!r} is not an http:// or https:// URL")
    return server.rstrip("/")


def _proxy(cluster: Mapping[str, Any], where: str, server: str) -> Proxy | None:
    """``proxy-url`` for every request (loopback too), else the proxy environment variables."""
    url = cluster.get("proxy-url")
    if not url:
        try:
            return proxies.from_environment(server)
        except proxies.ProxyError as e:
            raise ConfigError(f"proxy for {where}: {e}") from None
    try:
        return dataclasses.replace(proxies.parse(str(url)), kubeconfig_url=str(url))
    except proxies.ProxyError as e:
        raise ConfigError(f"{where}: invalid proxy-url: {e}") from None


#: bytes allowed as-is in an HTTP header name (RFC 7230 tchar); others are %-escaped
_TOKEN_CHARS = frozenset(
    b"!#$&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def impersonation_headers(
    user: str, uid: str = "", groups: Sequence[str] = ()
) -> tuple[tuple[str, str], ...]:
    """The Impersonate-* headers for acting as ``user`` (kubectl's --as, or a kubeconfig's as)."""
    headers = [("Impersonate-User", user)]
    if uid:
        headers.append(("Impersonate-Uid", uid))
    headers += [("Impersonate-Group", group) for group in groups]
    return tuple(headers)


def _impersonation(user: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    """The Impersonate-* headers kubectl sends for a user with ``as`` (act-as) fields."""
    name = str(user.get("as") or "")
    uid = str(user.get("as-uid") or "")
    groups = user.get("as-groups") or []
    extra = user.get("as-user-extra") or {}
    if not isinstance(groups, list) or not isinstance(extra, Mapping):
        raise ConfigError(f"{where}: as-groups must be a list and as-user-extra a mapping")
    if not name:
        if uid or groups or extra:
            raise ConfigError(
                f"{where} sets as-uid, as-groups or as-user-extra without as (the user to "
                "impersonate); kubectl refuses this too"
            )
        return ()
    headers = list(impersonation_headers(name, uid, [str(g) for g in groups]))
    for key, values in extra.items():
        escaped = "".join(
            chr(b) if b in _TOKEN_CHARS else f"%{b:02X}" for b in str(key).encode("utf-8")
        )
        for value in values if isinstance(values, list) else [values]:
            headers.append((f"Impersonate-Extra-{escaped}", str(value)))
    return tuple(headers)


def _resolve(base_dir: Path, value: Any) -> str | None:
    """A path from a kubeconfig, made absolute against the file that mentioned it."""
    if not value:
        return None
    p = Path(str(value)).expanduser()
    return str(p if p.is_absolute() else base_dir / p)


def _pem(value: Any, where: str) -> str | None:
    """A ``*-data`` field: base64 of PEM text."""
    if not value:
        return None
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ConfigError(f"{where} is not valid base64-encoded PEM") from None


def _exec_plugin(spec: Mapping[str, Any], base_dir: Path, where: str) -> ExecPlugin:
    command = str(spec.get("command") or "")
    if not command:
        raise ConfigError(f"{where}.exec.command is required")
    # kubectl resolves the command against the file only when it is a path, not a PATH name
    if os.sep in command and not os.path.isabs(command):
        command = str(base_dir / command)
    env: list[tuple[str, str]] = []
    for i, item in enumerate(spec.get("env") or []):
        if not isinstance(item, Mapping) or "name" not in item:
            raise ConfigError(f"{where}.exec.env[{i}] needs a name and a value")
        env.append((str(item["name"]), str(item.get("value", ""))))
    return ExecPlugin(
        command=command,
        args=tuple(str(a) for a in spec.get("args") or []),
        env=tuple(env),
        api_version=str(spec.get("apiVersion") or "client.authentication.k8s.io/v1"),
        install_hint=str(spec["installHint"]) if spec.get("installHint") else None,
        provide_cluster_info=bool(spec.get("provideClusterInfo", False)),
        interactive_mode=str(spec.get("interactiveMode") or "IfAvailable"),
    )


def load_kubeconfig(path: str | None = None, context: str | None = None) -> ClientConfig:
    """Read kubeconfig the way kubectl does and pick one context (never in-cluster).

    ``path`` is one file (like ``--kubeconfig``) and must exist; without it,
    every file in ``$KUBECONFIG`` (missing ones skipped), else
    ``~/.kube/config``. Files merge as in clientcmd: the first file to define a
    cluster, user or context name wins that name whole, and the first file
    that sets current-context wins it. ``context`` overrides current-context.
    """
    return _select(_read_merged(path), context)


def _select(merged: _Merged, context: str | None) -> ClientConfig:
    """The ClientConfig of one context of merged kubeconfig files, checked as kubectl checks it."""
    if not merged.found:
        raise ConfigError(
            f"none found (looked for {', '.join(merged.paths)}) and not running in a "
            "cluster; pass --kubeconfig or set KUBECONFIG"
        )
    files = merged.files
    contexts = merged.sections["contexts"]
    available = ", ".join(sorted(contexts)) or "(none)"
    name = context or merged.current_context
    if not name:
        raise ConfigError(
            f"no current-context in kubeconfig {files}; choose one with --context "
            f"(available contexts: {available})"
        )
    ctx_entry = contexts.get(name)
    if ctx_entry is None:
        raise ConfigError(
            f'context "{name}" not found in kubeconfig {files}; available contexts: {available}'
        )
    ctx = ctx_entry.body

    cluster_name = str(ctx.get("cluster") or "")
    cluster_entry = merged.sections["clusters"].get(cluster_name)
    if cluster_entry is None:
        raise ConfigError(
            f'context "{name}" refers to cluster "{cluster_name}", which is not defined'
        )
    cluster = cluster_entry.body
    where_cluster = f'cluster "{cluster_name}"'
    server = _server(cluster, where_cluster)
    insecure = cluster.get("insecure-skip-tls-verify", False) is True
    # kubectl applies TLS settings (and this check) to https:// servers only
    if insecure and server.startswith("https://"):
        for key in ("certificate-authority", "certificate-authority-data"):
            if cluster.get(key):
                raise ConfigError(
                    f"{where_cluster} sets both insecure-skip-tls-verify and {key}; kubectl "
                    "refuses this too (specifying a root certificates file with the insecure "
                    "flag is not allowed): remove one of them"
                )
    proxy = _proxy(cluster, where_cluster, server)

    user_name = str(ctx.get("user") or "")
    user_entry = merged.sections["users"].get(user_name) if user_name else None
    if user_name and user_entry is None:
        raise ConfigError(f'context "{name}" refers to user "{user_name}", which is not defined')
    user: Mapping[str, Any] = user_entry.body if user_entry else {}
    user_dir = user_entry.base_dir if user_entry else cluster_entry.base_dir
    where_user = f'user "{user_name}"'
    if user.get("auth-provider") and not (user.get("exec") or user.get("token")):
        raise ConfigError(
            f"{where_user} uses an auth-provider plugin, which is not supported; "
            "use an exec credential plugin instead"
        )
    if (user.get("client-certificate") or user.get("client-certificate-data")) and not (
        user.get("client-key") or user.get("client-key-data")
    ):
        raise ConfigError(
            f"{where_user} has a client certificate but no client-key or client-key-data"
        )
    impersonate = _impersonation(user, where_user)
    exec_spec = user.get("exec")
    if exec_spec is not None and not isinstance(exec_spec, Mapping):
        raise ConfigError(f"{where_user}.exec must be a mapping")

    ca_data = _pem(
        cluster.get("certificate-authority-data"), f"{where_cluster} certificate-authority-data"
    )
    ca_file = _resolve(cluster_entry.base_dir, cluster.get("certificate-authority"))
    cert_data = _pem(user.get("client-certificate-data"), f"{where_user} client-certificate-data")
    key_data = _pem(user.get("client-key-data"), f"{where_user} client-key-data")
    return ClientConfig(
        server=server,
        # data overrides the file, as in kubectl
        ca_data=ca_data,
        ca_file=None if ca_data else ca_file,
        client_cert_data=cert_data,
        client_cert_file=None if cert_data else _resolve(user_dir, user.get("client-certificate")),
        client_key_data=key_data,
        client_key_file=None if key_data else _resolve(user_dir, user.get("client-key")),
        token=str(user["token"]) if user.get("token") else None,
        token_file=_resolve(user_dir, user.get("tokenFile")),
        exec_plugin=_exec_plugin(exec_spec, user_dir, where_user) if exec_spec else None,
        insecure_skip_tls_verify=insecure,
        tls_server_name=str(cluster["tls-server-name"]) if cluster.get("tls-server-name") else None,
        proxy=proxy,
        impersonate=impersonate,
        namespace=str(ctx.get("namespace") or DEFAULT_NAMESPACE),
        context=name,
        source=files,
    )

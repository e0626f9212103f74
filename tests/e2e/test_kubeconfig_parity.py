"""The plugin finds its cluster exactly as kubectl does: each case run by both, side by side.

Every case builds kubeconfig files from the test cluster's admin credentials,
then runs the built kubectl and ``kubectl-trigger`` with the same files and
environment (HOME empty, no proxy variables unless the case sets them) and
asserts they agree: both list the same Triggers, from the same namespace,
through the same server and user, or both fail. Two namespaces each hold one
Trigger named after the namespace, so the names listed show which context won;
a dead server or a bogus token in the losing entries shows which cluster and
user won. Proxy cases run a real forward proxy on 127.0.0.1 (connect_proxy)
and assert that it saw tunnels from kubectl and from the plugin.
"""

from __future__ import annotations

import os
import secrets
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.connect_proxy import ConnectProxy
from tests.e2e.plugin_support import GROUP, REPO, ForegroundRun, plugin_argv, trigger_yaml

TRIGGERS = f"triggers.{GROUP}"
SPEC = {
    "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": ["update"]}},
    "actions": [{"log": {"message": "changed {{ .object.metadata.name }}"}}],
}
DEAD_SERVER = "https://127.0.0.1:1"  # nothing listens there: a client that uses it fails
#: a name for the API server that never resolves (RFC 2606) and is not loopback, so only
#: a client that goes through the proxy (which maps it to 127.0.0.1) reaches the server;
#: TLS checks the certificate for a name it holds (tls-server-name)
SERVICE_NAME = "api.kubeconfig-parity.invalid"
CERT_NAME = "kubernetes.default.svc"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


@dataclass(frozen=True)
class Outcome:
    """What one client saw: its exit code, the Triggers it listed, what it said on stderr."""

    code: int
    names: tuple[str, ...]
    stderr: str


@dataclass
class Setup:
    cluster: Cluster
    tmp: Path
    admin_cluster: dict[str, Any]  # the admin kubeconfig's cluster entry (server, CA)
    admin_user: dict[str, Any]
    ns_a: str
    ns_b: str

    @property
    def api_port(self) -> int:
        return int(urlsplit(self.admin_cluster["server"]).port or 443)

    def cluster_entry(self, **changes: Any) -> dict[str, Any]:
        return {**self.admin_cluster, **changes}

    def file(
        self,
        name: str,
        *,
        current: str | None = None,
        contexts: dict[str, dict[str, Any]] | None = None,
        clusters: dict[str, dict[str, Any]] | None = None,
        users: dict[str, dict[str, Any]] | None = None,
    ) -> str:
        doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Config"}
        if current:
            doc["current-context"] = current
        doc["contexts"] = [{"name": n, "context": c} for n, c in (contexts or {}).items()]
        doc["clusters"] = [{"name": n, "cluster": c} for n, c in (clusters or {}).items()]
        doc["users"] = [{"name": n, "user": u} for n, u in (users or {}).items()]
        path = self.tmp / name
        path.write_text(yaml.safe_dump(doc))
        return str(path)

    def simple(self, name: str, namespace: str, **cluster_changes: Any) -> str:
        """One file, one context: the admin user on the real cluster (changed as asked)."""
        return self.file(
            name,
            current="ctx",
            contexts={"ctx": {"cluster": "c", "user": "admin", "namespace": namespace}},
            clusters={"c": self.cluster_entry(**cluster_changes)},
            users={"admin": self.admin_user},
        )

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment: nothing about kubeconfig or proxies unless the case sets it."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")
            and k not in PROXY_VARIABLES
        }
        home = self.tmp / "home"
        home.mkdir(exist_ok=True)
        env["HOME"] = str(home)
        env.update(extra)
        return env

    def kubectl(self, env: dict[str, str], *flags: str) -> Outcome:
        cmd = [str(self.cluster.bin_dir / "kubectl"), "get", TRIGGERS, "-o", "name"]
        return _outcome([*cmd, "--request-timeout=20s", *flags], env)

    def plugin(self, env: dict[str, str], *flags: str) -> Outcome:
        return _outcome([*plugin_argv(), "get", "-o", "name", *flags], env)

    def both(self, env: dict[str, str], *flags: str) -> tuple[Outcome, Outcome]:
        """kubectl and the plugin, same env and flags; asserts they agree, returns both."""
        k, p = self.kubectl(env, *flags), self.plugin(env, *flags)
        if k.code == 0:
            assert p.code == 0, f"kubectl succeeded ({k.names}) but the plugin failed:\n{p.stderr}"
            assert p.names == k.names, f"kubectl saw {k.names}, the plugin {p.names}"
        else:
            assert p.code != 0, f"kubectl failed ({k.stderr.strip()}) but the plugin saw {p.names}"
            assert "Traceback" not in p.stderr, p.stderr
            assert p.stderr.startswith("error: "), p.stderr
        return k, p


def _outcome(cmd: list[str], env: dict[str, str]) -> Outcome:
    proc = subprocess.run(
        cmd,
        env=env,
        stdin=subprocess.DEVNULL,  # kubectl asks for a username when a context's user is missing
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    names = tuple(
        sorted(
            line.rsplit("/", 1)[1]
            for line in proc.stdout.splitlines()
            if line.startswith("trigger.") and "/" in line
        )
    )
    return Outcome(proc.returncode, names, proc.stderr)


@pytest.fixture(scope="module")
def setup(crd: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    admin = yaml.safe_load(Path(crd.kubeconfig).read_text())
    suffix = secrets.token_hex(3)
    ns_a, ns_b = f"t-kubeconfig-a-{suffix}", f"t-kubeconfig-b-{suffix}"
    for ns in (ns_a, ns_b):
        crd.kubectl("create", "namespace", ns)
        crd.kubectl("apply", "-n", ns, "-f", "-", input=trigger_yaml(ns, SPEC))
    yield Setup(
        crd,
        tmp_path_factory.mktemp("kubeconfig"),
        admin["clusters"][0]["cluster"],
        admin["users"][0]["user"],
        ns_a,
        ns_b,
    )
    for ns in (ns_a, ns_b):
        crd.kubectl("delete", "namespace", ns, "--wait=false", check=False)


# --- merging ---------------------------------------------------------------------------


def conflicting_files(s: Setup) -> tuple[str, str]:
    """Two files defining the same context, cluster and user names differently."""
    good = s.file(
        "good",
        contexts={"ctx": {"cluster": "c", "user": "u", "namespace": s.ns_a}},
        clusters={"c": s.admin_cluster},
        users={"u": s.admin_user},
    )
    bad = s.file(
        "bad",
        current="ctx",
        contexts={"ctx": {"cluster": "c", "user": "u", "namespace": s.ns_b}},
        clusters={"c": s.cluster_entry(server=DEAD_SERVER)},
        users={"u": {"token": "not-a-valid-token"}},
    )
    return good, bad


def test_multi_file_merge_first_definition_wins(setup: Setup) -> None:
    good, bad = conflicting_files(setup)
    # good first: its context (namespace a), cluster and user win; bad's current-context is used
    k, _ = setup.both(setup.env(KUBECONFIG=os.pathsep.join([good, bad])))
    assert k.names == (setup.ns_a,)
    # bad first: the dead server wins, so both fail
    k, p = setup.both(setup.env(KUBECONFIG=os.pathsep.join([bad, good])))
    assert k.code != 0 and p.code == 4
    # missing files, empty entries and repeats in the list change nothing
    listed = ["", str(setup.tmp / "missing"), good, good, "", bad]
    k, _ = setup.both(setup.env(KUBECONFIG=os.pathsep.join(listed)))
    assert k.names == (setup.ns_a,)


def test_current_context_from_the_second_file(setup: Setup) -> None:
    first = setup.file(
        "first",
        contexts={
            "a": {"cluster": "c", "user": "u", "namespace": setup.ns_a},
            "b": {"cluster": "c", "user": "u", "namespace": setup.ns_b},
        },
        clusters={"c": setup.admin_cluster},
        users={"u": setup.admin_user},
    )
    second = setup.file("second", current="b")
    env = setup.env(KUBECONFIG=os.pathsep.join([first, second]))
    k, _ = setup.both(env)
    assert k.names == (setup.ns_b,)
    k, _ = setup.both(env, "--context", "a")
    assert k.names == (setup.ns_a,)
    # -n wins over the context's namespace for both
    k, _ = setup.both(env, "-n", setup.ns_a)
    assert k.names == (setup.ns_a,)


def test_explicit_kubeconfig_overrides_the_list(setup: Setup) -> None:
    good = setup.simple("explicit", setup.ns_b)
    dead = setup.simple("dead", setup.ns_a, server=DEAD_SERVER)
    k, _ = setup.both(setup.env(KUBECONFIG=dead), "--kubeconfig", good)
    assert k.names == (setup.ns_b,)


def test_home_kubeconfig_when_no_list(setup: Setup) -> None:
    env = setup.env()
    kube_dir = Path(env["HOME"]) / ".kube"
    kube_dir.mkdir(exist_ok=True)
    (kube_dir / "config").write_text(Path(setup.simple("for-home", setup.ns_a)).read_text())
    try:
        k, _ = setup.both(env)
        assert k.names == (setup.ns_a,)
    finally:
        (kube_dir / "config").unlink()
    # nothing anywhere: both fail (kubectl tries localhost:8080, the plugin says what is missing)
    k, p = setup.both(env)
    assert "kubeconfig: none found" in p.stderr


# --- errors ----------------------------------------------------------------------------


def test_bad_input_fails_in_both_with_one_clear_line(setup: Setup) -> None:
    good = setup.simple("good-for-errors", setup.ns_a)
    malformed = setup.tmp / "malformed"
    malformed.write_text("clusters: [\n  - name: x\n")
    twice = setup.file(
        "twice",
        current="ctx",
        contexts={"ctx": {"cluster": "c", "user": "u"}},
        clusters={"c": setup.admin_cluster},
        users={"u": setup.admin_user},
    )
    doc = yaml.safe_load(Path(twice).read_text())
    doc["clusters"].append({"name": "c", "cluster": {"server": DEAD_SERVER}})
    Path(twice).write_text(yaml.safe_dump(doc))
    no_user = setup.file(
        "no-user",
        current="ctx",
        contexts={"ctx": {"cluster": "c", "user": "ghost"}},
        clusters={"c": setup.admin_cluster},
    )
    cases: list[tuple[dict[str, str], tuple[str, ...], str]] = [
        (setup.env(), ("--kubeconfig", str(setup.tmp / "absent")), "does not exist"),
        (setup.env(KUBECONFIG=good), ("--context", "nope"), 'context "nope" not found'),
        (setup.env(KUBECONFIG=str(malformed)), (), "is not valid YAML"),
        (setup.env(KUBECONFIG=str(setup.tmp)), (), "Is a directory"),
        (setup.env(KUBECONFIG=twice), (), 'clusters lists "c" twice'),
        (setup.env(KUBECONFIG=no_user), (), 'refers to user "ghost", which is not defined'),
    ]
    for env, flags, message in cases:
        _, p = setup.both(env, *flags)
        assert p.code == 4, p.stderr
        assert message in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_runner_reports_kubeconfig_errors_in_one_line(setup: Setup) -> None:
    """``python -m runner`` goes through the same loader; a bad kubeconfig is no traceback."""
    good = setup.simple("runner-good", setup.ns_a)
    malformed = setup.tmp / "runner-malformed"
    malformed.write_text("users: [\n")
    cases = [
        (("--kubeconfig", str(setup.tmp / "absent")), "(from --kubeconfig) does not exist"),
        (("--kubeconfig", good, "--context", "nope"), 'context "nope" not found'),
        (("--kubeconfig", str(malformed)), "is not valid YAML"),
    ]
    env = setup.env(LOG_FORMAT="text")
    for flags, message in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "runner", *flags, "--trigger", f"{setup.ns_a}/x"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
            check=False,
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1, out
        assert "Traceback" not in out and message in out, out
        assert len(out.strip().splitlines()) == 1, out


def test_insecure_skip_tls_verify_with_a_ca_is_refused_by_both(setup: Setup) -> None:
    path = setup.simple("insecure-ca", setup.ns_a, **{"insecure-skip-tls-verify": True})
    k, p = setup.both(setup.env(KUBECONFIG=path))
    assert "insecure" in k.stderr
    assert 'cluster "c" sets both insecure-skip-tls-verify and certificate-authority' in p.stderr
    # without the CA, insecure works for both
    entry = {key: v for key, v in setup.admin_cluster.items() if not key.startswith("certificate-")}
    insecure = setup.file(
        "insecure-only",
        current="ctx",
        contexts={"ctx": {"cluster": "c", "user": "admin", "namespace": setup.ns_a}},
        clusters={"c": {**entry, "insecure-skip-tls-verify": True}},
        users={"admin": setup.admin_user},
    )
    k, _ = setup.both(setup.env(KUBECONFIG=insecure))
    assert k.names == (setup.ns_a,)


def test_impersonation_from_the_kubeconfig(setup: Setup) -> None:
    """A user entry's ``as`` fields: both act as that user (and groups) or are refused alike."""
    nobody = setup.simple("as-nobody", setup.ns_a)
    doc = yaml.safe_load(Path(nobody).read_text())
    doc["users"][0]["user"]["as"] = "jane@example.com"
    Path(nobody).write_text(yaml.safe_dump(doc))
    k, p = setup.both(setup.env(KUBECONFIG=nobody))
    assert 'User "jane@example.com" cannot list' in k.stderr
    assert 'User "jane@example.com" cannot list' in p.stderr
    # repeated headers: the second group is the one that grants the rights
    doc["users"][0]["user"]["as-groups"] = ["developers", "system:masters"]
    Path(nobody).write_text(yaml.safe_dump(doc))
    k, _ = setup.both(setup.env(KUBECONFIG=nobody))
    assert k.names == (setup.ns_a,)


# --- proxies ---------------------------------------------------------------------------


def targets(proxy: ConnectProxy) -> list[str]:
    return [t.target for t in proxy.seen()]


def through_proxy(s: Setup, proxy: ConnectProxy, env: dict[str, str], target: str) -> None:
    """Both clients list namespace a, and each of them opened tunnels to ``target``."""
    before = len(proxy.seen())
    k = s.kubectl(env)
    assert k.code == 0, k.stderr
    after_kubectl = len(proxy.seen())
    assert after_kubectl > before, "kubectl did not go through the proxy"
    p = s.plugin(env)
    assert p.code == 0, p.stderr
    assert len(proxy.seen()) > after_kubectl, "the plugin did not go through the proxy"
    assert k.names == p.names == (s.ns_a,)
    assert set(targets(proxy)[before:]) == {target}


def test_proxy_url_through_a_connect_proxy(setup: Setup) -> None:
    with ConnectProxy() as proxy:
        path = setup.simple("proxy-url", setup.ns_a, **{"proxy-url": proxy.url()})
        # proxy-url applies to a loopback server too (unlike HTTPS_PROXY)
        through_proxy(setup, proxy, setup.env(KUBECONFIG=path), f"127.0.0.1:{setup.api_port}")
        assert {t.protocol for t in proxy.seen()} == {"CONNECT"}
    # the proxy gone: both fail
    setup.both(setup.env(KUBECONFIG=path))


def test_proxy_url_with_credentials_https_and_socks5(setup: Setup) -> None:
    target = f"{SERVICE_NAME}:{setup.api_port}"
    server = {"server": f"https://{SERVICE_NAME}:{setup.api_port}", "tls-server-name": CERT_NAME}
    hosts = {SERVICE_NAME: "127.0.0.1"}
    with ConnectProxy(hosts=hosts, credentials=("alice", "s3cret")) as proxy:
        path = setup.simple(
            "proxy-auth", setup.ns_a, **server, **{"proxy-url": proxy.url(user="alice:s3cret")}
        )
        through_proxy(setup, proxy, setup.env(KUBECONFIG=path), target)
        assert all(t.authorized for t in proxy.seen())
        wrong = setup.simple(
            "proxy-wrong",
            setup.ns_a,
            **server,
            **{"proxy-url": proxy.url(user="alice:wrong-pass")},
        )
        _, p = setup.both(setup.env(KUBECONFIG=wrong))  # 407: both fail
        assert f"proxy http://127.0.0.1:{proxy.port} refused CONNECT" in p.stderr
        assert "407" in p.stderr and "wrong-pass" not in p.stderr
    # an https:// proxy: TLS to the proxy (checked against the cluster's CA, as Go does)
    pki = setup.cluster.state_dir / "pki"
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(pki / "serving.crt", pki / "serving.key")
    with ConnectProxy(hosts=hosts, tls=tls) as proxy:
        path = setup.simple(
            "proxy-https", setup.ns_a, **server, **{"proxy-url": proxy.url("https")}
        )
        through_proxy(setup, proxy, setup.env(KUBECONFIG=path), target)
    with ConnectProxy(hosts=hosts) as proxy:
        path = setup.simple(
            "proxy-socks", setup.ns_a, **server, **{"proxy-url": proxy.url("socks5")}
        )
        through_proxy(setup, proxy, setup.env(KUBECONFIG=path), target)
        assert {t.protocol for t in proxy.seen()} == {"SOCKS5"}


def test_https_proxy_and_no_proxy_from_the_environment(setup: Setup) -> None:
    server = {"server": f"https://{SERVICE_NAME}:{setup.api_port}", "tls-server-name": CERT_NAME}
    by_name = setup.simple("by-name", setup.ns_a, **server)
    with ConnectProxy(hosts={SERVICE_NAME: "127.0.0.1"}) as proxy:
        env = setup.env(KUBECONFIG=by_name, HTTPS_PROXY=proxy.url())
        through_proxy(setup, proxy, env, f"{SERVICE_NAME}:{setup.api_port}")
        # NO_PROXY entries that do not match keep the proxy...
        for no_proxy in ("10.0.0.0/8", "example.com", f"{SERVICE_NAME}:1", "127.0.0.1"):
            env = setup.env(KUBECONFIG=by_name, https_proxy=proxy.url(), no_proxy=no_proxy)
            through_proxy(setup, proxy, env, f"{SERVICE_NAME}:{setup.api_port}")
        # ...those that match bypass it: the name does not resolve here, so both fail
        seen = len(proxy.seen())
        port = setup.api_port
        for no_proxy in ("*", ".invalid", "kubeconfig-parity.invalid", f"{SERVICE_NAME}:{port}"):
            env = setup.env(KUBECONFIG=by_name, HTTPS_PROXY=proxy.url(), NO_PROXY=no_proxy)
            k, p = setup.both(env)
            assert k.code != 0 and p.code == 4, no_proxy
        assert len(proxy.seen()) == seen
        # a loopback server is never proxied from the environment (Go's rule): both
        # succeed without the proxy, and HTTP_PROXY is not for https servers
        loopback = setup.simple("loopback", setup.ns_a)
        for variable in ("HTTPS_PROXY", "HTTP_PROXY"):
            k, _ = setup.both(setup.env(KUBECONFIG=loopback, **{variable: proxy.url()}))
            assert k.names == (setup.ns_a,)
        assert len(proxy.seen()) == seen


# --- run -------------------------------------------------------------------------------


def test_run_with_a_multi_file_kubeconfig_through_a_proxy(setup: Setup) -> None:
    """``kubectl trigger run`` merges the whole list as kubectl does; its watch uses the proxy."""
    ns = setup.ns_a
    cm = f"watched-{secrets.token_hex(2)}"
    setup.cluster.kubectl("create", "configmap", cm, "-n", ns, "--from-literal=a=1")
    with ConnectProxy() as proxy:
        # the cluster and user in one file, the context and current-context in another
        creds = setup.file(
            "run-creds",
            clusters={"c": setup.cluster_entry(**{"proxy-url": proxy.url()})},
            users={"u": setup.admin_user},
        )
        ctx = setup.file("run-ctx", current="ctx", contexts={"ctx": {"cluster": "c", "user": "u"}})
        env = setup.env(KUBECONFIG=os.pathsep.join([str(setup.tmp / "none"), creds, ctx]))
        kubectl = [str(setup.cluster.bin_dir / "kubectl"), "get", "configmap", cm, "-n", ns]
        assert subprocess.run(kubectl, env=env, capture_output=True, timeout=60).returncode == 0
        before = len(proxy.seen())
        with ForegroundRun(env, ["-n", ns], trigger_yaml("dev", SPEC)) as run:
            run.read_until("watching ConfigMap in " + ns)
            setup.cluster.kubectl("patch", "configmap", cm, "-n", ns, "-p", '{"data":{"a":"2"}}')
            run.read_until(f"changed {cm}")
            assert run.stop() == 0
        assert "Traceback" not in "".join(run.lines)
        assert len(proxy.seen()) > before, "the runner's requests did not go through the proxy"
        assert set(targets(proxy)) == {f"127.0.0.1:{setup.api_port}"}

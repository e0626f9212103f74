"""Kubeconfig loading, in-cluster config and credential sources, on real temp files."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.kube.auth import ExecSource, TokenFileSource, credential_source
from runner.kube.config import (
    ClientConfig,
    ConfigError,
    in_cluster_config,
    load_config,
    load_kubeconfig,
    load_kubectl_config,
)
from runner.kube.tls import tls_settings

CA_PEM = "-----BEGIN CERTIFICATE-----\nQ0EK\n-----END CERTIFICATE-----\n"
CERT_PEM = "-----BEGIN CERTIFICATE-----\nQ0VSVAo=\n-----END CERTIFICATE-----\n"
KEY_PEM = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleQo=\n-----END PRIVATE KEY-----\n"
SECRET_TOKEN = "s3cr3t-t0ken-value"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def kubeconfig(
    *,
    current: str | None = "dev",
    contexts: dict[str, dict[str, Any]] | None = None,
    clusters: dict[str, dict[str, Any]] | None = None,
    users: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Config"}
    if current:
        doc["current-context"] = current
    doc["contexts"] = [{"name": n, "context": c} for n, c in (contexts or {}).items()]
    doc["clusters"] = [{"name": n, "cluster": c} for n, c in (clusters or {}).items()]
    doc["users"] = [{"name": n, "user": u} for n, u in (users or {}).items()]
    return doc


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in (
        "KUBECONFIG",
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        "POD_NAMESPACE",
        "KT_SERVICEACCOUNT_DIR",
        *PROXY_VARIABLES,
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def basic_doc() -> dict[str, Any]:
    return kubeconfig(
        contexts={"dev": {"cluster": "c1", "user": "u1", "namespace": "shop"}},
        clusters={
            "c1": {"server": "https://127.0.0.1:6443/", "certificate-authority-data": b64(CA_PEM)}
        },
        users={"u1": {"token": SECRET_TOKEN}},
    )


def test_current_context_with_token_and_ca_data(tmp_path: Path) -> None:
    path = write(tmp_path / "config", basic_doc())
    cfg = load_kubeconfig(str(path))
    assert cfg.server == "https://127.0.0.1:6443"
    assert cfg.context == "dev"
    assert cfg.namespace == "shop"
    assert cfg.token == SECRET_TOKEN
    assert cfg.ca_data == CA_PEM
    assert cfg.ca_file is None
    assert cfg.auth_kind == "token"
    assert not cfg.insecure_skip_tls_verify


def test_default_path_is_home_kube_config(tmp_path: Path) -> None:
    write(tmp_path / "home" / ".kube" / "config", basic_doc())
    assert load_kubeconfig().context == "dev"


def test_namespace_defaults_to_default(tmp_path: Path) -> None:
    doc = basic_doc()
    del doc["contexts"][0]["context"]["namespace"]
    assert load_kubeconfig(str(write(tmp_path / "c", doc))).namespace == "default"


def test_explicit_context_overrides_current(tmp_path: Path) -> None:
    doc = basic_doc()
    doc["contexts"].append({"name": "prod", "context": {"cluster": "c1", "user": "u1"}})
    cfg = load_kubeconfig(str(write(tmp_path / "c", doc)), context="prod")
    assert cfg.context == "prod"
    assert cfg.namespace == "default"


def test_missing_context_names_it_and_lists_available(tmp_path: Path) -> None:
    path = write(tmp_path / "c", basic_doc())
    with pytest.raises(ConfigError) as err:
        load_kubeconfig(str(path), context="staging")
    assert 'context "staging" not found' in str(err.value)
    assert "available contexts: dev" in str(err.value)


def test_no_current_context(tmp_path: Path) -> None:
    doc = basic_doc()
    del doc["current-context"]
    with pytest.raises(ConfigError, match=r"no current-context.*available contexts: dev"):
        load_kubeconfig(str(write(tmp_path / "c", doc)))


def test_missing_cluster_and_user_references(tmp_path: Path) -> None:
    doc = basic_doc()
    doc["contexts"][0]["context"]["cluster"] = "nope"
    with pytest.raises(ConfigError, match='cluster "nope"'):
        load_kubeconfig(str(write(tmp_path / "a", doc)))
    doc = basic_doc()
    doc["contexts"][0]["context"]["user"] = "ghost"
    with pytest.raises(ConfigError, match='user "ghost"'):
        load_kubeconfig(str(write(tmp_path / "b", doc)))


def test_missing_explicit_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_kubeconfig(str(tmp_path / "absent"))
    bad = tmp_path / "bad"
    bad.write_text("clusters: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_kubeconfig(str(bad))


def test_bad_base64_names_the_field(tmp_path: Path) -> None:
    doc = basic_doc()
    doc["users"][0]["user"] = {"client-certificate-data": "!!not base64!!", "client-key-data": "x"}
    with pytest.raises(ConfigError, match='user "u1" client-certificate-data'):
        load_kubeconfig(str(write(tmp_path / "c", doc)))


def test_kubeconfig_env_merges_first_wins_and_resolves_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write(
        tmp_path / "one" / "config",
        kubeconfig(
            current=None,
            contexts={"dev": {"cluster": "c1", "user": "u1", "namespace": "first"}},
            users={"u1": {"tokenFile": "tok"}},
        ),
    )
    second = write(
        tmp_path / "two" / "config",
        kubeconfig(
            current="dev",
            contexts={
                "dev": {"cluster": "c1", "user": "u1", "namespace": "second"},
                "other": {"cluster": "c1", "user": "u1"},
            },
            clusters={"c1": {"server": "https://10.0.0.1", "certificate-authority": "ca.crt"}},
            users={"u1": {"token": "ignored"}},
        ),
    )
    missing = tmp_path / "missing" / "config"
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(missing), str(first), str(second)]))
    cfg = load_kubeconfig()
    # current-context only set in the second file; the context itself from the first
    assert cfg.context == "dev"
    assert cfg.namespace == "first"
    # the user comes from the first file, its relative tokenFile resolved against that file
    assert cfg.token_file == str((tmp_path / "one" / "tok").resolve())
    assert cfg.token is None
    # the cluster exists only in the second file, so its relative CA is resolved there
    assert cfg.ca_file == str((tmp_path / "two" / "ca.crt").resolve())
    assert str(first) in cfg.source and str(second) in cfg.source
    # a context only in the second file is reachable too
    assert load_kubeconfig(context="other").context == "other"


def test_kubeconfig_env_with_no_existing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match=r"none found \(looked for .*nope\)"):
        load_kubeconfig()


def test_client_cert_data_is_written_to_private_files(tmp_path: Path) -> None:
    doc = basic_doc()
    doc["users"][0]["user"] = {
        "client-certificate-data": b64(CERT_PEM),
        "client-key-data": b64(KEY_PEM),
    }
    cfg = load_kubeconfig(str(write(tmp_path / "c", doc)))
    assert cfg.client_cert_data == CERT_PEM and cfg.client_key_data == KEY_PEM
    assert cfg.auth_kind == "client-certificate"
    settings = tls_settings(cfg)
    for key, content in (("cert_file", CERT_PEM), ("key_file", KEY_PEM)):
        path = Path(settings[key])
        assert path.read_text() == content
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert settings["ca_data"] == CA_PEM
    assert settings["verify"] is True
    # the same data reuses the same file
    assert tls_settings(cfg)["key_file"] == settings["key_file"]


def test_private_files_are_removed_at_exit() -> None:
    code = textwrap.dedent(
        """
        from runner.kube.tls import private_file
        print(private_file("-----BEGIN PRIVATE KEY-----\\nabc\\n"))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=_repo()
    )
    path = Path(out.stdout.strip())
    assert path.name.endswith(".pem")
    assert not path.exists()
    assert not path.parent.exists()


def test_client_cert_files_resolved_relative(tmp_path: Path) -> None:
    doc = basic_doc()
    doc["users"][0]["user"] = {
        "client-certificate": "pki/admin.crt",
        "client-key": "/abs/admin.key",
    }
    doc["clusters"][0]["cluster"] = {"server": "https://x", "insecure-skip-tls-verify": True}
    cfg = load_kubeconfig(str(write(tmp_path / "c", doc)))
    assert cfg.client_cert_file == str(tmp_path.resolve() / "pki" / "admin.crt")
    assert cfg.client_key_file == "/abs/admin.key"
    settings = tls_settings(cfg)
    assert settings["verify"] is False
    assert settings["cert_file"] == cfg.client_cert_file


def test_repr_hides_secrets(tmp_path: Path) -> None:
    doc = basic_doc()
    doc["users"][0]["user"] = {
        "token": SECRET_TOKEN,
        "client-certificate-data": b64(CERT_PEM),
        "client-key-data": b64(KEY_PEM),
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "plugin",
            "env": [{"name": "API_KEY", "value": "env-secret-123"}],
        },
    }
    cfg = load_kubeconfig(str(write(tmp_path / "c", doc)))
    text = repr(cfg) + str(cfg)
    for secret in (SECRET_TOKEN, "c2VjcmV0LWtleQo", "env-secret-123", "PRIVATE KEY"):
        assert secret not in text
    assert "exec" in text and "127.0.0.1" in text


def test_auth_provider_is_rejected_clearly(tmp_path: Path) -> None:
    doc = basic_doc()
    doc["users"][0]["user"] = {"auth-provider": {"name": "gcp"}}
    with pytest.raises(ConfigError, match=r"auth-provider.*exec"):
        load_kubeconfig(str(write(tmp_path / "c", doc)))


# --- in-cluster ------------------------------------------------------------------------


def service_account_dir(tmp_path: Path) -> Path:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(SECRET_TOKEN + "\n")
    (sa / "ca.crt").write_text(CA_PEM)
    (sa / "namespace").write_text("shop")
    return sa


def test_in_cluster_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sa = service_account_dir(tmp_path)
    monkeypatch.setenv("KT_SERVICEACCOUNT_DIR", str(sa))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    cfg = in_cluster_config()
    assert cfg.server == "https://10.96.0.1:443"
    assert cfg.token_file == str(sa / "token") and cfg.token is None
    assert cfg.ca_file == str(sa / "ca.crt")
    assert cfg.namespace == "shop"
    assert cfg.source == "in-cluster"
    assert credential_source(cfg).get().token == SECRET_TOKEN
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    assert in_cluster_config().server == "https://[fd00::1]:443"


def test_in_cluster_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST"):
        in_cluster_config()
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("KT_SERVICEACCOUNT_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="no ServiceAccount token"):
        in_cluster_config()


def test_load_config_chooses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KT_SERVICEACCOUNT_DIR", str(service_account_dir(tmp_path)))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert load_config().source == "in-cluster"
    path = write(tmp_path / "c", basic_doc())
    assert load_config(str(path)).context == "dev"
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert load_config().context == "dev"


# --- kubectl's loading rules ------------------------------------------------------------


def cluster(server: str = "https://10.0.0.1:6443", **fields: Any) -> dict[str, Any]:
    return {"server": server, **fields}


def test_kubeconfig_list_merges_like_clientcmd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names: the first file wins the whole entry; current-context: the first file setting one."""
    first = write(
        tmp_path / "a" / "config",
        kubeconfig(
            current=None,
            contexts={"shared": {"cluster": "c", "user": "u"}},
            clusters={"c": cluster("https://first.example:6443")},
            users={"u": {"token": "first-token"}},
        ),
    )
    second = write(
        tmp_path / "b" / "config",
        kubeconfig(
            current="shared",
            contexts={
                "shared": {"cluster": "c", "user": "u", "namespace": "from-second"},
                "own": {"cluster": "c2", "user": "u"},
            },
            # same name: ignored whole, even the field the first file did not set
            clusters={
                "c": cluster("https://second.example:6443", **{"tls-server-name": "x"}),
                "c2": cluster("https://own.example"),
            },
            users={"u": {"token": "second-token"}},
        ),
    )
    empty = tmp_path / "empty"
    empty.write_text("")
    sep = os.pathsep
    # an empty file, a missing one, empty entries and a repeat are all fine
    monkeypatch.setenv(
        "KUBECONFIG",
        sep.join(["", str(empty), str(tmp_path / "gone"), str(first), "", str(second), str(first)]),
    )
    cfg = load_kubectl_config()
    assert (cfg.context, cfg.server, cfg.token) == (
        "shared",
        "https://first.example:6443",
        "first-token",
    )
    assert cfg.tls_server_name is None
    assert cfg.namespace == "default"  # the first file's context has none
    assert load_kubectl_config(context="own").server == "https://own.example"
    # order matters: the second file first gives its entries
    monkeypatch.setenv("KUBECONFIG", sep.join([str(second), str(first)]))
    assert load_kubectl_config().server == "https://second.example:6443"
    assert load_kubectl_config().namespace == "from-second"


def test_explicit_kubeconfig_overrides_the_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = write(tmp_path / "listed", basic_doc())
    explicit_doc = basic_doc()
    explicit_doc["clusters"][0]["cluster"]["server"] = "https://explicit.example"
    explicit = write(tmp_path / "explicit", explicit_doc)
    monkeypatch.setenv("KUBECONFIG", str(listed))
    assert load_kubectl_config(str(explicit)).server == "https://explicit.example"
    with pytest.raises(ConfigError, match=r".*absent \(from --kubeconfig\) does not exist"):
        load_kubectl_config(str(tmp_path / "absent"))


def test_the_same_name_twice_in_one_file_is_refused(tmp_path: Path) -> None:
    doc = basic_doc()
    doc["users"].append({"name": "u1", "user": {"token": "other"}})
    with pytest.raises(ConfigError, match='users lists "u1" twice'):
        load_kubectl_config(str(write(tmp_path / "c", doc)))


def test_bad_yaml_names_the_line_but_not_its_text(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text(f"users:\n- name: u\n  user: {{token: {SECRET_TOKEN}\n")
    with pytest.raises(ConfigError) as err:
        load_kubectl_config(str(bad))
    assert "is not valid YAML (line" in str(err.value) and str(bad) in str(err.value)
    assert SECRET_TOKEN not in str(err.value)


def test_unreadable_and_directory_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match=f"cannot read {tmp_path}: Is a directory"):
        load_kubectl_config()


def test_insecure_with_a_ca_is_refused_naming_the_cluster(tmp_path: Path) -> None:
    insecure: dict[str, Any] = {"insecure-skip-tls-verify": True}
    for key, value in (
        ("certificate-authority-data", b64(CA_PEM)),
        ("certificate-authority", "ca"),
    ):
        doc = basic_doc()
        doc["clusters"][0]["cluster"] = cluster(**insecure, **{key: value})
        with pytest.raises(ConfigError) as err:
            load_kubectl_config(str(write(tmp_path / "c", doc)))
        assert f'cluster "c1" sets both insecure-skip-tls-verify and {key}' in str(err.value)
    doc["clusters"][0]["cluster"] = cluster(**insecure)
    assert load_kubectl_config(str(write(tmp_path / "c", doc))).insecure_skip_tls_verify
    # an http:// server has no TLS settings to contradict: kubectl accepts it, so do we
    doc["clusters"][0]["cluster"] = cluster("http://10.0.0.1:8080", **insecure, **{key: value})
    assert load_kubectl_config(str(write(tmp_path / "c", doc))).server == "http://10.0.0.1:8080"


def test_server_must_be_an_http_url(tmp_path: Path) -> None:
    for server in ("10.0.0.1:6443", "ftp://x", "https://", "https://x:notaport"):
        doc = basic_doc()
        doc["clusters"][0]["cluster"] = cluster(server)
        with pytest.raises(
            ConfigError, match=r'cluster "c1": server .* is not an http:// or https:// URL'
        ):
            load_kubectl_config(str(write(tmp_path / "c", doc)))


def in_a_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KT_SERVICEACCOUNT_DIR", str(service_account_dir(tmp_path)))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")


def test_kubectl_order_kubeconfig_first_then_in_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no kubeconfig anywhere and not in a pod: one clear error
    with pytest.raises(ConfigError, match=r"none found \(looked for .*\.kube/config\)"):
        load_kubectl_config()
    in_a_pod(tmp_path, monkeypatch)
    assert load_kubectl_config().source == "in-cluster"
    assert load_kubectl_config().namespace == "shop"
    monkeypatch.setenv("POD_NAMESPACE", "from-downward-api")
    assert load_kubectl_config().namespace == "from-downward-api"
    # ~/.kube/config wins over in-cluster for kubectl (and the plugin)...
    home = write(tmp_path / "home" / ".kube" / "config", basic_doc())
    assert load_kubectl_config().context == "dev"
    # ...but not for the runner in a pod, unless asked
    assert load_config().source == "in-cluster"
    assert load_config(str(home)).context == "dev"
    assert load_config(context="dev").context == "dev"
    # a kubeconfig that chooses no context falls back to in-cluster, as kubectl does
    doc = basic_doc()
    del doc["current-context"]
    no_current = write(tmp_path / "no-current", doc)
    assert load_kubectl_config(str(no_current)).source == "in-cluster"
    assert load_kubectl_config(str(no_current), context="dev").context == "dev"
    # a context that does not exist is an error, never a silent fallback
    with pytest.raises(ConfigError, match='context "nope" not found'):
        load_kubectl_config(context="nope")
    # the KUBECONFIG list is used when set; all of it missing means in-cluster
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    assert load_kubectl_config().source == "in-cluster"


def test_impersonation_fields_become_headers(tmp_path: Path) -> None:
    doc = basic_doc()
    doc["users"][0]["user"].update(
        {
            "as": "jane",
            "as-uid": "1234",
            "as-groups": ["dev", "ops"],
            "as-user-extra": {"scopes": ["view", "edit"], "odd key/é": "x"},
        }
    )
    cfg = load_kubectl_config(str(write(tmp_path / "c", doc)))
    assert cfg.impersonate[:4] == (
        ("Impersonate-User", "jane"),
        ("Impersonate-Uid", "1234"),
        ("Impersonate-Group", "dev"),
        ("Impersonate-Group", "ops"),
    )
    # extra keys are %-escaped as client-go escapes them; values keep their order
    extra = [h for h in cfg.impersonate[4:] if h[0] == "Impersonate-Extra-scopes"]
    assert extra == [("Impersonate-Extra-scopes", "view"), ("Impersonate-Extra-scopes", "edit")]
    assert ("Impersonate-Extra-odd%20key%2F%C3%A9", "x") in cfg.impersonate
    assert "impersonate='jane'" in repr(cfg)
    del doc["users"][0]["user"]["as"]
    with pytest.raises(ConfigError, match='user "u1" sets as-uid, as-groups or as-user-extra'):
        load_kubectl_config(str(write(tmp_path / "c", doc)))


def test_client_certificate_without_a_key_is_refused(tmp_path: Path) -> None:
    doc = basic_doc()
    doc["users"][0]["user"] = {"client-certificate-data": b64(CERT_PEM)}
    with pytest.raises(ConfigError, match='user "u1" has a client certificate but no client-key'):
        load_kubectl_config(str(write(tmp_path / "c", doc)))


# --- proxies -----------------------------------------------------------------------------


def test_proxy_url_applies_even_to_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "*")
    doc = basic_doc()
    doc["clusters"][0]["cluster"]["proxy-url"] = "http://alice:pa%3Ass@proxy.example:3128"
    cfg = load_kubectl_config(str(write(tmp_path / "c", doc)))
    assert cfg.proxy is not None
    assert (cfg.proxy.address, cfg.proxy.username, cfg.proxy.password) == (
        "http://proxy.example:3128",
        "alice",
        "pa:ss",
    )
    assert "pa:ss" not in repr(cfg) and "alice" not in repr(cfg)
    assert "proxy='http://proxy.example:3128'" in repr(cfg)
    for url, port in (("socks5://s.example", 1080), ("https://p.example", 443)):
        doc["clusters"][0]["cluster"]["proxy-url"] = url
        proxy = load_kubectl_config(str(write(tmp_path / "c", doc))).proxy
        assert proxy is not None and proxy.port == port


def test_bad_proxy_url_is_refused_without_echoing_it(tmp_path: Path) -> None:
    doc = basic_doc()
    doc["clusters"][0]["cluster"]["proxy-url"] = "ftp://bob:hunter2@proxy.example"
    with pytest.raises(ConfigError) as err:
        load_kubectl_config(str(write(tmp_path / "c", doc)))
    assert 'cluster "c1": invalid proxy-url: unsupported scheme "ftp"' in str(err.value)
    assert "hunter2" not in str(err.value)


def test_proxy_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = basic_doc()
    doc["clusters"][0]["cluster"]["server"] = "https://api.example:6443"
    path = str(write(tmp_path / "c", doc))
    assert load_kubectl_config(path).proxy is None
    monkeypatch.setenv("HTTP_PROXY", "http://plain.example:1")  # only for http:// servers
    assert load_kubectl_config(path).proxy is None
    monkeypatch.setenv("https_proxy", "lower.example:3128")  # no scheme: http://
    proxy = load_kubectl_config(path).proxy
    assert proxy is not None and proxy.address == "http://lower.example:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://upper.example:8080")  # upper case first
    proxy = load_kubectl_config(path).proxy
    assert proxy is not None and proxy.address == "http://upper.example:8080"
    monkeypatch.setenv("no_proxy", "api.example")
    assert load_kubectl_config(path).proxy is None
    monkeypatch.setenv("NO_PROXY", "other.example")  # upper case first here too
    assert load_kubectl_config(path).proxy is not None
    # a cluster's proxy-url wins over the environment and NO_PROXY
    doc["clusters"][0]["cluster"]["proxy-url"] = "http://own.example:1"
    monkeypatch.setenv("NO_PROXY", "*")
    proxy = load_kubectl_config(str(write(tmp_path / "c", doc))).proxy
    assert proxy is not None and proxy.host == "own.example"


def test_in_cluster_honours_the_proxy_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_a_pod(tmp_path, monkeypatch)
    assert in_cluster_config().proxy is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    proxy = in_cluster_config().proxy
    assert proxy is not None and proxy.host == "proxy.example"
    monkeypatch.setenv("NO_PROXY", "10.96.0.0/12")
    assert in_cluster_config().proxy is None


# --- token files -----------------------------------------------------------------------


def test_token_file_is_reread_and_last_good_value_kept(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    source = TokenFileSource(str(token), refresh=3600)
    assert source.get().token == "first"
    token.write_text("second")
    assert source.get().token == "first"  # cached within the refresh period
    source.invalidate()
    assert source.get().token == "second"
    fast = TokenFileSource(str(token), refresh=0)
    assert fast.get().token == "second"
    token.write_text("third")
    assert fast.get().token == "third"
    token.unlink()
    assert fast.get().token == "third"  # a vanished file keeps the last good token


def test_token_file_missing_from_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read token file"):
        TokenFileSource(str(tmp_path / "none")).get()
    assert TokenFileSource(str(tmp_path / "none"), fallback="static").get().token == "static"


def test_token_file_wins_over_token(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("from-file")
    cfg = ClientConfig(server="https://x", token="inline", token_file=str(tmp_path / "tok"))
    assert credential_source(cfg).get().token == "from-file"


# --- exec plugins ----------------------------------------------------------------------


def exec_plugin_script(tmp_path: Path) -> Path:
    """A plugin printing an ExecCredential; behaviour driven by env, runs counted in a file."""
    script = tmp_path / "bin" / "cred-plugin"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import datetime, json, os, sys
            runs = os.environ["RUNS_FILE"]
            with open(runs, "a") as f:
                f.write("x")
            n = len(open(runs).read())
            info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
            if os.environ.get("FAIL"):
                print("plugin: login required", file=sys.stderr)
                sys.exit(3)
            status = {{"token": f"tok-{{n}}-{{os.environ['EXTRA']}}-{{len(sys.argv) - 1}}"}}
            ttl = float(os.environ.get("TTL", "0"))
            if ttl:
                exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=ttl)
                status["expirationTimestamp"] = exp.strftime("%Y-%m-%dT%H:%M:%SZ")
            if info.get("spec", {{}}).get("cluster"):
                status["token"] += "-" + info["spec"]["cluster"]["server"]
            print(json.dumps({{"apiVersion": info["apiVersion"], "kind": "ExecCredential",
                              "status": status}}))
            """
        )
    )
    script.chmod(0o755)
    return script


def exec_kubeconfig(tmp_path: Path, **exec_fields: Any) -> ClientConfig:
    exec_plugin_script(tmp_path)
    spec: dict[str, Any] = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "./bin/cred-plugin",  # relative to the kubeconfig's directory
        "args": ["a", "b"],
        "env": [
            {"name": "RUNS_FILE", "value": str(tmp_path / "runs")},
            {"name": "EXTRA", "value": "e"},
        ],
        "installHint": "install cred-plugin from example.invalid",
    }
    spec.update(exec_fields)
    doc = basic_doc()
    doc["users"][0]["user"] = {"exec": spec}
    return load_kubeconfig(str(write(tmp_path / "config", doc)))


def runs(tmp_path: Path) -> int:
    return len((tmp_path / "runs").read_text())


def test_exec_plugin_token_cached_without_expiry(tmp_path: Path) -> None:
    cfg = exec_kubeconfig(tmp_path)
    assert cfg.exec_plugin is not None
    assert cfg.exec_plugin.command == str(tmp_path.resolve() / "bin" / "cred-plugin")
    source = credential_source(cfg)
    assert isinstance(source, ExecSource)
    assert source.get().token == "tok-1-e-2"
    assert source.get().token == "tok-1-e-2"
    assert runs(tmp_path) == 1
    source.invalidate()  # after a 401
    assert source.get().token == "tok-2-e-2"


def test_exec_plugin_rerun_when_expired(tmp_path: Path) -> None:
    # expiring within the refresh skew counts as expired
    cfg = exec_kubeconfig(
        tmp_path,
        env=[
            {"name": "RUNS_FILE", "value": str(tmp_path / "runs")},
            {"name": "EXTRA", "value": "e"},
            {"name": "TTL", "value": "2"},
        ],
    )
    source = credential_source(cfg)
    first = source.get()
    assert first.expires_at is not None and first.expires_at > time.time()
    assert source.get().token == "tok-2-e-2"
    long_lived = exec_kubeconfig(
        tmp_path / "long",
        env=[
            {"name": "RUNS_FILE", "value": str(tmp_path / "long" / "runs")},
            {"name": "EXTRA", "value": "e"},
            {"name": "TTL", "value": "3600"},
        ],
    )
    source = credential_source(long_lived)
    assert source.get().token == source.get().token == "tok-1-e-2"


def test_exec_plugin_cluster_info(tmp_path: Path) -> None:
    cfg = exec_kubeconfig(tmp_path, provideClusterInfo=True)
    assert credential_source(cfg).get().token == "tok-1-e-2-https://127.0.0.1:6443"


def test_exec_plugin_cluster_info_carries_the_proxy_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As client-go: the kubeconfig's proxy-url as written; a proxy from HTTPS_PROXY is not."""
    script = tmp_path / "echo-proxy"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "token = info['spec']['cluster'].get('proxy-url', 'none')\n"
        "print(json.dumps({'apiVersion': info['apiVersion'], 'kind': 'ExecCredential',\n"
        "                  'status': {'token': token}}))\n"
    )
    script.chmod(0o755)
    doc = basic_doc()
    doc["clusters"][0]["cluster"]["server"] = "https://api.example:6443"
    doc["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": str(script),
            "provideClusterInfo": True,
        }
    }
    path = write(tmp_path / "c", doc)
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.example:3128")
    assert credential_source(load_kubectl_config(str(path))).get().token == "none"
    doc["clusters"][0]["cluster"]["proxy-url"] = "socks5://u:p@proxy.example:1080"
    path = write(tmp_path / "c", doc)
    token = credential_source(load_kubectl_config(str(path))).get().token
    assert token == "socks5://u:p@proxy.example:1080"


def test_exec_plugin_failure_is_clear(tmp_path: Path) -> None:
    cfg = exec_kubeconfig(
        tmp_path,
        env=[
            {"name": "RUNS_FILE", "value": str(tmp_path / "runs")},
            {"name": "FAIL", "value": "1"},
        ],
    )
    with pytest.raises(ConfigError) as err:
        credential_source(cfg).get()
    message = str(err.value)
    assert "exited with status 3" in message
    assert "login required" in message
    assert "install cred-plugin" in message


def test_exec_plugin_not_found_and_api_version_mismatch(tmp_path: Path) -> None:
    cfg = exec_kubeconfig(tmp_path, command="no-such-plugin-xyz")
    with pytest.raises(ConfigError, match="was not found"):
        credential_source(cfg).get()
    script = tmp_path / "wrong"
    script.write_text(
        '#!/bin/sh\necho \'{"apiVersion": "client.authentication.k8s.io/v1", '
        '"kind": "ExecCredential", "status": {"token": "t"}}\'\n'
    )
    script.chmod(0o755)
    cfg = exec_kubeconfig(tmp_path, command=str(script))
    with pytest.raises(
        ConfigError, match=re.escape("expected 'client.authentication.k8s.io/v1beta1'")
    ):
        credential_source(cfg).get()


def test_exec_plugin_client_certificate(tmp_path: Path) -> None:
    script = tmp_path / "certs"
    status = {"clientCertificateData": CERT_PEM, "clientKeyData": KEY_PEM}
    doc = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": status,
    }
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(doc)}\nEOF\n")
    script.chmod(0o755)
    cfg = exec_kubeconfig(
        tmp_path, command=str(script), apiVersion="client.authentication.k8s.io/v1"
    )
    cred = credential_source(cfg).get()
    assert cred.token is None
    assert cred.cert_data == CERT_PEM and cred.key_data == KEY_PEM
    assert KEY_PEM not in repr(cred)
    settings = tls_settings(cfg, cred.cert_data, cred.key_data)
    assert Path(settings["key_file"]).read_text() == KEY_PEM


def _repo() -> str:
    return str(Path(__file__).resolve().parents[2])


def test_importing_runner_kube_stays_light() -> None:
    code = (
        "import sys, runner.kube, runner.kube.client\n"
        "heavy = ('yaml', 'subprocess', 'kubernetes', 'requests', 'urllib3', 'tempfile')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=_repo()
    )
    assert out.stdout.strip() == "[]"

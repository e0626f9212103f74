"""The cluster a command talks to, from kubectl's global flags.

``--kubeconfig`` (else every file in ``KUBECONFIG``, else ~/.kube/config, else
the pod's ServiceAccount: kubectl's order, ``runner.kube.config.load_kubectl_config``),
``--context`` and ``-n/--namespace`` (else the context's namespace, else
``default``) resolve here, once, lazily: commands that work offline (render,
validate, test) never load a kubeconfig unless they need one.

The plugin's own kinds are known statically (``KINDS``), so ``get`` costs one
request and no discovery; discovery is only for kinds a spec names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner import API_GROUP

if TYPE_CHECKING:
    from runner.kube.client import KubeClient
    from runner.kube.config import ClientConfig
    from runner.kube.discovery import ResourceInfo

#: kind -> (group, version, plural, namespaced, subresources) of the kinds the plugin manages.
KINDS: dict[str, tuple[str, str, str, bool, tuple[str, ...]]] = {
    "Trigger": (API_GROUP, "v1alpha1", "triggers", True, ("status",)),
    "ClusterTrigger": (API_GROUP, "v1alpha1", "clustertriggers", False, ("status",)),
    "TriggerTemplate": (API_GROUP, "v1alpha1", "triggertemplates", True, ()),
    "ServiceAccount": ("", "v1", "serviceaccounts", True, ("token",)),
    "Pod": ("", "v1", "pods", True, ("log", "status")),
    "Event": ("", "v1", "events", True, ()),
    "Namespace": ("", "v1", "namespaces", False, ()),
    "Deployment": ("apps", "v1", "deployments", True, ("status", "scale")),
    "ReplicaSet": ("apps", "v1", "replicasets", True, ("status", "scale")),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True, ()),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True, ()),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False, ()),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False, ()),
    "ValidatingAdmissionPolicy": (
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        False,
        ("status",),
    ),
    "ValidatingAdmissionPolicyBinding": (
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        False,
        (),
    ),
    "CustomResourceDefinition": (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        False,
        ("status",),
    ),
}

#: The kinds ``delete`` and ``apply`` look for when finding a Trigger's derived objects.
DERIVED_KINDS = (
    "Deployment",
    "RoleBinding",
    "Role",
    "ClusterRoleBinding",
    "ClusterRole",
    "ServiceAccount",
)


def known(kind: str) -> ResourceInfo:
    """The ResourceInfo of one of the plugin's own kinds, without discovery."""
    group, version, plural, namespaced, subresources = KINDS[kind]
    api_version = f"{group}/{version}" if group else version
    return resource_info(api_version, kind, plural, namespaced, subresources)


def resource_info(
    api_version: str, kind: str, plural: str, namespaced: bool, subresources: tuple[str, ...] = ()
) -> ResourceInfo:
    """A ResourceInfo built from known facts instead of discovery."""
    from runner.kube.discovery import ResourceInfo

    group, _, version = api_version.rpartition("/")
    return ResourceInfo(
        group=group,
        version=version,
        api_version=api_version,
        kind=kind,
        plural=plural,
        namespaced=namespaced,
        verbs=frozenset({"get", "list", "watch", "create", "update", "patch", "delete"}),
        subresources=frozenset(subresources),
    )


@dataclass
class Session:
    """Global flags, resolved on first use."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace_flag: str | None = None
    _config: ClientConfig | None = field(default=None, repr=False)
    _client: KubeClient | None = field(default=None, repr=False)

    @property
    def config(self) -> ClientConfig:
        """Where the cluster is and who we are there, found as kubectl finds it."""
        if self._config is None:
            from kubectl_trigger.errors import translated
            from runner.kube.config import load_kubectl_config

            with translated():
                self._config = _impersonating(load_kubectl_config(self.kubeconfig, self.context))
        return self._config

    @property
    def client(self) -> KubeClient:
        """The API client (loads the kubeconfig on first use)."""
        if self._client is None:
            from runner.kube.client import KubeClient

            self._client = KubeClient(self.config)
        return self._client

    @property
    def namespace(self) -> str:
        """-n, else the kubeconfig context's namespace (in a pod: the pod's), else ``default``."""
        if self.namespace_flag:
            return self.namespace_flag
        return self.config.namespace or "default"

    def offline_namespace(self) -> str:
        """Like ``namespace``, but ``default`` when no kubeconfig can be loaded."""
        if self.namespace_flag:
            return self.namespace_flag
        from kubectl_trigger.errors import PluginError

        try:
            return self.namespace
        except PluginError:
            return "default"


def items(pages: Any) -> Iterator[dict[str, Any]]:
    """The objects of ``client.list_pages(...)``, whatever one page looks like."""
    for page in pages:
        if isinstance(page, Mapping):
            yield from page.get("items") or []
        else:
            yield from page


def _impersonating(config: ClientConfig) -> ClientConfig:
    """``config`` acting as the user --as names, when it does (the flags beat the kubeconfig)."""
    import dataclasses

    from kubectl_trigger import impersonation

    headers = impersonation.current.headers()
    return dataclasses.replace(config, impersonate=headers) if headers else config

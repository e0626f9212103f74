"""The controlled namespace where ClusterTriggers' runners, ServiceAccounts and Secrets live.

``kubectl trigger install --system-namespace NAME`` creates it and records its
name in an annotation on the ClusterTrigger CRD, where every command (and every
user of the cluster) finds the same answer without a flag. Only people trusted
there can reach a ClusterTrigger's rights, so it is the one place cluster
admins must guard (docs/spec.md, "Security model").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubectl_trigger import naming, session
from kubectl_trigger.errors import NotFoundError, translated
from runner import API_GROUP

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

CRD_NAME = f"clustertriggers.{API_GROUP}"


def read(client: KubeClient) -> str:
    """The recorded controlled namespace; NotFound (exit 3) when install never ran."""
    from runner.kube import errors as kube_errors

    with translated(f"read {CRD_NAME}"):
        try:
            crd = client.get(session.known("CustomResourceDefinition"), CRD_NAME)
        except kube_errors.NotFound:
            raise NotFoundError(
                "the ClusterTrigger CRD is not installed in this cluster; "
                "run: kubectl trigger install"
            ) from None
    annotations = (crd.get("metadata") or {}).get("annotations") or {}
    return str(
        annotations.get(naming.ANNOTATION_SYSTEM_NAMESPACE) or naming.DEFAULT_SYSTEM_NAMESPACE
    )

"""Reads the Kubernetes kinds the audit needs from a live API server, as `kubectl get <kind> -A -o json`.

Each kind is listed in pages (`limit=500`, following `continue`) through lightkube, and returned as the
document kubectl would print: `{"apiVersion": "v1", "kind": "List", "items": [...], "metadata":
{"resourceVersion": ""}}` with `apiVersion` and `kind` on every item. The items are the server's JSON
untouched: lightkube's typed models would drop fields they do not know, so each kind is listed through an
unregistered generic resource, which keeps the wire dict. Sits in observe/: it only translates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import GenericGlobalResource, GenericNamespacedResource, create_api_info

from nodewarden.errors import AuthenticationError, InputError, PermissionDeniedError, UnreachableError

CHUNK_SIZE = 500  # kubectl's own page size for `get` (--chunk-size default)
# Where a 403 sends the user: one role file per job, each exactly what its commands use (tests/live/least_privilege.py).
ROLE_FILES = (
    "deploy/base/rbac/controller.yaml for run, operator.yaml for node, watch, plan and incidents, auditor.yaml for "
    "collect and audit --live; deploy/overlays/drill/rbac.yaml for drill run"
)


@dataclass(frozen=True, slots=True)
class KubeExport:
    """One kind the audit reads, under the name the README's export loop gives it (`kubectl get <name>`)."""

    name: str
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    optional: bool = False  # an add-on's CRD (Velero): a cluster without it simply has none

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def file_name(self) -> str:
        return f"k8s-{self.name}.json"


# In the README's order; `hpa` is autoscaling/v2 as current kubectl prints it.
KUBE_EXPORTS: tuple[KubeExport, ...] = (
    KubeExport("deployments", "apps", "v1", "Deployment", "deployments"),
    KubeExport("statefulsets", "apps", "v1", "StatefulSet", "statefulsets"),
    KubeExport("daemonsets", "apps", "v1", "DaemonSet", "daemonsets"),
    KubeExport("pods", "", "v1", "Pod", "pods"),
    KubeExport("pdb", "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    KubeExport("hpa", "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    KubeExport("namespaces", "", "v1", "Namespace", "namespaces", namespaced=False),
    KubeExport("resourcequotas", "", "v1", "ResourceQuota", "resourcequotas"),
    KubeExport("limitranges", "", "v1", "LimitRange", "limitranges"),
    KubeExport("priorityclasses", "scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", namespaced=False),
    KubeExport("networkpolicies", "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"),
    KubeExport("storageclasses", "storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False),
    KubeExport("pvc", "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    KubeExport("services", "", "v1", "Service", "services"),
    KubeExport("endpointslices", "discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    KubeExport("nodes", "", "v1", "Node", "nodes", namespaced=False),
    KubeExport("velero-schedules", "velero.io", "v1", "Schedule", "schedules", optional=True),
)


@dataclass(frozen=True, slots=True)
class KubeList:
    """What one `kubectl get <kind> -A -o json` would print, or why there is nothing (`skipped`)."""

    export: KubeExport
    document: dict[str, Any] | None
    skipped: str = ""


def list_exports(client: Client, exports: tuple[KubeExport, ...] = KUBE_EXPORTS) -> Iterator[KubeList]:
    """Every kind in `exports`, listed across all namespaces; kinds the server does not serve are skipped."""
    for export in exports:
        try:
            items = list_items(client, export)
        except ApiError as exc:
            if exc.status.code == 404 and export.optional:
                yield KubeList(
                    export, None, skipped=f"{export.api_version} {export.plural}: not served by this cluster"
                )
                continue
            raise translate_api_error(exc, verb="list", resource=export.plural, group=export.group) from exc
        except httpx2.TransportError as exc:
            raise translate_transport_error(exc) from exc
        yield KubeList(export, kubectl_list(items))


def list_items(client: Client, export: KubeExport) -> list[dict[str, Any]]:
    """One kind, all namespaces, page by page; each item as the server sent it, plus apiVersion and kind."""
    resource = resource_type(export)
    if export.namespaced:
        listed = client.list(resource, namespace="*", chunk_size=CHUNK_SIZE)
    else:
        listed = client.list(resource, chunk_size=CHUNK_SIZE)
    items: list[dict[str, Any]] = []
    for obj in listed:
        item = dict(obj)
        # kubectl sets both on each item of a List (the server leaves them off items in a typed list).
        item["apiVersion"] = export.api_version
        item["kind"] = export.kind
        items.append(item)
    return items


def kubectl_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The envelope kubectl prints around `get -o json` results (its resourceVersion is always empty)."""
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


_RESOURCES: dict[KubeExport, type[Any]] = {}


def resource_type(export: KubeExport) -> type[Any]:
    """A generic resource class for `export`, deliberately not registered with lightkube: the typed model
    for the same kind stays what the rest of lightkube (and the act adapters) resolve."""
    if export not in _RESOURCES:
        base: type[Any] = GenericNamespacedResource if export.namespaced else GenericGlobalResource
        api_info = create_api_info(export.group, export.version, export.kind, export.plural)
        _RESOURCES[export] = type(export.kind, (base,), {"_api_info": api_info})
    return _RESOURCES[export]


# -- errors at the boundary ------------------------------------------------------------------------------


def translate_api_error(exc: ApiError, *, verb: str, resource: str, group: str = "") -> InputError:
    """A Kubernetes Status as one line naming what to fix: 401 credentials, 403 the verb and resource."""
    status = exc.status
    code = status.code or (exc.response.status_code if exc.response is not None else 0)
    server = _server_of(exc)
    message = (status.message or status.reason or "").strip()
    qualified = f"{resource}.{group}" if group else resource
    if code == 401:
        return AuthenticationError(
            f"{server} rejected the credentials (401 Unauthorized): the kubeconfig's token or certificate is "
            "missing, wrong or expired; refresh it (az aks get-credentials) or pass another --kubeconfig"
        )
    if code == 403:
        return PermissionDeniedError(
            f"Kubernetes denied {verb} on {qualified} (403 Forbidden): {message or 'no reason given'}; "
            f"grant '{verb}' on '{qualified}' to this identity, in the role of the job it does ({ROLE_FILES})"
        )
    return InputError(f"{server} answered {code} {status.reason or ''} to {verb} {qualified}: {message}".rstrip(": "))


def translate_transport_error(exc: httpx2.TransportError) -> UnreachableError:
    """Connection refused, DNS, timeout or TLS: which server, and what went wrong, in one line."""
    server = _server_of(exc)
    reason = _first_line(str(exc)) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in reason:
        return UnreachableError(
            f"cannot reach {server}: its TLS certificate is not trusted (check certificate-authority in the kubeconfig)"
        )
    return UnreachableError(f"cannot reach {server}: {reason} (check the kubeconfig's server address)")


def _server_of(exc: httpx2.HTTPError) -> str:
    try:
        url = exc.request.url
    except RuntimeError:  # httpx raises when the error carries no request
        return "the Kubernetes API server"
    return f"the Kubernetes API server {url.scheme}://{url.netloc.decode('ascii', 'replace')}"


def _first_line(text: str) -> str:
    return re.split(r"[\r\n]", text.strip(), maxsplit=1)[0] if text.strip() else ""

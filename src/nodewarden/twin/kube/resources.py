"""The resource table: every kind the twin's API server knows, as discovery and routing need it.

One row per (group, version, plural). Rows that share `storage` are two views of the same objects
(core/v1 and events.k8s.io/v1 Events, policy/v1 and v1beta1 PodDisruptionBudgets), like the real
apiserver's storage versions. `RESOURCES` are the built-in kinds; a `Registry` (one per store) adds
the served versions of each CustomResourceDefinition while it exists (`crds.resource_types`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class CustomVersion:
    """What a served CRD version adds to its row: the structural schema and the printer columns."""

    crd: str  # the CustomResourceDefinition's name, <plural>.<group>
    schema: dict[str, Any]  # openAPIV3Schema; {} when the version has none
    printer_columns: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ResourceType:
    plural: str
    kind: str
    group: str  # "" for the core group
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    has_status: bool = False  # a /status subresource: the main endpoint ignores status changes
    storage: str = ""  # the store's key; defaults to the plural
    categories: tuple[str, ...] = ()
    custom: CustomVersion | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return self.storage or self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


def _r(
    plural: str,
    kind: str,
    group_version: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    status: bool = False,
    storage: str = "",
    categories: tuple[str, ...] = (),
) -> ResourceType:
    group, _, version = group_version.rpartition("/")
    return ResourceType(plural, kind, group, version, namespaced, short, status, storage, categories)


RESOURCES: tuple[ResourceType, ...] = (
    _r("namespaces", "Namespace", "v1", namespaced=False, short=("ns",), status=True),
    _r("nodes", "Node", "v1", namespaced=False, short=("no",), status=True),
    _r("pods", "Pod", "v1", short=("po",), status=True, categories=("all",)),
    _r("events", "Event", "v1", short=("ev",)),
    _r("services", "Service", "v1", short=("svc",), status=True, categories=("all",)),
    _r("persistentvolumeclaims", "PersistentVolumeClaim", "v1", short=("pvc",), status=True),
    _r("persistentvolumes", "PersistentVolume", "v1", namespaced=False, short=("pv",), status=True),
    _r("resourcequotas", "ResourceQuota", "v1", short=("quota",), status=True),
    _r("limitranges", "LimitRange", "v1", short=("limits",)),
    _r("leases", "Lease", "coordination.k8s.io/v1"),
    # what an install tree holds besides workloads (deploy/): stored and served, no controller acts on them
    _r("serviceaccounts", "ServiceAccount", "v1", short=("sa",)),
    _r("configmaps", "ConfigMap", "v1", short=("cm",)),
    _r("secrets", "Secret", "v1"),
    _r("clusterroles", "ClusterRole", "rbac.authorization.k8s.io/v1", namespaced=False),
    _r("clusterrolebindings", "ClusterRoleBinding", "rbac.authorization.k8s.io/v1", namespaced=False),
    _r("roles", "Role", "rbac.authorization.k8s.io/v1"),
    _r("rolebindings", "RoleBinding", "rbac.authorization.k8s.io/v1"),
    _r("cronjobs", "CronJob", "batch/v1", short=("cj",), status=True, categories=("all",)),
    _r("deployments", "Deployment", "apps/v1", short=("deploy",), status=True, categories=("all",)),
    _r("replicasets", "ReplicaSet", "apps/v1", short=("rs",), status=True, categories=("all",)),
    _r("statefulsets", "StatefulSet", "apps/v1", short=("sts",), status=True, categories=("all",)),
    _r("daemonsets", "DaemonSet", "apps/v1", short=("ds",), status=True, categories=("all",)),
    _r("poddisruptionbudgets", "PodDisruptionBudget", "policy/v1", short=("pdb",), status=True),
    _r(
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        "policy/v1beta1",
        short=("pdb",),
        status=True,
        storage="poddisruptionbudgets",
    ),
    _r("horizontalpodautoscalers", "HorizontalPodAutoscaler", "autoscaling/v2", short=("hpa",), status=True),
    _r(
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        "autoscaling/v1",
        short=("hpa",),
        status=True,
        storage="horizontalpodautoscalers",
    ),
    _r("networkpolicies", "NetworkPolicy", "networking.k8s.io/v1", short=("netpol",)),
    _r("storageclasses", "StorageClass", "storage.k8s.io/v1", namespaced=False, short=("sc",)),
    _r("volumeattachments", "VolumeAttachment", "storage.k8s.io/v1", namespaced=False, status=True),
    _r("priorityclasses", "PriorityClass", "scheduling.k8s.io/v1", namespaced=False, short=("pc",)),
    _r("endpointslices", "EndpointSlice", "discovery.k8s.io/v1"),
    _r("events", "Event", "events.k8s.io/v1", short=("ev",), storage="events"),
    _r(
        "customresourcedefinitions",
        "CustomResourceDefinition",
        "apiextensions.k8s.io/v1",
        namespaced=False,
        short=("crd", "crds"),
        status=True,
    ),
)


class Registry:
    """The kinds one API server serves now: the built-ins, plus each established CRD's served versions."""

    def __init__(self) -> None:
        self._custom: dict[str, tuple[ResourceType, ...]] = {}
        self._rows: tuple[ResourceType, ...] = RESOURCES

    @property
    def rows(self) -> tuple[ResourceType, ...]:
        return self._rows

    def set_custom(self, crd: str, rows: tuple[ResourceType, ...]) -> None:
        """Serve `rows` for the CRD named `crd` (replacing what it served before)."""
        self._custom[crd] = rows
        self._rows = RESOURCES + tuple(row for custom in self._custom.values() for row in custom)

    def drop_custom(self, crd: str) -> None:
        self._custom.pop(crd, None)
        self._rows = RESOURCES + tuple(row for custom in self._custom.values() for row in custom)

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        for row in self._rows:
            if row.group == group and row.version == version and row.plural == plural:
                return row
        return None

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return next((row for row in self._rows if row.api_version == api_version and row.kind == kind), None)

    def served(self, group: str, version: str) -> list[ResourceType]:
        return [row for row in self._rows if row.group == group and row.version == version]

    def storage_keys(self) -> tuple[str, ...]:
        """Each storage key once, in table order."""
        return tuple(dict.fromkeys(row.key for row in self._rows))

    def storage_type(self, key: str) -> ResourceType:
        """The row a store key keeps its objects as (the first row naming it); KeyError names the unknown resource."""
        for row in self._rows:
            if row.key == key:
                return row
        raise KeyError(f"unknown resource {key!r}; known: {', '.join(self.storage_keys())}")

    def group_versions(self) -> dict[str, list[str]]:
        """Served versions per group, in discovery order (the first is the preferred one)."""
        groups: dict[str, list[str]] = {}
        for row in self._rows:
            versions = groups.setdefault(row.group, [])
            if row.version not in versions:
                versions.append(row.version)
        return groups

"""Every audit threshold, with its default and where the default comes from.

Overridable under `audit.params` in the config file (`--config`). Unknown names are an error.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field


@cache
def _data(name: str) -> list[str]:
    text = resources.files("nodewarden.audit.data").joinpath(name).read_text(encoding="utf-8")
    value = json.loads(text)
    return list(value["regions"]) if isinstance(value, dict) else list(value)


def _zone_regions() -> list[str]:
    return _data("zone_regions.json")


# Upper bounds, so a typo (or a hostile file) is refused naming the field instead of failing every pool.
MOST_ZONES = 3  # Azure regions have at most three availability zones
MOST_NODES = 5000  # AKS: nodes per cluster
MOST_VCPUS = 1024  # above the largest Azure VM size
MOST_WINDOW_HOURS = 24  # AKS maintenance windows last 4 to 24 hours
MOST_DAYS = 3650
MOST_PODS_PER_NODE = 250  # AKS: maxPods per node
MOST_REPLICAS = 10_000

DEFAULT_SYSTEM_NAMESPACES = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "gatekeeper-system",
    "calico-system",
    "tigera-operator",
    "app-routing-system",
    "aks-command",
    "dataprotection-microsoft",
    "azure-extensions-usage-system",
    "kube-flannel",
]


class AuditParams(BaseModel):
    """Thresholds the rules read. Each default names its source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zone_regions: list[str] = Field(
        default_factory=_zone_regions,
        description="Regions with availability zones (HA001, WL007, WL011). Source: APRL 4f63619f list.",
    )
    min_zones: int = Field(
        2, ge=1, le=MOST_ZONES, description="Fewest zones a pool should span (HA001). PSRule AvailabilityZone."
    )
    min_system_nodes: int = Field(
        3,
        ge=1,
        le=MOST_NODES,
        description="Recommended system capacity (HA005). PSRule MinNodeCount and WAF say 3; Advisor 2.",
    )
    min_system_nodes_hard: int = Field(
        2, ge=1, le=MOST_NODES, description="Below this HA005 is high, not medium. Advisor a9228ae7."
    )
    min_user_pool_nodes: int = Field(
        2, ge=1, le=MOST_NODES, description="Fewest nodes per user pool (HA006). WAF says 2."
    )
    recommended_user_pool_nodes: int = Field(
        3,
        ge=1,
        le=MOST_NODES,
        description="At or above min but below this, HA006 is low. PSRule MinUserPoolNodes says 3.",
    )
    excluded_user_pools: list[str] = Field(
        default_factory=list,
        description="User pools HA006 ignores (PSRule AZURE_AKS_POOL_MINIMUM_EXCLUDED_NAMES).",
    )
    system_pool_min_vcpus: int = Field(
        4, ge=1, le=MOST_VCPUS, description="vCPUs per system node (HA010). WAF recommends 4."
    )
    min_surge_percent: int = Field(33, ge=1, le=100, description="Smallest surge as a share of the pool (UP004).")
    maintenance_min_hours: int = Field(
        4, ge=1, le=MOST_WINDOW_HOURS, description="Shortest maintenance window (UP003). PSRule examples."
    )
    min_kubernetes_version: str = Field(
        "1.32.0",
        pattern=r"^\d+\.\d+(\.\d+)?$",
        description="Fallback for UP005 when no `az aks get-versions` is given.",
    )
    node_image_max_age_days: int = Field(45, ge=1, le=MOST_DAYS, description="Oldest acceptable node image (UP007).")
    min_max_pods: int = Field(
        50, ge=1, le=MOST_PODS_PER_NODE, description="Lowest acceptable maxPods (AS004). PSRule NodeMinPods."
    )
    autoscaling_exempt_spot: bool = Field(True, description="AS001 does not ask spot pools to autoscale.")
    autoscaling_exempt_gpu: bool = Field(True, description="AS001 does not ask GPU pools (N-series) to autoscale.")
    autoscaling_exempt_pools: list[str] = Field(default_factory=list, description="Pools AS001 ignores.")
    min_hpa_replicas: int = Field(
        2, ge=1, le=MOST_REPLICAS, description="Lowest HPA minReplicas (AS007). Polaris hpaMinAvailability."
    )
    min_replicas: int = Field(
        2, ge=1, le=MOST_REPLICAS, description="Fewest replicas per workload (WL001). kube-score."
    )
    require_cpu_limit: bool = Field(False, description="RG002 also asks for CPU limits (kube-score makes it optional).")
    system_namespaces: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SYSTEM_NAMESPACES),
        description="Namespaces owned by AKS or add-ons; workload and namespace rules skip them.",
    )
    min_ready_endpoints: int = Field(
        2, ge=1, le=MOST_REPLICAS, description="Fewest ready endpoints per Service (WL013)."
    )
    control_plane_log_categories: list[str] = Field(
        default_factory=lambda: [
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "cluster-autoscaler",
        ],
        description="Diagnostic log categories MON003 wants enabled. PSRule PlatformLogs.",
    )
    audit_log_categories: list[str] = Field(
        default_factory=lambda: ["kube-audit-admin", "guard"],
        description="Diagnostic log categories MON004 wants enabled. PSRule AuditAdmin.",
    )
    allowed_vmss_extensions: list[str] = Field(
        default_factory=list,
        description="Extra `publisher/type` VMSS extensions VM003 accepts on AKS scale sets besides the ones "
        "AKS installs (e.g. an agent your policy deploys on purpose).",
    )

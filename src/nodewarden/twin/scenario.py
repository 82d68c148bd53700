"""Scenarios: the cluster a twin starts as, in YAML — pools, workloads, settings and a fault schedule.

Validated with a schema whose errors name the field, like every other file nodewarden reads.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

BUILT_IN = ("small", "prod-3az", "large")


class ScenarioError(Exception):
    """A scenario file is missing, malformed or names a field that does not exist."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ClusterSpec(_Strict):
    name: str = "aks-twin"
    location: str = "westeurope"
    resource_group: str = Field("rg-twin", alias="resourceGroup")
    subscription_id: str = Field("00000000-0000-0000-0000-00000000c0de", alias="subscriptionId")
    tenant_id: str = Field("00000000-0000-0000-0000-0000000a11ce", alias="tenantId")
    kubernetes_version: str = Field("1.33.7", alias="kubernetesVersion")
    tier: Literal["Free", "Standard", "Premium"] = "Standard"


class PoolSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9]{0,11}$")
    mode: Literal["System", "User"] = "User"
    vm_size: str = Field("Standard_D4ds_v5", alias="vmSize")
    zones: list[str] = Field(default_factory=lambda: ["1", "2", "3"])
    count: int = Field(3, ge=0, le=5000)
    min_count: int | None = Field(None, alias="minCount", ge=0)
    max_count: int | None = Field(None, alias="maxCount", ge=1)
    autoscale: bool = False
    node_image_version: str = Field("AKSUbuntu-2204gen2containerd-202611.10.0", alias="nodeImageVersion")
    os_sku: str = Field("Ubuntu", alias="osSku")
    max_pods: int = Field(110, alias="maxPods", ge=10, le=250)
    taints: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    spot: bool = False
    eviction_policy: Literal["Delete", "Deallocate"] = Field("Delete", alias="evictionPolicy")  # Spot pools
    # AKS's default where the size's cache or temp disk holds it; such instances cannot be deallocated
    os_disk_type: Literal["Ephemeral", "Managed"] = Field("Ephemeral", alias="osDiskType")

    @field_validator("zones", mode="before")
    @classmethod
    def _zones_as_strings(cls, value: object) -> object:
        return [str(zone) for zone in value] if isinstance(value, list) else value


class VolumeSpec(_Strict):
    """One volumeClaimTemplate (`data`, ReadWriteOnce) for each pod of a StatefulSet."""

    storage_class: str = Field(alias="storageClass", description="managed-csi, managed-csi-premium-zrs, …")
    size: str = "32Gi"


class WorkloadSpec(_Strict):
    name: str
    namespace: str = "default"
    kind: Literal["Deployment", "StatefulSet", "DaemonSet"] = "Deployment"
    replicas: int = Field(2, ge=0)
    image: str = "registry.example/app:1.0.0"
    cpu: str = "100m"
    memory: str = "128Mi"
    pool: str | None = None
    spread: Literal["zone", "node", "none"] = "zone"
    min_available: int | str | None = Field(None, alias="minAvailable")
    max_unavailable: int | str | None = Field(None, alias="maxUnavailable")
    priority_class: str | None = Field(None, alias="priorityClass")
    copies: int = Field(1, ge=1, description="Stamp out this many workloads named <name>-<i>.")
    volume: VolumeSpec | None = None

    @field_validator("cpu", "memory", mode="before")
    @classmethod
    def _quantity_as_string(cls, value: object) -> object:
        """`cpu: 1` in YAML is an int; Kubernetes quantities are strings."""
        return str(value) if isinstance(value, (int, float)) else value

    namespaces: int = Field(1, ge=1, description="Spread copies over this many namespaces <namespace>-<i>.")

    @model_validator(mode="after")
    def _volume_needs_a_stateful_set(self) -> WorkloadSpec:
        if self.volume is not None and self.kind != "StatefulSet":
            raise ValueError(f"volume: only a StatefulSet gets volumeClaimTemplates, not a {self.kind}")
        return self


class ScheduledFault(_Strict):
    at: float = Field(ge=0, description="Seconds of twin time after start.")
    fault: str
    target: str | None = None
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)


class Scenario(_Strict):
    name: str
    description: str = ""
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    pools: list[PoolSpec]
    workloads: list[WorkloadSpec] = Field(default_factory=list)
    schedule: list[ScheduledFault] = Field(default_factory=list)
    auto_repair: bool = Field(False, alias="autoRepair")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or a scenario file."""
    if isinstance(name_or_path, str) and name_or_path in BUILT_IN:
        text = resources.files("nodewarden.twin.scenarios").joinpath(f"{name_or_path}.yaml").read_text("utf-8")
        source = f"scenario {name_or_path}"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ScenarioError(f"{path}: no such scenario file (built-in scenarios: {', '.join(BUILT_IN)})")
        text, source = path.read_text("utf-8"), str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: invalid YAML: {exc}") from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        raise ScenarioError(f"{source}: {field}: {error['msg']}") from exc

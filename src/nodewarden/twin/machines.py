"""What crosses between the Azure side and the Kubernetes side of the twin: a booted machine.

The Azure side (scale sets, instances, operations) calls the Kubernetes side when an instance has
booted or gone down; the Kubernetes side (kubelets, node controller, scheduler) never reaches into
Azure state. The world wires the two together.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MachineSpec:
    """Everything a kubelet on a booted VMSS instance registers its Node with."""

    node_name: str  # computer name: <vmss computerNamePrefix><instanceId in base 36, 6 digits>
    provider_id: str  # azure:///subscriptions/<sub>/resourceGroups/<nodeRG lower>/providers/Microsoft.Compute/...
    pool: str
    mode: str  # "system" | "user"
    region: str
    zone: str  # "<region>-<n>" for zonal pools, "0" (fault domain) otherwise
    vm_size: str
    image_version: str
    os_sku: str
    cpu_millis: int
    memory_mib: int
    max_pods: int
    kubelet_version: str
    taints: tuple[str, ...] = ()  # "key=value:Effect"
    spot: bool = False
    labels: dict[str, str] = field(default_factory=dict)  # extra node labels from the pool

"""How AKS names what it creates: scale sets, computer names, ARM ids, provider IDs, VM sizes.

Every name a real client parses is built here, once, so the scale-set side and the node side of the
twin cannot drift apart (kubernetes-sigs/cloud-provider-azure `azure_vmss.go`).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"

# Memory per vCPU by VM family letter(s): D = general purpose, E = memory, F = compute, B = burstable,
# M = large memory, L = storage. Good enough for requests-based scheduling in the twin.
_GIB_PER_VCPU = {"D": 4, "E": 8, "F": 2, "B": 4, "M": 28, "L": 8, "A": 2, "NC": 7, "ND": 14, "NV": 7}
_SIZE = re.compile(r"^Standard_(?P<family>[A-Z]+?)(?P<vcpus>\d+)", re.IGNORECASE)


def base36(number: int, *, width: int = 6) -> str:
    """The instance-id suffix of a VMSS computer name: base 36, lower case, zero-padded (`getScaleSetVMInstanceID`)."""
    digits = ""
    while True:
        number, remainder = divmod(number, 36)
        digits = _BASE36[remainder] + digits
        if number == 0:
            break
    return digits.rjust(width, "0")


def vm_capacity(vm_size: str) -> tuple[int, int]:
    """(cpu millicores, memory MiB) of a VM size, read from its name: `Standard_D4ds_v5` → 4 vCPU, 16 GiB."""
    match = _SIZE.match(vm_size)
    if match is None:
        return 2000, 8192
    family, vcpus = match["family"].upper(), int(match["vcpus"])
    per_vcpu = _GIB_PER_VCPU.get(family, _GIB_PER_VCPU.get(family[:1], 4))
    return vcpus * 1000, vcpus * per_vcpu * 1024


@dataclass(frozen=True)
class Scope:
    """Where a cluster lives in ARM, and every resource id derived from it."""

    subscription_id: str
    resource_group: str
    cluster_name: str
    location: str
    node_resource_group: str
    tenant_id: str

    @property
    def suffix(self) -> str:
        """The 8 digits AKS puts in every scale-set name of one cluster (aks-<pool>-<8 digits>-vmss)."""
        seed = f"{self.subscription_id}/{self.resource_group}/{self.cluster_name}".lower().encode()
        return f"{zlib.crc32(seed) % 100_000_000:08d}"

    @property
    def subscription(self) -> str:
        return f"/subscriptions/{self.subscription_id}"

    @property
    def cluster_id(self) -> str:
        return (
            f"{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.ContainerService/managedClusters/{self.cluster_name}"
        )

    def pool_id(self, pool: str) -> str:
        return f"{self.cluster_id}/agentPools/{pool}"

    def machine_id(self, pool: str, machine: str) -> str:
        return f"{self.pool_id(pool)}/machines/{machine}"

    def vmss_name(self, pool: str) -> str:
        return f"aks-{pool}-{self.suffix}-vmss"

    def vmss_id(self, vmss: str) -> str:
        return (
            f"{self.subscription}/resourceGroups/{self.node_resource_group}"
            f"/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}"
        )

    def vm_id(self, vmss: str, instance_id: int) -> str:
        return f"{self.vmss_id(vmss)}/virtualMachines/{instance_id}"

    def provider_id(self, vmss: str, instance_id: int) -> str:
        """The Node's spec.providerID: the node resource group lower-cased, as cloud-provider-azure writes it."""
        return (
            f"azure://{self.subscription}/resourceGroups/{self.node_resource_group.lower()}"
            f"/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}/virtualMachines/{instance_id}"
        )

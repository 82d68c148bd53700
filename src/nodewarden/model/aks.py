"""The AKS vocabulary every layer shares: node labels, instance keys, providerIDs and provisioning states.

AKS names the pieces of a node: its `spec.providerID` names the scale set and instance id, its labels
name the pool, zone and node image, and ARM resources carry a `provisioningState`. Detection, the
planner, the actions and incident ranking all read these facts; this module is their one definition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from nodewarden.model.azure import ScaleSetInstance

POOL_LABEL = "kubernetes.azure.com/agentpool"
LEGACY_POOL_LABEL = "agentpool"  # still set by AKS beside POOL_LABEL; older clusters have only this one
ZONE_LABEL = "topology.kubernetes.io/zone"
IMAGE_LABEL = "kubernetes.azure.com/node-image-version"
MODE_LABEL = "kubernetes.azure.com/mode"  # "system" or "user"
SPOT_LABEL = "kubernetes.azure.com/scalesetpriority"  # "spot" on the nodes of a Spot pool
NON_ZONAL = "0"  # the zone label of a node in a pool without availability zones

# Who AKS node auto-repair is: the component on its Kubernetes Events, the caller in the Activity Log.
AUTO_REPAIR_COMPONENT = "aks-auto-repair"
AUTO_REPAIR_CALLER = "aks-remediator"

# ARM's terminal provisioning states: no operation is running on the resource. Failed and Canceled are
# terminal like Succeeded (ARM's async-operation contract), so a Failed pool or instance is not busy: it
# is waiting for the next operation, and ours may be it. Anything else (Updating, Creating, Deleting,
# Scaling, Upgrading, Migrating …) is an operation in progress that a second one would preempt.
SETTLED_STATES = frozenset({"succeeded", "failed", "canceled"})

# cloud-provider-azure's VMSS providerID ("azure:///subscriptions/…/virtualMachines/<id>"); an ARM
# resource id of an instance has the same path without the scheme.
_PROVIDER_ID = re.compile(
    r"^azure:///subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)"
    r"/providers/Microsoft\.Compute/virtualMachineScaleSets/(?P<vmss>[^/]+)/virtualMachines/(?P<instance_id>[^/]+)$",
    re.IGNORECASE,
)
_VM = re.compile(r"/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)", re.IGNORECASE)
_VM_NAME = re.compile(r"^(.+)_(\d+)$")  # a scale-set VM's name: "<vmss>_<instanceId>"
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def is_in_progress(state: str | None) -> bool:
    """An operation is running on the resource: a provisioning state that is set and not terminal.

    Takes a resource's `provisioningState` ("Succeeded", "Upgrading") or the rest of an instance-view
    status code after "ProvisioningState/", which for a failed operation names its error too
    ("failed/InternalOperationError").
    """
    return bool(state) and (state or "").lower().partition("/")[0] not in SETTLED_STATES


@dataclass(frozen=True, slots=True)
class ProviderId:
    """The scale-set instance a node's `spec.providerID` names."""

    subscription: str
    resource_group: str
    vmss: str
    instance_id: str

    @property
    def key(self) -> str:
        return instance_key(self.vmss, self.instance_id)


def parse_provider_id(provider_id: str | None) -> ProviderId | None:
    """The instance a VMSS providerID names; None for no providerID or another kind (availability-set VMs …)."""
    match = _PROVIDER_ID.match(provider_id or "")
    return ProviderId(**match.groupdict()) if match else None


def instance_key(vmss: str, instance_id: str) -> str:
    """The "<vmss>/<instanceId>" key signals and plans use for an instance (scale-set names are lower-cased)."""
    return f"{vmss.lower()}/{instance_id}"


def key_from_resource_id(resource_id: str | None) -> str | None:
    """The instance key named by a providerID or an instance's ARM resource id."""
    match = _VM.search(resource_id or "")
    return instance_key(match.group(1), match.group(2)) if match else None


def key_of_instance(instance: ScaleSetInstance) -> str | None:
    """An instance's key, from its resource id, else from its name "<vmss>_<instanceId>"."""
    key = key_from_resource_id(instance.id)
    if key is not None:
        return key
    if instance.name and "_" in instance.name:
        vmss, _, number = instance.name.rpartition("_")
        return instance_key(vmss, instance.instance_id or number)
    return None


def vm_name(key: str) -> str:
    """The VM name Scheduled Events list for a scale-set instance: "<vmss>_<instanceId>"."""
    vmss, _, number = key.partition("/")
    return f"{vmss}_{number}"


def key_from_vm_name(name: str) -> str | None:
    """The instance key a scale-set VM's name "<vmss>_<instanceId>" names (see `vm_name`); None for another name."""
    match = _VM_NAME.match(name)
    return instance_key(match.group(1), match.group(2)) if match else None


def node_name_of(key: str) -> str | None:
    """The node AKS names after a scale-set instance: the scale set's name and the instance id in base 36, six
    digits ("aks-apps-84805669-vmss/37" → "aks-apps-84805669-vmss000011"); None when the id is not a number."""
    vmss, _, number = key.partition("/")
    # six base-36 digits hold at most ten decimal ones; a longer "id" (5,000 digits in an alert) is no instance's
    if not (number.isascii() and number.isdigit()) or len(number) > 10:
        return None
    value, digits = int(number), ""
    while value:
        value, remainder = divmod(value, 36)
        digits = _BASE36[remainder] + digits
    return vmss + digits.rjust(6, "0")


def pool_of(labels: Mapping[str, str]) -> str | None:
    """The node's agent pool from its labels (the current label, else the legacy one)."""
    return labels.get(POOL_LABEL) or labels.get(LEGACY_POOL_LABEL)


def pool_from_vmss(vmss: str) -> str:
    """The pool in an AKS scale-set name "aks-<pool>-<hash>-vmss"; "" when the name is not AKS's."""
    parts = vmss.split("-")
    return parts[1] if len(parts) >= 4 and parts[0] == "aks" else ""


def zone_of(labels: Mapping[str, str]) -> str | None:
    """The node's availability zone ("eastus-1"); None in a pool without zones."""
    zone = labels.get(ZONE_LABEL)
    return None if not zone or zone == NON_ZONAL else zone

"""ARM JSON documents for the twin's resources, as `az aks show` / `az vmss list-instances` print them.

Pure functions of the fleet records; the caller holds the state's lock while rendering. Wire names
are the `rest_field` names of azure-mgmt-compute (scale sets, their VMs and instance views) and of
azure-mgmt-containerservice (AKS); names follow `naming`.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from nodewarden.twin.azure.fleet import Guest, Instance, Pool
from nodewarden.twin.azure.naming import Scope
from nodewarden.twin.azure.wire import iso

# The shared gallery AKS node images come from: the version's date part is the gallery image version.
_AKS_GALLERY = (
    "/subscriptions/109a5e88-712a-48ae-9078-9ca8b3c81345/resourceGroups/AKS-Ubuntu"
    "/providers/Microsoft.Compute/galleries/AKSUbuntu"
)

_PROVISIONING_DISPLAY = {
    "creating": "Creating",
    "updating": "Updating",
    "succeeded": "Provisioning succeeded",
    "deleting": "Deleting",
    "failed": "Provisioning failed",
}
_POWER_DISPLAY = {
    "starting": "VM starting",
    "running": "VM running",
    "stopping": "VM stopping",
    "stopped": "VM stopped",
    "deallocating": "VM deallocating",
    "deallocated": "VM deallocated",
}
_PROVISIONING_ARM = {"creating": "Creating", "updating": "Updating", "succeeded": "Succeeded", "deleting": "Deleting"}


def _image_reference(version: str) -> dict[str, str]:
    """`AKSUbuntu-2204gen2containerd-202611.10.0` → the gallery image it was built from."""
    parts = version.split("-")
    definition = "-".join(parts[1:-1]) or "2204gen2containerd"
    return {"id": f"{_AKS_GALLERY}/images/{definition}/versions/{parts[-1]}"}


def _vmss_tags(scope: Scope, pool: Pool) -> dict[str, str]:
    return {
        "aks-managed-poolName": pool.name,
        "aks-managed-orchestrator": f"Kubernetes:{pool.kubernetes_version}",
        "aks-managed-resourceNameSuffix": scope.suffix,
        "aks-managed-createOperationID": pool.unique_id,
        "aks-managed-creationSource": f"vmssclient-{pool.vmss_name.removesuffix('-vmss')}",
        "aks-managed-kubeletIdentityClientID": "00000000-0000-0000-0000-00000000b0b0",
        "aks-managed-coordination": "true",
    }


def _os_disk(pool: Pool) -> dict[str, Any]:
    """storageProfile.osDisk: an ephemeral disk is `diffDiskSettings.option: Local`, read-only cached."""
    if pool.ephemeral:
        return {"caching": "ReadOnly", "createOption": "FromImage", "diffDiskSettings": {"option": "Local"}}
    return {"caching": "ReadWrite", "createOption": "FromImage", "managedDisk": {"storageAccountType": "Premium_LRS"}}


def _profile(scope: Scope, pool: Pool) -> dict[str, Any]:
    """The agent pool's properties (also an agentPoolProfiles entry, with `name` added)."""
    profile: dict[str, Any] = {
        "count": pool.count,
        "vmSize": pool.vm_size,
        "osDiskSizeGB": 128,
        "osDiskType": pool.os_disk_type,
        "kubeletDiskType": "OS",
        "maxPods": pool.max_pods,
        "type": "VirtualMachineScaleSets",
        "availabilityZones": list(pool.zones) or None,
        "enableAutoScaling": pool.autoscale,
        "provisioningState": pool.provisioning,
        "powerState": {"code": "Running"},
        "orchestratorVersion": pool.kubernetes_version,
        "currentOrchestratorVersion": pool.kubernetes_version,
        "enableNodePublicIP": False,
        "nodeLabels": dict(pool.labels),
        "nodeTaints": list(pool.taints),
        "mode": pool.mode,
        "osType": "Linux",
        "osSKU": pool.os_sku,
        "nodeImageVersion": pool.node_image_version,
        "upgradeSettings": {"maxSurge": "10%"},
        "scaleSetPriority": "Spot" if pool.spot else "Regular",
        "enableFIPS": False,
    }
    if pool.spot:
        profile.update({"scaleSetEvictionPolicy": pool.eviction_policy, "spotMaxPrice": -1})
    if pool.min_count is not None:
        profile["minCount"] = pool.min_count
    if pool.max_count is not None:
        profile["maxCount"] = pool.max_count
    return {key: value for key, value in profile.items() if value is not None}


def agent_pool(scope: Scope, pool: Pool) -> dict[str, Any]:
    return {
        "id": scope.pool_id(pool.name),
        "name": pool.name,
        "type": "Microsoft.ContainerService/managedClusters/agentPools",
        "properties": _profile(scope, pool),
    }


def managed_cluster(
    scope: Scope,
    pools: list[Pool],
    *,
    kubernetes_version: str,
    tier: str,
    provisioning: str,
    extra: dict[str, Any],
    tags: dict[str, str],
) -> dict[str, Any]:
    """The `az aks show`-like document; `extra` (scenario settings, PUTs) overrides the defaults key by key."""
    properties: dict[str, Any] = {
        "provisioningState": provisioning,
        "powerState": {"code": "Running"},
        "kubernetesVersion": kubernetes_version,
        "currentKubernetesVersion": kubernetes_version,
        "dnsPrefix": scope.cluster_name,
        "fqdn": f"{scope.cluster_name}-{scope.suffix[:8]}.hcp.{scope.location}.azmk8s.io",
        "azurePortalFQDN": f"{scope.cluster_name}-{scope.suffix[:8]}.portal.hcp.{scope.location}.azmk8s.io",
        "agentPoolProfiles": [{"name": pool.name, **_profile(scope, pool)} for pool in pools],
        "nodeResourceGroup": scope.node_resource_group,
        "enableRBAC": True,
        "disableLocalAccounts": False,
        "supportPlan": "KubernetesOfficial",
        "networkProfile": {
            "networkPlugin": "azure",
            "networkPluginMode": "overlay",
            "networkPolicy": "none",
            "loadBalancerSku": "standard",
            "outboundType": "loadBalancer",
            "podCidr": "10.244.0.0/16",
            "serviceCidr": "10.0.0.0/16",
            "dnsServiceIP": "10.0.0.10",
        },
        "autoUpgradeProfile": {"upgradeChannel": "none", "nodeOSUpgradeChannel": "NodeImage"},
        "maxAgentPools": 100,
        "apiServerAccessProfile": {"enablePrivateCluster": False},
        "addonProfiles": {},
    }
    properties.update(copy.deepcopy(extra))
    return {
        "id": scope.cluster_id,
        "location": scope.location,
        "name": scope.cluster_name,
        "type": "Microsoft.ContainerService/ManagedClusters",
        "tags": dict(tags),
        "sku": {"name": "Base", "tier": tier},
        "identity": {
            "type": "SystemAssigned",
            "principalId": "00000000-0000-0000-0000-0000000c1a55",
            "tenantId": scope.tenant_id,
        },
        "properties": properties,
    }


def scale_set(scope: Scope, pool: Pool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": scope.vmss_id(pool.vmss_name),
        "name": pool.vmss_name,
        "type": "Microsoft.Compute/virtualMachineScaleSets",
        "location": scope.location,
        "tags": _vmss_tags(scope, pool),
        "sku": {"name": pool.vm_size, "tier": "Standard", "capacity": len(pool.instances)},
        "properties": {
            "orchestrationMode": "Uniform",
            "upgradePolicy": {"mode": "Manual"},
            "zoneBalance": False,
            "platformFaultDomainCount": 1,
            "singlePlacementGroup": False,
            "overprovision": False,
            "doNotRunExtensionsOnOverprovisionedVMs": False,
            "automaticRepairsPolicy": {"enabled": False, "gracePeriod": "PT10M", "repairAction": "Replace"},
            "scaleInPolicy": {"rules": ["Default"], "forceDeletion": False},
            "virtualMachineProfile": {
                "osProfile": {"computerNamePrefix": pool.vmss_name, "adminUsername": "azureuser"},
                "storageProfile": {
                    "imageReference": _image_reference(pool.node_image_version),
                    "osDisk": _os_disk(pool),
                },
                "priority": "Spot" if pool.spot else "Regular",
                **({"evictionPolicy": pool.eviction_policy} if pool.spot else {}),
            },
            "provisioningState": "Succeeded",
            "uniqueId": pool.unique_id,
            "timeCreated": iso(pool.created_at),
        },
    }
    if pool.zones:
        document["zones"] = list(pool.zones)
    return document


def _status(code: str, level: str, display: str, time: str | None = None, message: str | None = None) -> dict[str, Any]:
    status = {"code": code, "level": level, "displayStatus": display}
    if time is not None:
        status["time"] = time
    if message is not None:
        status["message"] = message
    return status


def instance_view(inst: Instance) -> dict[str, Any]:
    """The instanceView object (also served alone at `.../virtualMachines/{id}/instanceView`)."""
    when = iso(inst.status_time or inst.created_at)
    if inst.provisioning == "failed":
        reason = inst.failure_reason or "InternalExecutionError"
        provisioning = _status(f"ProvisioningState/failed/{reason}", "Error", "Provisioning failed", when, reason)
    else:
        provisioning = _status(
            f"ProvisioningState/{inst.provisioning}", "Info", _PROVISIONING_DISPLAY[inst.provisioning], when
        )
    statuses = [provisioning]
    if inst.provisioning not in ("creating", "deleting") or inst.power in ("running", "starting"):
        statuses.append(_status(f"PowerState/{inst.power}", "Info", _POWER_DISPLAY[inst.power]))
    agent_up = inst.guest is Guest.UP
    agent = _status(
        "ProvisioningState/succeeded" if agent_up else "ProvisioningState/Unavailable",
        "Info" if agent_up else "Warning",
        "Ready" if agent_up else "Not Ready",
        when,
        "Guest Agent is running" if agent_up else "VM Agent is unresponsive.",
    )
    return {
        "platformUpdateDomain": 0,
        "platformFaultDomain": 0,
        "computerName": inst.computer_name,
        "osName": "ubuntu",
        "osVersion": "22.04",
        "vmAgent": {"vmAgentVersion": "2.13.1.1" if agent_up else "Unknown", "statuses": [agent]},
        "disks": [{"name": f"{inst.vm_name}_OsDisk_1_{inst.vm_id.replace('-', '')}", "statuses": [provisioning]}],
        "statuses": statuses,
    }


def _private_ip(inst: Instance) -> str:
    """A stable address in the AKS default node subnet 10.224.0.0/16, distinct per pool and instance."""
    offset = 4 + (sum(map(ord, inst.pool.name)) % 64) * 512 + inst.instance_id
    return str(ipaddress.IPv4Address("10.224.0.0") + offset)


def virtual_machine(scope: Scope, inst: Instance, *, expand_instance_view: bool) -> dict[str, Any]:
    pool = inst.pool
    properties: dict[str, Any] = {
        "latestModelApplied": inst.latest_model_applied,
        "modelDefinitionApplied": "VirtualMachineScaleSet",
        "vmId": inst.vm_id,
        "hardwareProfile": {"vmSize": pool.vm_size},
        "storageProfile": {
            "imageReference": _image_reference(inst.image_version),
            "osDisk": {"osType": "Linux", **_os_disk(pool)},
        },
        "osProfile": {"computerName": inst.computer_name, "adminUsername": "azureuser"},
        "networkProfile": {
            "networkInterfaces": [
                {"id": f"{scope.vm_id(pool.vmss_name, inst.instance_id)}/networkInterfaces/{pool.vmss_name}"}
            ]
        },
        "provisioningState": "Failed" if inst.provisioning == "failed" else _PROVISIONING_ARM[inst.provisioning],
        "timeCreated": iso(inst.created_at),
    }
    if expand_instance_view:
        properties["instanceView"] = instance_view(inst)
    document: dict[str, Any] = {
        "id": scope.vm_id(pool.vmss_name, inst.instance_id),
        "name": inst.vm_name,
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "location": scope.location,
        "tags": _vmss_tags(scope, pool),
        "instanceId": str(inst.instance_id),
        "sku": {"name": pool.vm_size, "tier": "Standard"},
        "properties": properties,
    }
    if inst.zone is not None:
        document["zones"] = [inst.zone]
    return document


def machine(scope: Scope, inst: Instance) -> dict[str, Any]:
    """An AKS `machines` entry: named after the node, pointing at the VMSS VM."""
    document: dict[str, Any] = {
        "id": scope.machine_id(inst.pool.name, inst.computer_name),
        "name": inst.computer_name,
        "type": "Microsoft.ContainerService/managedClusters/agentPools/machines",
        "properties": {
            "resourceId": scope.vm_id(inst.pool.vmss_name, inst.instance_id),
            "network": {"ipAddresses": [{"family": "IPv4", "ip": _private_ip(inst)}]},
        },
    }
    if inst.zone is not None:
        document["zones"] = [inst.zone]
    return document

"""Writes examples/cluster/: the exported state of one invented AKS cluster, `aks-prod-weu`.

Every file is shaped like the output of the az or kubectl command named in examples/README.md
(az: camelCase, keys sorted, two-space indent, `null` for unset fields where the command prints
them; kubectl: a `List` whose items carry apiVersion and kind, keys sorted, four-space indent).
The cluster is deterministic: identifiers are derived from names, so rerunning the script
reproduces the committed files byte for byte.

    .venv/bin/python examples/generate_cluster.py [--out examples/cluster]

The committed JSON files are the artefacts; this script is how they were made and how to change them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

Json = dict[str, Any]

# --- the cluster ---------------------------------------------------------------------------------

SUBSCRIPTION = "3f2c9a1e-7b4d-4c8e-9f61-2d5a8b0c4e17"
TENANT = "8d1e4f2a-6c3b-4a9d-b7e5-0f9c2d8a6b31"
RESOURCE_GROUP = "rg-prod"
CLUSTER = "aks-prod-weu"
LOCATION = "westeurope"
NODE_RESOURCE_GROUP = f"MC_{RESOURCE_GROUP}_{CLUSTER}_{LOCATION}"
K8S_MINOR = "1.33"
K8S_VERSION = "1.33.7"
EXPORTED_AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
CLUSTER_CREATED = datetime(2025, 3, 14, 10, 2, 11, tzinfo=UTC)

ARM = f"/subscriptions/{SUBSCRIPTION}"
CLUSTER_ID = f"{ARM}/resourcegroups/{RESOURCE_GROUP}/providers/Microsoft.ContainerService/managedClusters/{CLUSTER}"
WORKSPACE_ID = f"{ARM}/resourceGroups/rg-observability/providers/Microsoft.OperationalInsights/workspaces/law-prod-weu"
SUBNET_ID = (
    f"{ARM}/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-prod-weu/subnets/snet-aks-nodes"
)
NSG_ID = f"{ARM}/resourceGroups/rg-network/providers/Microsoft.Network/networkSecurityGroups/nsg-aks-nodes"
KUBELET_CLIENT_ID = "5b0e7d1c-3a94-4f28-8e6d-c1a2b3d4e5f6"
REGISTRY = "acrprodweu.azurecr.io"
MCR = "mcr.microsoft.com"


def stable_uuid(*parts: str) -> str:
    """A UUID derived from names, so the files do not change between runs."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(("nodewarden-example", *parts))))


def digest(*parts: str, length: int = 64) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what the ReplicaSet and generateName suffixes draw from


def kube_suffix(*parts: str, length: int) -> str:
    value = int(digest(*parts), 16)
    chars = []
    for _ in range(length):
        value, index = divmod(value, len(_HASH_ALPHABET))
        chars.append(_HASH_ALPHABET[index])
    return "".join(chars)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def az_stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class ResourceVersions:
    """Monotonic resourceVersions, as etcd hands them out."""

    def __init__(self, start: int) -> None:
        self._next = start

    def __call__(self) -> str:
        self._next += 7
        return str(self._next)


resource_version = ResourceVersions(4_180_000)


def base36(number: int, width: int = 6) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text.rjust(width, "0")


# --- node pools, scale sets, instances and nodes --------------------------------------------------


@dataclass(frozen=True)
class PoolSpec:
    name: str
    mode: str
    vm_size: str
    vcpus: int
    memory_ki: int
    zones: tuple[str, ...]
    suffix: str
    instance_ids: tuple[int, ...]
    min_count: int
    max_count: int
    os_sku: str
    os_disk_type: str
    image: str
    orchestrator: str
    max_surge: str | None
    taints: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    spot: bool = False
    pinned: bool = False  # created with a full version (`--kubernetes-version 1.32.9`), so it does not float

    @property
    def count(self) -> int:
        return len(self.instance_ids)

    @property
    def vmss(self) -> str:
        return f"aks-{self.name}-{self.suffix}-vmss"

    def node_name(self, instance_id: int) -> str:
        return f"{self.vmss}{base36(instance_id)}"

    def zone_of(self, index: int) -> str | None:
        return self.zones[index % len(self.zones)] if self.zones else None


POOLS = (
    PoolSpec(
        name="system",
        mode="System",
        vm_size="Standard_D4ds_v5",
        vcpus=4,
        memory_ki=16_365_864,
        zones=("1", "2", "3"),
        suffix="27364519",
        instance_ids=(0, 1, 2),
        min_count=3,
        max_count=5,
        os_sku="AzureLinux",
        os_disk_type="Ephemeral",
        image="AKSAzureLinux-V3gen2-202611.02.0",
        orchestrator=K8S_VERSION,
        max_surge="33%",
        taints=("CriticalAddonsOnly=true:NoSchedule",),
    ),
    PoolSpec(
        name="apps",
        mode="User",
        vm_size="Standard_D8ds_v5",
        vcpus=8,
        memory_ki=32_863_532,
        zones=("1", "2", "3"),
        suffix="41829376",
        # Instances 5, 6 and 8 were scaled in by the autoscaler; the names keep their base-36 ids.
        instance_ids=(3, 4, 7, 9, 10, 11),
        min_count=3,
        max_count=12,
        os_sku="Ubuntu",
        os_disk_type="Managed",
        image="AKSUbuntu-2204gen2containerd-202611.02.0",
        orchestrator=K8S_VERSION,
        max_surge="10%",
        labels={"workload": "general"},
    ),
    PoolSpec(
        name="batch",
        mode="User",
        vm_size="Standard_D4as_v5",
        vcpus=4,
        memory_ki=16_365_856,
        zones=(),
        suffix="59302841",
        instance_ids=(36, 37),
        min_count=0,
        max_count=10,
        os_sku="Ubuntu",
        os_disk_type="Managed",
        image="AKSUbuntu-2204gen2containerd-202608.21.0",
        orchestrator="1.32.9",
        max_surge=None,
        taints=("kubernetes.azure.com/scalesetpriority=spot:NoSchedule",),
        labels={"kubernetes.azure.com/scalesetpriority": "spot", "workload": "batch"},
        spot=True,
        pinned=True,
    ),
)


@dataclass(frozen=True)
class NodeSpec:
    pool: PoolSpec
    instance_id: int
    index: int

    @property
    def name(self) -> str:
        return self.pool.node_name(self.instance_id)

    @property
    def zone(self) -> str | None:
        return self.pool.zone_of(self.index)

    @property
    def topology_zone(self) -> str:
        """`westeurope-1`; nodes of a zoneless pool report their fault domain instead."""
        return f"{LOCATION}-{self.zone}" if self.zone else str(self.index % 2)

    @property
    def ip(self) -> str:
        return f"10.20.0.{4 + NODES.index(self)}"

    @property
    def pod_cidr_prefix(self) -> str:
        return f"10.244.{NODES.index(self)}"


NODES = [NodeSpec(pool, instance_id, i) for pool in POOLS for i, instance_id in enumerate(pool.instance_ids)]


def pool_profile(pool: PoolSpec, *, listed: bool) -> Json:
    """One agent pool: `az aks nodepool list` (listed) or `az aks show`'s `agentPoolProfiles[]`."""
    profile: Json = {
        "artifactStreamingProfile": None,
        "availabilityZones": list(pool.zones) or None,
        "capacityReservationGroupId": None,
        "count": pool.count,
        "creationData": None,
        "currentOrchestratorVersion": pool.orchestrator,
        "eTag": stable_uuid("etag", pool.name),
        "enableAutoScaling": True,
        "enableCustomCaTrust": False,
        "enableEncryptionAtHost": False,
        "enableFips": False,
        "enableNodePublicIp": False,
        "enableUltraSsd": False,
        "gatewayProfile": None,
        "gpuInstanceProfile": None,
        "gpuProfile": None,
        "hostGroupId": None,
        "kubeletConfig": None,
        "kubeletDiskType": "OS",
        "linuxOsConfig": None,
        "localDnsProfile": None,
        "maxCount": pool.max_count,
        "maxPods": 110,
        "messageOfTheDay": None,
        "minCount": pool.min_count,
        "mode": pool.mode,
        "name": pool.name,
        "networkProfile": {"allowedHostPorts": None, "applicationSecurityGroups": None, "nodePublicIpTags": None},
        "nodeImageVersion": pool.image,
        "nodeInitializationTaints": None,
        "nodeLabels": dict(pool.labels) or None,
        "nodePublicIpPrefixId": None,
        "nodeTaints": list(pool.taints) or None,
        "orchestratorVersion": pool.orchestrator if pool.pinned else pool.orchestrator.rsplit(".", 1)[0],
        "osDiskSizeGb": 128,
        "osDiskType": pool.os_disk_type,
        "osSku": pool.os_sku,
        "osType": "Linux",
        "podIpAllocationMode": None,
        "podSubnetId": None,
        "powerState": {"code": "Running"},
        "provisioningState": "Succeeded",
        "proximityPlacementGroupId": None,
        "scaleDownMode": "Delete",
        "scaleSetEvictionPolicy": "Delete" if pool.spot else None,
        "scaleSetPriority": "Spot" if pool.spot else None,
        "securityProfile": {"enableSecureBoot": False, "enableVtpm": False, "sshAccess": "LocalUser"},
        "spotMaxPrice": -1.0 if pool.spot else None,
        "status": None,
        "tags": None,
        "upgradeSettings": {
            "drainTimeoutInMinutes": 30 if pool.max_surge else None,
            "maxSurge": pool.max_surge,
            "maxUnavailable": "0" if pool.max_surge else None,
            "nodeSoakDurationInMinutes": None,
            "undrainableNodeBehavior": "Schedule" if pool.max_surge else None,
        },
        "virtualMachineNodesStatus": None,
        "virtualMachinesProfile": None,
        "vmSize": pool.vm_size,
        "vnetSubnetId": SUBNET_ID,
        "windowsProfile": None,
        "workloadRuntime": "OCIContainer",
    }
    if listed:
        profile["id"] = f"{CLUSTER_ID}/agentPools/{pool.name}"
        profile["resourceGroup"] = RESOURCE_GROUP
        profile["type"] = "Microsoft.ContainerService/managedClusters/agentPools"
        profile["typePropertiesType"] = "VirtualMachineScaleSets"
    else:
        profile["type"] = "VirtualMachineScaleSets"
    return profile


def scale_set_tags(pool: PoolSpec) -> Json:
    return {
        "aks-managed-azure-cni-overlay": "true",
        "aks-managed-consolidated-additional-properties": stable_uuid("props", pool.name),
        "aks-managed-coordination": "true",
        "aks-managed-createOperationID": stable_uuid("create-op", pool.name),
        "aks-managed-creationSource": f"vmssclient-{pool.vmss}",
        "aks-managed-enable-imds-restriction": "false",
        "aks-managed-kubeletIdentityClientID": KUBELET_CLIENT_ID,
        "aks-managed-orchestrator": f"Kubernetes:{pool.orchestrator}",
        "aks-managed-poolName": pool.name,
        "aks-managed-resourceNameSuffix": "31877029",
        "aks-managed-ssh-access": "LocalUser",
        "compute.aks.billing": "true",
    }


def vmss_id(pool: PoolSpec) -> str:
    return f"{ARM}/resourceGroups/{NODE_RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachineScaleSets/{pool.vmss}"


def vmss_extension(name: str, publisher: str, kind: str) -> Json:
    # The az CLI prints the extension's handler type as `typePropertiesType` and leaves `type` null.
    return {
        "autoUpgradeMinorVersion": True,
        "enableAutomaticUpgrade": None,
        "forceUpdateTag": None,
        "id": None,
        "name": name,
        "protectedSettings": None,
        "protectedSettingsFromKeyVault": None,
        "provisionAfterExtensions": None,
        "provisioningState": None,
        "publisher": publisher,
        "settings": None,
        "suppressFailures": None,
        "type": None,
        "typeHandlerVersion": "2.0" if kind == "CustomScript" else "1.0",
        "typePropertiesType": kind,
    }


def scale_set(pool: PoolSpec) -> Json:
    """One `az vmss list -g <nodeResourceGroup>` entry."""
    repairs = None
    if pool.name == "apps":
        # Planted drift: someone turned on VMSS automatic repairs by hand (AKS runs its own node auto-repair).
        repairs = {"enabled": True, "gracePeriod": "PT30M", "repairAction": "Replace"}
    return {
        "additionalCapabilities": None,
        "automaticRepairsPolicy": repairs,
        "constrainedMaximumCapacity": None,
        "doNotRunExtensionsOnOverprovisionedVMs": False,
        "etag": f'"{41 + POOLS.index(pool)}"',
        "extendedLocation": None,
        "hostGroup": None,
        "id": vmss_id(pool),
        "identity": {
            "principalId": None,
            "tenantId": None,
            "type": "UserAssigned",
            "userAssignedIdentities": {
                f"{ARM}/resourceGroups/{NODE_RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/"
                f"userAssignedIdentities/{CLUSTER}-agentpool": {
                    "clientId": KUBELET_CLIENT_ID,
                    "principalId": stable_uuid("kubelet-principal"),
                }
            },
        },
        "location": LOCATION,
        "name": pool.vmss,
        "orchestrationMode": "Uniform",
        "overprovision": False,
        "plan": None,
        "platformFaultDomainCount": 1,
        "priorityMixPolicy": None,
        "provisioningState": "Succeeded",
        "proximityPlacementGroup": None,
        "resiliencyPolicy": None,
        "resourceGroup": NODE_RESOURCE_GROUP,
        "scaleInPolicy": None,
        "scheduledEventsPolicy": None,
        "singlePlacementGroup": False,
        "sku": {"capacity": pool.count, "name": pool.vm_size, "tier": "Standard"},
        "skuProfile": None,
        "spotRestorePolicy": None,
        "tags": scale_set_tags(pool),
        "timeCreated": az_stamp(CLUSTER_CREATED + timedelta(minutes=6 + 20 * POOLS.index(pool))),
        "type": "Microsoft.Compute/virtualMachineScaleSets",
        "uniqueId": stable_uuid("vmss", pool.name),
        "upgradePolicy": {"automaticOsUpgradePolicy": None, "mode": "Manual", "rollingUpgradePolicy": None},
        "virtualMachineProfile": {
            "applicationProfile": None,
            "billingProfile": {"maxPrice": -1.0} if pool.spot else None,
            "capacityReservation": None,
            "diagnosticsProfile": None,
            "evictionPolicy": "Delete" if pool.spot else None,
            "extensionProfile": {
                "extensions": [
                    vmss_extension("vmssCSE", "Microsoft.Azure.Extensions", "CustomScript"),
                    vmss_extension(f"{pool.vmss}-AKSLinuxBilling", "Microsoft.AKS", "Compute.AKS.Linux.Billing"),
                ],
                "extensionsTimeBudget": "PT16M",
            },
            "hardwareProfile": None,
            "licenseType": None,
            "networkProfile": {
                "healthProbe": None,
                "networkApiVersion": None,
                "networkInterfaceConfigurations": [
                    {
                        "auxiliaryMode": None,
                        "auxiliarySku": None,
                        "deleteOption": None,
                        "disableTcpStateTracking": False,
                        "dnsSettings": {"dnsServers": []},
                        "enableAcceleratedNetworking": True,
                        "enableFpga": None,
                        "enableIpForwarding": True,
                        "ipConfigurations": [
                            {
                                "applicationGatewayBackendAddressPools": None,
                                "applicationSecurityGroups": None,
                                "loadBalancerBackendAddressPools": [
                                    {
                                        "id": f"{ARM}/resourceGroups/{NODE_RESOURCE_GROUP}/providers/Microsoft.Network/"
                                        "loadBalancers/kubernetes/backendAddressPools/aksOutboundBackendPool",
                                        "resourceGroup": NODE_RESOURCE_GROUP,
                                    },
                                    {
                                        "id": f"{ARM}/resourceGroups/{NODE_RESOURCE_GROUP}/providers/Microsoft.Network/"
                                        "loadBalancers/kubernetes/backendAddressPools/kubernetes",
                                        "resourceGroup": NODE_RESOURCE_GROUP,
                                    },
                                ],
                                "loadBalancerInboundNatPools": None,
                                "name": "ipconfig1",
                                "primary": True,
                                "privateIpAddressVersion": "IPv4",
                                "publicIpAddressConfiguration": None,
                                "subnet": {"id": SUBNET_ID, "resourceGroup": "rg-network"},
                            }
                        ],
                        "name": pool.vmss,
                        "networkSecurityGroup": None,
                        "primary": True,
                    }
                ],
            },
            "osProfile": {
                "adminPassword": None,
                "adminUsername": "azureuser",
                "allowExtensionOperations": True,
                "computerNamePrefix": pool.vmss,
                "customData": None,
                "linuxConfiguration": {
                    "disablePasswordAuthentication": True,
                    "enableVmAgentPlatformUpdates": None,
                    "patchSettings": None,
                    "provisionVmAgent": True,
                    "ssh": {
                        "publicKeys": [
                            {
                                "keyData": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7exampleonlyexampleonly azureuser",
                                "path": "/home/azureuser/.ssh/authorized_keys",
                            }
                        ]
                    },
                },
                "requireGuestProvisionSignal": None,
                "secrets": [],
                "windowsConfiguration": None,
            },
            "priority": "Spot" if pool.spot else None,
            "scheduledEventsProfile": None,
            "securityPostureReference": None,
            "securityProfile": None,
            "serviceArtifactReference": None,
            "storageProfile": {
                "dataDisks": None,
                "diskControllerType": "SCSI",
                "imageReference": {
                    "communityGalleryImageId": None,
                    "exactVersion": None,
                    "id": "/subscriptions/109a5e88-712a-48ae-9078-9ca8b3c81345/resourceGroups/AKS-"
                    + ("AzureLinux" if pool.os_sku == "AzureLinux" else "Ubuntu")
                    + "/providers/Microsoft.Compute/galleries/"
                    + (
                        "AKSAzureLinux/images/V3gen2"
                        if pool.os_sku == "AzureLinux"
                        else "AKSUbuntu/images/2204gen2containerd"
                    )
                    + "/versions/"
                    + pool.image.rsplit("-", 1)[1],
                    "offer": None,
                    "publisher": None,
                    "sharedGalleryImageId": None,
                    "sku": None,
                    "version": None,
                },
                "osDisk": {
                    "caching": "ReadOnly",
                    "createOption": "FromImage",
                    "deleteOption": None,
                    "diffDiskSettings": {"option": "Local", "placement": "ResourceDisk"}
                    if pool.os_disk_type == "Ephemeral"
                    else None,
                    "diskSizeGb": 128,
                    "image": None,
                    "managedDisk": None
                    if pool.os_disk_type == "Ephemeral"
                    else {"diskEncryptionSet": None, "securityProfile": None, "storageAccountType": "Premium_LRS"},
                    "name": None,
                    "osType": "Linux",
                    "vhdContainers": None,
                    "writeAcceleratorEnabled": None,
                },
            },
            "timeCreated": None,
            "userData": None,
        },
        "zonalPlatformFaultDomainAlignMode": None,
        "zoneBalance": False if pool.zones else None,
        "zones": list(pool.zones) or None,
    }


def scale_set_instance(node: NodeSpec) -> Json:
    """One `az vmss list-instances --expand instanceView` entry."""
    pool = node.pool
    started = EXPORTED_AT - timedelta(days=9 + node.index, hours=3)
    return {
        "additionalCapabilities": None,
        "availabilitySet": None,
        "diagnosticsProfile": None,
        "etag": '"3"',
        "hardwareProfile": None,
        "id": f"{vmss_id(pool)}/virtualMachines/{node.instance_id}",
        "instanceId": str(node.instance_id),
        "instanceView": {
            "assignedHost": None,
            "bootDiagnostics": None,
            "computerName": node.name,
            "disks": [
                {
                    "encryptionSettings": None,
                    "name": f"{pool.vmss}_{node.instance_id}_OsDisk_1_{digest('disk', node.name, length=32)}",
                    "statuses": [
                        {
                            "code": "ProvisioningState/succeeded",
                            "displayStatus": "Provisioning succeeded",
                            "level": "Info",
                            "message": None,
                            "time": az_stamp(started),
                        }
                    ],
                }
            ],
            "extensions": [
                {
                    "name": "vmssCSE",
                    "statuses": [
                        {
                            "code": "ProvisioningState/succeeded",
                            "displayStatus": "Provisioning succeeded",
                            "level": "Info",
                            "message": "Enable succeeded",
                            "time": None,
                        }
                    ],
                    "substatuses": None,
                    "type": "Microsoft.Azure.Extensions.CustomScript",
                    "typeHandlerVersion": "2.1.14",
                }
            ],
            "hyperVGeneration": "V2",
            "maintenanceRedeployStatus": None,
            "osName": "azurelinux" if pool.os_sku == "AzureLinux" else "ubuntu",
            "osVersion": "3.0.20261102" if pool.os_sku == "AzureLinux" else "22.04",
            "placementGroupId": None,
            "platformFaultDomain": 0 if pool.zones else node.index % 2,
            "platformUpdateDomain": 0,
            "rdpThumbPrint": None,
            "statuses": [
                {
                    "code": "ProvisioningState/succeeded",
                    "displayStatus": "Provisioning succeeded",
                    "level": "Info",
                    "message": None,
                    "time": az_stamp(started + timedelta(minutes=2)),
                },
                {
                    "code": "PowerState/running",
                    "displayStatus": "VM running",
                    "level": "Info",
                    "message": None,
                    "time": None,
                },
            ],
            "vmAgent": {
                "extensionHandlers": None,
                "statuses": [
                    {
                        "code": "ProvisioningState/succeeded",
                        "displayStatus": "Ready",
                        "level": "Info",
                        "message": "Guest Agent is running",
                        "time": az_stamp(EXPORTED_AT - timedelta(seconds=41)),
                    }
                ],
                "vmAgentVersion": "2.13.1.1",
            },
            "vmHealth": None,
        },
        "latestModelApplied": True,
        "licenseType": None,
        "location": LOCATION,
        "modelDefinitionApplied": "VirtualMachineScaleSet",
        "name": f"{pool.vmss}_{node.instance_id}",
        "networkProfile": {
            "networkApiVersion": None,
            "networkInterfaceConfigurations": None,
            "networkInterfaces": [
                {
                    "deleteOption": None,
                    "id": f"{vmss_id(pool)}/virtualMachines/{node.instance_id}/networkInterfaces/{pool.vmss}",
                    "primary": True,
                    "resourceGroup": NODE_RESOURCE_GROUP,
                }
            ],
        },
        "osProfile": {
            "adminUsername": "azureuser",
            "allowExtensionOperations": True,
            "computerName": node.name,
            "requireGuestProvisionSignal": True,
            "secrets": [],
        },
        "plan": None,
        "protectionPolicy": None,
        "provisioningState": "Succeeded",
        "resourceGroup": NODE_RESOURCE_GROUP,
        "resources": None,
        "securityProfile": None,
        "sku": {"capacity": None, "name": pool.vm_size, "tier": "Standard"},
        "tags": scale_set_tags(pool),
        "timeCreated": az_stamp(started),
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "userData": None,
        "vmId": stable_uuid("vm", node.name),
        "zones": [node.zone] if node.zone else None,
    }


def provider_id(node: NodeSpec) -> str:
    # cloud-provider-azure lower-cases the resource group in providerID (getVmssMachineID).
    return (
        f"azure://{ARM}/resourceGroups/{NODE_RESOURCE_GROUP.lower()}/providers/Microsoft.Compute/"
        f"virtualMachineScaleSets/{node.pool.vmss}/virtualMachines/{node.instance_id}"
    )


def node_object(node: NodeSpec) -> Json:
    pool = node.pool
    azure_linux = pool.os_sku == "AzureLinux"
    labels = {
        "agentpool": pool.name,
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": pool.vm_size,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": LOCATION,
        "failure-domain.beta.kubernetes.io/zone": node.topology_zone,
        "kubernetes.azure.com/agentpool": pool.name,
        "kubernetes.azure.com/cluster": NODE_RESOURCE_GROUP,
        "kubernetes.azure.com/consolidated-additional-properties": stable_uuid("props", pool.name),
        "kubernetes.azure.com/kubelet-identity-client-id": KUBELET_CLIENT_ID,
        "kubernetes.azure.com/mode": pool.mode.lower(),
        "kubernetes.azure.com/network-policy": "cilium",
        "kubernetes.azure.com/node-image-version": pool.image,
        "kubernetes.azure.com/nodepool-type": "VirtualMachineScaleSets",
        "kubernetes.azure.com/os-sku": pool.os_sku,
        "kubernetes.azure.com/role": "agent",
        "kubernetes.azure.com/storageprofile": "managed",
        "kubernetes.azure.com/storagetier": "Premium_LRS",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/role": "agent",
        "node-role.kubernetes.io/agent": "",
        "node.kubernetes.io/instance-type": pool.vm_size,
        "storageprofile": "managed",
        "storagetier": "Premium_LRS",
        "topology.disk.csi.azure.com/zone": f"{LOCATION}-{node.zone}" if node.zone else "",
        "topology.kubernetes.io/region": LOCATION,
        "topology.kubernetes.io/zone": node.topology_zone,
        **pool.labels,
    }
    taints = []
    for taint in pool.taints:
        key_value, effect = taint.rsplit(":", 1)
        key, value = key_value.split("=", 1)
        taints.append({"effect": effect, "key": key, "value": value})
    created = EXPORTED_AT - timedelta(days=9 + node.index, hours=3) + timedelta(minutes=4)
    allocatable_cpu = {4: "3860m", 8: "7820m"}[pool.vcpus]
    conditions = [
        ("KernelDeadlock", "False", "KernelHasNoDeadlock", "kernel has no deadlock"),
        ("FrequentContainerdRestart", "False", "NoFrequentContainerdRestart", "containerd is functioning properly"),
        ("FilesystemCorruptionProblem", "False", "FilesystemIsOK", "Filesystem is healthy"),
        ("NetworkUnavailable", "False", "CiliumIsUp", "Cilium is running on this node"),
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "csi.volume.kubernetes.io/nodeid": json.dumps(
                    {"disk.csi.azure.com": node.name, "file.csi.azure.com": node.name}, separators=(",", ":")
                ),
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": stamp(created),
            "labels": dict(sorted(labels.items())),
            "name": node.name,
            "resourceVersion": resource_version(),
            "uid": stable_uuid("node", node.name),
        },
        "spec": {
            "podCIDR": f"{node.pod_cidr_prefix}.0/24",
            "podCIDRs": [f"{node.pod_cidr_prefix}.0/24"],
            "providerID": provider_id(node),
            **({"taints": taints} if taints else {}),
        },
        "status": {
            "addresses": [{"address": node.ip, "type": "InternalIP"}, {"address": node.name, "type": "Hostname"}],
            "allocatable": {
                "cpu": allocatable_cpu,
                "ephemeral-storage": "119703055367",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": f"{pool.memory_ki - 3_485_696}Ki",
                "pods": "110",
            },
            "capacity": {
                "cpu": str(pool.vcpus),
                "ephemeral-storage": "129886128Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": f"{pool.memory_ki}Ki",
                "pods": "110",
            },
            "conditions": [
                {
                    "lastHeartbeatTime": stamp(EXPORTED_AT - timedelta(seconds=23)),
                    "lastTransitionTime": stamp(created + timedelta(minutes=1)),
                    "message": message,
                    "reason": reason,
                    "status": status,
                    "type": kind,
                }
                for kind, status, reason, message in conditions
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": [
                {
                    "names": [
                        f"{MCR}/oss/v2/cilium/cilium@sha256:{digest('img', 'cilium')}",
                        f"{MCR}/oss/v2/cilium/cilium:v1.17.9-1",
                    ],
                    "sizeBytes": 203_519_404,
                },
                {
                    "names": [
                        f"{MCR}/azuremonitor/containerinsights/ciprod@sha256:{digest('img', 'ama')}",
                        f"{MCR}/azuremonitor/containerinsights/ciprod:3.1.31",
                    ],
                    "sizeBytes": 155_126_880,
                },
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": stable_uuid("boot", node.name),
                "containerRuntimeVersion": "containerd://2.0.6" if azure_linux else "containerd://1.7.29-1",
                "kernelVersion": "6.6.104.2-1.azl3" if azure_linux else "5.15.0-1098-azure",
                "kubeProxyVersion": "",
                "kubeletVersion": f"v{pool.orchestrator}",
                "machineID": digest("machine", node.name, length=32),
                "operatingSystem": "linux",
                "osImage": "Microsoft Azure Linux 3.0" if azure_linux else "Ubuntu 22.04.5 LTS",
                "systemUUID": stable_uuid("system", node.name),
            },
        },
    }


# --- the cluster and its neighbours in Azure ------------------------------------------------------


def cluster() -> Json:
    """`az aks show -g rg-prod -n aks-prod-weu -o json`."""
    return {
        "aadProfile": {
            "adminGroupObjectIDs": [stable_uuid("group", "aks-admins")],
            "adminUsers": None,
            "clientAppId": None,
            "enableAzureRbac": True,
            "managed": True,
            "serverAppId": None,
            "serverAppSecret": None,
            "tenantId": TENANT,
        },
        "addonProfiles": {
            "azureKeyvaultSecretsProvider": {
                "config": {"enableSecretRotation": "false", "rotationPollInterval": "2m"},
                "enabled": True,
                "identity": {
                    "clientId": stable_uuid("kv-identity-client"),
                    "objectId": stable_uuid("kv-identity-object"),
                    "resourceId": f"{ARM}/resourcegroups/{NODE_RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/"
                    "userAssignedIdentities/azurekeyvaultsecretsprovider-aks-prod-weu",
                },
            },
            "azurepolicy": {
                "config": None,
                "enabled": True,
                "identity": {
                    "clientId": stable_uuid("policy-identity-client"),
                    "objectId": stable_uuid("policy-identity-object"),
                    "resourceId": f"{ARM}/resourcegroups/{NODE_RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/"
                    "userAssignedIdentities/azurepolicy-aks-prod-weu",
                },
            },
            "omsagent": {
                "config": {"logAnalyticsWorkspaceResourceID": WORKSPACE_ID, "useAADAuth": "true"},
                "enabled": True,
                "identity": None,
            },
        },
        "agentPoolProfiles": [pool_profile(pool, listed=False) for pool in POOLS],
        "aiToolchainOperatorProfile": None,
        "apiServerAccessProfile": {
            "authorizedIpRanges": ["203.0.113.0/24", "198.51.100.17/32"],
            "disableRunCommand": None,
            "enablePrivateCluster": False,
            "enablePrivateClusterPublicFqdn": None,
            "enableVnetIntegration": None,
            "privateDnsZone": None,
            "subnetId": None,
        },
        "autoScalerProfile": {
            "balanceSimilarNodeGroups": "false",
            "daemonsetEvictionForEmptyNodes": False,
            "daemonsetEvictionForOccupiedNodes": True,
            "expander": "random",
            "ignoreDaemonsetsUtilization": False,
            "maxEmptyBulkDelete": "10",
            "maxGracefulTerminationSec": "600",
            "maxNodeProvisionTime": "15m",
            "maxTotalUnreadyPercentage": "45",
            "newPodScaleUpDelay": "0s",
            "okTotalUnreadyCount": "3",
            "scaleDownDelayAfterAdd": "10m",
            "scaleDownDelayAfterDelete": "10s",
            "scaleDownDelayAfterFailure": "3m",
            "scaleDownUnneededTime": "10m",
            "scaleDownUnreadyTime": "20m",
            "scaleDownUtilizationThreshold": "0.5",
            "scanInterval": "10s",
            "skipNodesWithLocalStorage": "false",
            "skipNodesWithSystemPods": "true",
        },
        "autoUpgradeProfile": {"nodeOsUpgradeChannel": "Unmanaged", "upgradeChannel": "patch"},
        "azureMonitorProfile": {
            "appMonitoring": None,
            "containerInsights": None,
            "metrics": {
                "enabled": True,
                "kubeStateMetrics": {"metricAnnotationsAllowList": "", "metricLabelsAllowlist": ""},
            },
        },
        "azurePortalFqdn": "aks-prod-weu-rg-prod-3f2c9a-k4m9x2qd.portal.hcp.westeurope.azmk8s.io",
        "bootstrapProfile": {"artifactSource": "Direct", "containerRegistryId": None},
        "currentKubernetesVersion": K8S_VERSION,
        "disableLocalAccounts": False,
        "diskEncryptionSetId": None,
        "dnsPrefix": "aks-prod-weu-rg-prod-3f2c9a",
        "eTag": stable_uuid("etag", CLUSTER),
        "enableRbac": True,
        "extendedLocation": None,
        "fqdn": "aks-prod-weu-rg-prod-3f2c9a-k4m9x2qd.hcp.westeurope.azmk8s.io",
        "fqdnSubdomain": None,
        "httpProxyConfig": None,
        "id": CLUSTER_ID,
        "identity": {
            "delegatedResources": None,
            "principalId": stable_uuid("cluster-principal"),
            "tenantId": TENANT,
            "type": "SystemAssigned",
            "userAssignedIdentities": None,
        },
        "identityProfile": {
            "kubeletidentity": {
                "clientId": KUBELET_CLIENT_ID,
                "objectId": stable_uuid("kubelet-principal"),
                "resourceId": f"{ARM}/resourcegroups/{NODE_RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/"
                f"userAssignedIdentities/{CLUSTER}-agentpool",
            }
        },
        "ingressProfile": None,
        "kind": "Base",
        "kubernetesVersion": K8S_MINOR,
        "linuxProfile": {
            "adminUsername": "azureuser",
            "ssh": {"publicKeys": [{"keyData": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7exampleonlyexampleonly"}]},
        },
        "location": LOCATION,
        "maxAgentPools": 100,
        "metricsProfile": {"costAnalysis": {"enabled": False}},
        "name": CLUSTER,
        "networkProfile": {
            "advancedNetworking": None,
            "dnsServiceIp": "10.0.0.10",
            "ipFamilies": ["IPv4"],
            "loadBalancerProfile": {
                "allocatedOutboundPorts": None,
                "backendPoolType": "nodeIPConfiguration",
                "effectiveOutboundIPs": [
                    {
                        "id": f"{ARM}/resourceGroups/{NODE_RESOURCE_GROUP}/providers/Microsoft.Network/"
                        f"publicIPAddresses/{stable_uuid('outbound-ip')}",
                        "resourceGroup": NODE_RESOURCE_GROUP,
                    }
                ],
                "enableMultipleStandardLoadBalancers": None,
                "idleTimeoutInMinutes": None,
                "managedOutboundIPs": {"count": 1, "countIpv6": None},
                "outboundIPs": None,
                "outboundIpPrefixes": None,
            },
            "loadBalancerSku": "standard",
            "natGatewayProfile": None,
            "networkDataplane": "cilium",
            "networkMode": None,
            "networkPlugin": "azure",
            "networkPluginMode": "overlay",
            "networkPolicy": "cilium",
            "outboundType": "loadBalancer",
            "podCidr": "10.244.0.0/16",
            "podCidrs": ["10.244.0.0/16"],
            "serviceCidr": "10.0.0.0/16",
            "serviceCidrs": ["10.0.0.0/16"],
            "staticEgressGatewayProfile": None,
        },
        "nodeProvisioningProfile": {"defaultNodePools": "Auto", "mode": "Manual"},
        "nodeResourceGroup": NODE_RESOURCE_GROUP,
        "nodeResourceGroupProfile": {"restrictionLevel": "Unrestricted"},
        "oidcIssuerProfile": {
            "enabled": True,
            "issuerUrl": f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/{stable_uuid('oidc')}/",
        },
        "podIdentityProfile": None,
        "powerState": {"code": "Running"},
        "privateFqdn": None,
        "privateLinkResources": None,
        "provisioningState": "Succeeded",
        "publicNetworkAccess": None,
        "resourceGroup": RESOURCE_GROUP,
        "resourceUid": digest("resource-uid", length=24),
        "securityProfile": {
            "azureKeyVaultKms": None,
            "customCaTrustCertificates": None,
            "defender": None,
            "imageCleaner": {"enabled": True, "intervalHours": 168},
            "workloadIdentity": {"enabled": True},
        },
        "serviceMeshProfile": None,
        "servicePrincipalProfile": {"clientId": "msi", "secret": None},
        "sku": {"name": "Base", "tier": "Standard"},
        "status": None,
        "storageProfile": {
            "blobCsiDriver": None,
            "diskCsiDriver": {"enabled": True},
            "fileCsiDriver": {"enabled": True},
            "snapshotController": {"enabled": True},
        },
        "supportPlan": "KubernetesOfficial",
        "systemData": None,
        "tags": {"costCenter": "4711", "environment": "prod", "owner": "platform-team"},
        "type": "Microsoft.ContainerService/ManagedClusters",
        "upgradeSettings": None,
        "windowsProfile": None,
        "workloadAutoScalerProfile": {"keda": None, "verticalPodAutoscaler": None},
    }


def maintenance_configurations() -> list[Json]:
    """`az aks maintenanceconfiguration list`: a window for the auto-upgrade channel only."""
    return [
        {
            "id": f"{CLUSTER_ID}/maintenanceConfigurations/aksManagedAutoUpgradeSchedule",
            "maintenanceWindow": {
                "durationHours": 4,
                "notAllowedDates": [{"end": "2027-01-03", "start": "2026-12-19"}],
                "schedule": {
                    "absoluteMonthly": None,
                    "daily": None,
                    "relativeMonthly": None,
                    "weekly": {"dayOfWeek": "Saturday", "intervalWeeks": 1},
                },
                "startDate": "2025-03-15",
                "startTime": "22:00",
                "utcOffset": "+01:00",
            },
            "name": "aksManagedAutoUpgradeSchedule",
            "notAllowedTime": None,
            "resourceGroup": RESOURCE_GROUP,
            "systemData": None,
            "timeInWeek": None,
            "type": None,
        }
    ]


def diagnostic_settings() -> list[Json]:
    """`az monitor diagnostic-settings list --resource <aks id>` (aaz output: unset fields are omitted)."""
    enabled = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "cluster-autoscaler", "kube-audit-admin"]
    disabled = ["kube-audit", "guard", "cloud-controller-manager", "csi-azuredisk-controller"]
    retention = {"days": 0, "enabled": False}
    logs = [{"category": c, "enabled": True, "retentionPolicy": retention} for c in enabled]
    logs += [{"category": c, "enabled": False, "retentionPolicy": retention} for c in disabled]
    return [
        {
            "id": f"{CLUSTER_ID.lower()}/providers/microsoft.insights/diagnosticSettings/aks-diagnostics",
            "logAnalyticsDestinationType": "Dedicated",
            "logs": logs,
            "metrics": [{"category": "AllMetrics", "enabled": True, "retentionPolicy": retention}],
            "name": "aks-diagnostics",
            "resourceGroup": RESOURCE_GROUP,
            "type": "Microsoft.Insights/diagnosticSettings",
            "workspaceId": WORKSPACE_ID,
        }
    ]


def extensions() -> list[Json]:
    """`az k8s-extension list --cluster-type managedClusters`: GitOps (Flux) only, no AKS Backup."""
    return [
        {
            "aksAssignedIdentity": None,
            "autoUpgradeMinorVersion": True,
            "configurationProtectedSettings": {},
            "configurationSettings": {"multiTenancy.enforce": "false"},
            "currentVersion": "1.17.4",
            "customLocationSettings": None,
            "errorInfo": None,
            "extensionType": "microsoft.flux",
            "id": f"{ARM}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.ContainerService/managedClusters/"
            f"{CLUSTER}/providers/Microsoft.KubernetesConfiguration/extensions/flux",
            "identity": None,
            "isSystemExtension": False,
            "name": "flux",
            "packageUri": None,
            "plan": None,
            "provisioningState": "Succeeded",
            "releaseTrain": "Stable",
            "resourceGroup": RESOURCE_GROUP,
            "scope": {"cluster": {"releaseNamespace": "flux-system"}, "namespace": None},
            "statuses": [],
            "systemData": {
                "createdAt": az_stamp(CLUSTER_CREATED + timedelta(days=2)),
                "createdBy": None,
                "createdByType": None,
                "lastModifiedAt": az_stamp(EXPORTED_AT - timedelta(days=33)),
                "lastModifiedBy": None,
                "lastModifiedByType": None,
            },
            "type": "Microsoft.KubernetesConfiguration/extensions",
            "version": None,
        }
    ]


def kubernetes_versions() -> Json:
    """`az aks get-versions -l westeurope` (invented release train, real shape)."""
    trains = [
        ("1.32", ["1.32.8", "1.32.9"], ["KubernetesOfficial", "AKSLongTermSupport"], None, None),
        ("1.33", ["1.33.5", "1.33.7"], ["KubernetesOfficial", "AKSLongTermSupport"], None, None),
        ("1.34", ["1.34.3", "1.34.4"], ["KubernetesOfficial"], True, None),
        ("1.35", ["1.35.1", "1.35.2"], ["KubernetesOfficial"], None, None),
        ("1.36", ["1.36.0"], ["KubernetesOfficial"], None, True),
    ]
    values = []
    for index, (minor, patches, plans, is_default, is_preview) in enumerate(trains):
        newer = [p for _, later, _, _, _ in trains[index + 1 : index + 2] for p in later]
        patch_versions = {patch: {"upgrades": [p for p in patches if p > patch] + newer} for patch in patches}
        values.append(
            {
                "capabilities": {"supportPlan": plans},
                "isDefault": is_default,
                "isPreview": is_preview,
                "patchVersions": patch_versions,
                "version": minor,
            }
        )
    return {"values": values}


def subnet() -> Json:
    """`az network vnet subnet show --ids <vnetSubnetId>` (aaz output)."""
    configs = [
        {
            "id": f"{vmss_id(node.pool)}/virtualMachines/{node.instance_id}/networkInterfaces/"
            f"{node.pool.vmss}/ipConfigurations/ipconfig1",
            "resourceGroup": NODE_RESOURCE_GROUP,
        }
        for node in NODES
    ]
    return {
        "addressPrefix": "10.20.0.0/24",
        "delegations": [],
        "etag": f'W/"{stable_uuid("subnet-etag")}"',
        "id": SUBNET_ID,
        "ipConfigurations": configs,
        "name": "snet-aks-nodes",
        "networkSecurityGroup": {"id": NSG_ID, "resourceGroup": "rg-network"},
        "privateEndpointNetworkPolicies": "Disabled",
        "privateLinkServiceNetworkPolicies": "Enabled",
        "provisioningState": "Succeeded",
        "resourceGroup": "rg-network",
        "type": "Microsoft.Network/virtualNetworks/subnets",
    }


def usage() -> list[Json]:
    """`az vm list-usage -l westeurope`: a few of the ~80 quotas it prints."""
    rows = [
        ("availabilitySets", "Availability Sets", 0, 2500),
        ("cores", "Total Regional vCPUs", 68, 350),
        ("virtualMachines", "Virtual Machines", 11, 25000),
        ("virtualMachineScaleSets", "Virtual Machine Scale Sets", 3, 2500),
        ("lowPriorityCores", "Total Regional Low-priority vCPUs", 8, 100),
        ("standardBSFamily", "Standard BS Family vCPUs", 0, 10),
        ("standardDASv5Family", "Standard DASv5 Family vCPUs", 0, 100),
        ("standardDDSv5Family", "Standard DDSv5 Family vCPUs", 60, 200),
        ("standardDSv5Family", "Standard DSv5 Family vCPUs", 0, 100),
        ("standardEDSv5Family", "Standard EDSv5 Family vCPUs", 0, 100),
    ]
    return [
        {"currentValue": current, "limit": limit, "name": {"localizedValue": label, "value": value}}
        for value, label, current, limit in rows
    ]


# --- workloads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """An HTTP GET probe on `path`, an exec probe running `command`, or else a TCP probe on the app's port."""

    path: str | None
    period: int = 10
    failure_threshold: int = 3
    initial_delay: int = 0
    command: tuple[str, ...] = ()


TCP = Probe(None)


@dataclass(frozen=True)
class App:
    """One Deployment or StatefulSet and what its pods look like."""

    name: str
    namespace: str
    image: str
    replicas: int
    port: int = 8080
    kind: str = "Deployment"
    part_of: str | None = None
    readiness: Probe | None = Probe("/ready")
    liveness: Probe | None = Probe("/healthz", period=20)
    requests: tuple[str, str] | None = ("250m", "256Mi")
    limits: tuple[str | None, str] | None = (None, "512Mi")
    zone_spread: bool = False
    host_spread: bool = False
    pre_stop: bool = False
    priority_class: str | None = None
    strategy: str = "RollingUpdate"
    pool: str = "apps"
    on_system_pool: bool = False
    volume_class: str | None = None
    volume_size: str = "32Gi"
    env: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    service: bool = True
    headless: bool = False
    sidecar: bool = False
    revision: int = 3
    selector_labels: tuple[tuple[str, str], ...] = ()

    @property
    def selector(self) -> dict[str, str]:
        """The labels the workload selects its pods by (and PDBs, services and spread constraints use)."""
        return dict(self.selector_labels) or {"app.kubernetes.io/name": self.name}

    @property
    def labels(self) -> dict[str, str]:
        labels = self.selector
        if self.part_of:
            labels["app.kubernetes.io/part-of"] = self.part_of
        return labels


def app_image(path: str, tag: str) -> str:
    return f"{REGISTRY}/{path}:{tag}"


APPS: tuple[App, ...] = (
    # shop: the well-kept namespace (policies, quota, limit range, PDBs, spread, pre-stop hooks)
    App(
        "storefront",
        "shop",
        app_image("shop/storefront", "2.14.3"),
        3,
        part_of="shop",
        zone_spread=True,
        host_spread=True,
        pre_stop=True,
        priority_class="shop-critical",
        requests=("500m", "512Mi"),
        limits=(None, "1Gi"),
        env=(("CART_URL", "http://cart.shop.svc.cluster.local:8080"), ("OTEL_SERVICE_NAME", "storefront")),
        sidecar=True,
    ),
    App(
        "cart",
        "shop",
        app_image("shop/cart", "1.9.0"),
        3,
        part_of="shop",
        zone_spread=True,
        host_spread=True,
        pre_stop=True,
        priority_class="shop-critical",
    ),
    App(
        "checkout",
        "shop",
        app_image("shop/checkout", "3.2.1"),
        2,
        part_of="shop",
        zone_spread=True,
        host_spread=True,
        pre_stop=True,
        priority_class="shop-critical",
        env=(("PAYMENTS_URL", "http://payments-api.payments.svc.cluster.local:8080"),),
    ),
    App("catalog", "shop", app_image("shop/catalog", "5.0.7"), 2, part_of="shop", strategy="Recreate"),
    App(
        "recommendations",
        "shop",
        app_image("shop/recommendations", "latest"),
        1,
        part_of="shop",
        annotations=(
            ("nodewarden.io/waive", "WL001"),
            (
                "nodewarden.io/waive-reason",
                "Best-effort recommender: when it is down the storefront hides the carousel (SHOP-231)",
            ),
        ),
    ),
    App(
        "session-cache",
        "shop",
        f"{MCR}/azurelinux/base/redis:7.2",
        3,
        kind="StatefulSet",
        port=6379,
        part_of="shop",
        readiness=Probe(None, command=("redis-cli", "ping")),
        liveness=Probe(None, period=20),
        zone_spread=True,
        host_spread=True,
        volume_class="managed-csi-premium-zrs",
        volume_size="16Gi",
        headless=True,
        requests=("250m", "1Gi"),
        limits=(None, "1Gi"),
    ),
    # payments: critical, mostly well kept
    App(
        "payments-api",
        "payments",
        app_image("payments/api", "7.3.0"),
        3,
        part_of="payments",
        zone_spread=True,
        host_spread=True,
        pre_stop=True,
        priority_class="payments-critical",
        requests=("1", "1Gi"),
        limits=("2", "2Gi"),
    ),
    App(
        "fraud-scoring",
        "payments",
        app_image("payments/fraud-scoring", "2.1.4"),
        2,
        part_of="payments",
        liveness=Probe("/ready"),  # identical to readiness: a slow dependency restarts every pod at once
        zone_spread=True,
        host_spread=True,
        pre_stop=True,
        priority_class="payments-critical",
    ),
    App(
        "ledger",
        "payments",
        f"{MCR}/azurelinux/base/postgres:16",
        3,
        kind="StatefulSet",
        port=5432,
        part_of="payments",
        readiness=Probe(None, command=("pg_isready", "-U", "postgres")),
        liveness=Probe(None, period=15),
        zone_spread=True,
        host_spread=True,
        priority_class="payments-critical",
        volume_class="managed-csi-premium-zrs",
        volume_size="256Gi",
        headless=True,
        requests=("2", "8Gi"),
        limits=(None, "8Gi"),
    ),
    App(
        "payments-worker",
        "payments",
        app_image("payments/worker", "7.3.0"),
        2,
        part_of="payments",
        service=False,
        zone_spread=True,
        host_spread=True,
        priority_class="payments-critical",
    ),
    App(
        "payments-reconciler",
        "payments",
        app_image("payments/reconciler", "1.4.2"),
        1,
        part_of="payments",
        service=False,
        priority_class="payments-critical",
    ),
    # search: the neglected namespace (no NetworkPolicy, no ResourceQuota, an LRS StatefulSet)
    App("search-api", "search", app_image("search/api", "4.6.2"), 3, part_of="search", readiness=None),
    App(
        "elasticsearch",
        "search",
        "docker.elastic.co/elasticsearch/elasticsearch:8.19.4",
        3,
        kind="StatefulSet",
        port=9200,
        part_of="search",
        readiness=Probe("/_cluster/health?local=true", period=5),
        liveness=None,
        host_spread=True,
        volume_class="managed-csi-premium",
        volume_size="512Gi",
        requests=("2", "8Gi"),
        limits=(None, "8Gi"),
        headless=True,
    ),
    App(
        "indexer",
        "search",
        app_image("search/indexer", "4.6.2"),
        2,
        part_of="search",
        requests=None,
        limits=None,
        service=False,
    ),
    # data: streaming on zone-redundant disks, batch jobs on spot
    App(
        "kafka",
        "data",
        f"{MCR}/azurelinux/base/kafka:3.9",
        3,
        kind="StatefulSet",
        port=9092,
        part_of="data",
        readiness=TCP,
        liveness=Probe(
            None,
            period=30,
            failure_threshold=6,
            command=("/opt/kafka/bin/kafka-broker-api-versions.sh", "--bootstrap-server=localhost:9092"),
        ),
        zone_spread=True,
        host_spread=True,
        volume_class="managed-csi-premium-zrs",
        volume_size="1Ti",
        requests=("2", "6Gi"),
        limits=(None, "6Gi"),
        headless=True,
    ),
    App(
        "etl-runner",
        "data",
        app_image("data/etl-runner", "2026.11.2"),
        4,
        part_of="data",
        pool="batch",
        service=False,
        readiness=None,
        priority_class="batch-low",
        requests=("1", "2Gi"),
        limits=(None, "4Gi"),
    ),
    App(
        "report-generator",
        "data",
        app_image("data/report-generator", "1.12.0"),
        2,
        part_of="data",
        pool="batch",
        service=False,
        readiness=None,
        priority_class="batch-low",
    ),
    # monitoring
    App(
        "prometheus",
        "monitoring",
        "quay.io/prometheus/prometheus:v3.7.3",
        2,
        kind="StatefulSet",
        port=9090,
        part_of="monitoring",
        readiness=Probe("/-/ready"),
        liveness=Probe("/-/healthy", period=15),
        zone_spread=True,
        host_spread=True,
        volume_class="managed-csi-premium-zrs",
        volume_size="200Gi",
        requests=("1", "4Gi"),
        limits=(None, "6Gi"),
    ),
    App(
        "alertmanager",
        "monitoring",
        "quay.io/prometheus/alertmanager:v0.28.1",
        2,
        kind="StatefulSet",
        port=9093,
        part_of="monitoring",
        readiness=Probe("/-/ready"),
        liveness=Probe("/-/healthy"),
        zone_spread=True,
        host_spread=True,
        volume_class="managed-csi-premium-zrs",
        volume_size="4Gi",
        headless=True,
    ),
    App(
        "grafana",
        "monitoring",
        "docker.io/grafana/grafana:12.2.1",
        1,
        port=3000,
        part_of="monitoring",
        readiness=Probe("/api/health"),
        liveness=Probe(None, period=30),
        volume_class="default",
        volume_size="10Gi",
    ),
    App(
        "kube-state-metrics",
        "monitoring",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.17.0",
        1,
        part_of="monitoring",
        readiness=Probe("/readyz"),
        liveness=Probe("/livez"),
        on_system_pool=True,  # tolerates CriticalAddonsOnly, so the scheduler put it on a system node
    ),
    App(
        "blackbox-exporter",
        "monitoring",
        "quay.io/prometheus/blackbox-exporter:v0.27.0",
        2,
        port=9115,
        part_of="monitoring",
        readiness=Probe("/-/healthy"),
        liveness=Probe(None, period=30),
        zone_spread=True,
        host_spread=True,
    ),
)

# AKS add-ons and the Flux extension: system namespaces, shaped like the real ones but trimmed.
ADDONS: tuple[App, ...] = (
    App(
        "coredns",
        "kube-system",
        f"{MCR}/oss/v2/kubernetes/coredns:v1.12.1-2",
        2,
        port=53,
        readiness=Probe("/ready", 10),
        liveness=Probe("/health", 10),
        requests=("100m", "70Mi"),
        limits=(None, "500Mi"),
        host_spread=True,
        on_system_pool=True,
        priority_class="system-cluster-critical",
        revision=5,
    ),
    App(
        "coredns-autoscaler",
        "kube-system",
        f"{MCR}/oss/v2/kubernetes/autoscaler/cluster-proportional-autoscaler:v1.9.0-1",
        1,
        service=False,
        readiness=None,
        liveness=None,
        requests=("20m", "10Mi"),
        limits=(None, "500Mi"),
        on_system_pool=True,
        priority_class="system-cluster-critical",
    ),
    App(
        "konnectivity-agent",
        "kube-system",
        f"{MCR}/oss/v2/kubernetes/apiserver-network-proxy/agent:v0.32.1-1",
        2,
        port=8082,
        service=False,
        readiness=None,
        liveness=Probe("/healthz"),
        requests=("20m", "50Mi"),
        limits=("1", "1Gi"),
        host_spread=True,
        on_system_pool=True,
        priority_class="system-cluster-critical",
    ),
    App(
        "metrics-server",
        "kube-system",
        f"{MCR}/oss/v2/kubernetes/metrics-server:v0.8.0-1",
        2,
        port=4443,
        readiness=Probe("/readyz"),
        liveness=Probe("/livez"),
        requests=("150m", "100Mi"),
        limits=(None, "400Mi"),
        host_spread=True,
        on_system_pool=True,
        priority_class="system-cluster-critical",
    ),
    App(
        "cilium-operator",
        "kube-system",
        f"{MCR}/oss/v2/cilium/operator-generic:v1.17.9-1",
        2,
        port=9234,
        service=False,
        readiness=None,
        liveness=Probe("/healthz"),
        requests=("20m", "64Mi"),
        limits=(None, "1Gi"),
        host_spread=True,
        on_system_pool=True,
        priority_class="system-cluster-critical",
    ),
    App(
        "ama-logs-rs",
        "kube-system",
        f"{MCR}/azuremonitor/containerinsights/ciprod:3.1.31",
        1,
        service=False,
        readiness=None,
        liveness=None,
        requests=("150m", "250Mi"),
        limits=("1", "1Gi"),
        on_system_pool=True,
    ),
    App(
        "ama-metrics",
        "kube-system",
        f"{MCR}/azuremonitor/containerinsights/ciprod/prometheus-collector/images:6.24.0-main-11-14-2026-5e4b0e8a",
        2,
        service=False,
        readiness=None,
        liveness=Probe("/health", 15),
        requests=("150m", "500Mi"),
        limits=("7", "14Gi"),
        on_system_pool=True,
    ),
    App(
        "azure-policy",
        "kube-system",
        f"{MCR}/azure-policy/policy-kubernetes-addon-prod:1.14.2",
        1,
        service=False,
        readiness=None,
        liveness=Probe("/healthz"),
        requests=("30m", "50Mi"),
        limits=(None, "500Mi"),
        on_system_pool=True,
    ),
    App(
        "azure-policy-webhook",
        "kube-system",
        f"{MCR}/azure-policy/policy-kubernetes-webhook:1.14.2",
        1,
        port=9443,
        readiness=None,
        liveness=Probe("/healthz"),
        requests=("30m", "50Mi"),
        limits=(None, "200Mi"),
        on_system_pool=True,
    ),
    App(
        "gatekeeper-audit",
        "gatekeeper-system",
        f"{MCR}/oss/v2/open-policy-agent/gatekeeper:v3.20.1-1",
        1,
        service=False,
        readiness=Probe("/readyz"),
        liveness=Probe("/healthz"),
        requests=("100m", "256Mi"),
        limits=(None, "3Gi"),
        on_system_pool=True,
        priority_class="system-cluster-critical",
    ),
    App(
        "gatekeeper-controller",
        "gatekeeper-system",
        f"{MCR}/oss/v2/open-policy-agent/gatekeeper:v3.20.1-1",
        2,
        port=8443,
        readiness=Probe("/readyz"),
        liveness=Probe("/healthz"),
        requests=("100m", "256Mi"),
        limits=(None, "512Mi"),
        host_spread=True,
        on_system_pool=True,
        priority_class="system-cluster-critical",
    ),
    App(
        "source-controller",
        "flux-system",
        f"{MCR}/oss/fluxcd/source-controller:v1.6.2",
        1,
        port=9090,
        readiness=Probe("/"),
        liveness=Probe("/healthz"),
        requests=("50m", "64Mi"),
        limits=("1", "1Gi"),
    ),
    App(
        "kustomize-controller",
        "flux-system",
        f"{MCR}/oss/fluxcd/kustomize-controller:v1.6.1",
        1,
        service=False,
        readiness=Probe("/readyz"),
        liveness=Probe("/healthz"),
        requests=("100m", "64Mi"),
        limits=("1", "1Gi"),
    ),
    App(
        "helm-controller",
        "flux-system",
        f"{MCR}/oss/fluxcd/helm-controller:v1.3.0",
        1,
        service=False,
        readiness=Probe("/readyz"),
        liveness=Probe("/healthz"),
        requests=("100m", "64Mi"),
        limits=("1", "1Gi"),
    ),
    App(
        "notification-controller",
        "flux-system",
        f"{MCR}/oss/fluxcd/notification-controller:v1.6.0",
        1,
        port=9292,
        readiness=Probe("/readyz"),
        liveness=Probe("/healthz"),
        requests=("100m", "64Mi"),
        limits=("1", "1Gi"),
    ),
    App(
        "fluxconfig-agent",
        "flux-system",
        f"{MCR}/azurek8sflux/fluxconfig-agent:1.17.4",
        1,
        service=False,
        readiness=None,
        liveness=Probe("/healthz", 30),
        requests=("5m", "30Mi"),
        limits=("50m", "150Mi"),
    ),
    App(
        "fluxconfig-controller",
        "flux-system",
        f"{MCR}/azurek8sflux/fluxconfig-controller:1.17.4",
        1,
        service=False,
        readiness=None,
        liveness=Probe("/healthz", 30),
        requests=("5m", "30Mi"),
        limits=("100m", "150Mi"),
    ),
)

# The labels AKS and the extensions select their pods by (not the app.kubernetes.io/name convention).
_ADDON_SELECTORS: dict[str, tuple[tuple[str, str], ...]] = {
    "coredns": (("k8s-app", "kube-dns"),),
    "coredns-autoscaler": (("k8s-app", "coredns-autoscaler"),),
    "konnectivity-agent": (("app", "konnectivity-agent"),),
    "metrics-server": (("k8s-app", "metrics-server"),),
    "cilium-operator": (("io.cilium/app", "operator"), ("name", "cilium-operator")),
    "ama-logs-rs": (("rsName", "ama-logs-rs"),),
    "ama-metrics": (("rsName", "ama-metrics"),),
    "azure-policy": (("app", "azure-policy"),),
    "azure-policy-webhook": (("app", "azure-policy-webhook"),),
    "gatekeeper-audit": (("control-plane", "audit-controller"), ("gatekeeper.sh/operation", "audit")),
    "gatekeeper-controller": (("control-plane", "controller-manager"), ("gatekeeper.sh/operation", "webhook")),
}
ADDONS = tuple(
    replace(addon, selector_labels=_ADDON_SELECTORS.get(addon.name, (("app", addon.name),))) for addon in ADDONS
)

SYSTEM_NAMESPACES = ("kube-system", "gatekeeper-system", "flux-system")

NAMESPACES = (
    "default",
    "kube-node-lease",
    "kube-public",
    "kube-system",
    "gatekeeper-system",
    "flux-system",
    "shop",
    "payments",
    "search",
    "data",
    "monitoring",
)


def object_meta(
    name: str,
    namespace: str | None,
    *,
    created: datetime,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    extra: Json | None = None,
) -> Json:
    meta: Json = {
        "creationTimestamp": stamp(created),
        "name": name,
        "resourceVersion": resource_version(),
        "uid": stable_uuid("object", namespace or "", name, str(created)),
    }
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(sorted(labels.items()))
    if annotations:
        meta["annotations"] = dict(sorted(annotations.items()))
    if extra:
        meta.update(extra)
    return meta


def kube_list(items: Iterable[Json]) -> Json:
    """What `kubectl get <kinds> -A -o json` prints."""
    return {"apiVersion": "v1", "items": list(items), "kind": "List", "metadata": {"resourceVersion": ""}}


def created_at(app: App) -> datetime:
    return CLUSTER_CREATED + timedelta(
        days=3 + int(digest("age", app.name), 16) % 500, seconds=int(digest("s", app.name), 16) % 86_400
    )


def probe_spec(probe: Probe, port: int) -> Json:
    handler: Json = {"tcpSocket": {"port": port}}
    if probe.path is not None:
        handler = {"httpGet": {"path": probe.path, "port": port, "scheme": "HTTP"}}
    elif probe.command:
        handler = {"exec": {"command": list(probe.command)}}
    return {
        **handler,
        "failureThreshold": probe.failure_threshold,
        "initialDelaySeconds": probe.initial_delay,
        "periodSeconds": probe.period,
        "successThreshold": 1,
        "timeoutSeconds": 1,
    }


def resources(app: App) -> Json:
    result: Json = {}
    if app.limits:
        cpu, memory = app.limits
        result["limits"] = {"memory": memory} | ({"cpu": cpu} if cpu else {})
    if app.requests:
        result["requests"] = {"cpu": app.requests[0], "memory": app.requests[1]}
    return result


def containers(app: App) -> list[Json]:
    main: Json = {
        "env": [{"name": key, "value": value} for key, value in app.env]
        + [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
        "image": app.image,
        "imagePullPolicy": "Always" if app.image.endswith(":latest") else "IfNotPresent",
        "name": app.name,
        "ports": [{"containerPort": app.port, "name": "http" if app.port >= 1024 else "dns", "protocol": "TCP"}],
        "resources": resources(app),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    if app.readiness:
        main["readinessProbe"] = probe_spec(app.readiness, app.port)
    if app.liveness:
        main["livenessProbe"] = probe_spec(app.liveness, app.port)
    if app.pre_stop:
        main["lifecycle"] = {"preStop": {"sleep": {"seconds": 10}}}
    if app.volume_class:
        main["volumeMounts"] = [{"mountPath": "/data", "name": "data"}]
    result = [main]
    if app.sidecar:
        result.append(
            {
                "args": ["--config=/conf/otel-agent.yaml"],
                "image": "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector:0.139.0",
                "imagePullPolicy": "IfNotPresent",
                "name": "otel-agent",
                "livenessProbe": probe_spec(Probe(None, period=30), 13133),
                "ports": [{"containerPort": 4317, "name": "otlp", "protocol": "TCP"}],
                "readinessProbe": probe_spec(Probe("/"), 13133),
                "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "50m", "memory": "128Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/conf", "name": "otel-config"}],
            }
        )
    return result


def pod_spec_template(app: App) -> Json:
    spec: Json = {
        "containers": containers(app),
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {"fsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
        "serviceAccountName": app.name if app.namespace in ("kube-system", "flux-system") else "default",
        "terminationGracePeriodSeconds": 45 if app.pre_stop else 30,
    }
    if app.priority_class:
        spec["priorityClassName"] = app.priority_class
    constraints = []
    if app.zone_spread:
        constraints.append(
            {
                "labelSelector": {"matchLabels": app.selector},
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
            }
        )
    if constraints:
        spec["topologySpreadConstraints"] = constraints
    if app.host_spread:
        spec["affinity"] = {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": app.selector},
                            "topologyKey": "kubernetes.io/hostname",
                        },
                        "weight": 100,
                    }
                ]
            }
        }
    tolerations = []
    if app.on_system_pool:
        tolerations.append({"key": "CriticalAddonsOnly", "operator": "Exists"})
    if app.pool == "batch":
        tolerations.append(
            {
                "effect": "NoSchedule",
                "key": "kubernetes.azure.com/scalesetpriority",
                "operator": "Equal",
                "value": "spot",
            }
        )
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "kubernetes.azure.com/scalesetpriority", "operator": "In", "values": ["spot"]}
                            ]
                        }
                    ]
                }
            }
        }
    if tolerations:
        spec["tolerations"] = tolerations
    volumes = []
    if app.sidecar:
        volumes.append({"configMap": {"defaultMode": 420, "name": "otel-agent"}, "name": "otel-config"})
    if app.volume_class and app.kind == "Deployment":
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": app.name}})
    if volumes:
        spec["volumes"] = volumes
    return spec


def workload(app: App) -> Json:
    created = created_at(app)
    ready = app.replicas
    annotations: dict[str, str] = {}
    if app.namespace in SYSTEM_NAMESPACES:
        labels = {**app.labels, "kubernetes.azure.com/managedby": "aks"}
    else:
        labels = {**app.labels, "app.kubernetes.io/managed-by": "Helm"}
        annotations = {
            "meta.helm.sh/release-name": app.part_of or app.name,
            "meta.helm.sh/release-namespace": app.namespace,
        }
    if app.kind == "Deployment":
        annotations["deployment.kubernetes.io/revision"] = str(app.revision)
    annotations.update(dict(app.annotations))
    template_annotations = {"kubectl.kubernetes.io/restartedAt": stamp(EXPORTED_AT - timedelta(days=12))}
    spec: Json = {
        "replicas": app.replicas,
        "revisionHistoryLimit": 10,
        "selector": {"matchLabels": app.selector},
        "template": {
            "metadata": {"annotations": template_annotations, "labels": dict(sorted(app.labels.items()))},
            "spec": pod_spec_template(app),
        },
    }
    generation = app.revision + 2
    if app.kind == "Deployment":
        spec["progressDeadlineSeconds"] = 600
        if app.strategy == "Recreate":
            spec["strategy"] = {"type": "Recreate"}
        else:
            spec["strategy"] = {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"}
        status: Json = {
            "availableReplicas": ready,
            "conditions": [
                {
                    "lastTransitionTime": stamp(created + timedelta(minutes=1)),
                    "lastUpdateTime": stamp(created + timedelta(minutes=1)),
                    "message": "Deployment has minimum availability.",
                    "reason": "MinimumReplicasAvailable",
                    "status": "True",
                    "type": "Available",
                },
                {
                    "lastTransitionTime": stamp(created),
                    "lastUpdateTime": stamp(EXPORTED_AT - timedelta(days=12)),
                    "message": f'ReplicaSet "{app.name}-{replica_set_hash(app)}" has successfully progressed.',
                    "reason": "NewReplicaSetAvailable",
                    "status": "True",
                    "type": "Progressing",
                },
            ],
            "observedGeneration": generation,
            "readyReplicas": ready,
            "replicas": app.replicas,
            "updatedReplicas": app.replicas,
        }
    else:
        spec["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Retain", "whenScaled": "Retain"}
        spec["podManagementPolicy"] = "OrderedReady" if app.name != "kafka" else "Parallel"
        spec["serviceName"] = app.name if app.headless else f"{app.name}-headless"
        spec["updateStrategy"] = {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"}
        spec["volumeClaimTemplates"] = [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": app.volume_size}},
                    "storageClassName": app.volume_class,
                    "volumeMode": "Filesystem",
                },
                "status": {"phase": "Pending"},
            }
        ]
        revision = f"{app.name}-{kube_suffix('sts', app.name, length=10)}"
        status = {
            "availableReplicas": ready,
            "collisionCount": 0,
            "currentReplicas": app.replicas,
            "currentRevision": revision,
            "observedGeneration": generation,
            "readyReplicas": ready,
            "replicas": app.replicas,
            "updateRevision": revision,
            "updatedReplicas": app.replicas,
        }
    return {
        "apiVersion": "apps/v1",
        "kind": app.kind,
        "metadata": object_meta(
            app.name,
            app.namespace,
            created=created,
            labels=labels,
            annotations=annotations,
            extra={"generation": generation},
        ),
        "spec": spec,
        "status": status,
    }


def replica_set_hash(app: App) -> str:
    return kube_suffix("rs", app.namespace, app.name, str(app.revision), length=10 if len(app.name) % 2 else 9)


# --- pods: scheduling, then the objects -------------------------------------------------------------


@dataclass
class PodPlacement:
    app: App
    name: str
    node: NodeSpec
    ip: str
    owner_kind: str
    owner_name: str
    ordinal: int


def schedule() -> list[PodPlacement]:
    """Place every replica: zone-spread apps round-robin over zones, the rest over nodes."""
    counters: dict[str, int] = {}
    placements = []
    ip_counter: dict[str, int] = {}
    for app in (*ADDONS, *APPS):
        if app.on_system_pool:
            candidates = [n for n in NODES if n.pool.name == "system"]
        else:
            candidates = [n for n in NODES if n.pool.name == app.pool]
        start = int(digest("start", app.name), 16) % len(candidates)
        for ordinal in range(app.replicas):
            node = candidates[(start + ordinal) % len(candidates)]
            counters[node.name] = counters.get(node.name, 0) + 1
            ip_counter[node.name] = ip_counter.get(node.name, 10) + 1
            if app.kind == "StatefulSet":
                name = f"{app.name}-{ordinal}"
                owner_kind, owner_name = "StatefulSet", app.name
            else:
                rs = f"{app.name}-{replica_set_hash(app)}"
                name = f"{rs}-{kube_suffix('pod', app.name, str(ordinal), length=5)}"
                owner_kind, owner_name = "ReplicaSet", rs
            placements.append(
                PodPlacement(
                    app, name, node, f"{node.pod_cidr_prefix}.{ip_counter[node.name]}", owner_kind, owner_name, ordinal
                )
            )
    return placements


def container_status(container: Json, started: datetime, *, restarts: int) -> Json:
    return {
        "containerID": f"containerd://{digest('container', container['name'], str(started))}",
        "image": container["image"],
        "imageID": container["image"].rsplit(":", 1)[0] + f"@sha256:{digest('image', container['image'])}",
        "lastState": {},
        "name": container["name"],
        "ready": True,
        "restartCount": restarts,
        "started": True,
        "state": {"running": {"startedAt": stamp(started)}},
    }


def kube_api_access_volume(name: str) -> Json:
    return {
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                {
                    "downwardAPI": {
                        "items": [
                            {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}
                        ]
                    }
                },
            ],
        },
    }


DEFAULT_TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
]

PRIORITY_VALUES = {
    "system-cluster-critical": 2_000_000_000,
    "system-node-critical": 2_000_001_000,
    "payments-critical": 200_000,
    "shop-critical": 100_000,
}


def pod_object(
    placement: PodPlacement,
    *,
    template: Json,
    owner_uid: str,
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
) -> Json:
    app = placement.app
    # Every template carries the restartedAt of a rollout 12 days ago; its pods started just after it.
    rollout = EXPORTED_AT - timedelta(days=12)
    started = rollout + timedelta(seconds=20 + 35 * placement.ordinal + int(digest("m", placement.name), 16) % 30)
    access = f"kube-api-access-{kube_suffix('access', placement.name, length=5)}"
    spec = json.loads(json.dumps(template))  # a deep copy; the template stays untouched
    for container in spec["containers"]:
        mounts = container.setdefault("volumeMounts", [])
        mounts.append({"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": access, "readOnly": True})
    spec["enableServiceLinks"] = True
    spec["nodeName"] = placement.node.name
    spec["preemptionPolicy"] = "PreemptLowerPriority"
    spec["priority"] = PRIORITY_VALUES.get(spec.get("priorityClassName", ""), 0)
    spec["serviceAccount"] = spec["serviceAccountName"]
    spec["tolerations"] = [*spec.get("tolerations", []), *DEFAULT_TOLERATIONS]
    spec["volumes"] = [*spec.get("volumes", []), kube_api_access_volume(access)]
    if app.kind == "StatefulSet" and app.volume_class:
        spec["hostname"] = placement.name
        spec["subdomain"] = app.name if app.headless else f"{app.name}-headless"
        spec["volumes"].insert(0, {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{placement.name}"}})
    restarts = 1 if "etl" in app.name else 0
    statuses = [container_status(c, started + timedelta(seconds=9), restarts=restarts) for c in spec["containers"]]
    qos = "Burstable"
    if app.requests is None and app.limits is None:
        qos = "BestEffort"
    conditions = [
        ("PodReadyToStartContainers", started + timedelta(seconds=5)),
        ("Initialized", started),
        ("Ready", started + timedelta(seconds=31)),
        ("ContainersReady", started + timedelta(seconds=31)),
        ("PodScheduled", started - timedelta(seconds=1)),
    ]
    meta_extra: Json = {
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "blockOwnerDeletion": True,
                "controller": True,
                "kind": placement.owner_kind,
                "name": placement.owner_name,
                "uid": owner_uid,
            }
        ]
    }
    if placement.owner_kind == "ReplicaSet":
        meta_extra["generateName"] = f"{placement.owner_name}-"
    pod_labels = dict(labels)
    if placement.owner_kind == "ReplicaSet":
        pod_labels["pod-template-hash"] = placement.owner_name.rsplit("-", 1)[1]
    elif placement.owner_kind == "StatefulSet":
        pod_labels["apps.kubernetes.io/pod-index"] = str(placement.ordinal)
        pod_labels["controller-revision-hash"] = f"{app.name}-{kube_suffix('sts', app.name, length=10)}"
        pod_labels["statefulset.kubernetes.io/pod-name"] = placement.name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": object_meta(
            placement.name,
            app.namespace,
            created=started - timedelta(seconds=2),
            labels=pod_labels,
            annotations=annotations,
            extra=meta_extra,
        ),
        "spec": spec,
        "status": {
            "conditions": [
                {"lastProbeTime": None, "lastTransitionTime": stamp(moment), "status": "True", "type": kind}
                for kind, moment in conditions
            ],
            "containerStatuses": statuses,
            "hostIP": placement.node.ip,
            "hostIPs": [{"ip": placement.node.ip}],
            "phase": "Running",
            "podIP": placement.ip,
            "podIPs": [{"ip": placement.ip}],
            "qosClass": qos,
            "startTime": stamp(started),
        },
    }


def cilium_pods() -> Iterator[Json]:
    """The cilium DaemonSet's pods (the other AKS DaemonSets are left out to keep the example short)."""
    ds_uid = stable_uuid("daemonset", "kube-system", "cilium")
    app = App(
        "cilium",
        "kube-system",
        f"{MCR}/oss/v2/cilium/cilium:v1.17.9-1",
        1,
        port=9879,
        readiness=Probe("/healthz"),
        liveness=Probe("/healthz", 30),
        requests=("100m", "300Mi"),
        limits=(None, "1Gi"),
        priority_class="system-node-critical",
    )
    template = pod_spec_template(app)
    template["hostNetwork"] = True
    template["tolerations"] = [{"operator": "Exists"}]
    template["dnsPolicy"] = "ClusterFirstWithHostNet"
    for node in NODES:
        name = f"cilium-{kube_suffix('cilium', node.name, length=5)}"
        placement = PodPlacement(app, name, node, node.ip, "DaemonSet", "cilium", NODES.index(node))
        pod = pod_object(
            placement,
            template=template,
            owner_uid=ds_uid,
            labels={
                "controller-revision-hash": "7d9f8c6b5",
                "k8s-app": "cilium",
                "kubernetes.azure.com/managedby": "aks",
                "pod-template-generation": "4",
            },
        )
        yield pod


def bare_pod() -> Json:
    """A debugging pod someone started with `kubectl run` and forgot: no owner, not recreated after node repair."""
    node = next(n for n in NODES if n.pool.name == "apps")
    started = EXPORTED_AT - timedelta(days=41, hours=5)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": object_meta("debug-shell", "default", created=started, labels={"run": "debug-shell"}),
        "spec": {
            "containers": [
                {
                    "args": ["sleep", "infinity"],
                    "image": f"{MCR}/azurelinux/busybox:1.36",
                    "imagePullPolicy": "IfNotPresent",
                    "name": "debug-shell",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "volumeMounts": [
                        {
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                            "name": "kube-api-access-q7w2x",
                            "readOnly": True,
                        }
                    ],
                }
            ],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "nodeName": node.name,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": DEFAULT_TOLERATIONS,
            "volumes": [kube_api_access_volume("kube-api-access-q7w2x")],
        },
        "status": {
            "conditions": [
                {"lastProbeTime": None, "lastTransitionTime": stamp(started), "status": "True", "type": kind}
                for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [
                container_status(
                    {"name": "debug-shell", "image": f"{MCR}/azurelinux/busybox:1.36"}, started, restarts=0
                )
            ],
            "hostIP": node.ip,
            "hostIPs": [{"ip": node.ip}],
            "phase": "Running",
            "podIP": f"{node.pod_cidr_prefix}.250",
            "podIPs": [{"ip": f"{node.pod_cidr_prefix}.250"}],
            "qosClass": "BestEffort",
            "startTime": stamp(started),
        },
    }


WorkloadIndex = dict[tuple[str, str], Json]


def owner_uid(placement: PodPlacement, workloads: WorkloadIndex) -> str:
    app = placement.app
    if placement.owner_kind == "StatefulSet":
        return str(workloads[(app.namespace, app.name)]["metadata"]["uid"])
    return stable_uuid("replicaset", app.namespace, placement.owner_name)


def pods(placements: list[PodPlacement], workloads: WorkloadIndex) -> list[Json]:
    """Every pod: the workloads' replicas, the cilium DaemonSet's and one bare pod."""
    result = []
    for placement in placements:
        app = placement.app
        template = workloads[(app.namespace, app.name)]["spec"]["template"]
        result.append(
            pod_object(
                placement,
                template=template["spec"],
                owner_uid=owner_uid(placement, workloads),
                labels=template["metadata"]["labels"],
                annotations=template["metadata"].get("annotations"),
            )
        )
    result.extend(cilium_pods())
    result.append(bare_pod())
    return result


# --- policies, budgets, autoscalers, storage and services --------------------------------------------


def pdb(name: str, namespace: str, *, selector: Json, expected: int, **policy: int | str) -> Json:
    healthy = expected
    if "maxUnavailable" in policy:
        unavailable = policy["maxUnavailable"]
        desired = expected - int(unavailable) if isinstance(unavailable, int) else expected - 1
    else:
        minimum = policy["minAvailable"]
        desired = int(minimum) if isinstance(minimum, int) else expected
    created = CLUSTER_CREATED + timedelta(days=int(digest("pdb", name), 16) % 400)
    labels = {"kubernetes.azure.com/managedby": "aks"} if namespace == "kube-system" else None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_meta(name, namespace, created=created, labels=labels, extra={"generation": 1}),
        "spec": {**policy, "selector": selector},
        "status": {
            "conditions": [
                {
                    "lastTransitionTime": stamp(EXPORTED_AT - timedelta(days=12)),
                    "message": "",
                    "observedGeneration": 1,
                    "reason": "SufficientPods" if healthy - desired > 0 else "InsufficientPods",
                    "status": "True" if healthy - desired > 0 else "False",
                    "type": "DisruptionAllowed",
                }
            ],
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "disruptionsAllowed": max(0, healthy - desired),
            "expectedPods": expected,
            "observedGeneration": 1,
        },
    }


def by_name(name: str) -> Json:
    return {"matchLabels": {"app.kubernetes.io/name": name}}


def pdbs() -> list[Json]:
    return [
        pdb(
            "coredns-pdb", "kube-system", selector={"matchLabels": {"k8s-app": "kube-dns"}}, expected=2, minAvailable=1
        ),
        pdb(
            "konnectivity-agent",
            "kube-system",
            selector={"matchLabels": {"app": "konnectivity-agent"}},
            expected=2,
            minAvailable=1,
        ),
        pdb(
            "metrics-server-pdb",
            "kube-system",
            selector={"matchLabels": {"k8s-app": "metrics-server"}},
            expected=2,
            minAvailable=1,
        ),
        pdb("storefront", "shop", selector=by_name("storefront"), expected=3, maxUnavailable=1),
        pdb("cart", "shop", selector=by_name("cart"), expected=3, minAvailable=2),
        # Planted: blocks every voluntary eviction, so node drains and AKS upgrades stall on checkout.
        pdb("checkout", "shop", selector=by_name("checkout"), expected=2, maxUnavailable=0),
        pdb("session-cache", "shop", selector=by_name("session-cache"), expected=3, maxUnavailable=1),
        pdb("payments-api", "payments", selector=by_name("payments-api"), expected=3, minAvailable=2),
        pdb("ledger", "payments", selector=by_name("ledger"), expected=3, maxUnavailable=1),
        pdb("elasticsearch", "search", selector=by_name("elasticsearch"), expected=3, maxUnavailable=1),
        # Planted: overlaps the elasticsearch PDB (and covers search-api): a pod under two PDBs cannot be evicted.
        pdb(
            "search-all",
            "search",
            selector={"matchLabels": {"app.kubernetes.io/part-of": "search"}},
            expected=8,
            minAvailable=1,
        ),
        pdb("payments-worker", "payments", selector=by_name("payments-worker"), expected=2, maxUnavailable=1),
        pdb("kafka", "data", selector=by_name("kafka"), expected=3, maxUnavailable=1),
        pdb("prometheus", "monitoring", selector=by_name("prometheus"), expected=2, minAvailable=1),
        pdb("alertmanager", "monitoring", selector=by_name("alertmanager"), expected=2, maxUnavailable=1),
    ]


def hpa(target: str, namespace: str, *, minimum: int, maximum: int, current: int, cpu: int = 70) -> Json:
    created = CLUSTER_CREATED + timedelta(days=int(digest("hpa", target), 16) % 400)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": object_meta(target, namespace, created=created),
        "spec": {
            "maxReplicas": maximum,
            "metrics": [
                {
                    "resource": {"name": "cpu", "target": {"averageUtilization": cpu, "type": "Utilization"}},
                    "type": "Resource",
                }
            ],
            "minReplicas": minimum,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        },
        "status": {
            "conditions": [
                {
                    "lastTransitionTime": stamp(created),
                    "message": "recommended size matches current size",
                    "reason": "ReadyForNewScale",
                    "status": "True",
                    "type": "AbleToScale",
                },
                {
                    "lastTransitionTime": stamp(EXPORTED_AT - timedelta(hours=5)),
                    "message": "the HPA was able to successfully calculate a replica count from cpu resource "
                    "utilization (percentage of request)",
                    "reason": "ValidMetricFound",
                    "status": "True",
                    "type": "ScalingActive",
                },
            ],
            "currentMetrics": [
                {
                    "resource": {
                        "current": {"averageUtilization": cpu - 18, "averageValue": "112m"},
                        "name": "cpu",
                    },
                    "type": "Resource",
                }
            ],
            "currentReplicas": current,
            "desiredReplicas": current,
            "lastScaleTime": stamp(EXPORTED_AT - timedelta(days=2, hours=7)),
        },
    }


def hpas() -> list[Json]:
    return [
        hpa("storefront", "shop", minimum=3, maximum=12, current=3),
        hpa("search-api", "search", minimum=2, maximum=10, current=3),
        # Planted: minReplicas 1 lets quiet hours shrink fraud-scoring to a single pod.
        hpa("fraud-scoring", "payments", minimum=1, maximum=4, current=2, cpu=60),
        hpa("etl-runner", "data", minimum=2, maximum=20, current=4, cpu=80),
    ]


def namespaces() -> list[Json]:
    result = []
    for name in NAMESPACES:
        created = (
            CLUSTER_CREATED if name.startswith("kube") or name == "default" else CLUSTER_CREATED + timedelta(days=2)
        )
        labels = {"kubernetes.io/metadata.name": name}
        if name == "kube-system":
            labels |= {
                "addonmanager.kubernetes.io/mode": "Reconcile",
                "control-plane": "true",
                "kubernetes.azure.com/managedby": "aks",
            }
        if name in ("shop", "payments"):
            labels |= {"pod-security.kubernetes.io/enforce": "restricted", "team": name}
        if name in ("search", "data", "monitoring"):
            labels |= {"team": "platform" if name == "monitoring" else name}
        result.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": object_meta(name, None, created=created, labels=labels),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
        )
    return result


def resource_quota(namespace: str, *, cpu: str, memory: str, pods: int) -> Json:
    hard = {"limits.memory": memory, "pods": str(pods), "requests.cpu": cpu, "requests.memory": memory}
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": object_meta("compute", namespace, created=CLUSTER_CREATED + timedelta(days=2, hours=1)),
        "spec": {"hard": hard},
        "status": {
            "hard": hard,
            "used": {"limits.memory": "18Gi", "pods": "12", "requests.cpu": "5250m", "requests.memory": "9Gi"},
        },
    }


def limit_range(namespace: str) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": object_meta("defaults", namespace, created=CLUSTER_CREATED + timedelta(days=2, hours=1)),
        "spec": {
            "limits": [
                {
                    "default": {"memory": "512Mi"},
                    "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                    "max": {"memory": "16Gi"},
                    "type": "Container",
                }
            ]
        },
    }


def priority_classes() -> list[Json]:
    rows = [
        (
            "system-cluster-critical",
            2_000_000_000,
            "Used for system critical pods that must run in the cluster, but can be moved to another node "
            "if necessary.",
        ),
        (
            "system-node-critical",
            2_000_001_000,
            "Used for system critical pods that must not be moved from their current node.",
        ),
        ("payments-critical", 200_000, "Payment path: evicted last."),
        ("shop-critical", 100_000, "Customer-facing shop services."),
        ("batch-low", -10, "Spot batch jobs; never preempt others."),
    ]
    result = []
    for name, value, description in rows:
        item: Json = {
            "apiVersion": "scheduling.k8s.io/v1",
            "description": description,
            "kind": "PriorityClass",
            "metadata": object_meta(name, None, created=CLUSTER_CREATED + timedelta(days=0 if value > 1e9 else 2)),
            "preemptionPolicy": "Never" if value < 0 else "PreemptLowerPriority",
            "value": value,
        }
        result.append(item)
    return result


def network_policy(name: str, namespace: str, spec: Json) -> Json:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(
            name, namespace, created=CLUSTER_CREATED + timedelta(days=2, hours=2), extra={"generation": 1}
        ),
        "spec": spec,
    }


def network_policies() -> list[Json]:
    deny_all = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allow_dns = {
        "egress": [
            {
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
            }
        ],
        "podSelector": {},
        "policyTypes": ["Egress"],
    }
    return [
        network_policy("default-deny", "shop", deny_all),
        network_policy("allow-dns", "shop", allow_dns),
        network_policy(
            "storefront-ingress",
            "shop",
            {
                "ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}]}],
                "podSelector": by_name("storefront"),
                "policyTypes": ["Ingress"],
            },
        ),
        network_policy("default-deny", "payments", deny_all),
        network_policy("allow-dns", "payments", allow_dns),
        network_policy(
            "payments-api-from-shop",
            "payments",
            {
                "ingress": [
                    {
                        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}}],
                        "ports": [{"port": 8080, "protocol": "TCP"}],
                    }
                ],
                "podSelector": by_name("payments-api"),
                "policyTypes": ["Ingress"],
            },
        ),
        network_policy("default-deny-ingress", "data", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        network_policy(
            "prometheus-scrape",
            "monitoring",
            {
                "ingress": [{"from": [{"podSelector": by_name("prometheus")}]}],
                "podSelector": {},
                "policyTypes": ["Ingress"],
            },
        ),
    ]


def storage_class(
    name: str, provisioner: str, parameters: dict[str, str], *, default: bool = False, aks: bool = True
) -> Json:
    labels = (
        {"addonmanager.kubernetes.io/mode": "EnsureExists", "kubernetes.io/cluster-service": "true"} if aks else None
    )
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else None
    return {
        "allowVolumeExpansion": True,
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": object_meta(
            name,
            None,
            created=CLUSTER_CREATED + timedelta(minutes=9 if aks else 60 * 24 * 2),
            labels=labels,
            annotations=annotations,
        ),
        "parameters": parameters,
        "provisioner": provisioner,
        "reclaimPolicy": "Delete" if aks else "Retain",
        "volumeBindingMode": "WaitForFirstConsumer" if provisioner == "disk.csi.azure.com" else "Immediate",
    }


def storage_classes() -> list[Json]:
    disk, file = "disk.csi.azure.com", "file.csi.azure.com"
    return [
        storage_class("azurefile", file, {"skuName": "Standard_LRS"}),
        storage_class("azurefile-csi", file, {"skuName": "Standard_LRS"}),
        storage_class("azurefile-csi-premium", file, {"skuName": "Premium_LRS"}),
        storage_class("azurefile-premium", file, {"skuName": "Premium_LRS"}),
        storage_class("default", disk, {"skuname": "StandardSSD_LRS"}, default=True),
        storage_class(
            "managed", disk, {"cachingmode": "ReadOnly", "kind": "Managed", "storageaccounttype": "StandardSSD_LRS"}
        ),
        storage_class("managed-csi", disk, {"skuname": "StandardSSD_LRS"}),
        storage_class("managed-csi-premium", disk, {"skuname": "Premium_LRS"}),
        storage_class(
            "managed-premium", disk, {"cachingmode": "ReadOnly", "kind": "Managed", "storageaccounttype": "Premium_LRS"}
        ),
        storage_class("managed-csi-premium-zrs", disk, {"skuName": "Premium_ZRS"}, aks=False),
    ]


def persistent_volume_claims(placements: list[PodPlacement]) -> list[Json]:
    result = []
    for placement in placements:
        app = placement.app
        if app.kind != "StatefulSet" or not app.volume_class:
            continue
        result.append(pvc(f"data-{placement.name}", app, placement.node))
    grafana = next(a for a in APPS if a.name == "grafana")
    node = next(p.node for p in placements if p.app is grafana)
    result.append(pvc("grafana", grafana, node))
    return result


def pvc(name: str, app: App, node: NodeSpec) -> Json:
    created = created_at(app) + timedelta(seconds=3)
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": object_meta(
            name,
            app.namespace,
            created=created,
            labels=app.labels,
            annotations={
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.beta.kubernetes.io/storage-provisioner": "disk.csi.azure.com",
                "volume.kubernetes.io/selected-node": node.name,
                "volume.kubernetes.io/storage-provisioner": "disk.csi.azure.com",
            },
            extra={"finalizers": ["kubernetes.io/pvc-protection"]},
        ),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": app.volume_size}},
            "storageClassName": app.volume_class,
            "volumeMode": "Filesystem",
            "volumeName": f"pvc-{stable_uuid('pv', app.namespace, name)}",
        },
        "status": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": app.volume_size}, "phase": "Bound"},
    }


def service_ip(namespace: str, name: str) -> str:
    value = int(digest("svc", namespace, name), 16)
    return f"10.0.{value % 250 + 1}.{value // 250 % 250 + 2}"


def service(
    name: str,
    namespace: str,
    *,
    selector: dict[str, str] | None,
    port: int,
    target: int | str,
    headless: bool = False,
    load_balancer: bool = False,
    labels: dict[str, str] | None = None,
    port_name: str = "http",
) -> Json:
    ip = "None" if headless else service_ip(namespace, name)
    spec: Json = {
        "clusterIP": ip,
        "clusterIPs": [ip],
        "internalTrafficPolicy": "Cluster",
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "ports": [{"name": port_name, "port": port, "protocol": "TCP", "targetPort": target}],
        "sessionAffinity": "None",
        "type": "LoadBalancer" if load_balancer else "ClusterIP",
    }
    if selector is not None:
        spec["selector"] = selector
    status: Json = {"loadBalancer": {}}
    annotations = None
    if load_balancer:
        spec["allocateLoadBalancerNodePorts"] = True
        spec["externalTrafficPolicy"] = "Local"
        spec["healthCheckNodePort"] = 31742
        spec["ports"][0]["nodePort"] = 30443
        status = {"loadBalancer": {"ingress": [{"ip": "10.20.0.200", "ipMode": "VIP"}]}}
        annotations = {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(
            name, namespace, created=CLUSTER_CREATED + timedelta(days=3), labels=labels, annotations=annotations
        ),
        "spec": spec,
        "status": status,
    }


def services_and_slices(pod_objects: list[Json]) -> tuple[list[Json], list[Json]]:
    services: list[Json] = [
        service(
            "kubernetes",
            "default",
            selector=None,
            port=443,
            target=443,
            port_name="https",
            labels={"component": "apiserver", "provider": "kubernetes"},
        ),
        service(
            "kube-dns",
            "kube-system",
            selector={"k8s-app": "kube-dns"},
            port=53,
            target=53,
            port_name="dns",
            labels={"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
        ),
    ]
    for app in (*ADDONS, *APPS):
        if not app.service or app.name == "coredns":
            continue
        services.append(
            service(
                app.name,
                app.namespace,
                selector=app.selector,
                port=80 if app.port == 8080 else app.port,
                target=app.port,
                headless=app.headless,
                load_balancer=app.name == "storefront",
                labels=app.labels,
            )
        )
    slices = [endpoint_slice(svc, pod_objects) for svc in services]
    return services, slices


def endpoint_slice(svc: Json, pod_objects: list[Json]) -> Json:
    meta = svc["metadata"]
    selector = svc["spec"].get("selector")
    endpoints = []
    if selector is None:  # the API server's own endpoints
        endpoints = [
            {"addresses": ["192.0.2.10"], "conditions": {"ready": True, "serving": True, "terminating": False}}
        ]
    else:
        for pod in pod_objects:
            if pod["metadata"]["namespace"] != meta["namespace"]:
                continue
            labels = pod["metadata"].get("labels", {})
            if all(labels.get(k) == v for k, v in selector.items()):
                node = next(n for n in NODES if n.name == pod["spec"]["nodeName"])
                endpoint: Json = {
                    "addresses": [pod["status"]["podIP"]],
                    "conditions": {"ready": True, "serving": True, "terminating": False},
                    "nodeName": node.name,
                    "targetRef": {
                        "kind": "Pod",
                        "name": pod["metadata"]["name"],
                        "namespace": meta["namespace"],
                        "uid": pod["metadata"]["uid"],
                    },
                }
                if node.zone:
                    endpoint["zone"] = f"{LOCATION}-{node.zone}"
                if svc["spec"]["clusterIP"] == "None":
                    endpoint["hostname"] = pod["metadata"]["name"]
                endpoints.append(endpoint)
    port = svc["spec"]["ports"][0]
    target = port["targetPort"]
    labels = {
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
        "kubernetes.io/service-name": meta["name"],
        **(meta.get("labels") or {}),
    }
    if svc["spec"]["clusterIP"] == "None":
        labels["service.kubernetes.io/headless"] = ""
    if selector is None:  # the API server writes its own slice, without the controller's label
        labels = {"kubernetes.io/service-name": meta["name"]}
    name = (
        meta["name"]
        if selector is None
        else f"{meta['name']}-{kube_suffix('eps', meta['namespace'], meta['name'], length=5)}"
    )
    extra: Json = {
        "ownerReferences": [
            {
                "apiVersion": "v1",
                "blockOwnerDeletion": True,
                "controller": True,
                "kind": "Service",
                "name": meta["name"],
                "uid": meta["uid"],
            }
        ],
        "generation": 7,
    }
    if selector is not None:
        extra["generateName"] = f"{meta['name']}-"
    else:
        extra = {"generation": 1}
    return {
        "addressType": "IPv4",
        "apiVersion": "discovery.k8s.io/v1",
        "endpoints": endpoints,
        "kind": "EndpointSlice",
        "metadata": object_meta(
            name,
            meta["namespace"],
            created=CLUSTER_CREATED + timedelta(days=3, seconds=1),
            labels=labels,
            annotations={"endpoints.kubernetes.io/last-change-trigger-time": stamp(EXPORTED_AT - timedelta(days=12))},
            extra=extra,
        ),
        "ports": [
            {"name": port["name"], "port": target if isinstance(target, int) else port["port"], "protocol": "TCP"}
        ],
    }


# --- writing -------------------------------------------------------------------------------------


def write_az(path: Path, value: Any) -> None:
    """az prints JSON with two-space indent and sorted keys."""
    path.write_text(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def write_kubectl(path: Path, items: Iterable[Json]) -> None:
    """kubectl prints JSON with four-space indent; unstructured maps come out sorted."""
    text = json.dumps(kube_list(items), indent=4, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def generate(out: Path) -> dict[str, int]:
    """Write every file; return how many objects each holds."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.json"):
        stale.unlink()
    write_az(out / "aks.json", cluster())
    write_az(out / "nodepools.json", [pool_profile(pool, listed=True) for pool in POOLS])
    write_az(out / "vmss.json", [scale_set(pool) for pool in POOLS])
    write_az(out / "vmss-instances.json", [scale_set_instance(node) for node in NODES])
    write_az(out / "maintenance.json", maintenance_configurations())
    write_az(out / "diagnostic-settings.json", diagnostic_settings())
    write_az(out / "extensions.json", extensions())
    write_az(out / "versions.json", kubernetes_versions())
    write_az(out / "subnet.json", subnet())
    write_az(out / "usage.json", usage())

    all_apps = (*ADDONS, *APPS)
    workloads = [workload(app) for app in all_apps]
    index = {(w["metadata"]["namespace"], w["metadata"]["name"]): w for w in workloads}
    placements = schedule()
    pod_objects = pods(placements, index)
    services, slices = services_and_slices(pod_objects)
    kube_files: dict[str, list[Json]] = {
        "k8s-deployments.json": [w for w in workloads if w["kind"] == "Deployment"],
        "k8s-statefulsets.json": [w for w in workloads if w["kind"] == "StatefulSet"],
        "k8s-pods.json": pod_objects,
        "k8s-pdb.json": pdbs(),
        "k8s-hpa.json": hpas(),
        "k8s-namespaces.json": namespaces(),
        "k8s-resourcequotas.json": [
            resource_quota("shop", cpu="24", memory="48Gi", pods=60),
            resource_quota("payments", cpu="32", memory="96Gi", pods=40),
            resource_quota("data", cpu="48", memory="128Gi", pods=80),
        ],
        "k8s-limitranges.json": [limit_range("shop"), limit_range("payments")],
        "k8s-priorityclasses.json": priority_classes(),
        "k8s-networkpolicies.json": network_policies(),
        "k8s-storageclasses.json": storage_classes(),
        "k8s-pvc.json": persistent_volume_claims(placements),
        "k8s-services.json": services,
        "k8s-endpointslices.json": slices,
        "k8s-nodes.json": [node_object(node) for node in NODES],
    }
    for name, items in kube_files.items():
        write_kubectl(out / name, items)
    return {name: len(items) for name, items in kube_files.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "cluster", help="output folder")
    args = parser.parse_args()
    counts = generate(args.out)
    for name, count in counts.items():
        print(f"{name:28} {count:4} objects")


if __name__ == "__main__":
    main()

"""Benchmarks `nodewarden audit` on a synthetic 5,000-node cluster against a bare `json.load` of the same files.

The generator writes one file per command, shaped like the az CLI and `kubectl get <kind> -A -o json`
output in examples/cluster/ (kubectl Lists with four-space indent, az JSON with two-space indent),
at the scale of a large AKS cluster: by default 5,000 nodes in 20 pools, 50,000 pods, 5,000
workloads and proportional PDBs, HPAs, services, endpoint slices, namespaces, quotas, VMSS and
VMSS instances. Large files are streamed to disk item by item, so the generator itself stays small.

Then, in fresh subprocesses, it times

* parse: a bare `json.load` of every generated file, keeping every document alive (what any tool
  that relates pods to workloads, nodes and instances must at least do), and
* audit: `nodewarden audit <folder> -o json --output <file>` end to end,

each `--repeat` times, interleaved, and reads each child's peak RSS from `os.wait4` (the rusage
of exactly that child, not of earlier ones). It prints min and median seconds, median peak RSS and
the audit/parse ratio against the targets (ratio <= 3x, peak <= 1 GB = 1e9 bytes) and exits 1 when
a target is missed, 2 when the audit itself fails.

    .venv/bin/python bench/audit_scale.py [--nodes 5000] [--repeat 3] [--keep] [--profile]

`--keep` writes into bench/out/ (git-ignored) and leaves it there; otherwise a temporary folder is
used and removed. `--profile` also runs the audit once in-process under cProfile and prints the
functions that dominate its time.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

Json = dict[str, Any]

RATIO_TARGET = 3.0
PEAK_TARGET_BYTES = 1_000_000_000  # "1 GB", read strictly as 10^9 bytes
AUDIT_NOW = "2026-11-26T12:00:00Z"  # a fixed clock, so date-based rules give the same answer every run

PODS_PER_NODE = 10
WORKLOADS_PER_NODE = 1
NODES_PER_POOL = 250
WORKLOADS_PER_NAMESPACE = 50
REPLICA_CYCLE = (2, 3, 4, 6, 8, 10, 12, 15, 20, 20)  # averages PODS_PER_NODE / WORKLOADS_PER_NODE = 10

SUBSCRIPTION = "6e1f5b9c-2d7a-4e83-b0c4-9a5d3f1e7c20"
RESOURCE_GROUP = "rg-scale"
CLUSTER = "aks-scale-weu"
LOCATION = "westeurope"
NODE_RESOURCE_GROUP = f"MC_{RESOURCE_GROUP}_{CLUSTER}_{LOCATION}"
K8S_VERSION = "1.33.7"
NODE_IMAGE = "AKSUbuntu-2204gen2containerd-202611.02.0"
ARM = f"/subscriptions/{SUBSCRIPTION}"
CLUSTER_ID = f"{ARM}/resourcegroups/{RESOURCE_GROUP}/providers/Microsoft.ContainerService/managedClusters/{CLUSTER}"
SUBNET_ID = f"{ARM}/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-scale/subnets/snet-nodes"
EXPORTED_AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
REGISTRY = "acrscaleweu.azurecr.io"
VMSS_TYPE = "virtualMachineScaleSets"


# --- the shape of the cluster --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pool:
    name: str
    mode: str
    vm_size: str
    vcpus: int
    count: int
    suffix: str
    first_node: int  # index of the pool's first node in the cluster-wide node list

    @property
    def vmss(self) -> str:
        return f"aks-{self.name}-{self.suffix}-vmss"

    @property
    def vmss_id(self) -> str:
        return f"{ARM}/resourceGroups/{NODE_RESOURCE_GROUP}/providers/Microsoft.Compute/{VMSS_TYPE}/{self.vmss}"

    def node_name(self, instance_id: int) -> str:
        return f"{self.vmss}{base36(instance_id)}"


@dataclass(frozen=True, slots=True)
class Workload:
    index: int
    name: str
    namespace: str
    kind: str
    replicas: int
    first_pod: int  # index of its first pod in the cluster-wide pod list

    @property
    def has_service(self) -> bool:
        return self.index % 5 != 4  # 80 %

    @property
    def has_pdb(self) -> bool:
        return self.index % 5 in (0, 1, 2)  # 60 %

    @property
    def has_hpa(self) -> bool:
        return self.kind == "Deployment" and self.index % 10 in (0, 3, 6)  # ~27 %


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the files are derived from; sizes scale with the node count."""

    pools: tuple[Pool, ...]
    workloads: tuple[Workload, ...]
    namespaces: tuple[str, ...]

    @property
    def node_count(self) -> int:
        return sum(pool.count for pool in self.pools)

    @property
    def pod_count(self) -> int:
        return sum(w.replicas for w in self.workloads)


def make_plan(nodes: int) -> Plan:
    """A system pool of 3-5 nodes and user pools of up to 250; one workload per node, ten pods per node."""
    if nodes < 4:
        raise ValueError("--nodes must be at least 4 (a system pool of 3 and one user node)")
    system_count = min(5, max(3, nodes // 1000))
    user_nodes = nodes - system_count
    user_pools = max(2, round(user_nodes / NODES_PER_POOL)) if user_nodes >= 2 else 1
    sizes = [user_nodes // user_pools + (1 if i < user_nodes % user_pools else 0) for i in range(user_pools)]
    pools = [Pool("system", "System", "Standard_D4ds_v5", 4, system_count, "10000000", 0)]
    first = system_count
    for i, size in enumerate(sizes):
        vm_size, vcpus = ("Standard_D16ds_v5", 16) if i % 2 == 0 else ("Standard_E16ds_v5", 16)
        pools.append(Pool(f"user{i:02d}", "User", vm_size, vcpus, size, f"{20000000 + 7919 * i:08d}", first))
        first += size
    workload_count = nodes * WORKLOADS_PER_NODE
    namespace_count = max(2, workload_count // WORKLOADS_PER_NAMESPACE)
    namespaces = tuple(f"team-{i:03d}" for i in range(namespace_count))
    workloads = []
    first_pod = 0
    for i in range(workload_count):
        replicas = REPLICA_CYCLE[i % len(REPLICA_CYCLE)]
        kind = "StatefulSet" if i % 10 == 7 else "Deployment"
        namespace = namespaces[i % namespace_count]
        workloads.append(Workload(i, f"svc-{i:05d}", namespace, kind, replicas, first_pod))
        first_pod += replicas
    return Plan(tuple(pools), tuple(workloads), namespaces)


def base36(number: int, width: int = 6) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text.rjust(width, "0")


def stable_uuid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(("nodewarden-bench", *map(str, parts)))))


def short_hash(*parts: object, length: int = 10) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    value = int(hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=16).hexdigest(), 16)
    chars = []
    for _ in range(length):
        value, index = divmod(value, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class NodeIndex:
    """Maps the cluster-wide node number to its pool, instance id, name, zone and addresses."""

    def __init__(self, plan: Plan) -> None:
        self.entries: list[tuple[Pool, int]] = [(pool, i) for pool in plan.pools for i in range(pool.count)]
        self.user_nodes = [n for n, (pool, _) in enumerate(self.entries) if pool.mode == "User"]

    def name(self, node: int) -> str:
        pool, instance_id = self.entries[node]
        return pool.node_name(instance_id)

    def zone(self, node: int) -> str:
        return str(self.entries[node][1] % 3 + 1)

    @staticmethod
    def ip(node: int) -> str:
        return f"10.40.{node // 250}.{node % 250 + 4}"

    @staticmethod
    def pod_ip(node: int, slot: int) -> str:
        # Overlay pod CIDR 100.64.0.0/10: one /24 per node.
        return f"100.{64 + node // 256}.{node % 256}.{slot + 2}"


# --- Azure files ---------------------------------------------------------------------------------


def agent_pool(pool: Pool, *, listed: bool) -> Json:
    system = pool.mode == "System"
    profile: Json = {
        "availabilityZones": ["1", "2", "3"],
        "count": pool.count,
        "currentOrchestratorVersion": K8S_VERSION,
        "enableAutoScaling": True,
        "enableEncryptionAtHost": False,
        "enableFips": False,
        "enableNodePublicIp": False,
        "kubeletDiskType": "OS",
        "maxCount": pool.count + (2 if system else 50),
        "maxPods": 110,
        "minCount": pool.count if system else max(1, pool.count // 2),
        "mode": pool.mode,
        "name": pool.name,
        "nodeImageVersion": NODE_IMAGE,
        "nodeLabels": None,
        "nodeTaints": ["CriticalAddonsOnly=true:NoSchedule"] if system else None,
        "orchestratorVersion": "1.33",
        "osDiskSizeGb": 128,
        "osDiskType": "Ephemeral",
        "osSku": "AzureLinux",
        "osType": "Linux",
        "powerState": {"code": "Running"},
        "provisioningState": "Succeeded",
        "scaleDownMode": "Delete",
        "scaleSetEvictionPolicy": None,
        "scaleSetPriority": None,
        "spotMaxPrice": None,
        "tags": None,
        "upgradeSettings": {
            "drainTimeoutInMinutes": 30,
            "maxSurge": "33%",
            "maxUnavailable": "0",
            "nodeSoakDurationInMinutes": None,
            "undrainableNodeBehavior": "Schedule",
        },
        "vmSize": pool.vm_size,
        "vnetSubnetId": SUBNET_ID,
        "workloadRuntime": "OCIContainer",
    }
    if listed:
        profile |= {
            "id": f"{CLUSTER_ID}/agentPools/{pool.name}",
            "resourceGroup": RESOURCE_GROUP,
            "type": "Microsoft.ContainerService/managedClusters/agentPools",
            "typePropertiesType": "VirtualMachineScaleSets",
        }
    else:
        profile["type"] = "VirtualMachineScaleSets"
    return profile


def cluster(plan: Plan) -> Json:
    return {
        "aadProfile": {"adminGroupObjectIDs": None, "enableAzureRbac": True, "managed": True, "tenantId": None},
        "addonProfiles": {
            "azurepolicy": {"config": None, "enabled": True, "identity": None},
            "omsagent": {"config": {"logAnalyticsWorkspaceResourceID": f"{ARM}/law"}, "enabled": True},
        },
        "agentPoolProfiles": [agent_pool(pool, listed=False) for pool in plan.pools],
        "apiServerAccessProfile": {"authorizedIpRanges": ["203.0.113.0/24"], "enablePrivateCluster": False},
        "autoScalerProfile": {"balanceSimilarNodeGroups": "true", "expander": "least-waste"},
        "autoUpgradeProfile": {"nodeOsUpgradeChannel": "NodeImage", "upgradeChannel": "patch"},
        "azureMonitorProfile": {"metrics": {"enabled": True}},
        "currentKubernetesVersion": K8S_VERSION,
        "disableLocalAccounts": True,
        "enableRbac": True,
        "id": CLUSTER_ID,
        "identity": {"type": "SystemAssigned"},
        "kubernetesVersion": "1.33",
        "location": LOCATION,
        "name": CLUSTER,
        "networkProfile": {
            "loadBalancerSku": "standard",
            "networkDataplane": "cilium",
            "networkPlugin": "azure",
            "networkPluginMode": "overlay",
            "networkPolicy": "cilium",
            "outboundType": "loadBalancer",
            "podCidr": "100.64.0.0/10",
        },
        "nodeResourceGroup": NODE_RESOURCE_GROUP,
        "nodeResourceGroupProfile": {"restrictionLevel": "ReadOnly"},
        "oidcIssuerProfile": {"enabled": True},
        "powerState": {"code": "Running"},
        "provisioningState": "Succeeded",
        "resourceGroup": RESOURCE_GROUP,
        "securityProfile": {
            "defender": {"securityMonitoring": {"enabled": True}},
            "workloadIdentity": {"enabled": True},
        },
        "servicePrincipalProfile": {"clientId": "msi", "secret": None},
        "sku": {"name": "Base", "tier": "Standard"},
        "storageProfile": {
            "diskCsiDriver": {"enabled": True},
            "fileCsiDriver": {"enabled": True},
            "snapshotController": {"enabled": True},
        },
        "supportPlan": "KubernetesOfficial",
        "type": "Microsoft.ContainerService/ManagedClusters",
    }


def scale_set(pool: Pool) -> Json:
    tags = {
        "aks-managed-createOperationID": stable_uuid("op", pool.name),
        "aks-managed-creationSource": f"vmssclient-{pool.vmss}",
        "aks-managed-orchestrator": f"Kubernetes:{K8S_VERSION}",
        "aks-managed-poolName": pool.name,
        "aks-managed-resourceNameSuffix": "51177230",
    }
    return {
        "automaticRepairsPolicy": None,
        "id": pool.vmss_id,
        "location": LOCATION,
        "name": pool.vmss,
        "orchestrationMode": "Uniform",
        "overprovision": False,
        "platformFaultDomainCount": 1,
        "provisioningState": "Succeeded",
        "resourceGroup": NODE_RESOURCE_GROUP,
        "singlePlacementGroup": False,
        "sku": {"capacity": pool.count, "name": pool.vm_size, "tier": "Standard"},
        "tags": tags,
        "type": "Microsoft.Compute/virtualMachineScaleSets",
        "uniqueId": stable_uuid("vmss", pool.name),
        "upgradePolicy": {"mode": "Manual"},
        "virtualMachineProfile": {
            "extensionProfile": {
                "extensions": [
                    {
                        "name": "vmssCSE",
                        "publisher": "Microsoft.Azure.Extensions",
                        "type": None,
                        "typePropertiesType": "CustomScript",
                    }
                ]
            },
            "networkProfile": {
                "networkInterfaceConfigurations": [
                    {
                        "ipConfigurations": [
                            {"name": "ipconfig1", "publicIpAddressConfiguration": None, "subnet": {"id": SUBNET_ID}}
                        ],
                        "name": pool.vmss,
                        "primary": True,
                    }
                ]
            },
            "osProfile": {
                "computerNamePrefix": pool.vmss,
                "linuxConfiguration": {"disablePasswordAuthentication": True},
            },
            "securityProfile": None,
        },
        "zoneBalance": False,
        "zones": ["1", "2", "3"],
    }


def instance(pool: Pool, instance_id: int) -> Json:
    name = pool.node_name(instance_id)
    started = stamp(EXPORTED_AT - timedelta(days=9, minutes=instance_id))
    return {
        "id": f"{pool.vmss_id}/virtualMachines/{instance_id}",
        "instanceId": str(instance_id),
        "instanceView": {
            "computerName": name,
            "osName": "azurelinux",
            "osVersion": "3.0.20261102",
            "platformFaultDomain": 0,
            "platformUpdateDomain": 0,
            "statuses": [
                {
                    "code": "ProvisioningState/succeeded",
                    "displayStatus": "Provisioning succeeded",
                    "level": "Info",
                    "time": started,
                },
                {"code": "PowerState/running", "displayStatus": "VM running", "level": "Info", "time": None},
            ],
            "vmAgent": {
                "statuses": [
                    {
                        "code": "ProvisioningState/succeeded",
                        "displayStatus": "Ready",
                        "level": "Info",
                        "message": "Guest Agent is running",
                        "time": stamp(EXPORTED_AT),
                    }
                ],
                "vmAgentVersion": "2.13.1.1",
            },
        },
        "latestModelApplied": True,
        "location": LOCATION,
        "name": f"{pool.vmss}_{instance_id}",
        "osProfile": {"adminUsername": "azureuser", "computerName": name},
        "provisioningState": "Succeeded",
        "resourceGroup": NODE_RESOURCE_GROUP,
        "sku": {"name": pool.vm_size, "tier": "Standard"},
        "timeCreated": started,
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "vmId": stable_uuid("vm", name),
        "zones": [str(instance_id % 3 + 1)],
    }


def small_azure_files(plan: Plan) -> dict[str, Any]:
    """The az outputs that stay small however big the cluster is."""
    retention = {"days": 0, "enabled": False}
    categories = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "cluster-autoscaler"]
    categories += ["kube-audit-admin", "guard"]
    vcpus = sum(pool.count * pool.vcpus for pool in plan.pools)
    return {
        "aks.json": cluster(plan),
        "nodepools.json": [agent_pool(pool, listed=True) for pool in plan.pools],
        "vmss.json": [scale_set(pool) for pool in plan.pools],
        "maintenance.json": [
            {
                "id": f"{CLUSTER_ID}/maintenanceConfigurations/{name}",
                "maintenanceWindow": {
                    "durationHours": 4,
                    "schedule": {"weekly": {"dayOfWeek": "Sunday", "intervalWeeks": 1}},
                    "startTime": "01:00",
                    "utcOffset": "+00:00",
                },
                "name": name,
                "type": None,
            }
            for name in ("aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule")
        ],
        "diagnostic-settings.json": [
            {
                "id": f"{CLUSTER_ID.lower()}/providers/microsoft.insights/diagnosticSettings/aks",
                "logs": [{"category": c, "enabled": True, "retentionPolicy": retention} for c in categories],
                "metrics": [{"category": "AllMetrics", "enabled": True, "retentionPolicy": retention}],
                "name": "aks",
                "type": "Microsoft.Insights/diagnosticSettings",
                "workspaceId": f"{ARM}/law",
            }
        ],
        "extensions.json": [
            {
                "extensionType": "microsoft.dataprotection.kubernetes",
                "id": f"{CLUSTER_ID}/providers/Microsoft.KubernetesConfiguration/extensions/azure-aks-backup",
                "name": "azure-aks-backup",
                "provisioningState": "Succeeded",
                "type": "Microsoft.KubernetesConfiguration/extensions",
            }
        ],
        "versions.json": {
            "values": [
                {
                    "capabilities": {"supportPlan": ["KubernetesOfficial", "AKSLongTermSupport"]},
                    "isDefault": None,
                    "isPreview": None,
                    "patchVersions": {K8S_VERSION: {"upgrades": ["1.34.4"]}},
                    "version": "1.33",
                },
                {
                    "capabilities": {"supportPlan": ["KubernetesOfficial"]},
                    "isDefault": True,
                    "isPreview": None,
                    "patchVersions": {"1.34.4": {"upgrades": []}},
                    "version": "1.34",
                },
            ]
        },
        "usage.json": [
            {"currentValue": vcpus, "limit": vcpus * 3, "name": {"localizedValue": label, "value": value}}
            for value, label in (
                ("cores", "Total Regional vCPUs"),
                ("standardDDSv5Family", "Standard DDSv5 Family vCPUs"),
                ("standardEDSv5Family", "Standard EDSv5 Family vCPUs"),
            )
        ],
    }


def subnet(plan: Plan, nodes: NodeIndex) -> Json:
    """A /16 node subnet whose `ipConfigurations` lists every node's NIC, as `az network vnet subnet show` does."""
    return {
        "addressPrefix": "10.40.0.0/16",
        "id": SUBNET_ID,
        "ipConfigurations": [
            {
                "id": f"{pool.vmss_id}/virtualMachines/{i}/networkInterfaces/{pool.vmss}/ipConfigurations/ipconfig1",
                "resourceGroup": NODE_RESOURCE_GROUP,
            }
            for pool, i in nodes.entries
        ],
        "name": "snet-nodes",
        "networkSecurityGroup": {"id": f"{ARM}/resourceGroups/rg-network/providers/Microsoft.Network/nsg"},
        "provisioningState": "Succeeded",
        "resourceGroup": "rg-network",
        "type": "Microsoft.Network/virtualNetworks/subnets",
    }


# --- Kubernetes files -----------------------------------------------------------------------------


def meta(name: str, namespace: str | None, *, labels: dict[str, str] | None = None, **extra: Any) -> Json:
    result: Json = {
        "creationTimestamp": "2026-03-02T08:14:55Z",
        "name": name,
        "resourceVersion": str(4_000_000 + int(hashlib.blake2b(name.encode(), digest_size=3).hexdigest(), 16)),
        "uid": stable_uuid(namespace, name),
    }
    if namespace is not None:
        result["namespace"] = namespace
    if labels:
        result["labels"] = labels
    result.update(extra)
    return result


def node(nodes: NodeIndex, index: int) -> Json:
    pool, instance_id = nodes.entries[index]
    name = nodes.name(index)
    zone = f"{LOCATION}-{nodes.zone(index)}"
    labels = {
        "agentpool": pool.name,
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": pool.vm_size,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": LOCATION,
        "failure-domain.beta.kubernetes.io/zone": zone,
        "kubernetes.azure.com/agentpool": pool.name,
        "kubernetes.azure.com/cluster": NODE_RESOURCE_GROUP,
        "kubernetes.azure.com/mode": pool.mode.lower(),
        "kubernetes.azure.com/node-image-version": NODE_IMAGE,
        "kubernetes.azure.com/nodepool-type": "VirtualMachineScaleSets",
        "kubernetes.azure.com/os-sku": "AzureLinux",
        "kubernetes.azure.com/role": "agent",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/role": "agent",
        "node-role.kubernetes.io/agent": "",
        "node.kubernetes.io/instance-type": pool.vm_size,
        "topology.disk.csi.azure.com/zone": zone,
        "topology.kubernetes.io/region": LOCATION,
        "topology.kubernetes.io/zone": zone,
    }
    conditions = [
        ("KernelDeadlock", "False", "KernelHasNoDeadlock"),
        ("FrequentContainerdRestart", "False", "NoFrequentContainerdRestart"),
        ("NetworkUnavailable", "False", "CiliumIsUp"),
        ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID"),
        ("Ready", "True", "KubeletReady"),
    ]
    images = [
        {
            "names": [
                f"{REGISTRY}/team/app-{i}@sha256:{short_hash('img', i, length=64)}",
                f"{REGISTRY}/team/app-{i}:1",
            ],
            "sizeBytes": 50_000_000 + i * 1_000_003,
        }
        for i in range(index % 7, index % 7 + 8)
    ]
    spec: Json = {
        "podCIDR": f"100.{64 + index // 256}.{index % 256}.0/24",
        "providerID": f"azure://{pool.vmss_id.replace(NODE_RESOURCE_GROUP, NODE_RESOURCE_GROUP.lower())}"
        f"/virtualMachines/{instance_id}",
    }
    if pool.mode == "System":
        spec["taints"] = [{"effect": "NoSchedule", "key": "CriticalAddonsOnly", "value": "true"}]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta(name, None, labels=labels, annotations={"node.alpha.kubernetes.io/ttl": "0"}),
        "spec": spec,
        "status": {
            "addresses": [{"address": nodes.ip(index), "type": "InternalIP"}, {"address": name, "type": "Hostname"}],
            "allocatable": {"cpu": f"{pool.vcpus * 1000 - 260}m", "memory": "58956092Ki", "pods": "110"},
            "capacity": {"cpu": str(pool.vcpus), "memory": "65843484Ki", "pods": "110"},
            "conditions": [
                {
                    "lastHeartbeatTime": stamp(EXPORTED_AT),
                    "lastTransitionTime": "2026-11-17T06:31:02Z",
                    "message": reason,
                    "reason": reason,
                    "status": status,
                    "type": kind,
                }
                for kind, status, reason in conditions
            ],
            "images": images,
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": stable_uuid("boot", name),
                "containerRuntimeVersion": "containerd://2.0.6",
                "kernelVersion": "6.6.104.2-1.azl3",
                "kubeletVersion": f"v{K8S_VERSION}",
                "operatingSystem": "linux",
                "osImage": "Microsoft Azure Linux 3.0",
            },
        },
    }


def pod_template(workload: Workload) -> Json:
    container: Json = {
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.monitoring:4317"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        ],
        "image": f"{REGISTRY}/{workload.namespace}/{workload.name}:1.{workload.index % 40}.{workload.index % 7}",
        "imagePullPolicy": "IfNotPresent",
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 20},
        "name": "app",
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 10},
        "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "250m", "memory": "512Mi"}},
        "volumeMounts": [{"mountPath": "/etc/app", "name": "config", "readOnly": True}],
    }
    selector = {"app.kubernetes.io/name": workload.name}
    spec: Json = {
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": selector},
                            "topologyKey": "kubernetes.io/hostname",
                        },
                        "weight": 100,
                    }
                ]
            }
        },
        "containers": [container],
        "topologySpreadConstraints": [
            {
                "labelSelector": {"matchLabels": selector},
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
            }
        ],
        "volumes": [{"configMap": {"defaultMode": 420, "name": workload.name}, "name": "config"}],
    }
    return {"metadata": {"labels": {**selector, "team": workload.namespace}}, "spec": spec}


def workload_object(workload: Workload) -> Json:
    selector = {"app.kubernetes.io/name": workload.name}
    spec: Json = {
        "replicas": workload.replicas,
        "revisionHistoryLimit": 10,
        "selector": {"matchLabels": selector},
        "template": pod_template(workload),
    }
    if workload.kind == "Deployment":
        spec["strategy"] = {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"}
    else:
        spec["serviceName"] = workload.name
        spec["volumeClaimTemplates"] = [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "64Gi"}},
                    "storageClassName": "managed-csi-premium-zrs",
                },
            }
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": workload.kind,
        "metadata": meta(workload.name, workload.namespace, labels=selector, generation=4),
        "spec": spec,
        "status": {
            "availableReplicas": workload.replicas,
            "observedGeneration": 4,
            "readyReplicas": workload.replicas,
            "replicas": workload.replicas,
            "updatedReplicas": workload.replicas,
        },
    }


def pod_name(workload: Workload, ordinal: int) -> str:
    if workload.kind == "StatefulSet":
        return f"{workload.name}-{ordinal}"
    return f"{workload.name}-{short_hash('rs', workload.name)}-{short_hash('pod', workload.name, ordinal, length=5)}"


def pod_node(nodes: NodeIndex, pod_index: int) -> int:
    return nodes.user_nodes[pod_index % len(nodes.user_nodes)]


def pod(workload: Workload, ordinal: int, nodes: NodeIndex) -> Json:
    """One running pod: about 3 KB at kubectl's four-space indent."""
    pod_index = workload.first_pod + ordinal
    node_index = pod_node(nodes, pod_index)
    template = pod_template(workload)
    spec = template["spec"]
    container = spec["containers"][0]
    container["volumeMounts"].append(
        {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access", "readOnly": True}
    )
    spec["volumes"].append(
        {
            "name": "kube-api-access",
            "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"path": "token"}}]},
        }
    )
    spec |= {
        "dnsPolicy": "ClusterFirst",
        "nodeName": nodes.name(node_index),
        "restartPolicy": "Always",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
        ],
    }
    owner_kind = "StatefulSet" if workload.kind == "StatefulSet" else "ReplicaSet"
    owner_name = workload.name if owner_kind == "StatefulSet" else f"{workload.name}-{short_hash('rs', workload.name)}"
    if owner_kind == "StatefulSet":
        spec["volumes"].append(
            {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{pod_name(workload, ordinal)}"}}
        )
    started = "2026-11-14T09:31:07Z"
    ip = nodes.pod_ip(node_index, pod_index // len(nodes.user_nodes))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(
            pod_name(workload, ordinal),
            workload.namespace,
            labels=template["metadata"]["labels"],
            ownerReferences=[
                {
                    "apiVersion": "apps/v1",
                    "blockOwnerDeletion": True,
                    "controller": True,
                    "kind": owner_kind,
                    "name": owner_name,
                    "uid": stable_uuid("owner", workload.namespace, owner_name),
                }
            ],
        ),
        "spec": spec,
        "status": {
            "conditions": [
                {"lastProbeTime": None, "lastTransitionTime": started, "status": "True", "type": kind}
                for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [
                {
                    "containerID": f"containerd://{short_hash('c', pod_index, length=64)}",
                    "image": container["image"],
                    "imageID": f"{REGISTRY}/{workload.name}@sha256:{short_hash('i', workload.name, length=64)}",
                    "name": "app",
                    "ready": True,
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {"startedAt": started}},
                }
            ],
            "hostIP": nodes.ip(node_index),
            "phase": "Running",
            "podIP": ip,
            "qosClass": "Burstable",
            "startTime": started,
        },
    }


def service(workload: Workload) -> Json:
    value = workload.index
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(workload.name, workload.namespace, labels={"app.kubernetes.io/name": workload.name}),
        "spec": {
            "clusterIP": f"10.0.{value // 250 % 250}.{value % 250 + 2}",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
            "selector": {"app.kubernetes.io/name": workload.name},
            "sessionAffinity": "None",
            "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }


def endpoint_slice(workload: Workload, nodes: NodeIndex) -> Json:
    endpoints = []
    for ordinal in range(workload.replicas):
        pod_index = workload.first_pod + ordinal
        node_index = pod_node(nodes, pod_index)
        endpoints.append(
            {
                "addresses": [nodes.pod_ip(node_index, pod_index // len(nodes.user_nodes))],
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "nodeName": nodes.name(node_index),
                "targetRef": {"kind": "Pod", "name": pod_name(workload, ordinal), "namespace": workload.namespace},
                "zone": f"{LOCATION}-{nodes.zone(node_index)}",
            }
        )
    return {
        "addressType": "IPv4",
        "apiVersion": "discovery.k8s.io/v1",
        "endpoints": endpoints,
        "kind": "EndpointSlice",
        "metadata": meta(
            f"{workload.name}-{short_hash('eps', workload.name, length=5)}",
            workload.namespace,
            labels={
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                "kubernetes.io/service-name": workload.name,
            },
        ),
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


def pdb(workload: Workload) -> Json:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(workload.name, workload.namespace),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": workload.name}}},
        "status": {
            "currentHealthy": workload.replicas,
            "desiredHealthy": workload.replicas - 1,
            "disruptionsAllowed": 1,
            "expectedPods": workload.replicas,
        },
    }


def hpa(workload: Workload) -> Json:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(workload.name, workload.namespace),
        "spec": {
            "maxReplicas": workload.replicas * 3,
            "metrics": [
                {
                    "resource": {"name": "cpu", "target": {"averageUtilization": 70, "type": "Utilization"}},
                    "type": "Resource",
                }
            ],
            "minReplicas": workload.replicas,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload.name},
        },
        "status": {"currentReplicas": workload.replicas, "desiredReplicas": workload.replicas},
    }


def namespaced_objects(plan: Plan) -> dict[str, list[Json]]:
    """Namespaces and the per-namespace policy objects."""
    names = ("default", "kube-system", "kube-public", "kube-node-lease", *plan.namespaces)
    namespaces = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": meta(n, None, labels={"kubernetes.io/metadata.name": n}),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        for n in names
    ]
    quotas = [
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": meta("compute", n),
            "spec": {
                "hard": {"limits.memory": "400Gi", "pods": "1000", "requests.cpu": "200", "requests.memory": "400Gi"}
            },
        }
        for n in plan.namespaces
    ]
    limit_ranges = [
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": meta("defaults", n),
            "spec": {
                "limits": [
                    {
                        "default": {"memory": "512Mi"},
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                        "type": "Container",
                    }
                ]
            },
        }
        for n in plan.namespaces
    ]
    policies = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta("default-deny", n),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        }
        for n in plan.namespaces
    ]
    return {
        "k8s-namespaces.json": namespaces,
        "k8s-resourcequotas.json": quotas,
        "k8s-limitranges.json": limit_ranges,
        "k8s-networkpolicies.json": policies,
    }


def cluster_scoped_objects() -> dict[str, list[Json]]:
    storage_classes = [
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": meta(name, None),
            "parameters": {"skuName": sku},
            "provisioner": "disk.csi.azure.com",
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        }
        for name, sku in (
            ("default", "StandardSSD_LRS"),
            ("managed-csi", "StandardSSD_LRS"),
            ("managed-csi-premium", "Premium_LRS"),
            ("managed-csi-premium-zrs", "Premium_ZRS"),
        )
    ]
    priority_classes = [
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": meta(name, None), "value": value}
        for name, value in (("system-cluster-critical", 2_000_000_000), ("tier-1", 100_000), ("tier-2", 10_000))
    ]
    return {"k8s-storageclasses.json": storage_classes, "k8s-priorityclasses.json": priority_classes}


def pvcs(plan: Plan) -> Iterator[Json]:
    for workload in plan.workloads:
        if workload.kind != "StatefulSet":
            continue
        for ordinal in range(workload.replicas):
            name = f"data-{pod_name(workload, ordinal)}"
            yield {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": meta(name, workload.namespace),
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "64Gi"}},
                    "storageClassName": "managed-csi-premium-zrs",
                    "volumeName": f"pvc-{stable_uuid('pv', workload.namespace, name)}",
                },
                "status": {"phase": "Bound"},
            }


# --- writing -------------------------------------------------------------------------------------


def write_az(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_az_list(path: Path, items: Iterable[Json]) -> None:
    """A top-level JSON array, streamed item by item in az's format."""
    with path.open("w", encoding="utf-8") as out:
        _stream(out, items, indent=2, head="[\n", tail="\n]\n")


def write_kubectl(path: Path, items: Iterable[Json]) -> None:
    """A kubectl `List`, streamed item by item in kubectl's format (four-space indent, sorted keys)."""
    with path.open("w", encoding="utf-8") as out:
        _stream(
            out,
            items,
            indent=4,
            head='{\n    "apiVersion": "v1",\n    "items": [\n',
            tail='\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n',
            depth=2,
        )


def _stream(out: TextIO, items: Iterable[Json], *, indent: int, head: str, tail: str, depth: int = 1) -> None:
    pad = " " * (indent * depth)
    out.write(head)
    first = True
    for item in items:
        text = json.dumps(item, indent=indent, sort_keys=True)
        out.write(("" if first else ",\n") + pad + text.replace("\n", "\n" + pad))
        first = False
    out.write(tail)


def generate(out: Path, *, nodes: int) -> dict[str, int]:
    """Write the synthetic cluster into `out`; return how many objects each file holds."""
    plan = make_plan(nodes)
    index = NodeIndex(plan)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, value in small_azure_files(plan).items():
        write_az(out / name, value)
        counts[name] = len(value) if isinstance(value, list) else 1
    write_az(out / "subnet.json", subnet(plan, index))
    counts["subnet.json"] = 1
    write_az_list(out / "vmss-instances.json", (instance(pool, i) for pool, i in index.entries))
    counts["vmss-instances.json"] = plan.node_count

    workloads = plan.workloads
    deployments = [w for w in workloads if w.kind == "Deployment"]
    statefulsets = [w for w in workloads if w.kind == "StatefulSet"]
    kube: dict[str, tuple[Iterable[Json], int]] = {
        "k8s-nodes.json": ((node(index, n) for n in range(plan.node_count)), plan.node_count),
        "k8s-deployments.json": ((workload_object(w) for w in deployments), len(deployments)),
        "k8s-statefulsets.json": ((workload_object(w) for w in statefulsets), len(statefulsets)),
        "k8s-pods.json": ((pod(w, o, index) for w in workloads for o in range(w.replicas)), plan.pod_count),
        "k8s-services.json": ((service(w) for w in workloads if w.has_service), sum(w.has_service for w in workloads)),
        "k8s-endpointslices.json": (
            (endpoint_slice(w, index) for w in workloads if w.has_service),
            sum(w.has_service for w in workloads),
        ),
        "k8s-pdb.json": ((pdb(w) for w in workloads if w.has_pdb), sum(w.has_pdb for w in workloads)),
        "k8s-hpa.json": ((hpa(w) for w in workloads if w.has_hpa), sum(w.has_hpa for w in workloads)),
        "k8s-pvc.json": (pvcs(plan), sum(w.replicas for w in statefulsets)),
    }
    for name, objects in (namespaced_objects(plan) | cluster_scoped_objects()).items():
        kube[name] = (objects, len(objects))
    for name, (items, count) in kube.items():
        write_kubectl(out / name, items)
        counts[name] = count
    return counts


# --- measuring -----------------------------------------------------------------------------------

PARSE_SNIPPET = """
import json, sys
documents = []
for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        documents.append(json.load(handle))
"""
# The same with the cyclic garbage collector off: shows how much of a bulk parse is GC traversal.
PARSE_NO_GC_SNIPPET = "import gc\ngc.disable()\n" + PARSE_SNIPPET


@dataclass(frozen=True, slots=True)
class Sample:
    seconds: float
    peak_rss_bytes: int
    exit_code: int


def measure(argv: Sequence[str], *, stdout: Path) -> Sample:
    """Run one child and return its wall time, its own peak RSS (from wait4) and exit code."""
    with stdout.open("wb") as sink:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
        # wait4 reports the rusage of this child alone; RUSAGE_CHILDREN would mix in every earlier run.
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return Sample(seconds, usage.ru_maxrss * 1024, child.returncode)  # ru_maxrss is in KiB on Linux


def nodewarden_command() -> list[str]:
    script = Path(sys.executable).with_name("nodewarden")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nodewarden"]


@dataclass(frozen=True, slots=True)
class Summary:
    label: str
    samples: tuple[Sample, ...]

    @property
    def min_seconds(self) -> float:
        return min(s.seconds for s in self.samples)

    @property
    def median_seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def median_peak(self) -> int:
        return int(statistics.median(s.peak_rss_bytes for s in self.samples))

    @property
    def max_peak(self) -> int:
        return max(s.peak_rss_bytes for s in self.samples)


@dataclass(frozen=True, slots=True)
class Verdict:
    ratio: float
    ratio_ok: bool
    peak_ok: bool

    @property
    def ok(self) -> bool:
        return self.ratio_ok and self.peak_ok


def judge(parse: Summary, audit: Summary) -> Verdict:
    """Ratio of median wall times; the peak target applies to the worst audit run."""
    ratio = audit.median_seconds / parse.median_seconds
    return Verdict(ratio, ratio <= RATIO_TARGET, audit.max_peak <= PEAK_TARGET_BYTES)


def render_table(rows: Sequence[Summary], verdict: Verdict) -> str:
    """startup = `nodewarden --version` (interpreter and imports); parse = bare json.load; audit = end to end."""
    mb = 1_000_000
    lines = [
        f"{'':10} {'min s':>8} {'median s':>9} {'peak MB (median)':>17} {'peak MB (max)':>14}",
    ]
    for row in rows:
        lines.append(
            f"{row.label:10} {row.min_seconds:8.2f} {row.median_seconds:9.2f} "
            f"{row.median_peak / mb:17.0f} {row.max_peak / mb:14.0f}"
        )
    lines.append("")
    lines.append(
        f"audit/parse time ratio {verdict.ratio:.2f}x (target <= {RATIO_TARGET:.0f}x): "
        + ("met" if verdict.ratio_ok else "MISSED")
    )
    audit_peak = next(r for r in rows if r.label == "audit").max_peak
    lines.append(
        f"audit peak RSS {audit_peak / mb:.0f} MB (target <= {PEAK_TARGET_BYTES / mb:.0f} MB): "
        + ("met" if verdict.peak_ok else "MISSED")
    )
    return "\n".join(lines)


def time_phases(folder: Path, *, top: int = 12) -> str:
    """Time the audit's phases in this process: load, each rule on its own, render; slowest rules first."""
    from nodewarden.audit import engine
    from nodewarden.audit.catalog import Catalog, RuleContext, default_catalog
    from nodewarden.audit.params import AuditParams
    from nodewarden.observe import load
    from nodewarden.render import json_report

    started = time.perf_counter()
    snapshot = load.load_paths([folder]).snapshot
    loaded = time.perf_counter()
    context = RuleContext(params=AuditParams(), now=datetime.fromisoformat(AUDIT_NOW))
    per_rule: dict[str, float] = {}
    for rule in default_catalog():
        before = time.perf_counter()
        engine.run_audit(snapshot, catalog=Catalog([rule]), context=context)
        per_rule[rule.meta.id] = time.perf_counter() - before
    ruled = time.perf_counter()
    report = engine.run_audit(snapshot, catalog=default_catalog(), context=context)
    before_render = time.perf_counter()
    json_report.render_json(report)
    rendered = time.perf_counter()
    lines = [
        f"load {loaded - started:.2f} s, rules {ruled - loaded:.2f} s (each alone; "
        f"{before_render - ruled:.2f} s all together), render {rendered - before_render:.2f} s",
        "slowest rules: "
        + ", ".join(
            f"{rule_id} {seconds:.2f} s" for rule_id, seconds in sorted(per_rule.items(), key=lambda kv: -kv[1])[:top]
        ),
    ]
    return "\n".join(lines)


def profile_audit(folder: Path, *, top: int = 25) -> str:
    """Run the audit once in this process under cProfile; return the top functions by own and total time."""
    from nodewarden.cli.main import run

    profiler = cProfile.Profile()
    report = folder.parent / f".{folder.name}-profile.json"
    profiler.enable()
    try:
        run(["audit", str(folder), "-o", "json", "--output", str(report), "--now", AUDIT_NOW])
    except SystemExit:
        pass
    finally:
        profiler.disable()
        report.unlink(missing_ok=True)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return text.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--nodes", type=int, default=5000, help="cluster size (pods = 10x, workloads = 1x)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--keep", action="store_true", help="write into bench/out/ and keep the files")
    parser.add_argument("--reuse", action="store_true", help="with --keep: measure bench/out/ as is if it exists")
    parser.add_argument("--profile", action="store_true", help="also time the phases and profile one audit in-process")
    args = parser.parse_args(argv)

    folder = Path(__file__).parent / "out" / f"cluster-{args.nodes}" if args.keep else Path(tempfile.mkdtemp())
    scratch = Path(tempfile.mkdtemp())
    try:
        started = time.perf_counter()
        marker = folder / "counts.txt"  # written last, so a half-written folder is never reused
        if args.reuse and args.keep and marker.exists():
            counts = {name: int(count) for name, count in (line.split() for line in marker.read_text().splitlines())}
            action = "reused"
        else:
            if folder.exists():
                shutil.rmtree(folder)
            counts = generate(folder, nodes=args.nodes)
            marker.write_text("".join(f"{name} {count}\n" for name, count in counts.items()))
            action = "generated"
        files = sorted(folder.glob("*.json"))
        size = sum(f.stat().st_size for f in files)
        print(
            f"{action} {len(files)} files, {size / 1e6:.0f} MB in {time.perf_counter() - started:.1f} s "
            f"into {folder}: "
            f"{counts['k8s-nodes.json']:,} nodes, {counts['k8s-pods.json']:,} pods "
            f"({os.path.getsize(folder / 'k8s-pods.json') / counts['k8s-pods.json'] / 1000:.1f} KB each), "
            f"{counts['k8s-deployments.json'] + counts['k8s-statefulsets.json']:,} workloads, "
            f"{counts['nodepools.json']} pools"
        )
        parse_argv = [sys.executable, "-c", PARSE_SNIPPET, *map(str, files)]
        parse_no_gc_argv = [sys.executable, "-c", PARSE_NO_GC_SNIPPET, *map(str, files)]
        audit_argv = [*nodewarden_command(), "audit", str(folder), "-o", "json"]
        audit_argv += ["--output", str(scratch / "report.json"), "--now", AUDIT_NOW]
        startup_argv = [*nodewarden_command(), "--version"]
        runs: dict[str, list[Sample]] = {"startup": [], "parse": [], "parse-nogc": [], "audit": []}
        for _ in range(args.repeat):
            runs["startup"].append(measure(startup_argv, stdout=scratch / "startup.log"))
            runs["parse"].append(measure(parse_argv, stdout=scratch / "parse.log"))
            runs["parse-nogc"].append(measure(parse_no_gc_argv, stdout=scratch / "parse.log"))
            runs["audit"].append(measure(audit_argv, stdout=scratch / "audit.log"))
            failed = [s for s in runs["audit"] if s.exit_code not in (0, 1)]
            if failed or runs["parse"][-1].exit_code != 0:
                log = (scratch / ("audit.log" if failed else "parse.log")).read_text(errors="replace")
                print(f"a measured command failed:\n{log}", file=sys.stderr)
                return 2
        summaries = [Summary(label, tuple(samples)) for label, samples in runs.items()]
        by_label = {summary.label: summary for summary in summaries}
        verdict = judge(by_label["parse"], by_label["audit"])
        print(render_table(summaries, verdict))
        if args.profile:
            print(time_phases(folder))
            print(profile_audit(folder))
        return 0 if verdict.ok else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Small clusters built in code, through the same pydantic models the loader uses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from nodewarden.model.azure import ActivityLogEntry, AgentPool, Cluster, ScaleSet, ScaleSetInstance, ScheduledEvent
from nodewarden.model.kube import KubeEvent, Lease, Node

T0 = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
SUB = "00000000-0000-0000-0000-000000000000"
NODE_RG = "MC_rg_demo_eastus"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def vm_id(vmss: str, instance_id: int) -> str:
    return (
        f"/subscriptions/{SUB}/resourceGroups/{NODE_RG}/providers/Microsoft.Compute/"
        f"virtualMachineScaleSets/{vmss}/virtualMachines/{instance_id}"
    )


def node_name(pool: str, instance_id: int) -> str:
    return f"aks-{pool}-12345678-vmss{instance_id:06d}"


def node(
    pool: str = "user",
    instance_id: int = 0,
    *,
    zone: str = "eastus-1",
    image: str = "AKSUbuntu-2204gen2containerd-202611.01.0",
    ready: str = "True",
    ready_since: datetime = T0 - timedelta(hours=1),
    conditions: Mapping[str, tuple[str, datetime]] | None = None,
    taints: list[dict[str, str]] | None = None,
    provider_id: str | None = "default",
) -> Node:
    """A Node; `conditions` maps extra condition types to (status, lastTransitionTime)."""
    vmss = f"aks-{pool}-12345678-vmss"
    items: list[dict[str, Any]] = [
        {"type": "Ready", "status": ready, "reason": "KubeletReady", "lastTransitionTime": iso(ready_since)}
    ]
    for kind, (status, since) in (conditions or {}).items():
        items.append({"type": kind, "status": status, "lastTransitionTime": iso(since)})
    spec: dict[str, Any] = {"taints": taints or []}
    if provider_id == "default":
        spec["providerID"] = "azure://" + vm_id(vmss, instance_id)
    elif provider_id is not None:
        spec["providerID"] = provider_id
    return TypeAdapter(Node).validate_python(
        {
            "metadata": {
                "name": node_name(pool, instance_id),
                "labels": {
                    "kubernetes.azure.com/agentpool": pool,
                    "topology.kubernetes.io/zone": zone,
                    "kubernetes.azure.com/node-image-version": image,
                },
            },
            "spec": spec,
            "status": {"conditions": items},
        }
    )


def lease(name: str, renewed: datetime) -> Lease:
    return TypeAdapter(Lease).validate_python(
        {
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": iso(renewed)},
        }
    )


def instance(
    pool: str = "user",
    instance_id: int = 0,
    *,
    power: str = "running",
    provisioning: str = "succeeded",
    provisioned_at: datetime = T0 - timedelta(hours=1),
    zone: str | None = "1",
    agent: str | None = None,  # the VM agent's display status ("Ready", "Not Ready"); None: no vmAgent in the view
) -> ScaleSetInstance:
    vmss = f"aks-{pool}-12345678-vmss"
    statuses = [
        {"code": f"ProvisioningState/{provisioning}", "time": iso(provisioned_at)},
        {"code": f"PowerState/{power}"},
    ]
    view: dict[str, object] = {"computer_name": node_name(pool, instance_id), "statuses": statuses}
    if agent is not None:
        code = "ProvisioningState/succeeded" if agent == "Ready" else "ProvisioningState/Unavailable"
        view["vm_agent"] = {"vm_agent_version": "2.13.1.1", "statuses": [{"code": code, "display_status": agent}]}
    return TypeAdapter(ScaleSetInstance).validate_python(
        {
            "instance_id": str(instance_id),
            "id": vm_id(vmss, instance_id),
            "name": f"{vmss}_{instance_id}",
            "zones": [zone] if zone else None,
            "instance_view": view,
        }
    )


def scale_set(pool: str = "user") -> ScaleSet:
    return TypeAdapter(ScaleSet).validate_python(
        {"name": f"aks-{pool}-12345678-vmss", "location": "eastus", "tags": {"aksmanagedpoolname": pool}}
    )


def agent_pool(name: str = "user", state: str = "Succeeded") -> AgentPool:
    return TypeAdapter(AgentPool).validate_python({"name": name, "provisioning_state": state})


def cluster(state: str = "Succeeded") -> Cluster:
    return TypeAdapter(Cluster).validate_python({"name": "demo", "provisioning_state": state})


def event(node: str, *, reason: str, component: str, when: datetime, message: str = "") -> KubeEvent:
    return TypeAdapter(KubeEvent).validate_python(
        {
            "metadata": {"name": f"{node}.{reason}", "namespace": "default"},
            "involvedObject": {"kind": "Node", "name": node},
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "lastTimestamp": iso(when),
        }
    )


def activity(resource_id: str, *, caller: str, when: datetime, operation: str) -> ActivityLogEntry:
    return TypeAdapter(ActivityLogEntry).validate_python(
        {
            "event_timestamp": iso(when),
            "resource_id": resource_id,
            "caller": caller,
            "operation_name": {"value": operation},
            "status": {"value": "Succeeded"},
        }
    )


def scheduled_event(
    resource: str, *, kind: str = "Reboot", not_before: str = "Thu, 26 Nov 2026 08:15:00 GMT"
) -> ScheduledEvent:
    return TypeAdapter(ScheduledEvent).validate_python(
        {
            "event_id": "E1",
            "event_type": kind,
            "resource_type": "VirtualMachine",
            "resources": [resource],
            "event_status": "Scheduled",
            "not_before": not_before,
        }
    )

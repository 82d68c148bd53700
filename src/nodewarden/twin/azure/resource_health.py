"""Azure Resource Health for scale-set instances: `Microsoft.ResourceHealth/availabilityStatuses`.

What Azure says about each VM's availability, derived from the instance's record (fleet.py): a zone outage or a
crash is Unavailable and platform-initiated (Unplanned), a stop, deallocation, restart or delete asked for through
ARM is Unavailable and customer-initiated (UserInitiated), a Scheduled Event's reboot is Unavailable and Planned,
a started Freeze is Degraded and Planned, and an instance whose guest is up is Available again. A hung kubelet is
invisible to Azure: the VM stays Available (which is what tells a guest failure from a host failure).

The shape is the REST API's (api-version 2025-05-01, which azure-mgmt-resourcehealth 1.0.0 sends), including
Azure's spelling `occuredTime`. A pure function of the records; arm_api.py serves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodewarden.twin.azure.fleet import Guest, Instance
from nodewarden.twin.azure.naming import Scope
from nodewarden.twin.azure.wire import iso

TYPE = "Microsoft.ResourceHealth/AvailabilityStatuses"
PLATFORM = "Platform Initiated"
CUSTOMER = "Customer Initiated"
_STOPPED = ("stopping", "stopped", "deallocating", "deallocated")


@dataclass(frozen=True)
class _Status:
    state: str  # Available | Unavailable | Degraded | Unknown
    title: str
    summary: str
    reason_type: str | None = None  # Unplanned | Planned | UserInitiated
    context: str = "Unknown"  # Platform Initiated | Customer Initiated | Unknown
    category: str = "Not Applicable"  # Planned | Unplanned, when the platform acted
    chronicity: str = "Persistent"


def _status(inst: Instance, *, zone_down: bool, frozen: bool) -> _Status:
    """What Resource Health reports for the instance now (see the module docstring)."""
    if zone_down:
        return _Status("Unavailable", "Unavailable", f"The virtual machine is unavailable because of an outage in "
                       f"availability zone {inst.zone}. We're working to restore it; no action is needed from you.",
                       "Unplanned", PLATFORM, "Unplanned")  # fmt: skip
    if inst.crashed:
        return _Status("Unavailable", "Unavailable", "We're sorry, your virtual machine is unavailable because of an "
                       "unexpected failure of the host it runs on. We're working to recover it automatically.",
                       "Unplanned", PLATFORM, "Unplanned")  # fmt: skip
    user = inst.cause == "user"
    if inst.provisioning == "deleting" or inst.power in _STOPPED:
        doing = "being deleted" if inst.provisioning == "deleting" else inst.power
        if user:
            return _Status("Unavailable", "Stopped", f"This virtual machine is {doing} as requested by an authorized "
                           "user or process.", "UserInitiated", CUSTOMER)  # fmt: skip
        return _Status("Unavailable", "Unavailable", f"This virtual machine is {doing} by the Azure platform "
                       "(for example, a Spot eviction).", "Unplanned", PLATFORM, "Unplanned")  # fmt: skip
    if inst.guest is not Guest.UP:
        if inst.cause == "planned":
            return _Status("Unavailable", "Unavailable", "The virtual machine is rebooting for planned maintenance.",
                           "Planned", PLATFORM, "Planned", "Transient")  # fmt: skip
        if user:
            return _Status("Unavailable", "Unavailable", "The virtual machine is restarting as requested by an "
                           "authorized user or process.", "UserInitiated", CUSTOMER, "Not Applicable",
                           "Transient")  # fmt: skip
        return _Status("Unavailable", "Unavailable", "The Azure platform is recovering this virtual machine.",
                       "Unplanned", PLATFORM, "Unplanned", "Transient")  # fmt: skip
    if frozen:
        return _Status("Degraded", "Degraded", "The virtual machine is paused for a few seconds for planned "
                       "maintenance (a Freeze).", "Planned", PLATFORM, "Planned", "Transient")  # fmt: skip
    return _Status("Available", "Available",
                   "There aren't any known Azure platform problems affecting this virtual machine.")  # fmt: skip


def availability_status(
    scope: Scope, inst: Instance, *, now: datetime, zone_down: bool = False, frozen: bool = False
) -> dict[str, Any]:
    """The `current` availabilityStatuses document of one scale-set instance."""
    status = _status(inst, zone_down=zone_down or inst.zone_down, frozen=frozen)
    occured = iso(inst.status_time or inst.created_at)
    properties: dict[str, Any] = {
        "availabilityState": status.state,
        "title": status.title,
        "summary": status.summary,
        "reasonChronicity": status.chronicity,
        "context": status.context,
        "category": status.category,
        "occuredTime": occured,  # sic: Azure's spelling
        "reportedTime": iso(now),
    }
    if status.reason_type is not None:
        properties["reasonType"] = status.reason_type
    if status.context == PLATFORM and status.state != "Available":
        properties["rootCauseAttributionTime"] = occured
    resource = scope.vm_id(inst.pool.vmss_name, inst.instance_id)
    return {
        "id": f"{resource}/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
        "name": "current",
        "type": TYPE,
        "location": scope.location,
        "properties": properties,
    }

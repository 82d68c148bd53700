"""Scheduled Events: the notice Azure gives a VM before planned maintenance, as IMDS serves it.

The document is `{"DocumentIncarnation", "Events": [{"EventId", "EventType", "ResourceType",
"Resources", "EventStatus", "NotBefore", "Description", "EventSource", "DurationInSeconds"}]}`; the
incarnation goes up on every change so a poller can tell a new document from an old one. `NotBefore`
is RFC 1123, as IMDS writes it. Minimum notices (Azure docs, "Scheduled Events"): Freeze and Reboot
≥ 15 min, Redeploy ≥ 10 min, Preempt 30 s, Terminate 5–15 min.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodewarden.twin.azure.wire import rfc1123

EVENT_TYPES = ("Freeze", "Reboot", "Redeploy", "Preempt", "Terminate")

_DESCRIPTIONS = {
    "Freeze": "Virtual machine is being paused because of a memory-preserving Live Migration operation.",
    "Reboot": "Virtual machine is going to be restarted as part of planned host maintenance.",
    "Redeploy": "Virtual machine is going to be moved to a new host as part of planned maintenance.",
    "Preempt": "Spot virtual machine is being evicted because Azure needs the capacity back.",
    "Terminate": "Virtual machine is going to be deleted.",
}


@dataclass(eq=False)
class ScheduledEvent:
    event_id: str
    event_type: str
    vm_name: str  # <vmss>_<instanceId>, as Resources lists it for scale-set VMs
    not_before: datetime
    duration_seconds: int
    status: str = "Scheduled"  # Scheduled → Started, then removed when done

    def document(self) -> dict[str, Any]:
        return {
            "EventId": self.event_id,
            "EventType": self.event_type,
            "ResourceType": "VirtualMachine",
            "Resources": [self.vm_name],
            "EventStatus": self.status,
            "NotBefore": rfc1123(self.not_before) if self.status == "Scheduled" else "",
            "Description": _DESCRIPTIONS[self.event_type],
            "EventSource": "Platform",
            "DurationInSeconds": self.duration_seconds,
        }


class ScheduledEvents:
    """The pending events of one cluster's VMs. Not locked: the owning state holds its lock around calls."""

    def __init__(self) -> None:
        self.incarnation = 1
        self._events: dict[str, ScheduledEvent] = {}

    def schedule(self, event_type: str, vm_name: str, not_before: datetime, duration_seconds: int) -> ScheduledEvent:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"event_type must be one of {', '.join(EVENT_TYPES)}, found {event_type!r}")
        event = ScheduledEvent(str(uuid.uuid4()).upper(), event_type, vm_name, not_before, duration_seconds)
        self._events[event.event_id] = event
        self.incarnation += 1
        return event

    def get(self, event_id: str) -> ScheduledEvent | None:
        return self._events.get(event_id)

    def mark_started(self, event: ScheduledEvent) -> None:
        event.status = "Started"
        self.incarnation += 1

    def remove(self, event: ScheduledEvent) -> None:
        if self._events.pop(event.event_id, None) is not None:
            self.incarnation += 1

    def started(self, event_type: str, vm_name: str) -> bool:
        """Is an event of this type under way on the VM?"""
        return any(
            e.event_type == event_type and e.vm_name == vm_name and e.status == "Started" for e in self._events.values()
        )

    def document(self, vm_names: set[str] | None = None) -> dict[str, Any]:
        """The IMDS document; `vm_names` narrows it to events touching those VMs (None: all)."""
        events = [event.document() for event in self._events.values() if vm_names is None or event.vm_name in vm_names]
        return {"DocumentIncarnation": self.incarnation, "Events": events}

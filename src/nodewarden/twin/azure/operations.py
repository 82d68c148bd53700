"""Long-running ARM operations: one record per accepted request, polled by clients until terminal.

An operation is made of parts (one per instance it touches); it ends when the last part ends,
`Failed` if any part failed. The status document is what the `Azure-AsyncOperation` URL serves (ARM
docs, "Track asynchronous Azure operations"): `{name, status: InProgress|Succeeded|Failed|Canceled,
startTime, endTime, error}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nodewarden.twin.azure.fleet import Origin
from nodewarden.twin.azure.wire import iso

TERMINAL = ("Succeeded", "Failed", "Canceled")


@dataclass(eq=False)
class Operation:
    id: str
    provider: str  # Microsoft.Compute | Microsoft.ContainerService: picks the status URL shape
    operation_name: str  # e.g. Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action
    localized_name: str
    resource_id: str
    resource_group: str
    resource_type: str
    origin: Origin
    started_at: datetime
    correlation_id: str
    remaining: int = 0
    status: str = "InProgress"
    ended_at: datetime | None = None
    error: dict[str, Any] | None = None
    on_done: list[Callable[[Operation], None]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def status_document(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.id, "status": self.status, "startTime": iso(self.started_at)}
        if self.ended_at is not None:
            body["endTime"] = iso(self.ended_at)
        if self.error is not None:
            body["error"] = self.error
        return body


def zone_unavailable(region: str, zone: str) -> dict[str, Any]:
    return {
        "code": "ZonalAllocationFailed",
        "message": f"Allocation failed. Availability zone '{region}-{zone}' is currently unavailable. "
        "Please retry later or use a different zone.",
    }


def preempted() -> dict[str, Any]:
    return {
        "code": "OperationPreempted",
        "message": "Operation execution has been preempted by a more recent operation.",
    }


def internal_error() -> dict[str, Any]:
    return {
        "code": "InternalExecutionError",
        "message": "An internal execution error occurred. Please retry later.",
    }

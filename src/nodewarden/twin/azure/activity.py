"""The Activity Log: who did what to which resource, when, and how it ended.

Entries have the SDK's `EventData` wire shape (azure-mgmt-monitor: `operationName`, `status`,
`category` … as `{value, localizedValue}`), one `Started` entry when an operation is accepted and one
`Succeeded`/`Failed` entry when it ends, sharing a correlationId. The `$filter` grammar is the one the
REST API documents: `eventTimestamp ge '…' and eventTimestamp le '…' [and resourceGroupName eq '…' |
resourceUri eq '…' | correlationId eq '…' | resourceProvider eq '…']`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nodewarden.twin.azure.operations import Operation
from nodewarden.twin.azure.wire import ArmError, iso

# Entries reach the log some seconds after the event; real lag is seconds to minutes.
SUBMISSION_LAG = timedelta(seconds=12)

_CLAUSE = re.compile(r"^\s*(?P<field>\w+)\s+(?P<op>eq|ge|le|gt|lt)\s+'(?P<value>[^']*)'\s*$", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_FIELDS = ("eventtimestamp", "resourcegroupname", "resourceuri", "correlationid", "resourceprovider", "caller")


def _localized(value: str, localized: str | None = None) -> dict[str, str]:
    return {"value": value, "localizedValue": localized or value}


@dataclass(frozen=True)
class ActivityFilter:
    since: datetime | None = None
    until: datetime | None = None
    resource_group: str | None = None
    resource_uri: str | None = None
    correlation_id: str | None = None
    resource_provider: str | None = None
    caller: str | None = None


def parse_filter(text: str | None) -> ActivityFilter:
    """Read an Activity Log `$filter`; an unknown field or operator is a 400, as in ARM."""
    if not text:
        return ActivityFilter()
    values: dict[str, Any] = {}
    for clause in _AND.split(text.strip()):
        match = _CLAUSE.match(clause)
        if match is None or match["field"].lower() not in _FIELDS:
            raise ArmError(400, "BadRequest", f"The $filter clause '{clause}' is not supported.")
        name, op, value = match["field"].lower(), match["op"].lower(), match["value"]
        if name == "eventtimestamp":
            try:
                moment = datetime.fromisoformat(value)
            except ValueError as exc:
                raise ArmError(400, "BadRequest", f"'{value}' is not a valid eventTimestamp.") from exc
            values["since" if op in ("ge", "gt") else "until"] = moment
        elif op != "eq":
            raise ArmError(400, "BadRequest", f"Operator '{op}' is not supported for '{match['field']}'.")
        else:
            key = {
                "resourcegroupname": "resource_group",
                "resourceuri": "resource_uri",
                "correlationid": "correlation_id",
                "resourceprovider": "resource_provider",
                "caller": "caller",
            }[name]
            values[key] = value
    return ActivityFilter(**values)


class ActivityLog:
    """Append-only list of EventData documents. Not locked: the owning state holds its lock around calls."""

    def __init__(self, *, subscription_id: str, tenant_id: str) -> None:
        self._subscription_id = subscription_id
        self._tenant_id = tenant_id
        self._entries: list[tuple[datetime, dict[str, Any]]] = []

    def record(self, operation: Operation, *, now: datetime) -> dict[str, Any]:
        """Log the operation's current status: `Started` while in progress, else its terminal status."""
        status = "Started" if not operation.done else operation.status
        sub_status = {"Started": "Accepted", "Succeeded": "OK"}.get(status, "")
        event_id = str(uuid.uuid4())
        properties: dict[str, Any] = {"statusCode": sub_status or "Conflict", "serviceRequestId": operation.id}
        if operation.error is not None:
            properties["statusMessage"] = {"error": operation.error}
        origin = operation.origin
        entry: dict[str, Any] = {
            "authorization": {"action": operation.operation_name, "scope": operation.resource_id},
            "caller": origin.caller,
            "channels": "Operation",
            "claims": {"appid": origin.app_id or origin.caller},
            "correlationId": operation.correlation_id,
            "description": "",
            "eventDataId": event_id,
            "eventName": _localized(
                "BeginRequest" if status == "Started" else "EndRequest",
                "Begin request" if status == "Started" else "End request",
            ),
            "category": _localized("Administrative"),
            "httpRequest": {
                "clientRequestId": origin.client_request_id or "",
                "clientIpAddress": "127.0.0.1",
                "method": origin.method,
            },
            "id": f"{operation.resource_id}/events/{event_id}/ticks/{int(now.timestamp() * 10_000_000)}",
            "level": "Error" if status == "Failed" else "Informational",
            "resourceGroupName": operation.resource_group,
            "resourceProviderName": _localized(operation.provider),
            "resourceId": operation.resource_id,
            "resourceType": _localized(operation.resource_type),
            "operationId": operation.id,
            "operationName": _localized(operation.operation_name, operation.localized_name),
            "properties": properties,
            "status": _localized(status),
            "subStatus": _localized(sub_status, {"OK": "OK (HTTP Status Code: 200)"}.get(sub_status)),
            "eventTimestamp": iso(now),
            "submissionTimestamp": iso(now + SUBMISSION_LAG),
            "subscriptionId": self._subscription_id,
            "tenantId": self._tenant_id,
        }
        self._entries.append((now, entry))
        return entry

    def query(self, selection: ActivityFilter) -> list[dict[str, Any]]:
        """Matching entries, newest first (the order the REST API returns them in)."""
        found = []
        for moment, entry in reversed(self._entries):
            if selection.since is not None and moment < selection.since:
                continue
            if selection.until is not None and moment > selection.until:
                continue
            if not _matches(selection, entry):
                continue
            found.append(entry)
        return found


def _matches(selection: ActivityFilter, entry: dict[str, Any]) -> bool:
    checks = (
        (selection.resource_group, entry["resourceGroupName"]),
        (selection.resource_uri, entry["resourceId"]),
        (selection.correlation_id, entry["correlationId"]),
        (selection.resource_provider, entry["resourceProviderName"]["value"]),
        (selection.caller, entry["caller"]),
    )
    return all(wanted is None or wanted.lower() == actual.lower() for wanted, actual in checks)

"""The Activity Log of the cluster's node resource group since a time: who did what to the scale sets.

One filtered, paged query (`az monitor activity-log list` gives the same entries); the SDK's retry
policy honours `Retry-After` on 429s. Entries come back in the REST shape az prints (camelCase), so
they load like an exported file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nodewarden.connection import AzureClients
from nodewarden.observe.live_azure import azure_call


def _odata_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def activity_since(
    azure: AzureClients, since: datetime, until: datetime, *, resource_group: str
) -> list[dict[str, Any]]:
    """Activity Log entries for `resource_group` between `since` and `until`, oldest first."""
    entries = _query(
        azure, since, until, f"resourceGroupName eq '{resource_group}'", what=f"the Activity Log of {resource_group}"
    )
    documents = [dict(entry.serialize(keep_readonly=True)) for entry in entries]
    return sorted(documents, key=lambda entry: str(entry.get("eventTimestamp", "")))


def activity_by_correlation(azure: AzureClients, correlation_id: str, since: datetime, until: datetime) -> list[str]:
    """The statuses (`Started`, `Succeeded`, `Failed` …) the Activity Log holds for one correlation id."""
    what = f"the Activity Log entries of correlation id {correlation_id}"
    entries = _query(azure, since, until, f"correlationId eq '{correlation_id}'", what=what)
    return [str(entry.status.value) for entry in entries if entry.status is not None and entry.status.value]


def _query(azure: AzureClients, since: datetime, until: datetime, clause: str, *, what: str) -> list[Any]:
    """One filtered, paged Activity Log query between two times (the API insists on both)."""
    query = f"eventTimestamp ge '{_odata_time(since)}' and eventTimestamp le '{_odata_time(until)}' and {clause}"
    return azure_call(lambda: list(azure.monitor.activity_logs.list(filter=query)), what=what)

"""Azure Resource Health: the platform's own word that an instance is Unavailable or Degraded, and why.

Only platform-initiated statuses become signals (a host failure, a zone outage, planned maintenance): a stop or
deallocation a user asked for is already InstanceStopped or InstanceDeallocated, and Available says nothing new.
The signal is evidence, not a problem (model/health.py): the node's own signals carry the failure, this one tells
root-cause ranking (incidents/rank_platform.py) that Azure saw it too. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from nodewarden.detect.inventory import NodeFacts
from nodewarden.model import aks
from nodewarden.model.azure import AvailabilityStatus
from nodewarden.model.health import Signal, SignalKind
from nodewarden.model.timestamps import parse_time

NOT_AVAILABLE = frozenset({"unavailable", "degraded"})


def resource_health_signals(
    statuses: tuple[AvailabilityStatus, ...], facts: Mapping[str, NodeFacts], *, now: datetime
) -> Iterator[Signal]:
    """One ResourceHealth signal per node whose instance Azure reports Unavailable or Degraded by the platform."""
    by_instance = {node.place.instance.lower(): node for node in facts.values() if node.place.instance}
    for status in statuses:
        state = status.availability_state or "Unknown"
        if state.lower() not in NOT_AVAILABLE or not status.platform_initiated:
            continue
        key = aks.key_from_resource_id(status.resource_id)
        node = by_instance.get((key or "").lower())
        if node is None:
            continue
        reason = status.reason_type or "no reason given"
        condition = f"{state}/{status.reason_type or 'Unknown'}"
        evidence = (
            f"Resource Health of instance {key}: {state}, reasonType {reason}, context {status.context or 'none'}, "
            f"occuredTime {status.occured_time or 'unknown'}: {status.summary or status.title or ''}".rstrip(": "),
        )
        yield node.signal(
            SignalKind.RESOURCE_HEALTH,
            since=parse_time(status.occured_time) or node.seen_since(SignalKind.RESOURCE_HEALTH, condition, now=now),
            message=f"Azure Resource Health reports the instance {state} ({reason}, {status.context or 'no context'})",
            evidence=evidence,
            condition=condition,
        )

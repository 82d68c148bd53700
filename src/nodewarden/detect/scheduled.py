"""Scheduled Events: Azure's notice that it will reboot, redeploy, freeze, preempt or delete a VM.

IMDS lists the affected VMs in `Resources`: for a scale-set VM that is "<vmss>_<instanceId>"; some
tools write the computer (node) name instead, so both are matched. The event type goes in the signal's
`condition` so a policy can treat a Freeze differently from a Terminate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from nodewarden.detect.inventory import NodeFacts
from nodewarden.model.aks import vm_name
from nodewarden.model.azure import ScheduledEvent
from nodewarden.model.health import Signal, SignalKind
from nodewarden.model.timestamps import parse_time

DISRUPTIVE_EVENTS = frozenset({"Reboot", "Redeploy", "Freeze", "Preempt", "Terminate"})


def scheduled_event_signals(
    events: tuple[ScheduledEvent, ...], facts: Mapping[str, NodeFacts], *, now: datetime
) -> Iterator[Signal]:
    """One ScheduledEvent signal per (event, node) it names; `value` is seconds until NotBefore."""
    events = tuple(event for event in events if event.event_type in DISRUPTIVE_EVENTS)
    if not events:
        return
    names: dict[str, NodeFacts] = {}
    for node in facts.values():
        names[node.name.lower()] = node
        if node.place.instance is not None:
            names[vm_name(node.place.instance).lower()] = node
    for event in events:
        matched = {names[r.lower()].name: names[r.lower()] for r in event.resources or () if r.lower() in names}
        for node in matched.values():
            not_before = parse_time(event.not_before)
            evidence = (
                f"Scheduled Event {event.event_id} {event.event_type} {event.event_status or ''} "
                f"NotBefore {event.not_before or 'none (started)'}: {event.description or ''}".strip(),
            )
            yield node.signal(
                SignalKind.SCHEDULED_EVENT,
                since=node.seen_since(SignalKind.SCHEDULED_EVENT, event.event_type, now=now),
                message=f"Azure scheduled a {event.event_type}"
                + (f" not before {not_before.isoformat()}" if not_before else " (started)"),
                evidence=evidence,
                condition=event.event_type,
                value=(not_before - now).total_seconds() if not_before else 0.0,
            )

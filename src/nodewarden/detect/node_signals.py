"""Signals from the Kubernetes side of one node: its Lease, its conditions and its Ready history.

The Lease is the earliest sign of a dead kubelet or instance: it is renewed every 10 s, while the node
controller waits 40 s (50 s from Kubernetes 1.32) before it marks the node Unknown.
"""

from __future__ import annotations

from datetime import datetime

from nodewarden.detect.inventory import NodeFacts
from nodewarden.detect.settings import DetectSettings
from nodewarden.detect.timestamps import parse_time
from nodewarden.model.health import Signal, SignalKind
from nodewarden.model.kube import Lease, NodeCondition

# Conditions whose status True is the problem (for Ready it is False/Unknown).
_TRUE_IS_BAD: dict[str, SignalKind] = {
    "MemoryPressure": SignalKind.MEMORY_PRESSURE,
    "DiskPressure": SignalKind.DISK_PRESSURE,
    "PIDPressure": SignalKind.PID_PRESSURE,
    "NetworkUnavailable": SignalKind.NETWORK_UNAVAILABLE,
}


def node_signals(
    facts: NodeFacts, lease: Lease | None, flips: tuple[datetime, ...], *, now: datetime, settings: DetectSettings
) -> list[Signal]:
    """HeartbeatStale, NotReady/ReadyUnknown, pressures, NetworkUnavailable, NodeProblem and Flapping."""
    found: list[Signal] = []
    if lease is not None:
        found += _heartbeat(facts, lease, now=now, settings=settings)
    for condition in facts.conditions:
        kind = _kind_of(condition, settings)
        if kind is not None:
            found.append(_condition(facts, condition, kind, now=now))
    found += _flapping(facts, flips, settings=settings)
    return found


def _heartbeat(facts: NodeFacts, lease: Lease, *, now: datetime, settings: DetectSettings) -> list[Signal]:
    # `since` is the last renewal: the heartbeat has been missing from then on, which is what an incident's
    # impact start wants. `health.onset` adds the stale bound back when it measures how long it has lasted.
    # A lease we cannot read (no renewTime, a time in the future) says nothing either way.
    renewed = parse_time(lease.spec.renew_time)
    if renewed is None or renewed > now:
        return []
    age = now - renewed
    if age <= settings.stale_after:
        return []
    return [
        facts.signal(
            SignalKind.HEARTBEAT_STALE,
            since=renewed,
            message=f"kubelet has not renewed its Lease for {age.total_seconds():.0f}s",
            evidence=(f"Lease kube-node-lease/{lease.metadata.name} renewTime {lease.spec.renew_time}",),
            value=age.total_seconds(),
        )
    ]


def _condition(facts: NodeFacts, condition: NodeCondition, kind: SignalKind, *, now: datetime) -> Signal:
    since = parse_time(condition.last_transition_time)
    if since is None or since > now:
        since = facts.seen_since(kind, condition.type, now=now)
    detail = f"{condition.type}={condition.status}"
    if condition.reason:
        detail += f" ({condition.reason})"
    evidence = f"Node {facts.name} condition {detail} since {condition.last_transition_time or 'unknown'}"
    if condition.message:
        evidence += f": {condition.message}"
    return facts.signal(
        kind, since=since, message=f"node condition {detail}", evidence=(evidence,), condition=condition.type
    )


def _kind_of(condition: NodeCondition, settings: DetectSettings) -> SignalKind | None:
    if condition.type == "Ready":
        if condition.status == "False":
            return SignalKind.NOT_READY
        if condition.status == "Unknown":
            return SignalKind.READY_UNKNOWN
        return None
    if condition.status != "True":
        return None
    if condition.type in _TRUE_IS_BAD:
        return _TRUE_IS_BAD[condition.type]
    if condition.type in settings.npd_conditions:
        return SignalKind.NODE_PROBLEM
    return None


def _flapping(facts: NodeFacts, flips: tuple[datetime, ...], *, settings: DetectSettings) -> list[Signal]:
    if settings.flap_transitions <= 0 or len(flips) < settings.flap_transitions:
        return []
    return [
        facts.signal(
            SignalKind.FLAPPING,
            since=min(flips),
            message=f"Ready changed {len(flips)} times in {settings.flap_window:.0f}s",
            evidence=tuple(f"Ready changed at {flip.isoformat()}" for flip in flips),
            value=float(len(flips)),
        )
    ]

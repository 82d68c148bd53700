"""Signals from the Kubernetes side of one node: its Lease, its conditions and its Ready history.

The Lease is the earliest sign of a dead kubelet or instance: it is renewed every 10 s, while the node
controller waits 40 s (50 s from Kubernetes 1.32) before it marks the node Unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from nodewarden.detect.inventory import NodeFacts
from nodewarden.detect.settings import DetectSettings
from nodewarden.model.health import Signal, SignalKind
from nodewarden.model.kube import Lease, NodeCondition
from nodewarden.model.timestamps import parse_time

# Conditions whose status True is the problem (for Ready it is False/Unknown).
_TRUE_IS_BAD: dict[str, SignalKind] = {
    "MemoryPressure": SignalKind.MEMORY_PRESSURE,
    "DiskPressure": SignalKind.DISK_PRESSURE,
    "PIDPressure": SignalKind.PID_PRESSURE,
    "NetworkUnavailable": SignalKind.NETWORK_UNAVAILABLE,
}


def node_signals(
    facts: Mapping[str, NodeFacts],
    leases: Mapping[str, Lease],
    flips: Mapping[str, tuple[datetime, ...]],
    *,
    now: datetime,
    settings: DetectSettings,
) -> dict[str, list[Signal]]:
    """For every node: HeartbeatStale, NotReady/ReadyUnknown, pressures, NetworkUnavailable, NodeProblem and
    Flapping. `leases` are the nodes' heartbeat Leases and `flips` their Ready transitions, by node name."""
    bad = bad_conditions(settings)
    stale_after = settings.stale_after
    found: dict[str, list[Signal]] = {}
    for name, node in facts.items():
        signals: list[Signal] = []
        lease = leases.get(name)
        stale = _heartbeat(node, lease, now=now, stale_after=stale_after) if lease is not None else None
        if stale is not None:
            signals.append(stale)
        for condition in node.conditions:
            kind = bad.get((condition.type, condition.status))
            if kind is not None:
                signals.append(_condition(node, condition, kind, now=now))
        flapping = _flapping(node, flips[name], settings=settings)
        if flapping is not None:
            signals.append(flapping)
        found[name] = signals
    return found


def bad_conditions(settings: DetectSettings) -> dict[tuple[str | None, str | None], SignalKind]:
    """The node conditions that are problems, by (type, status): Ready False or Unknown, a pressure,
    NetworkUnavailable or a node-problem-detector condition True."""
    table: dict[tuple[str | None, str | None], SignalKind] = {
        (kind, "True"): SignalKind.NODE_PROBLEM for kind in settings.npd_conditions
    }
    table |= {(kind, "True"): signal for kind, signal in _TRUE_IS_BAD.items()}
    table.pop(("Ready", "True"), None)  # Ready=True is the healthy state, whatever the NPD list says
    table[("Ready", "False")] = SignalKind.NOT_READY
    table[("Ready", "Unknown")] = SignalKind.READY_UNKNOWN
    return table


def _heartbeat(facts: NodeFacts, lease: Lease, *, now: datetime, stale_after: timedelta) -> Signal | None:
    # `since` is the last renewal: the heartbeat has been missing from then on, which is what an incident's
    # impact start wants. `health.onset` adds the stale bound back when it measures how long it has lasted.
    # A lease we cannot read (no renewTime, a time in the future) says nothing either way.
    renewed = parse_time(lease.spec.renew_time)
    if renewed is None or renewed > now:
        return None
    age = now - renewed
    if age <= stale_after:
        return None
    return facts.signal(
        SignalKind.HEARTBEAT_STALE,
        since=renewed,
        message=f"kubelet has not renewed its Lease for {age.total_seconds():.0f}s",
        evidence=(f"Lease kube-node-lease/{lease.metadata.name} renewTime {lease.spec.renew_time}",),
        value=age.total_seconds(),
    )


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


def _flapping(facts: NodeFacts, flips: tuple[datetime, ...], *, settings: DetectSettings) -> Signal | None:
    if settings.flap_transitions <= 0 or len(flips) < settings.flap_transitions:
        return None
    return facts.signal(
        SignalKind.FLAPPING,
        since=min(flips),
        message=f"Ready changed {len(flips)} times in {settings.flap_window:.0f}s",
        evidence=tuple(f"Ready changed at {flip.isoformat()}" for flip in flips),
        value=float(len(flips)),
    )

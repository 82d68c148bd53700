"""Context signals: someone else is already acting on a node, pool or the cluster.

These are not problems; the planner reads them to hold back (heal/guards.py).
- AutoRepair: AKS node auto-repair Events (reporter `aks-auto-repair`) or Activity Log entries by the
  `aks-remediator` identity on the node's instance, within `auto_repair_window` of its last sign.
- PoolBusy / ClusterBusy: an operation in progress, i.e. a provisioningState that is not terminal
  (`aks.is_in_progress`: Upgrading, Scaling, Updating, Creating, Deleting …; a Failed pool is not busy).
  ARM gives no start time for it, so `since` is now.
- AutoscalerDeleting: the cluster autoscaler's `ToBeDeletedByClusterAutoscaler` taint (its value is the
  Unix time it was set), or a cluster-autoscaler ScaleDown Event on the node.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from nodewarden.detect.inventory import NodeFacts
from nodewarden.detect.settings import DetectSettings
from nodewarden.model import aks
from nodewarden.model.health import Scope, Signal, SignalKind
from nodewarden.model.kube import KubeEvent
from nodewarden.model.snapshot import Snapshot
from nodewarden.model.timestamps import parse_time

AUTOSCALER_COMPONENT = "cluster-autoscaler"
AUTOSCALER_TAINT = "ToBeDeletedByClusterAutoscaler"


def context_signals(
    snapshot: Snapshot, facts: Mapping[str, NodeFacts], *, now: datetime, settings: DetectSettings
) -> Iterator[Signal]:
    yield from _busy(snapshot, now=now)
    events = _node_events(snapshot.events)
    remediator = _remediator_activity(snapshot)
    for node in facts.values():
        node_events = events.get(node.name, ())
        if node_events or node.place.instance in remediator:
            yield from _auto_repair(node, node_events, remediator, now=now, settings=settings)
        if node_events or node.node.spec.taints:
            yield from _autoscaler(node, node_events, now=now, settings=settings)


def _busy(snapshot: Snapshot, *, now: datetime) -> Iterator[Signal]:
    cluster = snapshot.cluster
    if cluster is not None and aks.is_in_progress(cluster.provisioning_state):
        yield Signal(
            kind=SignalKind.CLUSTER_BUSY,
            scope=Scope.CLUSTER,
            subject=cluster.name,
            since=now,
            message=f"cluster {cluster.name} is {cluster.provisioning_state}",
            evidence=(f"managedCluster {cluster.name} provisioningState {cluster.provisioning_state}",),
        )
    for pool in snapshot.pools:
        if aks.is_in_progress(pool.provisioning_state):
            yield Signal(
                kind=SignalKind.POOL_BUSY,
                scope=Scope.POOL,
                subject=pool.name,
                since=now,
                message=f"pool {pool.name} is {pool.provisioning_state}",
                evidence=(f"agentPool {pool.name} provisioningState {pool.provisioning_state}",),
                pool=pool.name,
            )


def _node_events(events: tuple[KubeEvent, ...]) -> dict[str, list[tuple[datetime, KubeEvent]]]:
    """Timed Events about Nodes, by node name."""
    index: dict[str, list[tuple[datetime, KubeEvent]]] = {}
    for event in events:
        subject = event.subject
        at = parse_time(event.time)
        if subject is None or subject.kind != "Node" or not subject.name or at is None:
            continue
        index.setdefault(subject.name, []).append((at, event))
    return index


def _remediator_activity(snapshot: Snapshot) -> dict[str, list[tuple[datetime, str]]]:
    """Activity Log entries by AKS's remediator on an instance, by instance key: (time, evidence)."""
    index: dict[str, list[tuple[datetime, str]]] = {}
    for entry in snapshot.activity_log:
        key = aks.key_from_resource_id(entry.resource_id)
        at = parse_time(entry.event_timestamp)
        if key is None or at is None or (entry.caller or "").lower() != aks.AUTO_REPAIR_CALLER:
            continue
        evidence = f"Activity Log {entry.event_timestamp} {entry.caller} {entry.operation} {entry.outcome}".rstrip()
        index.setdefault(key, []).append((at, evidence))
    return index


def _auto_repair(
    node: NodeFacts,
    events: list[tuple[datetime, KubeEvent]] | tuple[()],
    remediator: Mapping[str, list[tuple[datetime, str]]],
    *,
    now: datetime,
    settings: DetectSettings,
) -> Iterator[Signal]:
    signs = [
        (at, f"Event {event.reason or ''} from {aks.AUTO_REPAIR_COMPONENT} at {event.time}: {event.text}")
        for at, event in events
        if event.reporter == aks.AUTO_REPAIR_COMPONENT
    ]
    signs += list(remediator.get(node.place.instance or "", ()))
    recent = sorted(sign for sign in signs if (now - sign[0]).total_seconds() <= settings.auto_repair_window)
    if not recent:
        return
    yield node.signal(
        SignalKind.AUTO_REPAIR,
        since=recent[0][0],
        message=f"AKS auto-repair is working on the node (last sign {recent[-1][0].isoformat()})",
        evidence=tuple(evidence for _, evidence in recent),
    )


def _autoscaler(
    node: NodeFacts,
    events: list[tuple[datetime, KubeEvent]] | tuple[()],
    *,
    now: datetime,
    settings: DetectSettings,
) -> Iterator[Signal]:
    signs: list[tuple[datetime, str]] = []
    for taint in node.node.spec.taints or ():
        if taint.key == AUTOSCALER_TAINT:
            at = parse_time(taint.value)
            # The autoscaler writes the Unix time it tainted the node; without it, the taint counts from now.
            at = at if at is not None and at <= now else now
            signs.append((at, f"Node {node.name} taint {taint.key}={taint.value or ''}:{taint.effect or ''}"))
    for at, event in events:
        if (
            event.reporter == AUTOSCALER_COMPONENT
            and "scaledown" in (event.reason or "").lower()
            and (now - at).total_seconds() <= settings.autoscaler_window
        ):
            signs.append((at, f"Event {event.reason} from {AUTOSCALER_COMPONENT} at {event.time}: {event.text}"))
    if not signs:
        return
    signs.sort()
    yield node.signal(
        SignalKind.AUTOSCALER_DELETING,
        since=signs[0][0],
        message="the cluster autoscaler is removing the node",
        evidence=tuple(evidence for _, evidence in signs),
    )

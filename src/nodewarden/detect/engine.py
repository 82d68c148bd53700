"""One detection pass: a Snapshot and last cycle's health in, every signal and each node's new health out.

Pure: `now` is an argument, and so is what the journal knows (`remediating`, `failed`: node names with
an open episode, and those handed to a human). The order of work follows the data: who is who
(inventory, on the Snapshot's node places, which the planner reads too), node and instance signals,
Scheduled Events, Resource Health, metrics, context, then correlation over the node problems found, and last the state
machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from itertools import chain

from nodewarden.detect import (
    context,
    correlate,
    health,
    instance_signals,
    inventory,
    node_signals,
    resource_health,
    scheduled,
)
from nodewarden.detect.metrics import NodeMetrics, metric_signals
from nodewarden.detect.settings import DetectSettings
from nodewarden.model.azure import ScaleSetInstance
from nodewarden.model.health import Detection, NodeHealth, Signal
from nodewarden.model.snapshot import Snapshot, cluster_level_target
from nodewarden.model.timestamps import as_utc


def detect(
    snapshot: Snapshot,
    previous: Mapping[str, NodeHealth],
    now: datetime,
    settings: DetectSettings,
    *,
    remediating: frozenset[str] = frozenset(),
    failed: frozenset[str] = frozenset(),
    metrics: NodeMetrics | None = None,
) -> Detection:
    """Signals for every node, instance, pool, zone, image and the cluster, and every node's health."""
    now = as_utc(now)
    fleet = instance_signals.fleet_of(snapshot)
    facts: dict[str, inventory.NodeFacts] = {}
    instances: dict[str, tuple[str, ScaleSetInstance] | None] = {}  # each node's instance, looked up once
    flips: dict[str, tuple[datetime, ...]] = {}
    for name, node in inventory.node_facts(snapshot, previous).items():
        facts[name], instances[name] = node, fleet.instance_of(node)
        flips[name] = health.record_flips(node.previous, node.ready, now=now, settings=settings)
    per_node = node_signals.node_signals(facts, snapshot.lease_by_node, flips, now=now, settings=settings)
    for name, node in facts.items():
        per_node[name] += instance_signals.node_instance_signals(node, instances[name], fleet, now=now)
    wider: list[Signal] = []
    found_elsewhere = list(scheduled.scheduled_event_signals(snapshot.scheduled_events, facts, now=now))
    found_elsewhere += resource_health.resource_health_signals(snapshot.availability, facts, now=now)
    if metrics is not None:
        found_elsewhere += metric_signals(metrics, facts, now=now, settings=settings)
    found_elsewhere += context.context_signals(snapshot, facts, now=now, settings=settings)
    for signal in found_elsewhere:
        if signal.node is not None and signal.node in per_node:
            per_node[signal.node].append(signal)
        else:
            wider.append(signal)
    onsets = correlate.failure_onsets(per_node)
    wider += correlate.correlated_signals(facts, onsets, cluster=cluster_level_target(snapshot).name, settings=settings)
    claimed = instance_signals.claimed_keys(facts, instances)
    wider += instance_signals.unregistered(snapshot, fleet, claimed, now=now, settings=settings)

    states = {
        name: health.next_health(
            node,
            flips[name],
            [signal for signal in per_node[name] if signal.is_problem],
            evidence=[signal for signal in per_node[name] if not signal.is_problem],
            now=now,
            remediating=name in remediating,
            failed=name in failed,
            settings=settings,
        )
        for name, node in facts.items()
    }
    signals = tuple(chain.from_iterable(per_node.values())) + tuple(wider)
    return Detection(now=now, signals=signals, health=states)

"""One detection pass: a Snapshot and last cycle's health in, every signal and each node's new health out.

Pure: `now` is an argument, and so is what the journal knows (`remediating`, `failed`: node names with
an open episode, and those handed to a human). The order of work follows the data: who is who
(inventory), node and instance signals, Scheduled Events, metrics, context, then correlation over the
node problems found, and last the state machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from nodewarden.detect import context, correlate, health, instance_signals, inventory, node_signals, scheduled
from nodewarden.detect.metrics import NodeMetrics, metric_signals
from nodewarden.detect.settings import DetectSettings
from nodewarden.detect.timestamps import as_utc
from nodewarden.model.health import Detection, HealthState, NodeHealth, Signal
from nodewarden.model.snapshot import Snapshot, cluster_level_target


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
    facts = {
        name: node if node.instance is not None else replace(node, instance=_key_by_computer(node, fleet))
        for name, node in inventory.node_facts(snapshot.nodes, previous).items()
    }
    leases = snapshot.lease_by_node
    per_node: dict[str, list[Signal]] = {name: [] for name in facts}
    flips: dict[str, tuple[datetime, ...]] = {}
    for name, node in facts.items():
        flips[name] = health.record_flips(node.previous, node.ready, now=now, settings=settings)
        per_node[name] += node_signals.node_signals(node, leases.get(name), flips[name], now=now, settings=settings)
        per_node[name] += instance_signals.node_instance_signals(node, fleet, now=now)
    wider: list[Signal] = []
    found = list(scheduled.scheduled_event_signals(snapshot.scheduled_events, facts, now=now))
    if metrics is not None:
        found += metric_signals(metrics, facts, now=now, settings=settings)
    found += context.context_signals(snapshot, facts, now=now, settings=settings)
    for signal in found:
        if signal.node is not None and signal.node in per_node:
            per_node[signal.node].append(signal)
        else:
            wider.append(signal)
    onsets = correlate.failure_onsets({name: tuple(signals) for name, signals in per_node.items()})
    wider += correlate.correlated_signals(facts, onsets, cluster=cluster_level_target(snapshot).name, settings=settings)
    claimed = instance_signals.claimed_keys(facts, fleet)
    wider += instance_signals.unregistered(snapshot, fleet, claimed, now=now, settings=settings)

    states: dict[str, NodeHealth] = {}
    for name, node in facts.items():
        observed = NodeHealth(
            node=name,
            state=HealthState.HEALTHY,
            since=now,
            pool=node.pool,
            zone=node.zone,
            image=node.image,
            instance=node.instance,
            ready=node.ready,
            ready_flips=flips[name],
            clear_since=node.ready_since,  # a first sight of the node: clear at least since it became Ready
        )
        states[name] = health.next_health(
            node.previous,
            observed,
            [signal for signal in per_node[name] if signal.is_problem],
            now=now,
            remediating=name in remediating,
            failed=name in failed,
            settings=settings,
        )
    signals = tuple(signal for name in facts for signal in per_node[name]) + tuple(wider)
    return Detection(now=now, signals=signals, health=states)


def _key_by_computer(node: inventory.NodeFacts, fleet: instance_signals.Fleet) -> str | None:
    found = fleet.instance_of(node)
    return found[0] if found else None

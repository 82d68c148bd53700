"""Causes outside the nodes: a zone or platform outage, planned maintenance, the network.

Each function reads the incident's `Facts` and returns one Hypothesis with its evidence for and against;
the weights below say how strongly one fact alone points at (or away from) the cause (see `rank`).

Azure Resource Health is the platform's own account (detect/resource_health.py): the incident's ResourceHealth
signals say Azure saw an instance go Unavailable and why (Unplanned: a host or zone failure; Planned:
maintenance), and the Snapshot's current statuses say Azure sees a silent node's VM as Available (so the guest,
not the host). `reported_host_failures` and `available_while_silent` serve the host and guest causes in
rank_node.py too, so Resource Health is read in one place.
"""

from __future__ import annotations

from nodewarden.incidents import rank_evidence
from nodewarden.incidents.rank_evidence import AffectedNode, Facts
from nodewarden.model import wording
from nodewarden.model.aks import key_from_resource_id, vm_name
from nodewarden.model.health import KUBELET_SILENT, SignalKind
from nodewarden.model.incident import CauseKind, Evidence, Hypothesis, SignalRecord

# Zone outage
ZONE_SIGNAL = 0.8  # detection found at least half a zone failing together (ZoneFailure)
ZONE_CONCENTRATION = 0.9  # times (share failing in the zone − share failing elsewhere)
ZONAL_ALLOCATION = 0.7  # ARM itself says the zone cannot allocate (ZonalAllocationFailed)
ZONE_UNREACHABLE = 0.3  # ARM says the zone's VMs run, yet none of their kubelets answers
ZONE_SPREAD = 0.8  # against, times the share of failing nodes outside the busiest zone
ZONE_ONE_NODE = 0.8  # against: one failing node is not a zone
ZONAL_ALLOCATION_CODE = "ZonalAllocationFailed"
HEALTH_ZONE = 0.8  # Azure Resource Health reports ≥ 2 instances of the zone Unavailable, platform-caused, unplanned

# Azure Resource Health (see the module docstring)
HEALTH_HOST = 0.85  # Azure reports the instance Unavailable, platform-initiated and unplanned: a host failure
HEALTH_PLANNED = 0.9  # Azure reports the instance down for planned maintenance (reasonType Planned)
HEALTH_AVAILABLE = 0.6  # the kubelet is silent while Azure reports the VM Available: the guest, not the host
UNPLANNED = "/unplanned"  # the ResourceHealth signal's condition is "<availabilityState>/<reasonType>"
PLANNED = "/planned"

# Planned maintenance
SCHEDULED_EVENT = 0.9  # the platform announced it (IMDS Scheduled Events)
MAINTENANCE_CONDITION = 0.7  # AKS node-problem-detector mirrors Scheduled Events as node conditions
MAINTENANCE_NOTICE = 0.6  # an Event or an Activity Log platform operation announcing maintenance
MAINTENANCE_UNCOVERED = 0.6  # against, times the share of failing nodes with no notice at all
NO_NOTICE = 0.9  # against: nothing announced any maintenance
# learn.microsoft.com/azure/aks/node-problem-detector: "VMEventScheduled" and the per-type conditions.
MAINTENANCE_CONDITIONS = frozenset(
    {"VMEventScheduled", "RebootScheduled", "RedeployScheduled", "FreezeScheduled", "PreemptScheduled",
     "TerminateScheduled"}
)  # fmt: skip

# Network
NETWORK_UNAVAILABLE = 0.8  # the node says its network is not configured (CNI, routes)
TOGETHER_BASE = 0.2  # many nodes silent at once while their VMs run: + TOGETHER_PER_NODE each, at most TOGETHER_MAX
TOGETHER_PER_NODE = 0.1
TOGETHER_MAX = 0.6
NETWORK_VM_DOWN = 0.8  # against, times the share of failing nodes whose VM ARM reports down or failed
NETWORK_ONE_ZONE = 0.4  # against: a cluster network fault rarely spares every zone but one
NETWORK_ONE_NODE = 0.5  # against: one silent node is more likely its own kubelet


def zone_outage(facts: Facts) -> Hypothesis:
    """Failures clustered in one zone (ZoneFailure; its share failing against the others'), ZonalAllocationFailed
    operations, the zone's VMs unreachable; against: failures spread across zones, or one node."""
    supporting: list[Evidence] = [
        Evidence(f"Signal ZoneFailure {r.subject}: {r.message}", at=r.since, weight=ZONE_SIGNAL)
        for r in _first_per_subject(facts, SignalKind.ZONE_FAILURE)
    ]
    against: list[Evidence] = []
    zoned = [node for node in facts.failing if node.zone]
    by_zone: dict[str, list[AffectedNode]] = {}
    for node in zoned:
        by_zone.setdefault(node.zone or "", []).append(node)
    if not by_zone:
        against.append(Evidence("No failing node has a zone", weight=ZONE_ONE_NODE))
        return rank_evidence.hypothesis(CauseKind.ZONE_OUTAGE, "No zone information", supporting, against)
    top = max(sorted(by_zone), key=lambda zone: len(by_zone[zone]))
    here = by_zone[top]
    in_zone = max(facts.nodes_per_zone.get(top, 0), len(here))
    elsewhere = len(zoned) - len(here)
    others = max(sum(n for zone, n in facts.nodes_per_zone.items() if zone != top), elsewhere)
    share_here = len(here) / in_zone
    share_elsewhere = elsewhere / others if others else 0.0
    clustered = len(here) >= 2 and share_here > share_elsewhere
    if len(zoned) < 2:
        against.append(
            Evidence(f"Only one node failing ({here[0].name}): one node is not a zone", weight=ZONE_ONE_NODE)
        )
    elif clustered:
        supporting.append(
            Evidence(
                f"Nodes failing in zone {top}: {rank_evidence.share(len(here), in_zone)}; in the other zones: "
                f"{rank_evidence.share(elsewhere, others)}",
                at=min(node.onset for node in here),
                weight=ZONE_CONCENTRATION * (share_here - share_elsewhere),
            )
        )
    if elsewhere:
        zones = ", ".join(f"{zone} ({len(by_zone[zone])})" for zone in sorted(by_zone))
        against.append(
            Evidence(
                f"Failures spread across {len(by_zone)} zones: {zones}", weight=ZONE_SPREAD * elsewhere / len(zoned)
            )
        )
    supporting += _zonal_allocation(facts)
    reported = [node for node in here if node.name in _health_records(facts, UNPLANNED)]
    if len(reported) >= 2:
        supporting.append(
            Evidence(
                f"Azure Resource Health reports {rank_evidence.share(len(reported), in_zone)} instances of zone {top} "
                f"Unavailable, platform-initiated and unplanned: {rank_evidence.listed(n.name for n in reported)}",
                at=min(node.onset for node in reported),
                weight=HEALTH_ZONE,
            )
        )
    unreachable = [node for node in here if node.kinds & KUBELET_SILENT and node.vm_healthy]
    if clustered and len(unreachable) == len(here):
        supporting.append(
            Evidence(
                f"Instances of zone {top} unreachable: ARM says PowerState/running for "
                f"{rank_evidence.listed(n.name for n in unreachable)}, yet their kubelets are silent",
                weight=ZONE_UNREACHABLE,
            )
        )
    summary = f"Zone {top} outage: {rank_evidence.share(len(here), in_zone)} nodes there failing"
    return rank_evidence.hypothesis(CauseKind.ZONE_OUTAGE, summary, supporting, against)


def _zonal_allocation(facts: Facts) -> list[Evidence]:
    """One line per source that names ZonalAllocationFailed: an instance view, a step's outcome, a signal."""
    found: list[Evidence] = []
    for node in facts.affected:
        if ZONAL_ALLOCATION_CODE.lower() in (node.provisioning or "").lower():
            found.append(Evidence(f"Instance {node.instance} of node {node.name} ProvisioningState/{node.provisioning}",
                                  weight=ZONAL_ALLOCATION))  # fmt: skip
    for entry in facts.incident.actions:
        if ZONAL_ALLOCATION_CODE.lower() in entry.detail.lower():
            found.append(
                Evidence(
                    f"Step {entry.step.value} on {entry.subject} ({entry.key}) {entry.outcome.value}: {entry.detail}",
                    at=entry.outcome_at or entry.intent_at,
                    weight=ZONAL_ALLOCATION,
                )
            )
    if len(found) > 1:  # one outage, many failed operations: one fact
        first = found[0]
        found = [Evidence(f"{first.text} (and {len(found) - 1} more)", at=first.at, weight=ZONAL_ALLOCATION)]
    return found


def planned_maintenance(facts: Facts) -> Hypothesis:
    """Scheduled Events for the nodes, maintenance conditions and Events, Activity Log maintenance operations;
    against: failing nodes no notice covers."""
    supporting: list[Evidence] = []
    noticed: set[str] = set()
    seen_events: set[str] = set()
    for record in facts.records(SignalKind.SCHEDULED_EVENT):
        text = record.evidence[0] if record.evidence else record.message
        supporting.append(Evidence(f"{text} (node {record.node})", at=record.since, weight=SCHEDULED_EVENT))
        noticed.add(record.node or "")
        seen_events.update(event.event_id for event in facts.snapshot.scheduled_events if event.event_id in text)
    by_vm = {vm_name(n.instance).lower(): n.name for n in facts.affected if n.instance} | {
        n.name.lower(): n.name for n in facts.affected
    }
    for event in facts.snapshot.scheduled_events:
        named = sorted({by_vm[r.lower()] for r in event.resources or () if r.lower() in by_vm})
        if named and event.event_id not in seen_events:
            supporting.append(
                Evidence(
                    f"Scheduled Event {event.event_id} {event.event_type} {event.event_status or ''} for "
                    f"{rank_evidence.listed(named)}: {event.description or ''}".rstrip(": "),
                    weight=SCHEDULED_EVENT,
                )
            )
            noticed.update(named)
    for name, record in sorted(_health_records(facts, PLANNED).items()):
        text = record.evidence[0] if record.evidence else record.message
        supporting.append(Evidence(f"{text} (node {name})", at=record.since, weight=HEALTH_PLANNED))
        noticed.add(name)
    for name in sorted(facts.names):
        node = facts.snapshot.nodes_by_name.get(name)
        for condition in (node.status.conditions if node is not None and node.status else None) or ():
            if condition.type in MAINTENANCE_CONDITIONS and condition.status == "True":
                supporting.append(
                    Evidence(f"Node {name} condition {condition.type}=True: {condition.message or ''}".rstrip(": "),
                             weight=MAINTENANCE_CONDITION)
                )  # fmt: skip
                noticed.add(name)
    for name, notice in facts.node_events():
        if notice.reason in MAINTENANCE_CONDITIONS:
            supporting.append(Evidence(f"Event {notice.reason} on node {name} at {notice.time}: {notice.text}",
                                       weight=MAINTENANCE_NOTICE))  # fmt: skip
            noticed.add(name)
    for change in facts.incident.changes:
        if "maintenance" in change.operation.lower():
            supporting.append(
                Evidence(f"Activity Log {change.at.isoformat()} {change.caller} {change.operation} {change.status}",
                         at=change.at, weight=MAINTENANCE_NOTICE)
            )  # fmt: skip
    against: list[Evidence] = []
    failing = facts.failing
    uncovered = sorted(node.name for node in failing if node.name not in noticed)
    if not supporting:
        against.append(Evidence("No Scheduled Event, maintenance condition or platform operation names these nodes",
                                weight=NO_NOTICE))  # fmt: skip
    elif uncovered:
        against.append(
            Evidence(
                f"No maintenance notice for {rank_evidence.share(len(uncovered), len(failing))} failing nodes: "
                f"{rank_evidence.listed(uncovered)}",
                weight=MAINTENANCE_UNCOVERED * len(uncovered) / len(failing),
            )
        )
    summary = f"Planned maintenance on {rank_evidence.listed(noticed)}" if noticed else "No maintenance announced"
    return rank_evidence.hypothesis(CauseKind.PLANNED_MAINTENANCE, summary, supporting, against)


def network(facts: Facts) -> Hypothesis:
    """NetworkUnavailable, many nodes silent at once while ARM says their VMs run; against: VMs down, one zone
    only, or one node."""
    supporting: list[Evidence] = []
    unavailable = _first_per_subject(facts, SignalKind.NETWORK_UNAVAILABLE)
    if unavailable:
        first = unavailable[0]
        text = first.evidence[0] if first.evidence else first.message
        more = f"; also on {rank_evidence.listed(r.subject for r in unavailable[1:])}" if len(unavailable) > 1 else ""
        supporting.append(
            Evidence(text + more, at=first.since, weight=rank_evidence.repeated(NETWORK_UNAVAILABLE, len(unavailable)))
        )
    failing = facts.failing
    silent = [node for node in failing if node.kinds & KUBELET_SILENT and node.vm_healthy]
    if len(silent) >= 2:
        supporting.append(
            Evidence(
                f"{len(silent)} nodes NotReady or silent at once while ARM says their VMs run and no operation "
                f"failed: {rank_evidence.listed(n.name for n in silent)}",
                at=min(node.onset for node in silent),
                weight=min(TOGETHER_MAX, TOGETHER_BASE + TOGETHER_PER_NODE * len(silent)),
            )
        )
    against: list[Evidence] = []
    down = [node for node in failing if node.power is not None and not node.vm_healthy]
    if down:
        states = ", ".join(f"{n.name} ({n.power}, {n.provisioning})" for n in down[: wording.SHOWN])
        against.append(
            Evidence(
                f"ARM reports the VM down or failed for {rank_evidence.share(len(down), len(failing))} failing "
                f"nodes: {states}",
                weight=NETWORK_VM_DOWN * len(down) / len(failing),
            )
        )
    zones = {node.zone for node in failing if node.zone}
    if len(failing) >= 2 and len(zones) == 1 and len(facts.nodes_per_zone) > 1:
        against.append(Evidence(f"Every failing node is in zone {next(iter(zones))}; the other zones are fine",
                                weight=NETWORK_ONE_ZONE))  # fmt: skip
    if len(failing) == 1 and not unavailable:
        against.append(Evidence(f"Only {failing[0].name} is failing", weight=NETWORK_ONE_NODE))
    summary = (
        f"Network: {len(unavailable)} nodes NetworkUnavailable, {len(silent)} silent with running VMs"
        if supporting
        else "No sign of a network fault"
    )
    return rank_evidence.hypothesis(CauseKind.NETWORK, summary, supporting, against)


def _first_per_subject(facts: Facts, kind: SignalKind) -> list[SignalRecord]:
    """The earliest record of `kind` for each subject (a signal lasting many cycles is one fact)."""
    found: dict[str, SignalRecord] = {}
    for record in facts.records(kind):
        found.setdefault(record.subject, record)
    return [found[subject] for subject in sorted(found)]


def reported_host_failures(facts: Facts) -> list[Evidence]:
    """Azure's own word, per failing node, that the platform took its instance down unplanned (Resource Health)."""
    failing = {node.name for node in facts.failing}
    return [
        Evidence(f"Azure reports a platform host failure on {name}: "
                 f"{record.evidence[0] if record.evidence else record.message}", at=record.since, weight=HEALTH_HOST)
        for name, record in sorted(_health_records(facts, UNPLANNED).items())
        if name in failing
    ]  # fmt: skip


def platform_failed(facts: Facts) -> frozenset[str]:
    """The nodes Azure Resource Health reports taken down by the platform, unplanned, in this incident."""
    return frozenset(_health_records(facts, UNPLANNED))


def available_while_silent(facts: Facts) -> list[AffectedNode]:
    """Failing nodes whose kubelet is silent while Azure Resource Health reports their VM Available now and the
    incident holds no platform report for them: the guest stopped responding, Azure saw nothing wrong."""
    available = {
        (key_from_resource_id(status.resource_id) or "").lower()
        for status in facts.snapshot.availability
        if (status.availability_state or "").lower() == "available"
    }
    reported = _health_records(facts, "")
    return [
        node
        for node in facts.failing
        if node.kinds & KUBELET_SILENT
        and node.instance
        and node.instance.lower() in available
        and node.name not in reported
    ]


def _health_records(facts: Facts, reason: str) -> dict[str, SignalRecord]:
    """The first ResourceHealth record per node whose condition ends with `reason` ("" for any)."""
    found: dict[str, SignalRecord] = {}
    for record in facts.records(SignalKind.RESOURCE_HEALTH):
        if record.node and (record.condition or "").lower().endswith(reason):
            found.setdefault(record.node, record)
    return found

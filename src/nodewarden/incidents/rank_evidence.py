"""What root-cause ranking knows about one incident, gathered once: its nodes as the evidence shows them.

Each cause in `rank_platform`, `rank_node` and `rank_change` reads these facts instead of re-reading
the Snapshot: which nodes fail (and since when), their pool, zone, node image and scale-set instance,
what ARM says about each instance, and the weighted-evidence score they all share (see `rank`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from nodewarden.detect import correlate
from nodewarden.model import aks, wording
from nodewarden.model.azure import ScaleSetInstance
from nodewarden.model.health import PROBLEMS, SignalKind
from nodewarden.model.incident import CauseKind, Evidence, Hypothesis, Incident, SignalRecord
from nodewarden.model.kube import KubeEvent
from nodewarden.model.snapshot import Snapshot

# An incident's impact_start may be a heartbeat's last renewal: up to two lease intervals (10 s each) and a
# cycle before the failure itself, so a change this many seconds after it can still be its trigger.
LEASE_GRACE = 30.0
AGENT_LOST = "Heartbeat lost while ARM says PowerState/running and the VM agent stopped reporting Ready"


@dataclass(frozen=True)
class AffectedNode:
    """One node of the incident with a problem signal, and what ARM said about its instance."""

    name: str
    onset: datetime  # earliest problem signal's `since`
    kinds: frozenset[SignalKind]
    conditions: frozenset[str]  # node conditions named by its signals (KernelDeadlock, DiskPressure …)
    pool: str | None = None
    zone: str | None = None
    image: str | None = None
    instance: str | None = None  # "<vmss>/<instanceId>"
    power: str | None = None  # ARM PowerState code (running, stopped …); None when not observed
    provisioning: str | None = None  # ARM ProvisioningState code (succeeded, failed/ZonalAllocationFailed …)
    agent: str | None = None  # the VM agent's display status in the instance view ("Ready", "Not Ready")
    agent_lost: bool = False  # seen running with its VM agent silent (a VMAgentUnresponsive signal of the incident)

    @property
    def failing(self) -> bool:
        """Down or degraded now, not only forecast to be (Scheduled Events, metric outliers)."""
        return bool(self.kinds & correlate.FAILURES)

    @property
    def vm_healthy(self) -> bool:
        """ARM says the VM runs and its last operation did not fail."""
        return self.power == "running" and not (self.provisioning or "").startswith("failed")

    @property
    def vm_unresponsive(self) -> bool:
        """ARM said the VM runs while its VM agent had stopped reporting Ready: the whole guest was gone (a crash,
        a host failure), not only its kubelet. A hung kubelet leaves the agent Ready."""
        return self.vm_healthy and self.agent_lost


@dataclass(frozen=True)
class Facts:
    """The incident and its surroundings, as the causes read them."""

    incident: Incident
    snapshot: Snapshot
    nodes_per_zone: Mapping[str, int]
    nodes_per_image: Mapping[str, int]
    now: datetime
    affected: tuple[AffectedNode, ...]  # by name

    @property
    def failing(self) -> tuple[AffectedNode, ...]:
        return tuple(node for node in self.affected if node.failing)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(node.name for node in self.affected)

    def records(self, *kinds: SignalKind) -> tuple[SignalRecord, ...]:
        """The incident's signal records of these kinds, oldest first."""
        return tuple(sorted((r for r in self.incident.signals if r.kind in kinds), key=lambda r: (r.since, r.subject)))

    def node_events(self) -> tuple[tuple[str, KubeEvent], ...]:
        """Events about the incident's nodes, as (node name, event), in time order."""
        names = self.names
        found: list[tuple[str, str, KubeEvent]] = []
        for event in self.snapshot.events:
            subject = event.subject
            if subject is not None and subject.kind == "Node" and subject.name in names:
                found.append((event.time or "", subject.name or "", event))
        found.sort(key=lambda item: (item[0], item[1]))
        return tuple((name, event) for _, name, event in found)


def facts_of(
    incident: Incident,
    snapshot: Snapshot,
    *,
    nodes_per_zone: Mapping[str, int],
    nodes_per_image: Mapping[str, int],
    now: datetime,
) -> Facts:
    """Each node with a problem signal in the incident, with its labels and its instance's ARM state."""
    problems: dict[str, list[SignalRecord]] = {}
    for record in incident.signals:
        if record.node and record.kind in PROBLEMS:
            problems.setdefault(record.node, []).append(record)
    instances = _instances_by_key(snapshot.instances)
    # An instance view speaks of now: once the VM is restarted its agent reports Ready again; the incident's
    # signals remember what was seen while the node failed.
    agents_lost = frozenset(r.node for r in incident.signals if r.node and r.kind is SignalKind.VM_AGENT_UNRESPONSIVE)
    affected = tuple(_affected(name, problems[name], snapshot, instances, agents_lost) for name in sorted(problems))
    return Facts(incident, snapshot, nodes_per_zone, nodes_per_image, now, affected)


def _instances_by_key(instances: Iterable[ScaleSetInstance]) -> dict[str, ScaleSetInstance]:
    found: dict[str, ScaleSetInstance] = {}
    for instance in instances:
        key = aks.key_of_instance(instance)
        if key is not None:
            found[key] = instance
        computer = instance.instance_view.computer_name if instance.instance_view else None
        if computer:
            found.setdefault(computer, instance)  # no providerID: AKS makes the computer name the node name
    return found


def _affected(
    name: str,
    records: list[SignalRecord],
    snapshot: Snapshot,
    instances: Mapping[str, ScaleSetInstance],
    agents_lost: frozenset[str],
) -> AffectedNode:
    node = snapshot.nodes_by_name.get(name)
    labels = node.metadata.label_map if node is not None else {}
    records = sorted(records, key=lambda r: (r.last_seen, r.since), reverse=True)  # the latest observation first
    zone = next((r.zone for r in records if r.zone), None) or aks.zone_of(labels)
    instance_key = next((r.instance for r in records if r.instance), None)
    if instance_key is None and node is not None:
        instance_key = aks.key_from_resource_id(node.spec.provider_id)
    instance = instances.get(instance_key or "") or instances.get(name)
    agent = instance.agent_status if instance is not None else None
    return AffectedNode(
        name=name,
        onset=min(r.since for r in records),
        kinds=frozenset(r.kind for r in records),
        conditions=frozenset(r.condition for r in records if r.condition),
        pool=next((r.pool for r in records if r.pool), None),
        zone=zone,
        image=next((r.image for r in records if r.image), None) or labels.get(aks.IMAGE_LABEL),
        instance=instance_key,
        power=instance.status("PowerState") if instance is not None else None,
        provisioning=instance.status("ProvisioningState") if instance is not None else None,
        agent=agent,
        agent_lost=name in agents_lost,
    )


def node_counts(snapshot: Snapshot) -> tuple[dict[str, int], dict[str, int]]:
    """Every node of the cluster counted by zone and by node image version (from the node labels)."""
    zones: dict[str, int] = {}
    images: dict[str, int] = {}
    for node in snapshot.nodes:
        labels = node.metadata.label_map
        zone, image = aks.zone_of(labels), labels.get(aks.IMAGE_LABEL)
        if zone:
            zones[zone] = zones.get(zone, 0) + 1
        if image:
            images[image] = images.get(image, 0) + 1
    return zones, images


# -- the score ----------------------------------------------------------------------------------------


def combined(evidence: Iterable[Evidence]) -> float:
    """Noisy-OR of the weights: 1 − ∏(1 − w). Independent facts add up and never pass 1."""
    return 1.0 - reduce(lambda rest, line: rest * (1.0 - min(1.0, max(0.0, line.weight))), evidence, 1.0)


def score(supporting: Iterable[Evidence], against: Iterable[Evidence]) -> float:
    """support × (1 − against), rounded to three places so that equal evidence gives equal scores."""
    return round(combined(supporting) * (1.0 - combined(against)), 3)


def hypothesis(cause: CauseKind, summary: str, supporting: list[Evidence], against: list[Evidence]) -> Hypothesis:
    return Hypothesis(
        cause=cause,
        score=score(supporting, against),
        summary=summary,
        supporting=tuple(supporting),
        against=tuple(against),
    )


def repeated(weight: float, count: int) -> float:
    """The weight of one line standing for `count` independent facts of weight `weight` each."""
    return 1.0 - (1.0 - weight) ** count


# -- wording ------------------------------------------------------------------------------------------


def listed(names: Iterable[str]) -> str:
    """ "a, b, c", sorted, with at most wording.SHOWN names, then "and N more"."""
    return wording.short_list(sorted(names))


def share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({part / whole:.0%})" if whole else f"{part} of {whole}"


def before(moment: datetime, reference: datetime, what: str = "impact") -> str:
    """How long before (or after) `reference` `moment` was: "3m05s before impact", "40s after impact"."""
    seconds = int((reference - moment).total_seconds())
    word = "before" if seconds >= 0 else "after"
    minutes, rest = divmod(abs(seconds), 60)
    span = f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
    return f"{span} {word} {what}"

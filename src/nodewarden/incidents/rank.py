"""Root-cause ranking: which cause best explains an incident, with the evidence for it and against it.

It sits after grouping in the flow (`detect → heal → act → incidents → render`) and is pure: an Incident,
the Snapshot around it (`RankContext`) and `now` in; eight hypotheses out, most likely first. The causes
are in `rank_platform` (zone or platform outage, planned maintenance, network), `rank_change` (a change
shortly before the impact) and `rank_node` (bad node image, resource exhaustion, guest OS / kubelet, the VM
itself).

The score. Each cause collects evidence lines, each naming its source (a signal, an Activity Log entry
with caller and operation, a Scheduled Event id, a node condition, an Event reason) and carrying a weight
in [0, 1]: how strongly that fact alone points at the cause (or away from it). The weights are named
constants in those modules, each with its reason. Then

    support = 1 − ∏ (1 − w)   over the supporting lines   (noisy-OR: facts add up, never past 1)
    against = 1 − ∏ (1 − a)   over the lines against
    score   = support × (1 − against), rounded to 3 places

No supporting evidence is a score of 0, whatever is against. Every cause is returned, so a report can
say why a cause was ruled out; equal scores keep the order of `CauseKind`, so the ranking is a pure
function of its inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from nodewarden.incidents import rank_change, rank_evidence, rank_node, rank_platform
from nodewarden.incidents.rank_evidence import Facts
from nodewarden.model.incident import CauseKind, Hypothesis, Incident
from nodewarden.model.snapshot import Snapshot

CAUSES: Mapping[CauseKind, Callable[[Facts], Hypothesis]] = {
    CauseKind.ZONE_OUTAGE: rank_platform.zone_outage,
    CauseKind.PLANNED_MAINTENANCE: rank_platform.planned_maintenance,
    CauseKind.CHANGE: rank_change.change,
    CauseKind.BAD_IMAGE: rank_node.bad_image,
    CauseKind.RESOURCE_EXHAUSTION: rank_node.resource_exhaustion,
    CauseKind.GUEST_FAILURE: rank_node.guest_failure,
    CauseKind.HOST_FAILURE: rank_node.host_failure,
    CauseKind.NETWORK: rank_platform.network,
}
ORDER = {cause: index for index, cause in enumerate(CauseKind)}


@dataclass(frozen=True)
class RankContext:
    """What surrounded the incident: the Snapshot at the time (pools, instances with their views, nodes with
    labels, Scheduled Events, Events) and the cluster's node counts per zone and per node image version,
    so that "failures follow image X while image Y is fine" can be measured."""

    snapshot: Snapshot
    nodes_per_zone: Mapping[str, int] = field(default_factory=dict)
    nodes_per_image: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, snapshot: Snapshot) -> RankContext:
        """The context of a Snapshot, counting its nodes by their zone and node-image labels."""
        zones, images = rank_evidence.node_counts(snapshot)
        return cls(snapshot=snapshot, nodes_per_zone=zones, nodes_per_image=images)


def rank(incident: Incident, context: RankContext, now: datetime) -> tuple[Hypothesis, ...]:
    """Every cause's hypothesis for the incident, highest score first (ties in CauseKind order)."""
    facts = rank_evidence.facts_of(
        incident,
        context.snapshot,
        nodes_per_zone=context.nodes_per_zone,
        nodes_per_image=context.nodes_per_image,
        now=now,
    )
    hypotheses = [judge(facts) for judge in CAUSES.values()]
    return tuple(sorted(hypotheses, key=lambda h: (-h.score, ORDER[h.cause])))

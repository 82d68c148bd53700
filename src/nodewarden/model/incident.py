"""Incidents: signals, actions and holds grouped by time, pool, zone and cause, with ranked root causes.

An incident's times come from machine evidence: `impact_start` is the earliest signal's `since` (the
last heartbeat, a condition's transition), `detected_at` the first time nodewarden saw a problem,
`mitigation_started_at` its first action, `mitigated_at` when every affected node was back (or
replaced), `resolved_at` when the incident closed (no signal left and nothing open).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from nodewarden.model.drill import Verdict
from nodewarden.model.health import SignalKind
from nodewarden.model.remediation import Hold, JournalEntry


@dataclass(frozen=True)
class SignalRecord:
    """A signal as the journal keeps it: first and last seen, so one fact is one row however long it lasts."""

    kind: SignalKind
    subject: str
    since: datetime  # when the condition began, from the evidence
    first_seen: datetime  # the cycle that first saw it (detection time)
    last_seen: datetime  # the latest cycle that still saw it
    message: str
    evidence: tuple[str, ...] = ()
    node: str | None = None
    pool: str | None = None
    zone: str | None = None
    instance: str | None = None
    image: str | None = None
    condition: str | None = None
    source: str = "detection"  # or "alertmanager", "azure-monitor" for alerts taken in


@dataclass(frozen=True)
class HoldRecord:
    at: datetime
    hold: Hold


class ChangeOrigin(StrEnum):
    """Who made a change, as far as the record can tell (attribution, issue 12)."""

    OURS = "ours"  # nodewarden's controller: a journal key's correlation id, or nodewarden's own principal
    OPERATOR = "operator"  # a person through `nodewarden node …` (actor and reason recorded)
    AKS = "aks"  # AKS itself: auto-repair (aks-remediator), the cluster autoscaler, upgrades
    OTHERS = "others"  # anyone else: the only changes that feed the change hypothesis


@dataclass(frozen=True)
class ChangeRecord:
    """Something someone did to the cluster's Azure resources (Activity Log): who, what, when, and whose."""

    at: datetime
    caller: str
    operation: str
    resource: str
    status: str
    correlation_id: str = ""
    origin: ChangeOrigin = ChangeOrigin.OTHERS
    actor: str = ""  # the person behind an OPERATOR change (from the node's annotation), else empty
    until: datetime | None = None  # an OPERATOR change's mark expires then: the node may be down until then


class IncidentState(StrEnum):
    OPEN = "open"
    MITIGATED = "mitigated"  # capacity back; still watching
    RESOLVED = "resolved"


class CauseKind(StrEnum):
    ZONE_OUTAGE = "zone-outage"  # zone or platform outage
    PLANNED_MAINTENANCE = "planned-maintenance"
    CHANGE = "change"  # a change shortly before the impact (Activity Log)
    BAD_IMAGE = "bad-image"  # a bad node image or model rollout
    RESOURCE_EXHAUSTION = "resource-exhaustion"
    GUEST_FAILURE = "guest-failure"  # guest OS, kubelet or container runtime
    HOST_FAILURE = "host-failure"  # the VM itself died (a crash, its host failed): ARM runs it, nothing answers
    NETWORK = "network"


@dataclass(frozen=True)
class Evidence:
    text: str  # one line a human reads, naming its source
    at: datetime | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class Hypothesis:
    cause: CauseKind
    score: float  # 0..1, deterministic from the evidence
    summary: str
    supporting: tuple[Evidence, ...] = ()
    against: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "signal", "action", "hold", "change", "alert", "incident"
    text: str
    subject: str = ""


@dataclass(frozen=True)
class Incident:
    id: str
    title: str
    state: IncidentState
    impact_start: datetime
    detected_at: datetime
    mitigation_started_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    pool: str | None = None  # None when it spans pools
    zone: str | None = None  # None when it spans zones
    drill: str | None = None  # the drill that caused it, if one did
    verdict: Verdict | None = None  # the drill's verdict, on the incident the drill caused
    nodes: tuple[str, ...] = ()
    instances: tuple[str, ...] = ()
    pods: tuple[str, ...] = ()  # "namespace/name" disrupted
    workloads: tuple[str, ...] = ()  # "Kind/namespace/name"
    signals: tuple[SignalRecord, ...] = ()
    actions: tuple[JournalEntry, ...] = ()
    holds: tuple[HoldRecord, ...] = ()
    changes: tuple[ChangeRecord, ...] = ()
    hypotheses: tuple[Hypothesis, ...] = field(default=())  # ranked, most likely first

    @property
    def undetected(self) -> bool:
        """A drill's record of a fault nodewarden never saw: its `detected_at` is only when the drill ended."""
        return self.verdict is not None and self.verdict.detected_at is None and not self.signals

    @property
    def mttd(self) -> float | None:
        """Seconds from impact to detection; None for a drill's fault that was never detected."""
        if self.undetected:
            return None
        return max(0.0, (self.detected_at - self.impact_start).total_seconds())

    @property
    def mttr(self) -> float | None:
        """Seconds from impact to mitigation (capacity back); None while not mitigated."""
        if self.mitigated_at is None:
            return None
        return max(0.0, (self.mitigated_at - self.impact_start).total_seconds())

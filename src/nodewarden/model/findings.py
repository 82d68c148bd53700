"""What an audit says: severities, categories, targets, findings and per-rule results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Severity(StrEnum):
    """How bad a failed rule is; ordered from worst to mildest."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: critical 4 … info 0."""
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Category(StrEnum):
    """The catalog's sections; the value is the rule-ID prefix."""

    HA = "HA"
    UP = "UP"
    AS = "AS"
    RG = "RG"
    WL = "WL"
    SEC = "SEC"
    MON = "MON"
    DR = "DR"
    VM = "VM"

    @property
    def label(self) -> str:
        return _CATEGORY_TITLES[self]


_CATEGORY_TITLES = {
    Category.HA: "Cluster and node-pool availability",
    Category.UP: "Upgrades and maintenance",
    Category.AS: "Autoscaling and capacity",
    Category.RG: "Resource governance",
    Category.WL: "Workload availability",
    Category.SEC: "Network and identity security",
    Category.MON: "Monitoring",
    Category.DR: "Backup and disaster recovery",
    Category.VM: "AKS-managed scale sets",
}


class Profile(StrEnum):
    """Core rules always run; extended ones are the catalog's optional set."""

    CORE = "core"
    EXTENDED = "extended"


class Outcome(StrEnum):
    """The result of one rule over the whole input."""

    PASS = "pass"
    FAIL = "fail"
    WAIVED = "waived"
    NOT_EVALUATED = "not-evaluated"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class AnnotationWaiver:
    """The `nodewarden.io/waive` annotation of one Kubernetes object."""

    rules: frozenset[str]
    reason: str | None


@dataclass(frozen=True, slots=True)
class Target:
    """What a finding is about: an Azure resource or a Kubernetes object.

    `key` is the stable name waivers match against: `<Kind>/<name>` for Azure resources and
    cluster-scoped Kubernetes objects, `<Kind>/<namespace>/<name>` for namespaced ones.
    """

    kind: str
    name: str
    namespace: str | None = None
    resource_id: str | None = None
    annotation_waiver: AnnotationWaiver | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    @property
    def is_kubernetes(self) -> bool:
        return self.resource_id is None


@dataclass(frozen=True, slots=True)
class Waiver:
    """Why a finding is accepted, where that was said, and until when."""

    reason: str
    source: str
    expires: date | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One target that does not meet one rule."""

    rule_id: str
    severity: Severity
    target: Target
    message: str
    waiver: Waiver | None = None
    expired_waiver: Waiver | None = None
    source: str | None = None  # the input file that held the target, for reports that point at files

    @property
    def is_waived(self) -> bool:
        return self.waiver is not None


@dataclass(frozen=True, slots=True)
class RuleResult:
    """Everything one rule said about the input."""

    rule_id: str
    outcome: Outcome
    findings: tuple[Finding, ...] = ()
    reason: str | None = None

    @property
    def open_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.is_waived)

"""Small audit reports, built by hand, that every renderer test reads.

`sample_report()` has one rule of each kind a renderer must handle:
- HA001 fails with two open findings, one on an Azure resource (high) and one on a Kubernetes object
  (graded medium by the rule).
- WL001 is waived by the waiver file (with an expiry).
- WL002 is waived by the object's `nodewarden.io/waive` annotation.
- SEC001 passes.
- MON001 was not evaluated (input missing).
- DR002 is disabled (extended profile not selected).
- There is one note.
`hostile_report()` puts markup and control characters in every free-text field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from nodewarden.audit.catalog import RuleMeta
from nodewarden.audit.report import AuditReport, RuleReport
from nodewarden.model.findings import (
    AnnotationWaiver,
    Category,
    Finding,
    Outcome,
    Profile,
    RuleResult,
    Severity,
    Target,
    Waiver,
)
from nodewarden.model.inputs import Input
from nodewarden.model.kube import WAIVE_ANNOTATION

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CLUSTER_ID = "/subscriptions/0000/resourceGroups/rg-prod/providers/Microsoft.ContainerService/managedClusters/aks-prod"
POOL = Target(kind="agentPool", name="system", resource_id=f"{CLUSTER_ID}/agentPools/system")
WEB = Target(kind="Deployment", name="web", namespace="shop")
BATCH = Target(kind="Deployment", name="batch", namespace="jobs")
LEGACY = Target(
    kind="StatefulSet",
    name="legacy",
    namespace="shop",
    annotation_waiver=AnnotationWaiver(rules=frozenset({"WL002"}), reason="single-writer database"),
)
FILE_WAIVER = Waiver(reason="batch jobs tolerate restarts", source="waivers.yaml", expires=date(2026, 12, 31))
ANNOTATION_WAIVER = Waiver(reason="single-writer database", source=f"annotation {WAIVE_ANNOTATION}")
NOTE = "WL003 on Deployment/shop/api: waiver expired on 2026-10-01 (migration window)"


def meta(
    rule_id: str,
    title: str,
    *,
    category: Category,
    severity: Severity,
    profile: Profile = Profile.CORE,
    references: tuple[str, ...] = (),
) -> RuleMeta:
    return RuleMeta(
        id=rule_id,
        title=title,
        category=category,
        severity=severity,
        rationale=f"Why {rule_id} matters.",
        fix=f"Fix {rule_id}: az aks update -g <rg> -n <cluster>",
        needs=(Input.CLUSTER,),
        references=references,
        profile=profile,
    )


HA001 = meta(
    "HA001",
    "Node pools span at least two availability zones",
    category=Category.HA,
    severity=Severity.HIGH,
    references=("PSRule Azure.AKS.AvailabilityZone", "https://learn.microsoft.com/azure/aks/availability-zones"),
)
WL001 = meta("WL001", "Workloads run at least two replicas", category=Category.WL, severity=Severity.MEDIUM)
WL002 = meta("WL002", "Workloads have a PodDisruptionBudget", category=Category.WL, severity=Severity.LOW)
SEC001 = meta("SEC001", "Network policy engine enabled", category=Category.SEC, severity=Severity.HIGH)
MON001 = meta("MON001", "Container Insights enabled", category=Category.MON, severity=Severity.CRITICAL)
DR002 = meta(
    "DR002",
    "Backups cover PV namespaces",
    category=Category.DR,
    severity=Severity.INFO,
    profile=Profile.EXTENDED,
)

POOL_FINDING = Finding("HA001", Severity.HIGH, POOL, "pool system spans zones [none]; use at least 2")
WEB_FINDING = Finding(
    "HA001", Severity.MEDIUM, WEB, "Deployment shop/web has no zone spread", source="export/k8s-deployments.yaml#2"
)
BATCH_FINDING = Finding("WL001", Severity.MEDIUM, BATCH, "1 replica", waiver=FILE_WAIVER)
LEGACY_FINDING = Finding("WL002", Severity.LOW, LEGACY, "no PodDisruptionBudget", waiver=ANNOTATION_WAIVER)


def report_of(*rules: RuleReport, notes: tuple[str, ...] = (), cluster_name: str | None = "aks-prod") -> AuditReport:
    return AuditReport(
        rules=rules,
        score=72,
        grade="C",
        generated_at=NOW,
        cluster_name=cluster_name,
        sources=("aks.json", "nodepools.json"),
        notes=notes,
    )


def sample_report() -> AuditReport:
    return report_of(
        RuleReport(HA001, RuleResult("HA001", Outcome.FAIL, (POOL_FINDING, WEB_FINDING))),
        RuleReport(WL001, RuleResult("WL001", Outcome.WAIVED, (BATCH_FINDING,))),
        RuleReport(WL002, RuleResult("WL002", Outcome.WAIVED, (LEGACY_FINDING,))),
        RuleReport(SEC001, RuleResult("SEC001", Outcome.PASS)),
        RuleReport(
            MON001,
            RuleResult("MON001", Outcome.NOT_EVALUATED, reason="input missing: az aks show -o json"),
        ),
        RuleReport(DR002, RuleResult("DR002", Outcome.DISABLED, reason="extended profile not selected")),
        notes=(NOTE,),
    )


SCRIPT = "<script>alert(1)</script>"
QUOTED = 'limit "cpu" & memory'
PIPED = "image `web|api` <latest>"


def hostile_report() -> AuditReport:
    """A workload named like a script tag, and messages with quotes, ampersands, pipes, backticks and NUL."""
    hostile = Target(kind="Deployment", name=SCRIPT, namespace="shop")
    findings = (
        Finding("HA001", Severity.HIGH, hostile, QUOTED),
        Finding("HA001", Severity.MEDIUM, WEB, f"{PIPED}\x00 [link](https://example.com)"),
        Finding("HA001", Severity.LOW, BATCH, QUOTED, waiver=Waiver(reason=f"{SCRIPT} {QUOTED}", source="w.yaml")),
    )
    return report_of(
        RuleReport(HA001, RuleResult("HA001", Outcome.FAIL, findings)),
        RuleReport(MON001, RuleResult("MON001", Outcome.NOT_EVALUATED, reason=f"{SCRIPT} & {PIPED}")),
        notes=(f"note {SCRIPT} {QUOTED}",),
        cluster_name=f"{SCRIPT}-cluster",
    )

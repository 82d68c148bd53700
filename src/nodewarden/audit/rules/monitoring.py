"""MON rules: monitoring (Container Insights, managed Prometheus, control-plane and audit logs).

Finding out why a node went NotReady, why the autoscaler did not replace it or who cordoned it needs
node and pod telemetry, metrics and the control-plane logs; these rules check they are collected.

Diagnostic settings (`az monitor diagnostic-settings list --resource <aks id>`): the union of enabled
log categories over all settings counts. A setting may enable a *category group* instead of
categories. AKS accepts category groups (Azure rejects mixing groups and categories in one AKS setting,
Azure/terraform-azurerm-avm-res-containerservice-managedcluster#302); `allLogs` is by definition every
category, so it covers all of them. Which categories AKS puts in the `audit` group is not documented,
so an enabled `audit` group makes MON004 NOT_EVALUATED rather than a pass or a fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from nodewarden.audit.catalog import NotEvaluated, Rule, RuleContext, Violation, rule
from nodewarden.model.azure import DiagnosticSetting
from nodewarden.model.findings import Category, Severity
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot, cluster_target

WORKSPACE_KEY = "logAnalyticsWorkspaceResourceID"
ALL_LOGS = "alllogs"
AUDIT_GROUP = "audit"
ALL_METRICS = "allmetrics"
KUBE_AUDIT = "kube-audit"
KUBE_AUDIT_ADMIN = "kube-audit-admin"


@rule(
    id="MON001",
    title="Container Insights is enabled",
    category=Category.MON,
    severity=Severity.HIGH,
    rationale="Container Insights records node and pod health, restarts and evictions; without it a node "
    "failure leaves no trace of what ran there or why it went NotReady.",
    fix="az aks enable-addons -g <rg> -n <cluster> -a monitoring --workspace-resource-id <workspace id>",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.ContainerInsights",
        "CKV_AZURE_4 (bridgecrewio/checkov#4612)",
        "APRL dcaf8128",
        "checklist 07.04.02",
        "https://learn.microsoft.com/azure/azure-monitor/containers/container-insights-enable-aks",
    ),
)
def container_insights_enabled(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    """Fails when the `omsagent` add-on (any casing) is absent or disabled; medium when it is enabled
    without `config.logAnalyticsWorkspaceResourceID` (the agent has nowhere to send data)."""
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    addon = cluster.addon("omsagent")
    if addon is None or addon.enabled is not True:
        state = "absent" if addon is None else "disabled"
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has the omsagent (Container Insights) add-on {state}; enable monitoring",
        )
        return
    if not addon.setting(WORKSPACE_KEY):
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has omsagent enabled but no config.{WORKSPACE_KEY}; "
            "point it at a Log Analytics workspace",
            severity=Severity.MEDIUM,
        )


@rule(
    id="MON002",
    title="Managed Prometheus metrics are enabled",
    category=Category.MON,
    severity=Severity.MEDIUM,
    rationale="Prometheus metrics drive the alerts that catch a failing pool before users do, and the "
    "dashboards used to size capacity after node loss.",
    fix="az aks update -g <rg> -n <cluster> --enable-azure-monitor-metrics",
    needs=(Input.CLUSTER,),
    references=(
        "APRL dcaf8128",
        "checklist 07.04.01",
        "https://learn.microsoft.com/azure/azure-monitor/containers/kubernetes-monitoring-enable",
    ),
)
def managed_prometheus_enabled(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    profile = cluster.azure_monitor_profile
    metrics = profile.metrics if profile else None
    if metrics is None or metrics.enabled is not True:
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has azureMonitorProfile.metrics.enabled "
            f"{'unset' if metrics is None or metrics.enabled is None else 'false'}; enable managed Prometheus",
        )


@dataclass(frozen=True, slots=True)
class _Collected:
    """What the cluster's diagnostic settings collect, over all settings (names lower-cased)."""

    categories: frozenset[str]
    groups: frozenset[str]
    metrics: frozenset[str]

    def has(self, category: str) -> bool:
        return ALL_LOGS in self.groups or category.lower() in self.categories


def _collected(settings: Iterable[DiagnosticSetting]) -> _Collected:
    categories: set[str] = set()
    groups: set[str] = set()
    metrics: set[str] = set()
    for setting in settings:
        for log in setting.logs or ():
            if log.enabled is not True:
                continue
            if log.category:
                categories.add(log.category.lower())
            if log.category_group:
                groups.add(log.category_group.lower())
        for metric in setting.metrics or ():
            if metric.enabled is True and metric.category:
                metrics.add(metric.category.lower())
    return _Collected(frozenset(categories), frozenset(groups), frozenset(metrics))


@rule(
    id="MON003",
    title="Control-plane diagnostic logs are collected",
    category=Category.MON,
    severity=Severity.MEDIUM,
    rationale="The API server, controller-manager, scheduler and cluster-autoscaler logs explain failed "
    "scale-outs, stuck drains and upgrades; AKS keeps them only if a diagnostic setting exports them.",
    fix="az monitor diagnostic-settings create -n aks-control-plane --resource <aks id> --workspace <workspace id> "
    '--logs \'[{"category":"kube-apiserver","enabled":true},{"category":"kube-controller-manager","enabled":true},'
    '{"category":"kube-scheduler","enabled":true},{"category":"cluster-autoscaler","enabled":true}]\' '
    '--metrics \'[{"category":"AllMetrics","enabled":true}]\'',
    needs=(Input.CLUSTER, Input.DIAGNOSTICS),
    references=(
        "PSRule Azure.AKS.PlatformLogs",
        "https://learn.microsoft.com/azure/aks/monitor-aks",
        "https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/"
        "microsoft-containerservice-managedclusters-logs",
    ),
    params=("control_plane_log_categories",),
)
def control_plane_logs_collected(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    """Fails unless the settings together enable every wanted category (or `allLogs`) and AllMetrics."""
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    collected = _collected(snap.diagnostic_settings)
    missing = [c for c in ctx.params.control_plane_log_categories if not collected.has(c)]
    if ALL_METRICS not in collected.metrics:
        missing.append("AllMetrics (metrics)")
    if not missing:
        return
    where = (
        f"{len(snap.diagnostic_settings)} diagnostic setting(s)"
        if snap.diagnostic_settings
        else "no diagnostic setting"
    )
    yield Violation(
        cluster_target(cluster),
        f"cluster {cluster.name} has {where}, not collecting {', '.join(missing)}; enable them in a diagnostic setting",
    )


@rule(
    id="MON004",
    title="Audit logs are collected with kube-audit-admin and guard",
    category=Category.MON,
    severity=Severity.MEDIUM,
    rationale="Audit logs show who cordoned, drained, scaled or deleted what; kube-audit-admin keeps the "
    "changes without the flood of get/list events, and guard records Entra ID and Azure RBAC decisions.",
    fix="az monitor diagnostic-settings create -n aks-audit --resource <aks id> --workspace <workspace id> "
    '--logs \'[{"category":"kube-audit-admin","enabled":true},{"category":"guard","enabled":true}]\'',
    needs=(Input.CLUSTER, Input.DIAGNOSTICS),
    references=(
        "PSRule Azure.AKS.AuditLogs",
        "PSRule Azure.AKS.AuditAdmin",
        "https://learn.microsoft.com/azure/aks/monitor-aks",
    ),
    params=("audit_log_categories",),
)
def audit_logs_collected(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    """Fails (medium) when a wanted category is not collected; `kube-audit` stands in for a missing
    `kube-audit-admin` but costs far more, which is a low finding of its own."""
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    collected = _collected(snap.diagnostic_settings)
    missing: list[str] = []
    costly = False
    for category in ctx.params.audit_log_categories:
        if collected.has(category):
            continue
        if category.lower() == KUBE_AUDIT_ADMIN and collected.has(KUBE_AUDIT):
            costly = True
            continue
        missing.append(category)
    if missing and AUDIT_GROUP in collected.groups:
        raise NotEvaluated(
            f"the diagnostic settings enable the `audit` category group, and which AKS categories it holds is "
            f"not documented; cannot tell whether {', '.join(missing)} are collected (enable them by name)"
        )
    notes = []
    if missing:
        notes.append(f"does not collect {', '.join(missing)}")
    if costly:
        notes.append("collects kube-audit without kube-audit-admin, which also logs every get/list and costs far more")
    if notes:
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} {'; '.join(notes)}; enable kube-audit-admin and guard",
            severity=Severity.MEDIUM if missing else Severity.LOW,
        )


RULES: tuple[Rule, ...] = (
    container_insights_enabled,
    managed_prometheus_enabled,
    control_plane_logs_collected,
    audit_logs_collected,
)

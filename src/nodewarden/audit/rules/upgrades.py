"""UP rules: upgrades and maintenance (channels, windows, surge, versions, node images, lockdown)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date

from nodewarden.audit.catalog import NotEvaluated, Rule, RuleContext, Violation, decide, rule
from nodewarden.audit.surge import parse_amount
from nodewarden.model.azure import Cluster, KubernetesVersion, MaintenanceConfiguration, UpgradeSettings
from nodewarden.model.findings import Category, Severity
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot, azure_target, cluster_target, pool_target

UPGRADE_CHANNELS = ("patch", "stable", "rapid", "node-image")
NODE_OS_CHANNELS = ("SecurityPatch", "NodeImage")
AUTO_UPGRADE_SCHEDULE = "aksManagedAutoUpgradeSchedule"
NODE_OS_SCHEDULE = "aksManagedNodeOSUpgradeSchedule"
DEFAULT_SUPPORT_PLAN = "KubernetesOfficial"
LTS_SUPPORT_PLAN = "AKSLongTermSupport"


def _upgrade_channel(cluster: Cluster) -> str | None:
    """The cluster auto-upgrade channel when it is one that upgrades (not unset or `none`)."""
    profile = cluster.auto_upgrade_profile
    channel = (profile.upgrade_channel if profile else None) or ""
    return next((c for c in UPGRADE_CHANNELS if c == channel.lower()), None)


def _node_os_channel(cluster: Cluster) -> str | None:
    """The node OS channel when it patches nodes; the `node-image` cluster channel implies NodeImage."""
    profile = cluster.auto_upgrade_profile
    channel = (profile.node_os_upgrade_channel if profile else None) or ""
    found = next((c for c in NODE_OS_CHANNELS if c.lower() == channel.lower()), None)
    if found is None and not channel and _upgrade_channel(cluster) == "node-image":
        return "NodeImage"
    return found


@rule(
    id="UP001",
    title="Cluster auto-upgrade channel is set",
    category=Category.UP,
    severity=Severity.MEDIUM,
    rationale="Without an auto-upgrade channel the cluster drifts out of the AKS support window, and "
    "unsupported versions stop receiving fixes for the node and control-plane failures they cause.",
    fix="az aks update -g <rg> -n <cluster> --auto-upgrade-channel stable   # or patch / rapid",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.AutoUpgrade",
        "CKV_AZURE_171",
        "Azure review checklist 07.02.04",
        "https://learn.microsoft.com/azure/aks/auto-upgrade-cluster",
    ),
)
def auto_upgrade_channel_set(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    if _upgrade_channel(cluster) is None:
        profile = cluster.auto_upgrade_profile
        observed = (profile.upgrade_channel if profile else None) or "unset"
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has auto-upgrade channel {observed}; want one of {', '.join(UPGRADE_CHANNELS)}",
        )


@rule(
    id="UP002",
    title="Node OS upgrade channel patches nodes",
    category=Category.UP,
    severity=Severity.HIGH,
    rationale="With node OS channel None or Unmanaged, AKS applies no security patches or node images "
    "to the VMSS instances, so known kernel and runtime faults stay on every node.",
    fix="az aks update -g <rg> -n <cluster> --node-os-upgrade-channel NodeImage   # or SecurityPatch",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.NodeAutoUpgrade (AZR-000435)",
        "Azure Policy 04408ca5",
        "https://learn.microsoft.com/azure/aks/auto-upgrade-node-os-image",
    ),
)
def node_os_channel_set(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    if _node_os_channel(cluster) is None:
        profile = cluster.auto_upgrade_profile
        observed = (profile.node_os_upgrade_channel if profile else None) or "unset"
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has node OS upgrade channel {observed}; want {' or '.join(NODE_OS_CHANNELS)}",
        )


def _config(configs: tuple[MaintenanceConfiguration, ...], name: str) -> MaintenanceConfiguration | None:
    return next((c for c in configs if c.name.lower() == name.lower()), None)


@rule(
    id="UP003",
    title="Planned maintenance windows govern auto-upgrades",
    category=Category.UP,
    severity=Severity.MEDIUM,
    rationale="Without a maintenance window auto-upgrades cordon and drain nodes at any hour, including "
    "peak load; a window that is too short leaves upgrades half done.",
    fix="az aks maintenanceconfiguration add -g <rg> --cluster-name <cluster> --name aksManagedAutoUpgradeSchedule "
    "--schedule-type Weekly --day-of-week Saturday --interval-weeks 1 --start-time 00:00 --duration 8\n"
    "az aks maintenanceconfiguration add -g <rg> --cluster-name <cluster> --name aksManagedNodeOSUpgradeSchedule "
    "--schedule-type Weekly --day-of-week Sunday --interval-weeks 1 --start-time 00:00 --duration 8",
    needs=(Input.CLUSTER, Input.MAINTENANCE),
    references=(
        "PSRule Azure.AKS.MaintenanceWindow (AZR-000446)",
        "https://learn.microsoft.com/azure/aks/planned-maintenance",
    ),
    params=("maintenance_min_hours",),
)
def maintenance_windows(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    wanted: list[tuple[str, str]] = []
    channel = _upgrade_channel(cluster)
    if channel is not None:
        wanted.append((AUTO_UPGRADE_SCHEDULE, f"auto-upgrade channel {channel}"))
    node_os = _node_os_channel(cluster)
    if node_os is not None:
        wanted.append((NODE_OS_SCHEDULE, f"node OS channel {node_os}"))
    legacy_only = bool(snap.maintenance_configs) and all(c.name.lower() == "default" for c in snap.maintenance_configs)
    minimum = ctx.params.maintenance_min_hours
    for name, reason in wanted:
        config = _config(snap.maintenance_configs, name)
        if config is None:
            note = (
                "; only the legacy 'default' configuration (timeInWeek) exists, and it does not govern auto-upgrade"
                if legacy_only
                else ""
            )
            yield Violation(
                cluster_target(cluster),
                f"cluster {cluster.name} has {reason} but no {name} maintenance configuration{note}",
            )
            continue
        window = config.maintenance_window
        hours = window.duration_hours if window else None
        if hours is None:
            yield Violation(
                azure_target("maintenanceConfiguration", config.name, config.id),
                f"maintenance configuration {config.name} has no maintenanceWindow.durationHours; "
                f"want a window of at least {minimum} h",
            )
        elif hours < minimum:
            yield Violation(
                azure_target("maintenanceConfiguration", config.name, config.id),
                f"maintenance configuration {config.name} has a {hours} h window; want at least {minimum} h",
            )


def _upgrade_details(settings: UpgradeSettings | None) -> str:
    """Drain timeout, soak and undrainable-node behaviour, with AKS's defaults where unset."""
    drain = settings.drain_timeout_in_minutes if settings else None
    soak = settings.node_soak_duration_in_minutes if settings else None
    undrainable = settings.undrainable_node_behavior if settings else None
    parts = [
        f"drain timeout {drain} min" if drain is not None else "drain timeout 30 min (default)",
        f"soak {soak} min" if soak is not None else "soak 0 min (default)",
        f"undrainable nodes {undrainable}" if undrainable else "undrainable nodes Schedule (default)",
    ]
    return ", ".join(parts)


@rule(
    id="UP004",
    title="Node pools surge during upgrades",
    category=Category.UP,
    severity=Severity.MEDIUM,
    rationale="Surge nodes are added before old ones are drained, so capacity holds while AKS replaces "
    "instances; without enough surge, upgrades run one node at a time or drain nodes with no replacement.",
    fix="az aks nodepool update -g <rg> --cluster-name <cluster> -n <pool> --max-surge 33% "
    "--drain-timeout 30 --node-soak-duration 0",
    needs=(Input.NODEPOOLS,),
    references=(
        "https://learn.microsoft.com/azure/aks/upgrade-aks-node-pools-rolling",
        "https://learn.microsoft.com/azure/aks/upgrade-cluster",
        "Microsoft Q&A 5775191 (max surge ≈33% for production)",
    ),
    params=("min_surge_percent",),
)
def surge_configured(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    percent = ctx.params.min_surge_percent
    for pool in snap.pools:
        if pool.is_spot:
            continue  # AKS upgrades spot pools without surge nodes (learn.microsoft.com/azure/aks/spot-node-pool)
        settings = pool.upgrade_settings
        raw = settings.max_surge if settings else None
        surge = parse_amount(raw)
        size = pool.count if pool.count is not None else pool.ceiling
        nodes_wanted = max(1, math.ceil((size or 0) * percent / 100))
        want = f"want at least {percent}% (or {nodes_wanted} node{'s' if nodes_wanted > 1 else ''})"
        details = _upgrade_details(settings)
        problem: str | None = None
        if raw is None:
            problem = "has no maxSurge (AKS falls back to its default: 10%, or 1 node on pools from older API versions)"
        elif surge is None:
            problem = f"has maxSurge {raw!r}, which is neither a node count nor a percentage"
        elif surge.value == 0:
            unavailable = parse_amount(settings.max_unavailable if settings else None)
            if unavailable is not None and unavailable.value > 0:
                problem = (
                    f"has maxSurge 0 with maxUnavailable {unavailable}: "
                    "upgrades drain nodes with no replacement capacity"
                )
            else:
                problem = "has maxSurge 0"
        elif surge.percent and surge.value < percent:
            problem = f"has maxSurge {surge}"
        elif not surge.percent and surge.value < nodes_wanted:
            problem = f"has maxSurge {surge} for {size} nodes"
        if problem is not None:
            yield Violation(
                pool_target(pool, snap.cluster), f"pool {pool.name} {problem}; {want}; upgrade settings: {details}"
            )


_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def _version(text: str | None) -> tuple[int, ...] | None:
    """`1.33.7` → (1, 33, 7); an alias like `1.33` → (1, 33)."""
    match = _VERSION.match((text or "").strip())
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def _minor(version: tuple[int, ...]) -> str:
    return f"{version[0]}.{version[1]}"


def _compare(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Compare at the precision both have, so an alias `1.33` equals `1.33.7`."""
    depth = min(len(a), len(b))
    left, right = a[:depth], b[:depth]
    return (left > right) - (left < right)


def _cluster_version(cluster: Cluster) -> tuple[str, tuple[int, ...]]:
    text = cluster.current_kubernetes_version or cluster.kubernetes_version
    parsed = _version(text)
    if text is None or parsed is None:
        raise NotEvaluated(
            "the cluster's currentKubernetesVersion / kubernetesVersion is missing or unreadable in az aks show"
        )
    return text, parsed


@rule(
    id="UP005",
    title="Kubernetes version is supported",
    category=Category.UP,
    severity=Severity.HIGH,
    rationale="An unsupported minor version gets no fixes and no SLA-backed support, and AKS blocks "
    "some scale and repair operations on it; long-term support needs the Premium tier.",
    fix="az aks get-upgrades -g <rg> -n <cluster> -o table\n"
    "az aks upgrade -g <rg> -n <cluster> --kubernetes-version <supported version>\n"
    "# long-term support: az aks update -g <rg> -n <cluster> --tier premium --k8s-support-plan AKSLongTermSupport",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.Version",
        "Popeye 405",
        "Azure review checklist 07.02.04",
        "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions",
        "https://learn.microsoft.com/azure/aks/long-term-support",
    ),
    params=("min_kubernetes_version",),
)
def version_supported(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    target = cluster_target(cluster)
    text, version = _cluster_version(cluster)
    plan = cluster.support_plan or DEFAULT_SUPPORT_PLAN
    lts = plan.lower() == LTS_SUPPORT_PLAN.lower()
    found_any = False
    if lts and (cluster.tier or "").lower() != "premium":
        found_any = True
        yield Violation(
            target,
            f"cluster {cluster.name} uses support plan {LTS_SUPPORT_PLAN} on tier {cluster.tier or 'unset'}; "
            "long-term support requires tier Premium",
        )
    if snap.has(Input.VERSIONS):
        yield from _check_against_versions(snap, cluster, text, version, plan)
        return
    minimum = _version(ctx.params.min_kubernetes_version)
    assert minimum is not None  # the param's pattern guarantees it
    if _compare(version, minimum) >= 0:
        return
    if lts:
        if found_any:
            return
        raise NotEvaluated(
            f"cluster {cluster.name} runs {text} under {LTS_SUPPORT_PLAN}, which outlives the community minimum "
            f"{ctx.params.min_kubernetes_version}; export az aks get-versions -l <region> -o json to decide"
        )
    yield Violation(
        target,
        f"cluster {cluster.name} runs Kubernetes {text}; want at least {ctx.params.min_kubernetes_version} "
        "(configured minimum; give az aks get-versions for the region's supported list)",
    )


def _plans(entry: KubernetesVersion) -> list[str]:
    """The support plans a minor version is offered under (KubernetesOfficial when the export omits them)."""
    return (entry.capabilities.support_plan if entry.capabilities else None) or [DEFAULT_SUPPORT_PLAN]


def _check_against_versions(
    snap: Snapshot, cluster: Cluster, text: str, version: tuple[int, ...], plan: str
) -> Iterator[Violation]:
    listed = [(v, _version(v.version)) for v in (snap.versions.values if snap.versions else None) or ()]
    if not listed:
        raise NotEvaluated("az aks get-versions lists no versions (values[] is empty)")
    minor = _minor(version)
    entry = next((v for v, parsed in listed if parsed is not None and _minor(parsed) == minor), None)
    target = cluster_target(cluster)
    offered = ", ".join(
        v.version
        for v, parsed in sorted(listed, key=lambda item: item[1] or ())
        if not v.is_preview and plan.lower() in {p.lower() for p in _plans(v)}
    )
    if entry is None:
        yield Violation(
            target,
            f"cluster {cluster.name} runs Kubernetes {text}; minor {minor} is no longer offered "
            f"(offered under {plan}: {offered or 'none'}); upgrade",
        )
    elif entry.is_preview:
        yield Violation(
            target,
            f"cluster {cluster.name} runs Kubernetes {text}; minor {minor} is a preview version without support",
        )
    else:
        plans = _plans(entry)
        if plan.lower() not in {p.lower() for p in plans}:
            yield Violation(
                target,
                f"cluster {cluster.name} runs Kubernetes {text} under support plan {plan}; minor {minor} is "
                f"supported only under {', '.join(plans)}",
            )


@rule(
    id="UP006",
    title="Node pools run the control-plane version",
    category=Category.UP,
    severity=Severity.MEDIUM,
    rationale="Pools left behind the control plane mix kubelet behaviour across nodes and narrow the "
    "allowed version skew, which can block the next control-plane upgrade.",
    fix="az aks nodepool upgrade -g <rg> --cluster-name <cluster> -n <pool> "
    "--kubernetes-version <control-plane version>",
    needs=(Input.CLUSTER, Input.NODEPOOLS),
    references=(
        "PSRule Azure.AKS.PoolVersion",
        "https://learn.microsoft.com/azure/aks/upgrade-cluster",
    ),
)
def pools_match_control_plane(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    text, version = _cluster_version(cluster)
    violations: list[Violation] = []
    unknown: list[str] = []
    for pool in snap.pools:
        pool_text = pool.current_orchestrator_version or pool.orchestrator_version
        pool_version = _version(pool_text)
        if pool_version is None:
            unknown.append(pool.name)
        elif _compare(pool_version, version) != 0:
            violations.append(
                Violation(
                    pool_target(pool, cluster),
                    f"pool {pool.name} runs Kubernetes {pool_text}; the control plane runs {text}",
                )
            )
    yield from decide(
        violations, undecided=unknown, what="no currentOrchestratorVersion / orchestratorVersion for pools"
    )


# Linux images end in YYYYMM.DD.patch (AKSUbuntu-2204gen2containerd-202603.12.1,
# AKSAzureLinux-V3gen2-202606.08.1, AKSCBLMariner-V2gen2-202406.25.0); Windows images in
# build.revision.YYMMDD (AKSWindows-2022-containerd-20348.2340.240401 → 2024-04-01).
_LINUX_IMAGE = re.compile(r"-(?P<year>\d{4})(?P<month>\d{2})\.(?P<day>\d{2})\.\d+$")
_WINDOWS_IMAGE = re.compile(r"^AKSWindows-.*-\d{5}\.\d+\.(?P<year>\d{2})(?P<month>\d{2})(?P<day>\d{2})$", re.IGNORECASE)


def image_date(node_image_version: str | None) -> date | None:
    """The release date encoded in an AKS node image version, or None when the format is unknown."""
    text = (node_image_version or "").strip()
    match = _WINDOWS_IMAGE.match(text)
    century = 2000 if match else 0
    match = match or _LINUX_IMAGE.search(text)
    if not match:
        return None
    try:
        return date(century + int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        return None


@rule(
    id="UP007",
    title="Node images are recent",
    category=Category.UP,
    severity=Severity.MEDIUM,
    rationale="AKS ships node images weekly with OS and runtime fixes; old images keep known kernel, "
    "containerd and kubelet faults on every node the pool creates or reimages.",
    fix="az aks nodepool upgrade -g <rg> --cluster-name <cluster> -n <pool> --node-image-only\n"
    "az aks update -g <rg> -n <cluster> --node-os-upgrade-channel NodeImage   # keep it current",
    needs=(Input.NODEPOOLS,),
    references=(
        "Azure review checklist 07.02.06",
        "https://learn.microsoft.com/azure/aks/node-image-upgrade",
    ),
    params=("node_image_max_age_days",),
)
def node_image_fresh(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    limit = ctx.params.node_image_max_age_days
    today = ctx.now.date()
    violations: list[Violation] = []
    unknown: list[str] = []
    for pool in snap.pools:
        released = image_date(pool.node_image_version)
        if released is None:
            unknown.append(f"{pool.name} ({pool.node_image_version or 'no nodeImageVersion'})")
            continue
        age = (today - released).days
        if age > limit:
            violations.append(
                Violation(
                    pool_target(pool, snap.cluster),
                    f"pool {pool.name} runs node image {pool.node_image_version} from {released.isoformat()}, "
                    f"{age} days old; want at most {limit} days",
                )
            )
    yield from decide(violations, undecided=unknown, what="cannot read a release date from the node image of pools")


@rule(
    id="UP008",
    title="Node resource group is locked down",
    category=Category.UP,
    severity=Severity.MEDIUM,
    rationale="Manual edits to the AKS-managed scale sets, disks or NICs in the node resource group "
    "break AKS reconciliation, so later scale, upgrade and repair operations fail or undo them.",
    fix="az aks update -g <rg> -n <cluster> --nrg-lockdown-restriction-level ReadOnly",
    needs=(Input.CLUSTER,),
    references=(
        "Azure review checklist 07.02.10",
        "https://learn.microsoft.com/azure/aks/node-resource-group-lockdown",
    ),
)
def node_resource_group_locked(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    profile = cluster.node_resource_group_profile
    level = profile.restriction_level if profile else None
    if (level or "").lower() != "readonly":
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has node resource group restriction level {level or 'unset (Unrestricted)'}; "
            "want ReadOnly",
        )


RULES: tuple[Rule, ...] = (
    auto_upgrade_channel_set,
    node_os_channel_set,
    maintenance_windows,
    surge_configured,
    version_supported,
    pools_match_control_plane,
    node_image_fresh,
    node_resource_group_locked,
)

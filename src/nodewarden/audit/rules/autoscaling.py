"""AS rules: autoscaling and capacity (autoscaler, headroom, subnet IPs, pod density, quota, HPAs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import ip_network

from nodewarden.audit import relations, sizes
from nodewarden.audit.catalog import NotEvaluated, Rule, RuleContext, Violation, decide, rule
from nodewarden.audit.surge import surge_nodes
from nodewarden.model.azure import AgentPool, Cluster, Subnet, Usage
from nodewarden.model.findings import Category, Profile, Severity
from nodewarden.model.inputs import Input
from nodewarden.model.kube import Workload, target_of
from nodewarden.model.snapshot import Snapshot, azure_target, cluster_target, pool_target


def _nodes(count: int | None) -> str:
    return "an unknown number of nodes" if count is None else f"{count} node{'' if count == 1 else 's'}"


def _shown(value: int | None) -> str:
    return "unset" if value is None else str(value)


@rule(
    id="AS001",
    title="Cluster autoscaler runs on system and user pools",
    category=Category.AS,
    severity=Severity.MEDIUM,
    rationale="A pool without the cluster autoscaler cannot add nodes when instances fail or load rises, "
    "so pods stay pending until someone scales it by hand.",
    fix="az aks nodepool update -g <rg> --cluster-name <cluster> -n <pool> "
    "--enable-cluster-autoscaler --min-count 3 --max-count 10",
    needs=(Input.NODEPOOLS,),
    references=(
        "PSRule Azure.AKS.AutoScaling",
        "Azure Advisor 70829b1a",
        "APRL 902c82ff",
        "Azure review checklist 07.06.01",
        "https://learn.microsoft.com/azure/aks/cluster-autoscaler",
    ),
    params=("autoscaling_exempt_spot", "autoscaling_exempt_gpu", "autoscaling_exempt_pools"),
)
def autoscaler_enabled(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    params = ctx.params
    exempt = {name.lower() for name in params.autoscaling_exempt_pools}
    for pool in snap.pools:
        if pool.name.lower() in exempt or (params.autoscaling_exempt_spot and pool.is_spot):
            continue
        size = sizes.parse_vm_size(pool.vm_size)
        if params.autoscaling_exempt_gpu and size is not None and size.is_gpu:
            continue
        if not pool.enable_auto_scaling:
            yield Violation(
                pool_target(pool, snap.cluster),
                f"pool {pool.name} has the cluster autoscaler off (fixed at {_nodes(pool.count)}); "
                "want enableAutoScaling with minCount and maxCount",
            )
        elif pool.min_count is None or pool.max_count is None:
            yield Violation(
                pool_target(pool, snap.cluster),
                f"pool {pool.name} enables autoscaling with minCount {_shown(pool.min_count)} and "
                f"maxCount {_shown(pool.max_count)}; want both set",
            )


@rule(
    id="AS002",
    title="Autoscaled pools have headroom",
    category=Category.AS,
    severity=Severity.MEDIUM,
    rationale="A pool at its maxCount, or with maxCount equal to minCount, cannot add a node to replace a "
    "failed instance or absorb the pods of a drained one.",
    fix="az aks nodepool update -g <rg> --cluster-name <cluster> -n <pool> "
    "--update-cluster-autoscaler --min-count 3 --max-count 12",
    needs=(Input.NODEPOOLS,),
    references=("https://learn.microsoft.com/azure/aks/cluster-autoscaler",),
)
def autoscaler_headroom(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    for pool in snap.pools:
        low, high = pool.min_count, pool.max_count
        if not pool.enable_auto_scaling or low is None or high is None:
            continue  # AS001 reports pools without autoscaling bounds
        if high <= low:
            problem = (
                f"has maxCount {high}, not above minCount {low}, so it can never add a node; want maxCount > minCount"
            )
        elif pool.count is not None and pool.count >= high:
            problem = f"runs at its ceiling ({pool.count} of maxCount {high} nodes); want headroom below maxCount"
        elif pool.count is not None and pool.count < low:
            problem = f"runs {_nodes(pool.count)}, below minCount {low}; want count within minCount..maxCount"
        else:
            continue
        yield Violation(pool_target(pool, snap.cluster), f"pool {pool.name} {problem}")


# AKS default maxPods for Azure CNI with pods on the node subnet.
_DEFAULT_CNI_MAX_PODS = 30


@dataclass
class _Demand:
    """The IPs one subnet must hold at maximum scale plus surge, and which pools ask for them."""

    subnet_id: str
    ips: int = 0
    parts: list[str] = field(default_factory=list)

    def add(self, ips: int, part: str) -> None:
        self.ips += ips
        self.parts.append(part)


def _usable_ips(subnet: Subnet) -> int | None:
    """Usable IPv4 addresses: 2^(32-prefix) minus the 5 Azure reserves, summed over the subnet's prefixes."""
    prefixes = list(subnet.address_prefixes or ([subnet.address_prefix] if subnet.address_prefix else []))
    total, seen = 0, False
    for prefix in prefixes:
        try:
            network = ip_network(prefix, strict=False)
        except ValueError:
            continue
        if network.version != 4:
            continue
        seen = True
        total += max(network.num_addresses - 5, 0)
    return total if seen else None


def _find_subnet(subnet_id: str, subnets: tuple[Subnet, ...]) -> Subnet | None:
    wanted = subnet_id.lower()
    for subnet in subnets:
        if subnet.id and subnet.id.lower() == wanted:
            return subnet
    name = wanted.rstrip("/").rsplit("/", 1)[-1]
    return next((s for s in subnets if not s.id and s.name.lower() == name), None)


def _pods_on_node_subnet(cluster: Cluster) -> bool:
    """True for Azure CNI without overlay: each pod takes an IP from the subnet of its node."""
    network = cluster.network_profile
    plugin = ((network.network_plugin if network else None) or "").lower()
    if not plugin:
        raise NotEvaluated("networkProfile.networkPlugin is not in az aks show, so the IPs each node takes are unknown")
    mode = ((network.network_plugin_mode if network else None) or "").lower()
    return plugin == "azure" and mode != "overlay"


@rule(
    id="AS003",
    title="Subnets fit maximum scale plus upgrade surge",
    category=Category.AS,
    severity=Severity.HIGH,
    rationale="When a subnet runs out of IPs, scale-out and surge upgrades fail, so the cluster cannot "
    "replace failed nodes exactly when it needs to; Azure CNI without overlay takes an IP per pod.",
    fix="Move the pool to a larger subnet (az aks nodepool add ... --vnet-subnet-id <larger subnet id>, then "
    "move workloads), lower --max-count / --max-surge, or move to Azure CNI Overlay: "
    "az aks update -g <rg> -n <cluster> --network-plugin-mode overlay --pod-cidr 192.168.0.0/16",
    needs=(Input.CLUSTER, Input.NODEPOOLS, Input.SUBNETS),
    references=(
        "APRL e620fa98",
        "Azure Advisor 29a14bcd",
        "PSRule Azure.AKS.CNISubnetSize",
        "https://learn.microsoft.com/azure/aks/configure-azure-cni",
        "https://learn.microsoft.com/azure/aks/azure-cni-overlay",
    ),
)
def subnet_fits_scale(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    per_pod = _pods_on_node_subnet(cluster)
    demands: dict[str, _Demand] = {}
    managed: list[str] = []
    unknown: list[str] = []

    def demand(subnet_id: str) -> _Demand:
        return demands.setdefault(subnet_id.lower(), _Demand(subnet_id))

    for pool in snap.pools:
        if not pool.vnet_subnet_id:
            managed.append(pool.name)
            continue
        ceiling = pool.ceiling
        if ceiling is None:
            unknown.append(f"pool {pool.name} has no count/maxCount")
            continue
        nodes = ceiling + surge_nodes(pool, ceiling)
        if not per_pod:
            demand(pool.vnet_subnet_id).add(nodes, f"{pool.name} {nodes} nodes")
            continue
        max_pods = pool.max_pods or _DEFAULT_CNI_MAX_PODS
        if pool.pod_subnet_id:  # dynamic pod IP allocation: pods draw from their own subnet
            demand(pool.vnet_subnet_id).add(nodes, f"{pool.name} {nodes} nodes")
            demand(pool.pod_subnet_id).add(nodes * max_pods, f"{pool.name} pods {nodes}×{max_pods}")
        else:
            demand(pool.vnet_subnet_id).add(nodes * (max_pods + 1), f"{pool.name} {nodes}×({max_pods}+1)")
    if not demands and not unknown:
        raise NotEvaluated(
            f"pools {', '.join(managed)} have no vnetSubnetId: they use the AKS-managed VNet, "
            "whose subnet AKS sizes itself; not evaluated"
        )
    note = f"; pools {', '.join(managed)} use the AKS-managed VNet and were not checked" if managed else ""
    violations: list[Violation] = []
    for entry in demands.values():
        subnet = _find_subnet(entry.subnet_id, snap.subnets)
        usable = _usable_ips(subnet) if subnet is not None else None
        if subnet is None or usable is None:
            unknown.append(f"no IPv4 prefix for subnet {entry.subnet_id} (az network vnet subnet show --ids <id>)")
            continue
        if entry.ips > usable:
            prefixes = ", ".join(subnet.address_prefixes or [subnet.address_prefix or "?"])
            violations.append(
                Violation(
                    azure_target("subnet", subnet.name, subnet.id),
                    f"subnet {subnet.name} ({prefixes}) has {usable} usable IPs; at maxCount plus upgrade surge "
                    f"its pools need {entry.ips} ({', '.join(entry.parts)}){note}",
                )
            )
    if not violations and unknown:
        raise NotEvaluated("; ".join(unknown))
    yield from violations


@rule(
    id="AS004",
    title="Node pools allow at least 50 pods per node",
    category=Category.AS,
    severity=Severity.LOW,
    rationale="A low maxPods leaves node CPU and memory idle, so the pool needs more VMSS instances, "
    "more IPs and more surge capacity for the same workloads.",
    fix="maxPods is fixed at pool creation: az aks nodepool add -g <rg> --cluster-name <cluster> -n <newpool> "
    "--max-pods 110, move workloads, then az aks nodepool delete the old pool",
    needs=(Input.NODEPOOLS,),
    references=(
        "PSRule Azure.AKS.NodeMinPods",
        "CKV_AZURE_168",
        "https://learn.microsoft.com/azure/aks/configure-azure-cni",
    ),
    params=("min_max_pods",),
)
def max_pods_sufficient(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    minimum = ctx.params.min_max_pods
    violations: list[Violation] = []
    unknown: list[str] = []
    for pool in snap.pools:
        if pool.max_pods is None:
            unknown.append(pool.name)
        elif pool.max_pods < minimum:
            violations.append(
                Violation(
                    pool_target(pool, snap.cluster),
                    f"pool {pool.name} has maxPods {pool.max_pods}; want at least {minimum}",
                )
            )
    yield from decide(violations, undecided=unknown, what="no maxPods for pools")


def _similar_zonal_groups(pools: tuple[AgentPool, ...]) -> list[list[AgentPool]]:
    """Autoscaled pools of the same size, mode and OS that sit in different zones (one pool per zone)."""
    groups: dict[tuple[str, str, str, str, bool], list[AgentPool]] = {}
    for pool in pools:
        if not pool.enable_auto_scaling or not pool.zones:
            continue
        key = (
            (pool.vm_size or "").lower(),
            (pool.mode or "").lower(),
            (pool.os_type or "").lower(),
            (pool.os_sku or "").lower(),
            pool.is_spot,
        )
        groups.setdefault(key, []).append(pool)
    return [g for g in groups.values() if len(g) >= 2 and len({frozenset(p.zones) for p in g}) > 1]


def _setting(cluster: Cluster, key: str) -> str:
    value = cluster.autoscaler_setting(key)
    if value is None:
        return "unset"
    return str(value).lower() if isinstance(value, bool) else str(value)


@rule(
    id="AS005",
    title="Autoscaler profile balances similar zonal pools",
    category=Category.AS,
    severity=Severity.LOW,
    rationale="With one pool per zone, the autoscaler grows whichever pool it picks first unless "
    "balance-similar-node-groups is on, so a zone outage takes a larger share of the nodes.",
    fix="az aks update -g <rg> -n <cluster> --cluster-autoscaler-profile balance-similar-node-groups=true",
    needs=(Input.CLUSTER, Input.NODEPOOLS),
    references=(
        "Azure review checklist 07.06.01",
        "https://learn.microsoft.com/azure/aks/cluster-autoscaler",
    ),
    profile=Profile.EXTENDED,
)
def autoscaler_profile_balanced(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    groups = _similar_zonal_groups(snap.pools)
    if not groups or _setting(cluster, "balance-similar-node-groups").lower() == "true":
        return
    described = "; ".join(
        ", ".join(f"{p.name} (zones {','.join(p.zones)})" for p in group) + f" on {group[0].vm_size}"
        for group in groups
    )
    report = ", ".join(
        f"{key} {_setting(cluster, key)}"
        for key in ("expander", "skipNodesWithLocalStorage", "maxGracefulTerminationSec")
    )
    yield Violation(
        cluster_target(cluster),
        f"cluster {cluster.name} has similar zonal pools [{described}] but balanceSimilarNodeGroups is "
        f"{_setting(cluster, 'balance-similar-node-groups')}; want true (also: {report})",
    )


# Spot VMs count against this regional quota, not their family's; every other VM also against `cores`.
_SPOT_QUOTA = "lowPriorityCores"
_REGIONAL_QUOTA = "cores"
_REGIONAL_QUOTA_LABEL = "total regional vcpus"


@dataclass
class _QuotaDemand:
    usage: Usage
    vcpus: int = 0
    parts: list[str] = field(default_factory=list)


@rule(
    id="AS006",
    title="vCPU quota covers maximum scale plus upgrade surge",
    category=Category.AS,
    severity=Severity.MEDIUM,
    rationale="When the regional or VM-family vCPU quota runs out, AKS cannot add nodes or surge nodes, "
    "so scale-out, upgrades and node replacement fail.",
    fix="az vm list-usage -l <region> -o table; request more vCPUs for the family "
    "(https://learn.microsoft.com/azure/quotas/per-vm-quota-requests) or lower --max-count / --max-surge",
    needs=(Input.NODEPOOLS, Input.USAGE),
    references=(
        "APRL a01afc4c",
        "Azure review checklist 07.05.03",
        "https://learn.microsoft.com/azure/quotas/per-vm-quota-requests",
    ),
)
def quota_covers_scale(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    usages: dict[str, Usage] = {}
    for usage in snap.usages:
        for key in (usage.name.value, usage.name.localized_value):
            if key:
                usages.setdefault(key.lower(), usage)
    regional = usages.get(_REGIONAL_QUOTA.lower()) or usages.get(_REGIONAL_QUOTA_LABEL)
    demands: dict[str, _QuotaDemand] = {}
    regional_demand = _QuotaDemand(regional) if regional is not None else None
    unknown: list[str] = []
    for pool in snap.pools:
        size = sizes.parse_vm_size(pool.vm_size)
        ceiling = pool.ceiling
        if size is None or ceiling is None:
            unknown.append(f"{pool.name} (size {pool.vm_size}, {ceiling} nodes at most)")
            continue
        family = _SPOT_QUOTA if pool.is_spot else size.quota_family
        family_usage = usages.get(family.lower())
        if family_usage is None:
            unknown.append(f"{pool.name} (quota {family} is not in az vm list-usage)")
            continue
        extra = max(ceiling - (pool.count or 0), 0) + surge_nodes(pool, ceiling)
        part = f"{pool.name} +{extra}×{size.vcpus}"
        entry = demands.setdefault(family.lower(), _QuotaDemand(family_usage))
        entry.vcpus += extra * size.vcpus
        entry.parts.append(part)
        if regional_demand is not None and not pool.is_spot:
            regional_demand.vcpus += extra * size.vcpus
            regional_demand.parts.append(part)
    checked = [*demands.values(), *([regional_demand] if regional_demand is not None else [])]
    violations: list[Violation] = []
    for entry in checked:
        usage = entry.usage
        free = usage.limit - usage.current_value
        if entry.vcpus > free:
            name = usage.name.value or usage.name.localized_value or "quota"
            label = usage.name.localized_value or usage.local_name or name
            violations.append(
                Violation(
                    azure_target("vcpuQuota", name, None),
                    f"quota {label} has {free} vCPUs free ({usage.current_value} of {usage.limit} used); "
                    f"scaling to maxCount plus upgrade surge needs {entry.vcpus} more "
                    f"(nodes×vCPUs: {', '.join(entry.parts)})",
                )
            )
    if unknown:
        note = f"quota not checked for pools {', '.join(unknown)}"
        if not violations:
            raise NotEvaluated(note)
        violations = [Violation(v.target, f"{v.message}; {note}", v.severity) for v in violations]
    yield from violations


_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _declares_replicas(workload: Workload) -> bool:
    """Whether the workload's own manifest sets spec.replicas.

    A manifest file says so directly. An object exported from a live cluster always has spec.replicas (the
    API server fills it in), so only its last-applied configuration, when kubectl apply left one, tells.
    """
    applied = workload.metadata.annotation_map.get(_LAST_APPLIED)
    if applied:
        try:
            manifest = json.loads(applied)
        except (ValueError, RecursionError):  # an annotation is anyone's text, nested deep too
            return False
        spec = manifest.get("spec") if isinstance(manifest, dict) else None
        return isinstance(spec, dict) and spec.get("replicas") is not None
    if workload.metadata.creation_timestamp:
        return False
    return workload.spec.replicas is not None


@rule(
    id="AS007",
    title="HorizontalPodAutoscalers keep two replicas and room to scale",
    category=Category.AS,
    severity=Severity.MEDIUM,
    rationale="An HPA with minReplicas 1 scales a workload down to one pod at low load, so one node drain "
    "or failure is an outage; a workload that also sets spec.replicas is reset on every apply.",
    fix="spec:\n  minReplicas: 2\n  maxReplicas: 10   # greater than minReplicas\n"
    "# and remove spec.replicas from the Deployment the HPA scales",
    needs=(Input.HPAS,),
    references=(
        "Polaris hpaMinAvailability",
        "Polaris hpaMaxAvailability",
        "kube-score horizontalpodautoscaler-replicas",
        "kube-score deployment-targeted-by-hpa-does-not-have-replicas-configured",
        "https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/",
    ),
    params=("min_hpa_replicas", "system_namespaces"),
)
def hpa_sane(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    minimum = ctx.params.min_hpa_replicas
    for hpa in snap.hpas:
        if relations.is_system_namespace(hpa.namespace, ctx.params):
            continue
        problems: list[str] = []
        floor = hpa.floor
        if floor < minimum:
            shown = f"{floor} (unset)" if hpa.spec.min_replicas is None else str(floor)
            problems.append(f"minReplicas {shown}, want at least {minimum}")
        ceiling = hpa.spec.max_replicas
        if ceiling is not None and ceiling <= floor:
            problems.append(f"maxReplicas {ceiling} does not exceed minReplicas {floor}, so it cannot scale")
        if problems:
            yield Violation(
                target_of("HorizontalPodAutoscaler", hpa.metadata),
                f"HPA {hpa.namespace}/{hpa.metadata.name}: " + "; ".join(problems),
            )
    for workload in relations.app_workloads(snap, ctx.params):
        scaler = relations.hpa_for(workload, snap)
        if scaler is not None and _declares_replicas(workload):
            yield Violation(
                target_of(workload.kind, workload.metadata),
                f"{workload.kind} {workload.namespace}/{workload.metadata.name} sets spec.replicas but HPA "
                f"{scaler.metadata.name} scales it; remove spec.replicas so each apply does not reset the HPA's count",
            )


RULES: tuple[Rule, ...] = (
    autoscaler_enabled,
    autoscaler_headroom,
    subnet_fits_scale,
    max_pods_sufficient,
    autoscaler_profile_balanced,
    quota_covers_scale,
    hpa_sane,
)

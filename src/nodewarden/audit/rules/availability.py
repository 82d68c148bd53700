"""HA rules: cluster and node-pool availability (zones, pool sizes, SKUs, tier, provisioning)."""

from __future__ import annotations

from collections.abc import Iterator

from nodewarden.audit import sizes, surge
from nodewarden.audit.catalog import NotEvaluated, Rule, RuleContext, Violation, decide, rule
from nodewarden.model.azure import AgentPool, PowerState
from nodewarden.model.findings import Category, Profile, Severity, Target
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot, cluster_level_target, cluster_target, pool_target


@rule(
    id="HA001",
    title="Node pools span at least two availability zones",
    category=Category.HA,
    severity=Severity.HIGH,
    rationale="A pool in one zone (or none) loses every node when that zone fails; three zones is preferred.",
    fix="Create a zonal pool and move workloads to it (zones cannot be added to an existing pool): "
    "az aks nodepool add -g <rg> --cluster-name <cluster> -n <pool> --zones 1 2 3",
    needs=(Input.CLUSTER, Input.NODEPOOLS),
    references=(
        "PSRule Azure.AKS.AvailabilityZone",
        "APRL 4f63619f",
        "https://learn.microsoft.com/azure/aks/availability-zones",
    ),
    params=("zone_regions", "min_zones"),
)
def pools_span_zones(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    if not cluster.location:
        raise NotEvaluated("the cluster's location is not in the input, so zone support is unknown")
    region = cluster.location.replace(" ", "").lower()
    if region not in {r.lower() for r in ctx.params.zone_regions}:
        return
    for pool in snap.pools:
        if len(pool.zones) < ctx.params.min_zones:
            zones = ", ".join(pool.zones) or "none"
            yield Violation(
                pool_target(pool, cluster),
                f"pool {pool.name} spans zones [{zones}]; {region} has zones, use at least {ctx.params.min_zones}",
            )


# Provisioning states that mean an operation is under way, not that something broke. The VM rules do not
# count scale-set drift on pools in these states (AKS is changing the scale set right now); HA013 still
# reports them but says the snapshot may have caught an operation in flight. Values from the AKS API.
IN_PROGRESS_STATES = frozenset({"creating", "scaling", "upgrading", "updating", "deleting", "starting", "stopping"})

# The spot taint AKS puts on every spot pool (learn.microsoft.com/azure/aks/spot-node-pool, "Limitations");
# the pool's nodeTaints carries it, which is why Terraform users must repeat it (azurerm node pool docs).
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"

# Taint effects that keep ordinary pods off a node; CriticalAddonsOnly with either does the job.
_REPELLING_EFFECTS = frozenset({"noschedule", "noexecute"})


def _floor_text(pool: AgentPool) -> str:
    if pool.enable_auto_scaling:
        return f"minCount {pool.min_count}"
    return f"count {pool.count}"


def _taint_parts(taint: str) -> tuple[str, str]:
    """`key[=value]:Effect` → (key, effect), both as written."""
    body, _, effect = taint.rpartition(":")
    if not body:
        return taint, ""
    return body.split("=", 1)[0], effect


@rule(
    id="HA002",
    title="Zonal pool sizes are zone-balanced",
    category=Category.HA,
    severity=Severity.LOW,
    rationale="AKS spreads a zonal pool's nodes across its zones only on a best-effort basis: a node floor or a "
    "surge that is not a multiple of the zone count leaves one zone short when another fails or during upgrades.",
    fix="Make the pool's floor and its surge multiples of its zone count, e.g. for three zones: "
    "az aks nodepool update -g <rg> --cluster-name <cluster> -n <pool> --update-cluster-autoscaler "
    "--min-count 3 --max-count 9 --max-surge 3",
    needs=(Input.NODEPOOLS,),
    references=(
        "https://learn.microsoft.com/azure/aks/upgrade-cluster",
        "https://learn.microsoft.com/azure/aks/availability-zones",
    ),
)
def zonal_pools_balanced(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    violations: list[Violation] = []
    unknown: list[str] = []
    for pool in snap.pools:
        zones = pool.zones
        if len(zones) < 2 or any(zone.lower() == "auto" for zone in zones):
            continue  # not zonal, or AKS picks the zones itself (`--zones auto`): nothing to divide by
        floor, count = pool.floor, pool.count if pool.count is not None else pool.floor
        if floor is None or count is None:
            unknown.append(pool.name)
            continue
        problems = []
        if floor % len(zones):
            problems.append(f"its floor ({_floor_text(pool)}) is not a multiple of its {len(zones)} zones")
        setting = surge.parse_amount(pool.upgrade_settings.max_surge if pool.upgrade_settings else None)
        nodes = surge.surge_nodes(pool, count)
        if nodes % len(zones):
            shown = f"maxSurge {setting}" if setting else f"maxSurge unset (AKS default {surge.DEFAULT_SURGE_PERCENT}%)"
            problems.append(f"{shown} adds {nodes} node(s) at {count} nodes, not a multiple of {len(zones)}")
        if problems:
            violations.append(
                Violation(
                    pool_target(pool, snap.cluster),
                    f"pool {pool.name} spans zones [{', '.join(zones)}] but " + " and ".join(problems),
                )
            )
    yield from decide(violations, undecided=unknown, what="count/minCount missing for")


@rule(
    id="HA003",
    title="At least one dedicated user pool",
    category=Category.HA,
    severity=Severity.MEDIUM,
    rationale="When applications share the system pool, a noisy workload can starve CoreDNS, konnectivity and "
    "metrics-server, and every node repair or upgrade of that pool disrupts both at once.",
    fix="az aks nodepool add -g <rg> --cluster-name <cluster> -n <pool> --mode User --zones 1 2 3 "
    "--enable-cluster-autoscaler --min-count 3 --max-count 9",
    needs=(Input.NODEPOOLS,),
    references=(
        "Azure review checklist 04.01.02",
        "Advisor f31832f1",
        "APRL 5ee083cd",
        "https://learn.microsoft.com/azure/aks/use-system-pools",
    ),
)
def has_user_pool(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    if any(pool.is_user for pool in snap.pools):
        return
    without_mode = [pool.name for pool in snap.pools if pool.mode is None]
    if without_mode:
        raise NotEvaluated(f"mode missing for {', '.join(without_mode)}")
    names = ", ".join(pool.name for pool in snap.pools) or "none"
    yield Violation(
        cluster_level_target(snap),
        f"the cluster has no user pool (pools: {names}); want at least one pool with mode User for applications",
    )


@rule(
    id="HA004",
    title="System pools are tainted CriticalAddonsOnly",
    category=Category.HA,
    severity=Severity.MEDIUM,
    rationale="Without the CriticalAddonsOnly taint application pods land on system nodes and can starve "
    "CoreDNS and konnectivity, which every other pool depends on.",
    fix="az aks nodepool update -g <rg> --cluster-name <cluster> -n <system-pool> "
    "--node-taints CriticalAddonsOnly=true:NoSchedule (or add a new system pool with that taint)",
    needs=(Input.NODEPOOLS,),
    references=(
        "Advisor f31832f1",
        "CKV_AZURE_232",
        "APRL 5ee083cd",
        "AKS Deployment Safeguards: reserved system pool taints",
        "https://learn.microsoft.com/azure/aks/use-system-pools",
    ),
)
def system_pools_tainted(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    for pool in snap.pools:
        if not pool.is_system:
            continue
        tainted = any(
            key == "CriticalAddonsOnly" and effect.lower() in _REPELLING_EFFECTS
            for key, effect in map(_taint_parts, pool.taints)
        )
        if not tainted:
            taints = ", ".join(pool.taints) or "none"
            yield Violation(
                pool_target(pool, snap.cluster),
                f"system pool {pool.name} has taints [{taints}]; want CriticalAddonsOnly=true:NoSchedule",
            )


@rule(
    id="HA005",
    title="System pools hold at least three nodes",
    category=Category.HA,
    severity=Severity.HIGH,
    rationale="System pods need somewhere to go while a system node is drained, repaired or upgraded; with one "
    "node that is nowhere, with two a single failure leaves no headroom.",
    fix="az aks nodepool update -g <rg> --cluster-name <cluster> -n <system-pool> --update-cluster-autoscaler "
    "--min-count 3 --max-count 5 (or az aks nodepool scale ... --node-count 3)",
    needs=(Input.NODEPOOLS,),
    references=(
        "PSRule Azure.AKS.MinNodeCount",
        "APRL 7f7ae535",
        "Advisor a9228ae7",
        "https://learn.microsoft.com/azure/aks/use-system-pools",
        "https://learn.microsoft.com/azure/well-architected/service-guides/azure-kubernetes-service",
    ),
    params=("min_system_nodes", "min_system_nodes_hard"),
)
def system_capacity(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    system = [pool for pool in snap.pools if pool.is_system]
    floors = [pool.floor for pool in system]
    total = sum(floor for floor in floors if floor is not None)
    if total >= ctx.params.min_system_nodes:
        return
    unknown = [pool.name for pool in system if pool.floor is None]
    if unknown:
        raise NotEvaluated(f"count/minCount missing for system pool(s) {', '.join(unknown)}")
    described = ", ".join(f"{pool.name} ({_floor_text(pool)})" for pool in system) or "no system pool"
    severity = Severity.HIGH if total < ctx.params.min_system_nodes_hard else Severity.MEDIUM
    yield Violation(
        cluster_level_target(snap),
        f"system pools can shrink to {total} node(s) [{described}]; want at least {ctx.params.min_system_nodes}",
        severity=severity,
    )


@rule(
    id="HA006",
    title="User pools hold at least two nodes",
    category=Category.HA,
    severity=Severity.HIGH,
    rationale="A one-node user pool is an outage each time that node is drained, reimaged or repaired; three "
    "nodes keep capacity while one is away.",
    fix="az aks nodepool update -g <rg> --cluster-name <cluster> -n <pool> --update-cluster-autoscaler "
    "--min-count 3 --max-count <n> (or az aks nodepool scale ... --node-count 3); list pools that may "
    "scale to zero on purpose under audit.params.excluded_user_pools",
    needs=(Input.NODEPOOLS,),
    references=(
        "PSRule Azure.AKS.MinUserPoolNodes",
        "APRL 005ccbbd",
        "https://learn.microsoft.com/azure/well-architected/service-guides/azure-kubernetes-service",
    ),
    params=("min_user_pool_nodes", "recommended_user_pool_nodes", "excluded_user_pools"),
)
def user_pool_size(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    excluded = {name.lower() for name in ctx.params.excluded_user_pools}
    violations: list[Violation] = []
    unknown: list[str] = []
    for pool in snap.pools:
        if not pool.is_user or pool.is_spot or pool.name.lower() in excluded:
            continue  # spot pools can lose every node at once whatever their size (PSRule excludes them too)
        floor = pool.floor
        if floor is None:
            unknown.append(pool.name)
            continue
        if floor >= ctx.params.recommended_user_pool_nodes:
            continue
        severity = Severity.HIGH if floor < ctx.params.min_user_pool_nodes else Severity.LOW
        violations.append(
            Violation(
                pool_target(pool, snap.cluster),
                f"user pool {pool.name} can shrink to {floor} node(s) ({_floor_text(pool)}); want at least "
                f"{ctx.params.min_user_pool_nodes}, {ctx.params.recommended_user_pool_nodes} recommended",
                severity=severity,
            )
        )
    yield from decide(violations, undecided=unknown, what="count/minCount missing for")


@rule(
    id="HA007",
    title="Node pools are backed by virtual machine scale sets",
    category=Category.HA,
    severity=Severity.MEDIUM,
    rationale="Availability zones, the cluster autoscaler, spot capacity and multiple pools all need VMSS-backed "
    "pools; availability-set pools get none of them.",
    fix="Create a VMSS-backed pool and move workloads to it (the type cannot be changed): "
    "az aks nodepool add -g <rg> --cluster-name <cluster> -n <pool> --vm-set-type VirtualMachineScaleSets; "
    "availability-set clusters must be rebuilt",
    needs=(Input.NODEPOOLS,),
    references=(
        "PSRule Azure.AKS.PoolScaleSet",
        "CKV_AZURE_169",
        "https://learn.microsoft.com/azure/aks/create-node-pools",
    ),
)
def pools_use_scale_sets(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    violations: list[Violation] = []
    unknown: list[str] = []
    for pool in snap.pools:
        kind = pool.type_properties_type
        if kind is None:
            unknown.append(pool.name)
        elif kind.lower() != "virtualmachinescalesets":
            violations.append(
                Violation(
                    pool_target(pool, snap.cluster),
                    f"pool {pool.name} is of type {kind}; want VirtualMachineScaleSets",
                )
            )
    yield from decide(
        violations,
        undecided=unknown,
        what="pool type (`type` in az aks show, `typePropertiesType` in az aks nodepool list) missing for",
    )


@rule(
    id="HA008",
    title="Cluster has the Standard or Premium tier (uptime SLA)",
    category=Category.HA,
    severity=Severity.HIGH,
    rationale="The Free tier has no financially backed API server SLA and fewer control-plane resources; "
    "Standard gives 99.95% with availability zones.",
    fix="az aks update -g <rg> -n <cluster> --tier standard",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.UptimeSLA",
        "APRL 0611251f",
        "CKV_AZURE_170",
        "https://learn.microsoft.com/azure/aks/free-standard-pricing-tiers",
    ),
)
def paid_tier(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    tier = cluster.tier
    if tier is None:
        raise NotEvaluated("sku.tier is not in the az aks show output missing")
    # `Paid` is what API versions before 2023-02-01 called Standard (PSRule UptimeSLA, checkov#4869).
    if tier.lower() not in {"standard", "premium", "paid"}:
        yield Violation(
            cluster_target(cluster), f"cluster {cluster.name} is on the {tier} tier; want Standard or Premium"
        )


@rule(
    id="HA009",
    title="Cluster uses the Standard load balancer",
    category=Category.HA,
    severity=Severity.HIGH,
    rationale="The Basic load balancer has no availability zones, no SLA and supports a single pool; it is retired.",
    fix="Migrate to the Standard SKU (the SKU cannot be changed in place): see "
    "https://learn.microsoft.com/azure/aks/load-balancer-standard",
    needs=(Input.CLUSTER,),
    references=("PSRule Azure.AKS.StandardLB", "https://learn.microsoft.com/azure/aks/load-balancer-standard"),
)
def standard_load_balancer(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    sku = cluster.network_profile.load_balancer_sku if cluster.network_profile else None
    if sku is None:
        raise NotEvaluated("networkProfile.loadBalancerSku is not in the az aks show output")
    if sku.lower() != "standard":
        yield Violation(cluster_target(cluster), f"cluster {cluster.name} uses the {sku} load balancer; want Standard")


@rule(
    id="HA010",
    title="Node pools avoid burstable and undersized VM sizes",
    category=Category.HA,
    severity=Severity.MEDIUM,
    rationale="B-series nodes run on CPU credits and are throttled once those run out, just when load peaks; "
    "system pools need enough vCPUs for CoreDNS, konnectivity and the add-ons.",
    fix="Add a pool with a general-purpose size and move workloads to it (a pool's size cannot change): "
    "az aks nodepool add -g <rg> --cluster-name <cluster> -n <pool> --node-vm-size Standard_D4ds_v5",
    needs=(Input.NODEPOOLS,),
    references=(
        "Advisor fac2ad84",
        "https://learn.microsoft.com/azure/aks/best-practices-app-cluster-reliability",
        "https://learn.microsoft.com/azure/well-architected/service-guides/azure-kubernetes-service",
    ),
    params=("system_pool_min_vcpus",),
)
def pool_vm_sizes(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    violations: list[Violation] = []
    unknown: list[str] = []
    for pool in snap.pools:
        if pool.vm_size is None:
            unknown.append(f"{pool.name} (no vmSize)")
            continue
        size = sizes.parse_vm_size(pool.vm_size)
        problems = []
        # A name the parser does not know can still say B series by its prefix.
        if size.is_burstable if size else pool.vm_size.lower().startswith("standard_b"):
            problems.append("is burstable (B series)")
        if pool.is_system:
            if size is None:
                unknown.append(f"{pool.name} (vCPUs of {pool.vm_size} unknown)")
            elif size.vcpus < ctx.params.system_pool_min_vcpus:
                problems.append(
                    f"has {size.vcpus} vCPUs; want at least {ctx.params.system_pool_min_vcpus} for a system pool"
                )
        if problems:
            violations.append(
                Violation(
                    pool_target(pool, snap.cluster), f"pool {pool.name} size {pool.vm_size} " + " and ".join(problems)
                )
            )
    yield from decide(violations, undecided=unknown, what="vmSize or its vCPU count missing for")


@rule(
    id="HA011",
    title="Spot pools are tainted user pools beside regular capacity",
    category=Category.HA,
    severity=Severity.MEDIUM,
    rationale="Azure can evict every spot node at once; only tolerant workloads should land there, and they "
    "need a regular user pool to fall back to.",
    fix="Keep spot pools in User mode with the kubernetes.azure.com/scalesetpriority=spot:NoSchedule taint, and "
    "add a regular pool: az aks nodepool add -g <rg> --cluster-name <cluster> -n <pool> --mode User "
    "--priority Regular",
    needs=(Input.NODEPOOLS,),
    references=("PSRule Azure.AKS.MinUserPoolNodes", "https://learn.microsoft.com/azure/aks/spot-node-pool"),
)
def spot_pools_safe(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    spot = [pool for pool in snap.pools if pool.is_spot]
    has_regular_user_pool = any(pool.is_user and not pool.is_spot for pool in snap.pools)
    for pool in spot:
        problems = []
        if not pool.is_user:
            problems.append(f"has mode {pool.mode}; want User")
        if not any(taint.replace(" ", "").lower() == SPOT_TAINT.lower() for taint in pool.taints):
            problems.append(f"lacks the taint {SPOT_TAINT}")
        if not has_regular_user_pool:
            problems.append("has no regular (non-spot) user pool to fall back to")
        if problems:
            yield Violation(pool_target(pool, snap.cluster), f"spot pool {pool.name} " + "; ".join(problems))


@rule(
    id="HA012",
    title="Node pools use ephemeral OS disks",
    category=Category.HA,
    severity=Severity.LOW,
    rationale="Ephemeral OS disks live on the host, so nodes reimage, scale and upgrade faster and the OS disk "
    "adds no remote-storage latency or failure mode.",
    fix="Add a pool with an ephemeral OS disk and move workloads to it: az aks nodepool add -g <rg> "
    "--cluster-name <cluster> -n <pool> --node-osdisk-type Ephemeral (the size's cache or temp disk must hold it)",
    needs=(Input.NODEPOOLS,),
    references=(
        "PSRule Azure.AKS.EphemeralOSDisk",
        "CKV_AZURE_226",
        "APRL a7bfcc18",
        "https://learn.microsoft.com/azure/aks/concepts-storage#ephemeral-os-disk",
    ),
)
def ephemeral_os_disks(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    violations: list[Violation] = []
    unknown: list[str] = []
    for pool in snap.pools:
        if pool.os_disk_type is None:
            unknown.append(pool.name)
        elif pool.os_disk_type.lower() != "ephemeral":
            violations.append(
                Violation(
                    pool_target(pool, snap.cluster),
                    f"pool {pool.name} has a {pool.os_disk_type} OS disk; want Ephemeral",
                )
            )
    yield from decide(violations, undecided=unknown, what="osDiskType missing for")


@rule(
    id="HA013",
    title="Cluster and node pools are provisioned and running",
    category=Category.HA,
    severity=Severity.HIGH,
    rationale="A Failed cluster or pool blocks scaling, upgrades and node repair until it is reconciled; a "
    "stopped one runs nothing.",
    fix="Reconcile a failed resource: az aks update -g <rg> -n <cluster> (cluster) or az aks nodepool update "
    "-g <rg> --cluster-name <cluster> -n <pool> (pool); start a stopped one: az aks start / az aks nodepool start",
    needs=(Input.CLUSTER, Input.NODEPOOLS),
    references=("AKS provisioningState / powerState fields (az aks show, az aks nodepool list)",),
)
def provisioning_healthy(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    violations: list[Violation] = []
    unknown: list[str] = []
    subjects: list[tuple[Target, str, str | None, PowerState | None]] = [
        (cluster_target(cluster), f"cluster {cluster.name}", cluster.provisioning_state, cluster.power_state)
    ]
    subjects += [
        (pool_target(pool, cluster), f"pool {pool.name}", pool.provisioning_state, pool.power_state)
        for pool in snap.pools
    ]
    for target, label, state, power in subjects:
        power_code = power.code if power else None
        if state is None or power_code is None:
            unknown.append(label)
        problems = []
        if state is not None and state.lower() != "succeeded":
            note = (
                " (an operation is in progress; audit again when it ends)"
                if state.lower() in IN_PROGRESS_STATES
                else ""
            )
            problems.append(f"provisioningState is {state}{note}")
        if power_code is not None and power_code.lower() != "running":
            problems.append(f"is {power_code.lower()} (powerState {power_code})")
        if problems:
            violations.append(Violation(target, f"{label} " + " and ".join(problems) + "; want Succeeded and Running"))
    yield from decide(violations, undecided=unknown, what="provisioningState or powerState missing for")


@rule(
    id="HA014",
    title="Linux node pools run Azure Linux",
    category=Category.HA,
    severity=Severity.INFO,
    rationale="Azure Linux is a minimal, AKS-validated node OS: a smaller attack surface and fewer packages to "
    "patch than a general-purpose distribution.",
    fix="az aks nodepool update -g <rg> --cluster-name <cluster> -n <pool> --os-sku AzureLinux "
    "(in-place OS SKU migration), or add an Azure Linux pool and move workloads",
    needs=(Input.NODEPOOLS,),
    references=("APRL f46b0d1d", "https://learn.microsoft.com/azure/azure-linux/intro-azure-linux"),
    profile=Profile.EXTENDED,
)
def azure_linux_nodes(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    for pool in snap.pools:
        sku = (pool.os_sku or "").lower()
        if (pool.os_type or "linux").lower() != "linux" or sku.startswith("windows"):
            continue  # AKS's default osType is Linux; Windows pools have no Azure Linux option
        # CBLMariner (and Mariner) are Azure Linux's earlier names; AzureLinux3 pins the major version.
        if sku.startswith(("azurelinux", "cblmariner", "mariner")):
            continue
        shown = pool.os_sku or "unset (AKS default Ubuntu)"
        yield Violation(pool_target(pool, snap.cluster), f"Linux pool {pool.name} has osSku {shown}; want AzureLinux")


RULES: tuple[Rule, ...] = (
    pools_span_zones,
    zonal_pools_balanced,
    has_user_pool,
    system_pools_tainted,
    system_capacity,
    user_pool_size,
    pools_use_scale_sets,
    paid_tier,
    standard_load_balancer,
    pool_vm_sizes,
    spot_pools_safe,
    ephemeral_os_disks,
    provisioning_healthy,
    azure_linux_nodes,
)

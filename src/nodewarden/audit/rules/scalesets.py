"""VM rules: AKS-managed scale sets, checked for drift from their pools, not against generic VMSS advice.

AKS owns the scale sets in the node resource group and reconciles them from the pool's settings, so the
generic VMSS recommendations (automatic repairs, rolling upgrades, zone balance, health extensions) do
not apply to them; a scale set that has such settings was changed behind AKS's back. A scale set belongs
to the pool named by its `aks-managed-poolName` tag.
"""

from __future__ import annotations

from collections.abc import Iterator

from nodewarden.audit.catalog import Rule, RuleContext, Violation, decide, rule
from nodewarden.audit.rules import availability
from nodewarden.model.azure import AgentPool, ScaleSet, VmssExtension
from nodewarden.model.findings import Category, Profile, Severity
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot, scale_set_target

# VM extensions AKS itself puts on node scale sets, as (publisher, handler type), compared case-insensitively.
# Source: the VMSS template AKS used and published in aks-engine (Azure/aks-engine
# pkg/engine/virtualmachinescalesets.go: `vmssCSE` is Microsoft.Azure.Extensions/CustomScript on Linux and
# Microsoft.Compute/CustomScriptExtension on Windows; `<vmss>-AKSLinuxBilling` / `-AKSWindowsBilling` are
# Microsoft.AKS/Compute.AKS.{Linux,Windows}.Billing), plus the AKS node extension `AKSLinuxExtension`,
# Microsoft.AKS/Compute.AKS.Linux.AKSNode (its log directory Microsoft.AKS.Compute.AKS.Linux.AKSNode exists on
# every current Linux node; Azure Linux FIPS 140-3 docs list it among supported extensions). Matched by
# publisher and type, not name: AKS names the billing extension after the scale set.
AKS_EXTENSIONS = frozenset(
    {
        ("microsoft.azure.extensions", "customscript"),
        ("microsoft.compute", "customscriptextension"),
        ("microsoft.aks", "compute.aks.linux.billing"),
        ("microsoft.aks", "compute.aks.windows.billing"),
        ("microsoft.aks", "compute.aks.linux.aksnode"),
    }
)


def _owned(snap: Snapshot) -> Iterator[tuple[ScaleSet, AgentPool | None]]:
    """AKS scale sets (tagged with a pool name) with their pool, or None when the pool is not in the input."""
    for scale_set in snap.scale_sets:
        name = scale_set.pool_name
        if name is not None:
            yield scale_set, snap.pool(name)


def _busy(pool: AgentPool | None) -> bool:
    """The pool is in the middle of an operation that changes its scale set (scale, upgrade, update)."""
    state = (pool.provisioning_state or "").lower() if pool else ""
    return state in availability.IN_PROGRESS_STATES


def _stopped(pool: AgentPool) -> bool:
    return pool.power_state is not None and (pool.power_state.code or "").lower() == "stopped"


def _in_node_resource_group(scale_set: ScaleSet, snap: Snapshot) -> bool:
    """True unless the cluster and the scale set's ID both say it lives in some other resource group."""
    node_group = snap.cluster.node_resource_group if snap.cluster else None
    parts = (scale_set.id or "").split("/")
    lowered = [part.lower() for part in parts]
    if node_group is None or "resourcegroups" not in lowered:
        return True
    index = lowered.index("resourcegroups") + 1
    return index < len(parts) and parts[index].lower() == node_group.lower()


def _extension_key(extension: VmssExtension) -> tuple[str, str]:
    return ((extension.publisher or "").lower(), (extension.handler_type or "").lower())


def _zones_text(zones: list[str] | tuple[str, ...] | None) -> str:
    return "[" + ", ".join(sorted(zones or ())) + "]"


@rule(
    id="VM001",
    title="Scale set zones match their pool",
    category=Category.VM,
    severity=Severity.MEDIUM,
    rationale="A scale set whose zones differ from its pool's was recreated or edited outside AKS; AKS and the "
    "autoscaler then place nodes where the pool does not expect them, and a zone outage hits harder.",
    fix="Do not edit node scale sets directly; recreate the pool with the zones you want: "
    "az aks nodepool add -g <rg> --cluster-name <cluster> -n <pool> --zones 1 2 3, then delete the old pool",
    needs=(Input.SCALE_SETS, Input.NODEPOOLS),
    references=(
        "PSRule Azure.VMSS.AvailabilityZone",
        "https://learn.microsoft.com/azure/aks/availability-zones",
    ),
    params=("zone_regions", "min_zones"),
)
def scale_set_zones(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    zone_regions = {region.lower() for region in ctx.params.zone_regions}
    for scale_set, pool in _owned(snap):
        if pool is None:
            continue  # VM003 reports scale sets whose pool is gone
        problems = []
        vmss_zones = set(scale_set.zones or ())
        pool_zones = set(pool.zones)
        # `--zones auto` lets AKS choose the zones, so the pool says "auto" and the scale set the chosen ones.
        if not any(zone.lower() == "auto" for zone in pool_zones) and vmss_zones != pool_zones:
            pool_text = _zones_text(pool.availability_zones)
            problems.append(f"has zones {_zones_text(scale_set.zones)} but pool {pool.name} has {pool_text}")
        location = scale_set.location or (snap.cluster.location if snap.cluster else None)
        region = (location or "").replace(" ", "").lower()
        if region in zone_regions and len(vmss_zones) < ctx.params.min_zones:
            problems.append(f"spans {len(vmss_zones)} zone(s) in {region}; want at least {ctx.params.min_zones}")
        if problems:
            yield Violation(scale_set_target(scale_set), f"scale set {scale_set.name} " + " and ".join(problems))


@rule(
    id="VM002",
    title="Scale set capacity matches its pool",
    category=Category.VM,
    severity=Severity.MEDIUM,
    rationale="A scale set scaled outside AKS fights the pool's count and the cluster autoscaler: AKS scales it "
    "back, and nodes appear or vanish without a drain.",
    fix="Scale through AKS only: az aks nodepool scale -g <rg> --cluster-name <cluster> -n <pool> --node-count <n> "
    "(or let the cluster autoscaler); consider locking the node resource group (az aks update "
    "--nrg-lockdown-restriction-level ReadOnly)",
    needs=(Input.SCALE_SETS, Input.NODEPOOLS),
    references=(
        "Azure review checklist 07.02.10",
        "https://learn.microsoft.com/azure/aks/node-resource-group-lockdown",
        "https://learn.microsoft.com/azure/aks/scale-down-mode",
    ),
)
def scale_set_capacity(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    violations: list[Violation] = []
    unknown: list[str] = []
    for scale_set, pool in _owned(snap):
        if pool is None or _busy(pool) or _stopped(pool):
            continue  # gone (VM003), mid-operation (capacity moves on purpose) or stopped (HA013 reports it)
        capacity = scale_set.sku.capacity if scale_set.sku else None
        if capacity is None or pool.count is None:
            unknown.append(scale_set.name)
            continue
        # Deallocated nodes stay in the scale set but leave the pool's count: with scale-down mode Deallocate
        # (or spot eviction policy Deallocate) the scale set may hold more instances than the pool counts.
        keeps_stopped = (pool.scale_down_mode or "").lower() == "deallocate" or (
            pool.is_spot and (pool.scale_set_eviction_policy or "").lower() == "deallocate"
        )
        if capacity == pool.count or (keeps_stopped and capacity > pool.count):
            continue
        violations.append(
            Violation(
                scale_set_target(scale_set),
                f"scale set {scale_set.name} has capacity {capacity} but pool {pool.name} has count {pool.count} "
                f"(provisioningState {pool.provisioning_state or 'unknown'}); want them equal",
            )
        )
    yield from decide(violations, undecided=unknown, what="sku.capacity or the pool's count missing for")


@rule(
    id="VM003",
    title="Node scale sets carry no out-of-band changes",
    category=Category.VM,
    severity=Severity.MEDIUM,
    rationale="AKS owns the node resource group and reconciles its scale sets; settings it does not make "
    "(automatic repairs, automatic upgrades, zone balance, extra extensions) race its own node repair and "
    "upgrades, and foreign scale sets there are lost when AKS recreates the group.",
    fix="Undo the change through AKS (az aks nodepool update / upgrade reapplies the model), move foreign "
    "scale sets out of the node resource group, and lock it: az aks update -g <rg> -n <cluster> "
    "--nrg-lockdown-restriction-level ReadOnly; accept an extension on purpose with "
    "audit.params.allowed_vmss_extensions",
    needs=(Input.SCALE_SETS,),
    references=(
        "APRL 820f4743",
        "APRL 94794d2a",
        "PSRule Azure.VMSS.AutoInstanceRepairs (for non-AKS scale sets)",
        "PSRule Azure.VMSS.ZoneBalance (for non-AKS scale sets)",
        "https://learn.microsoft.com/azure/aks/node-auto-repair",
        "https://learn.microsoft.com/azure/aks/node-resource-group-lockdown",
    ),
    params=("allowed_vmss_extensions",),
)
def scale_sets_unchanged(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    allowed = AKS_EXTENSIONS | {
        (publisher.lower(), kind.lower())
        for publisher, _, kind in (entry.partition("/") for entry in ctx.params.allowed_vmss_extensions)
    }
    pools_known = snap.has(Input.NODEPOOLS)
    for scale_set in snap.scale_sets:
        if not _in_node_resource_group(scale_set, snap):
            continue
        target = scale_set_target(scale_set)
        pool_name = scale_set.pool_name
        if pool_name is None:
            yield Violation(
                target,
                f"scale set {scale_set.name} in the node resource group has no aks-managed-poolName tag; "
                "want only AKS-managed scale sets there",
            )
            continue
        pool = snap.pool(pool_name)
        problems = []
        if pools_known and pool is None:
            problems.append(f"is tagged for pool {pool_name}, which the cluster does not have")
        mode = scale_set.upgrade_policy.mode if scale_set.upgrade_policy else None
        # AKS switches the mode briefly while it rolls a model change out; only a settled pool must say Manual.
        if mode is not None and mode.lower() != "manual" and not _busy(pool):
            problems.append(f"has upgradePolicy.mode {mode} (AKS uses Manual)")
        if scale_set.automatic_repairs_policy and scale_set.automatic_repairs_policy.enabled:
            problems.append("has automaticRepairsPolicy enabled (AKS node auto-repair owns repairs)")
        if scale_set.zone_balance:
            problems.append("has zoneBalance true (AKS does not set it)")
        profile = scale_set.virtual_machine_profile
        extensions = (profile.extension_profile.extensions if profile and profile.extension_profile else None) or []
        foreign = [ext for ext in extensions if _extension_key(ext) not in allowed]
        if foreign:
            listed = ", ".join(f"{ext.name} ({ext.publisher}/{ext.handler_type})" for ext in foreign)
            problems.append(f"has extensions AKS does not install: {listed}")
        if problems:
            yield Violation(target, f"scale set {scale_set.name} (pool {pool_name}) " + "; ".join(problems))


@rule(
    id="VM004",
    title="Node scale sets are healthy and hardened",
    category=Category.VM,
    severity=Severity.HIGH,
    rationale="A scale set left in a Failed state blocks scaling and node repair for its pool; password SSH "
    "and unencrypted host caches weaken every node it creates.",
    fix="Reconcile a failed scale set through AKS: az aks nodepool update -g <rg> --cluster-name <cluster> -n "
    "<pool>; create pools with encryption at host: az aks nodepool add ... --enable-encryption-at-host",
    needs=(Input.SCALE_SETS,),
    references=(
        "PSRule Azure.VMSS.PublicKey",
        "CKV_AZURE_49",
        "CKV_AZURE_97",
        "CKV_AZURE_149",
        "CKV_AZURE_227",
        "https://learn.microsoft.com/azure/aks/enable-host-encryption",
    ),
    profile=Profile.EXTENDED,
)
def scale_sets_healthy(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    violations: list[Violation] = []
    unknown: list[str] = []
    for scale_set, pool in _owned(snap):
        target = scale_set_target(scale_set)
        state = scale_set.provisioning_state
        profile = scale_set.virtual_machine_profile
        if state is None or profile is None:
            unknown.append(scale_set.name)
        if state is not None and state.lower() != "succeeded" and not _busy(pool):
            message = f"scale set {scale_set.name} has provisioningState {state}; want Succeeded"
            violations.append(Violation(target, message, severity=Severity.HIGH))
        if profile is None:
            continue
        hardening = []
        linux = profile.os_profile.linux_configuration if profile.os_profile else None
        if linux is not None and linux.disable_password_authentication is not True:
            hardening.append("allows SSH password authentication (disablePasswordAuthentication is not true)")
        vmss_host_encryption = bool(profile.security_profile and profile.security_profile.encryption_at_host)
        if pool is not None and not pool.enable_encryption_at_host:
            hardening.append(f"has no encryption at host (pool {pool.name} enableEncryptionAtHost is not true)")
        elif not vmss_host_encryption:
            hardening.append("has no encryption at host (securityProfile.encryptionAtHost is not true)")
        if hardening:
            message = f"scale set {scale_set.name} " + " and ".join(hardening)
            violations.append(Violation(target, message, severity=Severity.LOW))
    yield from decide(violations, undecided=unknown, what="provisioningState or virtualMachineProfile missing for")


RULES: tuple[Rule, ...] = (scale_set_zones, scale_set_capacity, scale_sets_unchanged, scale_sets_healthy)

"""HA rules: cluster and node-pool availability (zones, pool sizes, SKUs, tier, provisioning)."""

from __future__ import annotations

from collections.abc import Iterator

from nodewarden.audit.catalog import NotEvaluated, Rule, RuleContext, Violation, rule
from nodewarden.model.findings import Category, Severity
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot, pool_target


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


RULES: tuple[Rule, ...] = (pools_span_zones,)

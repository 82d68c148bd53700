"""Small builders for planner tests: a cluster of pools, nodes, pods and PDBs, health and journal episodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nodewarden.model import aks
from nodewarden.model.azure import AgentPool, Cluster, InstanceStatus, InstanceView, ScaleSetInstance
from nodewarden.model.health import Detection, HealthState, NodeHealth, Scope, Signal, SignalKind
from nodewarden.model.kube import (
    LabelSelector,
    Namespace,
    Node,
    NodeSpec,
    ObjectMeta,
    OwnerReference,
    PdbSpec,
    PdbStatus,
    Pod,
    PodCondition,
    PodDisruptionBudget,
    PodSpec,
    PodStatus,
)
from nodewarden.model.remediation import Episode, EpisodeState, JournalEntry, Outcome, Step

NOW = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
SUB = "00000000-0000-0000-0000-000000000000"


def provider_id(pool: str, index: int) -> str:
    return (
        f"azure:///subscriptions/{SUB}/resourceGroups/mc_rg/providers/Microsoft.Compute/"
        f"virtualMachineScaleSets/aks-{pool}-vmss/virtualMachines/{index}"
    )


def node_name(pool: str, index: int) -> str:
    return f"aks-{pool}-vmss{index:06d}"


def node(
    pool: str,
    index: int,
    *,
    zone: str = "eastus-1",
    image: str = "AKSUbuntu-2204gen2-202611.01.0",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    mapped: bool = True,
) -> Node:
    all_labels = {
        "kubernetes.azure.com/agentpool": pool,
        "topology.kubernetes.io/zone": zone,
        "kubernetes.azure.com/node-image-version": image,
        **(labels or {}),
    }
    return Node(
        metadata=ObjectMeta(name=node_name(pool, index), labels=all_labels, annotations=annotations),
        spec=NodeSpec(providerID=provider_id(pool, index) if mapped else None),
    )


def instance(pool: str, index: int, *, provisioning: str = "succeeded") -> ScaleSetInstance:
    resource_id = provider_id(pool, index).removeprefix("azure://")
    statuses = [InstanceStatus(code=f"ProvisioningState/{provisioning}"), InstanceStatus(code="PowerState/running")]
    return ScaleSetInstance(
        instance_id=str(index),
        id=resource_id,
        instance_view=InstanceView(computer_name=node_name(pool, index), statuses=statuses),
    )


def pool(name: str, count: int, *, state: str = "Succeeded", autoscale: bool = False) -> AgentPool:
    return AgentPool(
        name=name,
        count=count,
        provisioning_state=state,
        enable_auto_scaling=autoscale,
        min_count=1 if autoscale else None,
        max_count=count + 5 if autoscale else None,
    )


def cluster(state: str = "Succeeded") -> Cluster:
    return Cluster(name="prod", provisioning_state=state)


def namespace(name: str, *, paused: bool = False) -> Namespace:
    annotations = {"nodewarden.io/pause": "true"} if paused else None
    return Namespace(metadata=ObjectMeta(name=name, annotations=annotations))


def pod(name: str, on: str, *, labels: dict[str, str], ready: bool = True, daemon: bool = False) -> Pod:
    owners = [OwnerReference(kind="DaemonSet", name="ds", controller=True)] if daemon else None
    status = PodStatus(phase="Running", conditions=[PodCondition(type="Ready", status="True" if ready else "False")])
    return Pod(
        metadata=ObjectMeta(name=name, namespace="shop", labels=labels, owner_references=owners),
        spec=PodSpec(node_name=on),
        status=status,
    )


def pdb(name: str, *, app: str, allowed: int) -> PodDisruptionBudget:
    return PodDisruptionBudget(
        metadata=ObjectMeta(name=name, namespace="shop"),
        spec=PdbSpec(selector=LabelSelector(match_labels={"app": app}), min_available=1),
        status=PdbStatus(disruptions_allowed=allowed),
    )


def signal(kind: SignalKind, on: Node, *, since: datetime = NOW - timedelta(minutes=2)) -> Signal:
    labels = on.metadata.label_map
    return Signal(
        kind=kind,
        scope=Scope.NODE,
        subject=on.metadata.name,
        since=since,
        message=f"{kind} on {on.metadata.name}",
        node=on.metadata.name,
        pool=labels.get("kubernetes.azure.com/agentpool"),
        zone=labels.get("topology.kubernetes.io/zone"),
        image=labels.get("kubernetes.azure.com/node-image-version"),
    )


def zone_failure(zone: str) -> Signal:
    return Signal(kind=SignalKind.ZONE_FAILURE, scope=Scope.ZONE, subject=zone, since=NOW, message="zone", zone=zone)


def health(
    on: Node,
    state: HealthState,
    *kinds: SignalKind,
    ready: bool | None = None,
    since: datetime = NOW - timedelta(minutes=2),
) -> NodeHealth:
    labels = on.metadata.label_map
    signals = tuple(signal(kind, on, since=since) for kind in kinds)
    return NodeHealth(  # placed as model/node_place.py places a node with a providerID
        node=on.metadata.name,
        state=state,
        since=since,
        pool=aks.pool_of(labels),
        zone=aks.zone_of(labels),
        image=labels.get(aks.IMAGE_LABEL),
        instance=aks.key_from_resource_id(on.spec.provider_id),
        signals=signals,
        problem_since=since if kinds else None,
        clear_since=None if kinds else since,
        ready=(not kinds) if ready is None else ready,
    )


def detection(*healths: NodeHealth, extra: tuple[Signal, ...] = ()) -> Detection:
    signals = tuple(s for h in healths for s in h.signals) + extra
    return Detection(now=NOW, signals=signals, health={h.node: h for h in healths})


def entry(
    episode: str,
    step: Step,
    outcome: Outcome = Outcome.SUCCEEDED,
    *,
    at: datetime = NOW - timedelta(minutes=30),
    detail: str = "",
    pool: str | None = None,
    count: int | None = None,
) -> JournalEntry:
    return JournalEntry(
        key=f"{episode}/{step.value.lower()}/1",
        episode=episode,
        step=step,
        subject=episode.split("@")[0],
        intent_at=at,
        outcome=outcome,
        outcome_at=None if outcome is Outcome.PENDING else at + timedelta(seconds=30),
        detail=detail,
        node=episode.split("@")[0],
        pool=pool,
        count=count,
    )


def episode(
    on: Node,
    *steps: tuple[Step, Outcome] | Step,
    causes: tuple[SignalKind, ...] = (SignalKind.HEARTBEAT_STALE,),
    state: EpisodeState = EpisodeState.OPEN,
    start: datetime = NOW - timedelta(minutes=40),
    gap: timedelta = timedelta(minutes=1),
    detail: str = "",
) -> Episode:
    labels = on.metadata.label_map
    name = on.metadata.name
    ident = f"{name}@{start:%Y%m%dT%H%M%SZ}"
    pool_name = labels.get("kubernetes.azure.com/agentpool")
    entries = []
    for i, item in enumerate(steps):
        step, outcome = item if isinstance(item, tuple) else (item, Outcome.SUCCEEDED)
        entries.append(entry(ident, step, outcome, at=start + gap * i, detail=detail, pool=pool_name))
    vmss_id = (on.spec.provider_id or "").rsplit("/", 3)
    inst = f"{vmss_id[-3].lower()}/{vmss_id[-1]}" if on.spec.provider_id else None
    return Episode(
        id=ident,
        node=name,
        opened_at=start,
        pool=pool_name,
        zone=labels.get("topology.kubernetes.io/zone"),
        instance=inst,
        image=labels.get("kubernetes.azure.com/node-image-version"),
        causes=causes,
        state=state,
        closed_at=None if state is EpisodeState.OPEN else start + gap * len(steps),
        entries=tuple(entries),
    )

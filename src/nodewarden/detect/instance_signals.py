"""Signals from the Azure side: each node's scale-set instance, and instances that have no node.

Instances map to nodes by the node's providerID (scale set + instance id) or, failing that, by the
instance view's computer name, which AKS makes the node name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from nodewarden.detect.inventory import NodeFacts
from nodewarden.detect.settings import DetectSettings
from nodewarden.model import node_place
from nodewarden.model.aks import key_of_instance
from nodewarden.model.azure import InstanceStatus, ScaleSetInstance
from nodewarden.model.health import Scope, Signal, SignalKind
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot
from nodewarden.model.timestamps import parse_time

# The VM agent's display status while the guest answers (instance view `vmAgent.statuses`, azure-mgmt-compute).
AGENT_READY = "ready"

_POWER: dict[str, SignalKind] = {
    "stopped": SignalKind.INSTANCE_STOPPED,
    "deallocated": SignalKind.INSTANCE_DEALLOCATED,
}


@dataclass(frozen=True)
class Fleet:
    """The observed instances, by key and by computer name, and which scale sets were listed at all."""

    by_key: Mapping[str, ScaleSetInstance]
    by_computer: Mapping[str, str]  # computer name → key
    listed: frozenset[str]  # scale sets (lower case) whose instances were observed
    statuses: Mapping[str, Mapping[str, InstanceStatus]]  # key → lower-case prefix → first instance-view status

    def instance_of(self, facts: NodeFacts) -> tuple[str, ScaleSetInstance] | None:
        """The node's instance: the one its place names, else the one with its computer name (its place names
        an instance that is gone)."""
        instance = facts.place.instance
        key = instance if instance in self.by_key else self.by_computer.get(facts.name)
        return (key, self.by_key[key]) if key is not None and key in self.by_key else None

    def status(self, key: str, prefix: str) -> InstanceStatus | None:
        """The instance's first instance-view status whose code is `<prefix>/…` (prefix in lower case)."""
        return self.statuses[key].get(prefix)


def fleet_of(snapshot: Snapshot) -> Fleet:
    by_key: dict[str, ScaleSetInstance] = {}
    statuses: dict[str, dict[str, InstanceStatus]] = {}
    for instance in snapshot.instances:
        key = key_of_instance(instance)
        if key is None:
            continue
        by_key[key] = instance
        statuses[key] = _statuses_by_prefix(instance)
    by_computer = node_place.instance_keys_by_computer(snapshot.instances)
    listed = {key.partition("/")[0] for key in by_key}
    if Input.INSTANCES in snapshot.inputs:  # listed and found empty is still listed
        listed |= {scale_set.name.lower() for scale_set in snapshot.scale_sets}
    return Fleet(by_key=by_key, by_computer=by_computer, listed=frozenset(listed), statuses=statuses)


def _statuses_by_prefix(instance: ScaleSetInstance) -> dict[str, InstanceStatus]:
    """Each status code's prefix (`powerstate` of `PowerState/running`), lower case, to its first status."""
    found: dict[str, InstanceStatus] = {}
    for status in (instance.instance_view.statuses if instance.instance_view else None) or ():
        if status.code:
            prefix, slash, _ = status.code.lower().partition("/")
            if slash:
                found.setdefault(prefix, status)
    return found


def node_instance_signals(
    facts: NodeFacts, found: tuple[str, ScaleSetInstance] | None, fleet: Fleet, *, now: datetime
) -> list[Signal]:
    """InstanceStopped, InstanceDeallocated, InstanceFailed, InstanceMissing and VMAgentUnresponsive for one node.

    `found` is `fleet.instance_of(facts)`, looked up once per pass by the caller."""
    if found is None:
        if facts.place.instance is not None and facts.place.instance.partition("/")[0] in fleet.listed:
            return [
                facts.signal(
                    SignalKind.INSTANCE_MISSING,
                    since=facts.seen_since(SignalKind.INSTANCE_MISSING, None, now=now),
                    message=f"instance {facts.place.instance} named by the providerID no longer exists",
                    evidence=(
                        f"Node {facts.name} providerID {facts.node.spec.provider_id}; not in the scale set's instances",
                    ),
                )
            ]
        return []
    signals: list[Signal] = []
    key, instance = found
    power_status = fleet.status(key, "powerstate")
    power = _code_after_prefix(power_status)
    if power is not None and power.lower() in _POWER:
        kind = _POWER[power.lower()]
        signals.append(
            facts.signal(
                kind,
                since=_time_of(power_status, now) or facts.seen_since(kind, None, now=now),
                message=f"instance {key} is {power}",
                evidence=(f"instance {key} instance view PowerState/{power}",),
            )
        )
    agent = instance.agent_status
    if (power or "").lower() == "running" and agent is not None and agent.lower() != AGENT_READY:
        signals.append(
            facts.signal(
                SignalKind.VM_AGENT_UNRESPONSIVE,
                since=facts.seen_since(SignalKind.VM_AGENT_UNRESPONSIVE, None, now=now),
                message=f"instance {key} runs but its VM agent reports {agent!r}",
                evidence=(f"instance {key} instance view PowerState/running, vmAgent {agent!r}",),
            )
        )
    provisioning = fleet.status(key, "provisioningstate")
    failed = _failure(instance, provisioning)
    if failed is not None:
        signals.append(
            facts.signal(
                SignalKind.INSTANCE_FAILED,
                since=_time_of(provisioning, now) or facts.seen_since(SignalKind.INSTANCE_FAILED, None, now=now),
                message=f"instance {key} provisioning failed",
                evidence=(f"instance {key} {failed}",),
            )
        )
    return signals


def unregistered(
    snapshot: Snapshot, fleet: Fleet, claimed: frozenset[str], *, now: datetime, settings: DetectSettings
) -> Iterator[Signal]:
    """NotRegistered: a running instance that no node maps to, provisioned longer than the startup timeout.

    Its age is taken from the instance view's ProvisioningState time (when provisioning last finished);
    an instance without one is not judged, since there is no memory of instances between cycles.
    """
    if not snapshot.nodes and Input.NODES not in snapshot.inputs:
        return  # without the node list every instance would look unregistered
    pools = {s.name.lower(): s.pool_name for s in snapshot.scale_sets}
    locations = {s.name.lower(): s.location for s in snapshot.scale_sets}
    for key, instance in fleet.by_key.items():
        if key in claimed or (_code_after_prefix(fleet.status(key, "powerstate")) or "").lower() != "running":
            continue
        since = _time_of(fleet.status(key, "provisioningstate"), now)
        if since is None or (now - since).total_seconds() < settings.not_registered_after:
            continue
        vmss = key.partition("/")[0]
        zone = instance.zones[0] if instance.zones else None
        if zone is not None and locations.get(vmss):
            zone = f"{locations[vmss]}-{zone}"
        computer = instance.instance_view.computer_name if instance.instance_view else None
        yield Signal(
            kind=SignalKind.NOT_REGISTERED,
            scope=Scope.INSTANCE,
            subject=key,
            since=since,
            message=f"instance {key} has run since {since.isoformat()} without registering a node",
            evidence=(f"instance {key} (computer {computer or 'unknown'}) running; no Node maps to it",),
            pool=pools.get(vmss),
            zone=zone,
            instance=key,
            value=(now - since).total_seconds(),
        )


def claimed_keys(
    facts: Mapping[str, NodeFacts], found: Mapping[str, tuple[str, ScaleSetInstance] | None]
) -> frozenset[str]:
    """The instances some node maps to (`found`: each node's `Fleet.instance_of`)."""
    keys = set()
    for name, node in facts.items():
        instance = found[name]
        if instance is not None:
            keys.add(instance[0])
        if node.place.instance is not None:
            keys.add(node.place.instance)
    return frozenset(keys)


def _code_after_prefix(status: InstanceStatus | None) -> str | None:
    """`running` of `PowerState/running` (as `ScaleSetInstance.status` reads it)."""
    return status.code.split("/", 1)[1] if status is not None and status.code else None


def _time_of(status: InstanceStatus | None, now: datetime) -> datetime | None:
    moment = parse_time(status.time) if status else None
    return moment if moment is not None and moment <= now else None


def _failure(instance: ScaleSetInstance, provisioning: InstanceStatus | None) -> str | None:
    """The evidence that provisioning (or the last operation) failed, if it did."""
    code = _code_after_prefix(provisioning)
    if code is not None and code.lower().startswith("failed"):
        return f"instance view ProvisioningState/{code}"
    if (instance.provisioning_state or "").lower() == "failed":
        return "provisioningState Failed"
    return None

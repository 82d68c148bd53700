"""Fencing a dead node (issue 15): the out-of-service taint, only once the node is confirmed off.

Kubernetes' non-graceful node shutdown: on a node carrying `node.kubernetes.io/out-of-service`, the pod garbage
collector force-deletes the pods (a StatefulSet can replace them) and the attach-detach controller detaches their
Azure Disks at once instead of after six minutes. That is only safe when the node is really off: a partitioned
node still running would go on writing to a disk that now attaches elsewhere. So, for a node in an open episode
(the planner asks `decide` before the ladder; its step is the node's one action this cycle):

- UNFENCE a node nodewarden fenced (a FENCE of its episode succeeded, none undone) once it is healthy again
  (Ready, no problem signal), or once its instance is deleted and no pod of its own is left bound to it. A taint a
  person added is theirs: never removed. UNFENCE does not depend on `spec.fencing.enabled`.
- Nothing for a node that is not down (no `NODE_DOWN` signal), is fenced already, has a step pending, or carries
  no pod fencing would release (held or of unknown storage, model/capacity.py): fencing exists to release them.
- With fencing off: a FencingOff hold naming the pods it would release, once the node has been down `after`.
- Not before the episode has cordoned the node, nor before it has been down for `spec.fencing.after`.
- FENCE when the node is confirmed off: ARM reports its instance stopped or deallocated, or detection reports the
  instance deleted (InstanceMissing), or its zone is failing (a ZoneFailure signal) and Azure Resource Health has
  reported the instance Unavailable for `confirmOff.zoneUnavailableFor`. The last is the one case where a node ARM
  still reports running is fenced: in a zone outage ARM's instance view goes on saying running (as the twin's does,
  twin/azure/state.py `zone_outage`), and Resource Health is Azure's own word that the VM is not.
- POWER_OFF (skipShutdown) when `confirmOff.powerOff` is on, ARM reports the instance running, no rung has run
  yet in the episode (after one, the rungs own the instance: a booting node is not powered off) and no POWER_OFF
  was tried before. The FENCE follows in a later cycle, once ARM reports the instance stopped. Until the
  POWER_OFF is planned the episode's first rung waits (`Decision.gate`), so a restart does not race it.
- Otherwise a NotConfirmedOff hold saying what ARM reports.

The guards (heal/guards.py `CycleBudgets.fencing_blocker`) then hold FENCE and POWER_OFF past the storm or zone
breaker, except for a node confirmed off through its zone (`zone_confirmed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from nodewarden.heal import ladder
from nodewarden.heal.nodes import NodeTarget
from nodewarden.heal.policy import Fencing, Policy
from nodewarden.model import aks, wording
from nodewarden.model.capacity import CapacityClass, CapacityReport, classify, down_nodes
from nodewarden.model.health import NODE_DOWN, SignalKind
from nodewarden.model.kube import OUT_OF_SERVICE_EFFECT, OUT_OF_SERVICE_TAINT, OUT_OF_SERVICE_VALUE
from nodewarden.model.remediation import Episode, HoldReason, Outcome, Step
from nodewarden.model.snapshot import Snapshot
from nodewarden.model.timestamps import parse_time

TAINT = (
    f"{OUT_OF_SERVICE_TAINT}={OUT_OF_SERVICE_VALUE}:{OUT_OF_SERVICE_EFFECT}"  # PlannedAction.taint of FENCE, UNFENCE
)
OFF = frozenset({"stopped", "deallocated"})  # ARM PowerState codes of an instance that is off
RUNNING = "running"
UNAVAILABLE = "unavailable"  # Resource Health availabilityState, lower case
RELEASABLE = frozenset({CapacityClass.HELD, CapacityClass.UNKNOWN})  # what fencing frees


@dataclass(frozen=True)
class View:
    """What fencing reads of one cycle's snapshot, built once (`read_view`)."""

    power: Mapping[str, str]  # instance key → ARM PowerState code, lower case
    unavailable: Mapping[str, datetime]  # instance key → Resource Health Unavailable since
    zones_failing: frozenset[str]
    fenced: frozenset[str]  # nodes carrying the out-of-service taint
    capacity: CapacityReport  # the pods of the down nodes, classified
    own_pods: frozenset[str]  # nodes with a pod bound that is not a DaemonSet or mirror pod


@dataclass(frozen=True)
class Decision:
    """Fencing's word on one node: a step to take, or a hold (or neither), and whether the first rung waits."""

    step: Step | None = None
    reason: str = ""
    hold: HoldReason | None = None
    gate: bool = False  # hold the episode's first rung: a POWER_OFF is coming


NOTHING = Decision()


def read_view(snapshot: Snapshot, *, zones_failing: Iterable[str]) -> View:
    """The cycle's fencing view: power states, Resource Health, fenced nodes and the down nodes' pods by class."""
    power: dict[str, str] = {}
    for instance in snapshot.instances:
        key, state = aks.key_of_instance(instance), instance.status("PowerState")
        if key is not None and state is not None:
            power[key] = state.lower()
    unavailable: dict[str, datetime] = {}
    for status in snapshot.availability:
        key = aks.key_from_resource_id(status.resource_id)
        since = parse_time(status.occured_time)
        if key is not None and since is not None and (status.availability_state or "").lower() == UNAVAILABLE:
            unavailable[key] = since
    zones = frozenset(zones_failing)
    fenced = frozenset(node.metadata.name for node in snapshot.nodes if node.fenced)
    return View(
        power=power,
        unavailable=unavailable,
        zones_failing=zones,
        fenced=fenced,
        capacity=classify(snapshot, down=down_nodes(snapshot), zones_down=zones, fenced=fenced),
        own_pods=frozenset(
            name for name, pods in snapshot.pods_by_node.items() if any(not p.belongs_to_node for p in pods)
        ),
    )


def down_since(target: NodeTarget) -> datetime | None:
    """When the node went down: the earliest of its node-down signals (model/health.py NODE_DOWN)."""
    return min((s.since for s in target.problems if s.kind in NODE_DOWN), default=None)


def zone_confirmed(targets: Iterable[NodeTarget], policy: Policy, view: View, *, now: datetime) -> frozenset[str]:
    """Nodes confirmed off through their zone: the zone is failing and Resource Health has reported the node's
    instance Unavailable for its pool's `confirmOff.zoneUnavailableFor`."""
    return frozenset(
        t.name
        for t in targets
        if _zone_unavailable(t, policy.for_pool(t.place.pool).fencing, view, now=now) is not None
    )


def decide(target: NodeTarget, episode: Episode, *, settings: Fencing, view: View, now: datetime) -> Decision:
    """Fencing's decision for one node of an open episode (see the module docstring)."""
    if any(entry.outcome is Outcome.PENDING for entry in episode.entries):
        return NOTHING  # the ladder holds it: OperationInFlight
    if target.name in view.fenced:
        return _unfence(target, episode, view)
    since = down_since(target)
    releasable = [pod for pod in view.capacity.on(target.name) if pod.capacity in RELEASABLE]
    if since is None or not releasable:
        return NOTHING
    down_for = now - since
    if not settings.enabled:
        if down_for < settings.after:
            return NOTHING
        names = wording.short_list(sorted(pod.ref for pod in releasable))
        return Decision(
            hold=HoldReason.FENCING_OFF,
            step=Step.FENCE,
            reason=f"would fence (down {_spell(down_for)}) to release {names}; fencing is off (spec.fencing.enabled)",
        )
    confirmed = _confirmed_off(target, settings, view, now=now)
    power = view.power.get(target.place.instance or "")
    may_power_off = (
        confirmed is None
        and settings.confirm_off.power_off
        and power == RUNNING
        and not any(entry.step.is_rung or entry.step is Step.POWER_OFF for entry in episode.entries)
    )
    if down_for < settings.after or not ladder.is_done(episode, Step.CORDON):
        return Decision(gate=may_power_off)
    names = wording.short_list(sorted(pod.ref for pod in releasable))
    if confirmed is not None:
        return Decision(Step.FENCE, f"down {_spell(down_for)} and confirmed off ({confirmed}): releasing {names}")
    if may_power_off:
        return Decision(
            Step.POWER_OFF,
            f"down {_spell(down_for)} while ARM reports PowerState/running: powering off (skipShutdown) to fence "
            f"and release {names}",
            gate=True,
        )
    why = f"ARM reports PowerState/{power}" if power else "ARM reports no power state"
    if power == RUNNING and not settings.confirm_off.power_off:
        why += " (confirmOff.powerOff is false)"
    return Decision(
        hold=HoldReason.NOT_CONFIRMED_OFF,
        step=Step.FENCE,
        reason=f"would fence (down {_spell(down_for)}) to release {names}, but the node is not confirmed off: {why}",
    )


def _unfence(target: NodeTarget, episode: Episode, view: View) -> Decision:
    if not _fenced_by_us(episode):
        return NOTHING  # a person's taint: theirs to remove
    if target.is_healthy:
        return Decision(Step.UNFENCE, "node is Ready again: removing the out-of-service taint")
    kinds = {signal.kind for signal in target.signals}
    if SignalKind.INSTANCE_MISSING in kinds and target.name not in view.own_pods:
        return Decision(Step.UNFENCE, "its instance is deleted and its pods are released: removing the taint")
    return NOTHING


def _fenced_by_us(episode: Episode) -> bool:
    """The episode's last settled FENCE or UNFENCE is a FENCE that succeeded."""
    settled = [e for e in episode.entries if e.step in (Step.FENCE, Step.UNFENCE) and e.outcome in ladder.DONE]
    return bool(settled) and settled[-1].step is Step.FENCE and settled[-1].outcome is Outcome.SUCCEEDED


def _confirmed_off(target: NodeTarget, settings: Fencing, view: View, *, now: datetime) -> str | None:
    """Why the node counts as off, else None."""
    key = target.place.instance
    power = view.power.get(key or "")
    if power in OFF:
        return f"ARM reports instance {key} PowerState/{power}"
    if any(signal.kind is SignalKind.INSTANCE_MISSING for signal in target.signals):
        return f"instance {key} is deleted"
    return _zone_unavailable(target, settings, view, now=now)


def _zone_unavailable(target: NodeTarget, settings: Fencing, view: View, *, now: datetime) -> str | None:
    key, zone = target.place.instance, target.place.zone
    if key is None or zone is None or zone not in view.zones_failing:
        return None
    since = view.unavailable.get(key)
    if since is None or now - since < settings.confirm_off.zone_unavailable_for:
        return None
    return f"zone {zone} is failing and Resource Health has reported instance {key} Unavailable since {since:%H:%M:%SZ}"


def _spell(span: timedelta) -> str:
    return f"{int(span.total_seconds())}s"

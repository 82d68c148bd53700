"""What a drill measured after its fault, one tick at a time, from the Kubernetes view and the detection.

The runner builds a `Measurement` with `Measurement.start` from the last snapshot before the fault, then
feeds it each tick's snapshot and detection (the first `observe` is tick 1). It keeps when a faulted
node was first detected, when capacity was lost and restored, which pods were disrupted, which
disruptions broke a PodDisruptionBudget, and the steps and holds nodewarden was seen taking. Everything
is read from pods, budgets, nodes and Events, never from the twin, so a drill measures a real cluster
the same way. Pure: time comes in as `now`; the only state is the accumulator itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from datetime import datetime

from nodewarden.drill import steady as steady_checks
from nodewarden.drill.spec import Abort, SteadyState
from nodewarden.heal import durations
from nodewarden.model import selectors, wording
from nodewarden.model.health import Detection, HealthState
from nodewarden.model.kube import Pod
from nodewarden.model.remediation import HoldReason, Step
from nodewarden.model.snapshot import Snapshot
from nodewarden.model.timestamps import as_utc, parse_time

CONTROLLER = "nodewarden"  # nodewarden.act.events.CONTROLLER, repeated: pure code does not import act
# Health states that mean nodewarden noticed the node; Recovered and Healthy do not.
DETECTED = frozenset({HealthState.SUSPECT, HealthState.UNHEALTHY, HealthState.REMEDIATING, HealthState.FAILED})
# Pods of Deployments (through their ReplicaSets) and StatefulSets: the ones a fault can disrupt and a
# controller brings back. DaemonSet pods go with their node; bare pods nobody brings back.
WORKLOAD_OWNERS = frozenset({"ReplicaSet", "StatefulSet"})
STEPS = frozenset(step.value for step in Step)
HOLDS = frozenset(reason.value for reason in HoldReason)


def pod_key(pod: Pod) -> str:
    """A pod's identity across ticks: its uid, else namespace/name@creationTimestamp (a recreated pod is new)."""
    meta = pod.metadata
    return meta.uid or f"{pod.namespace}/{meta.name}@{meta.creation_timestamp or ''}"


def pod_name(pod: Pod) -> str:
    return f"{pod.namespace}/{pod.metadata.name}"


def is_workload_pod(pod: Pod) -> bool:
    return any(owner.kind in WORKLOAD_OWNERS for owner in pod.metadata.owner_references or ())


def live_pods(snapshot: Snapshot) -> set[str]:
    """Keys of the pods present and not terminating."""
    return {pod_key(pod) for pod in snapshot.pods if not pod.metadata.deletion_timestamp}


def seconds_since(start: datetime, moment: datetime | None) -> float | None:
    return None if moment is None else (moment - start).total_seconds()


@dataclass
class Measurement:
    """The accumulator a drill runner feeds once per tick after the fault; build it with `start`."""

    fault_at: datetime
    targets: frozenset[str]  # the node names the fault hit (empty for cluster-wide faults)
    steady: SteadyState
    detected_at: datetime | None = field(default=None, init=False)
    capacity_lost_at: datetime | None = field(default=None, init=False)  # the first tick capacity was short
    restored_at: datetime | None = field(default=None, init=False)  # the latest tick it became whole again
    pods_disrupted: set[str] = field(default_factory=set, init=False)  # "ns/name"
    pdb_violations: list[str] = field(default_factory=list, init=False)  # "ns/budget: pod ns/name at +45s"
    steps_seen: set[str] = field(default_factory=set, init=False)
    holds_seen: set[str] = field(default_factory=set, init=False)
    # Whether the steps came from the drill's own acting controller; else from nodewarden's Events (a controller
    # deployed beside the drill acts, and its record is not the drill's).
    own_steps: bool = field(default=False, init=False)
    # Workload pods present at the fault (key → "ns/name"), and the snapshot of the tick before this one.
    _at_fault: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _previous: Snapshot = field(default_factory=Snapshot, init=False, repr=False)

    @classmethod
    def start(cls, fault_at: datetime, targets: Iterable[str], steady: SteadyState, before: Snapshot) -> Measurement:
        """A measurement of a fault injected at `fault_at`; `before` is the last snapshot taken before it."""
        measurement = cls(fault_at, frozenset(targets), steady)
        measurement._at_fault = {
            pod_key(pod): pod_name(pod)
            for pod in before.pods
            if is_workload_pod(pod) and steady_checks.is_counted(pod.namespace, steady.namespaces)
        }
        measurement._previous = before
        return measurement

    @property
    def time_to_detect(self) -> float | None:
        """Seconds from the fault to a faulted node called Suspect or worse (or named by a signal)."""
        return seconds_since(self.fault_at, self.detected_at)

    @property
    def time_to_restore(self) -> float | None:
        """Seconds from the fault to capacity whole again: 0 if it was never lost, None while it is short."""
        if self.capacity_lost_at is None:
            return 0.0
        return seconds_since(self.fault_at, self.restored_at)

    def observe(
        self,
        now: datetime,
        snapshot: Snapshot,
        detection: Detection | None,
        *,
        steps: Iterable[str] = (),
        holds: Iterable[str] = (),
    ) -> None:
        """Judge one tick: detection, capacity, disrupted pods, budget violations, steps and holds seen."""
        if self.detected_at is None and detection is not None and self._names_a_target(detection):
            self.detected_at = now
        self._track_capacity(now, snapshot)
        live = live_pods(snapshot)
        self.pods_disrupted.update(name for key, name in self._at_fault.items() if key not in live)
        self.pdb_violations.extend(self._violations(now, live))
        self.steps_seen.update(steps)
        self.holds_seen.update(holds)
        self._previous = snapshot

    def abort_reason(self, now: datetime, snapshot: Snapshot, abort: Abort) -> str | None:
        """Why the drill must stop now: too few nodes Ready, a budget broken, or out of time; else None."""
        if abort.min_ready_nodes is not None and steady_checks.ready_node_share(snapshot) < abort.min_ready_nodes:
            ready = steady_checks.ready_nodes(snapshot)
            below = durations.format_share(abort.min_ready_nodes)
            return f"only {ready} of {len(snapshot.nodes)} nodes Ready (below {below})"
        if abort.on_pdb_violation and self.pdb_violations:
            return f"PDB violated: {wording.short_list(self.pdb_violations, separator='; ')}"
        if now - self.fault_at > abort.after:
            return f"not back to steady state within {durations.format_duration(abort.after)}"
        return None

    def _names_a_target(self, detection: Detection) -> bool:
        for name in self.targets:
            health = detection.health.get(name)
            if health is not None and health.state in DETECTED:
                return True
        # a problem signal, not context: a VM agent's status or a Scheduled Event is evidence, not a detection
        return any(signal.node in self.targets and signal.is_problem for signal in detection.signals)

    def _track_capacity(self, now: datetime, snapshot: Snapshot) -> None:
        if not steady_checks.capacity_whole(snapshot, self.steady):
            self.capacity_lost_at = self.capacity_lost_at or now
            self.restored_at = None
        elif self.capacity_lost_at is not None and self.restored_at is None:
            self.restored_at = now

    def _violations(self, now: datetime, live: Set[str]) -> list[str]:
        """Pods Ready last tick and gone (or terminating) now, beyond their budget's allowance last tick.

        A pod that only went NotReady (the fault's own damage) is still live, and one deleted after it
        went NotReady was not Ready last tick: neither counts. A budget without a status is not judged.
        """
        gone = sorted(
            (pod for pod in self._previous.pods if pod.ready and pod_key(pod) not in live),
            key=pod_name,
        )
        taken: Counter[str] = Counter()  # disruptions counted against each budget this tick
        found = []
        since = durations.format_duration(now - self.fault_at)
        for pod in gone:
            for budget in self._previous.pdbs_by_namespace.get(pod.namespace, ()):
                allowed = budget.status.disruptions_allowed if budget.status else None
                if allowed is None or not selectors.matches(budget.spec.selector, pod.metadata.label_map):
                    continue
                name = f"{budget.namespace}/{budget.metadata.name}"
                if allowed <= taken[name]:
                    found.append(f"{name}: pod {pod_name(pod)} at +{since}")
                taken[name] += 1
        return found


def nodewarden_events(snapshot: Snapshot, since: datetime) -> tuple[set[str], set[str]]:
    """(steps, hold reasons) in nodewarden's own Events at or after `since` (a controller running elsewhere).

    An action Event carries a Step as `action` and a reason that is not a HoldReason (OperationStarted,
    Cordon, …); a hold Event carries a HoldReason as `reason` (its `action` names the step it held back).
    """
    start = as_utc(since)
    steps: set[str] = set()
    holds: set[str] = set()
    for event in snapshot.events:
        if event.reporter != CONTROLLER:
            continue
        at = parse_time(event.time)
        if at is None or at < start:
            continue
        if event.reason is not None and event.reason in HOLDS:
            holds.add(event.reason)
        elif event.action is not None and event.action in STEPS:
            steps.add(event.action)
    return steps, holds

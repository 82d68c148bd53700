"""What detection produces: typed signals with evidence, and each node's health state.

Signals are facts with a time ("node X's lease has not been renewed since 08:00:12"); the health state
machine turns them into Healthy → Suspect → Unhealthy → Remediating → Recovered (or Failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class SignalKind(StrEnum):
    """What was seen. The value is the name used in policies, logs, metrics and Events."""

    # the node, from Kubernetes
    HEARTBEAT_STALE = "HeartbeatStale"  # node Lease not renewed for more than two intervals
    NOT_READY = "NotReady"  # Ready=False
    READY_UNKNOWN = "ReadyUnknown"  # Ready=Unknown: the node controller lost the kubelet
    MEMORY_PRESSURE = "MemoryPressure"
    DISK_PRESSURE = "DiskPressure"
    PID_PRESSURE = "PIDPressure"
    NETWORK_UNAVAILABLE = "NetworkUnavailable"
    NODE_PROBLEM = "NodeProblem"  # a node-problem-detector condition; `condition` names it
    FLAPPING = "Flapping"  # Ready changed too often
    # the instance, from Azure
    INSTANCE_STOPPED = "InstanceStopped"
    INSTANCE_DEALLOCATED = "InstanceDeallocated"
    INSTANCE_FAILED = "InstanceFailed"  # provisioning or an operation failed
    NOT_REGISTERED = "NotRegistered"  # instance running, no node within the startup timeout
    INSTANCE_MISSING = "InstanceMissing"  # a node whose instance no longer exists
    SCHEDULED_EVENT = "ScheduledEvent"  # Reboot/Redeploy/Freeze/Preempt/Terminate announced
    # evidence, not a problem by itself: ARM says the VM runs but the guest's VM agent stopped reporting Ready
    # ("VM Agent is unresponsive."). Beside a silent kubelet it says the whole guest went (a crash, a host
    # failure); a hung kubelet leaves the agent Ready. Kept in the signal log, so an incident remembers it
    # after a restart has brought the agent back.
    VM_AGENT_UNRESPONSIVE = "VMAgentUnresponsive"
    # evidence, not a problem by itself: Azure Resource Health reports the instance Unavailable or Degraded and the
    # platform caused it (a host failure, a zone outage, planned maintenance); `condition` is "<state>/<reasonType>"
    # ("Unavailable/Unplanned", "Degraded/Planned"). The node's own signals say it is down; this says Azure knows why.
    RESOURCE_HEALTH = "ResourceHealth"
    # metrics (with --prometheus)
    METRIC_OUTLIER = "MetricOutlier"
    DISK_FILL_PREDICTED = "DiskFillPredicted"
    # correlation
    ZONE_FAILURE = "ZoneFailure"
    POOL_FAILURE = "PoolFailure"
    IMAGE_FAILURE = "ImageFailure"
    STORM = "Storm"
    # context: someone else is acting
    AUTO_REPAIR = "AutoRepair"  # AKS's own auto-repair is working on the node
    POOL_BUSY = "PoolBusy"  # the pool is upgrading, scaling or otherwise not Succeeded
    CLUSTER_BUSY = "ClusterBusy"
    AUTOSCALER_DELETING = "AutoscalerDeleting"  # the cluster autoscaler is removing the node


# Signals that mean the node cannot do its job; the others are correlation or context.
PROBLEMS: frozenset[SignalKind] = frozenset(
    {
        SignalKind.HEARTBEAT_STALE,
        SignalKind.NOT_READY,
        SignalKind.READY_UNKNOWN,
        SignalKind.MEMORY_PRESSURE,
        SignalKind.DISK_PRESSURE,
        SignalKind.PID_PRESSURE,
        SignalKind.NETWORK_UNAVAILABLE,
        SignalKind.NODE_PROBLEM,
        SignalKind.FLAPPING,
        SignalKind.INSTANCE_STOPPED,
        SignalKind.INSTANCE_DEALLOCATED,
        SignalKind.INSTANCE_FAILED,
        SignalKind.NOT_REGISTERED,
        SignalKind.INSTANCE_MISSING,
        SignalKind.SCHEDULED_EVENT,
        SignalKind.METRIC_OUTLIER,
        SignalKind.DISK_FILL_PREDICTED,
    }
)

# The kubelet stopped answering: the node controller's view (Lease, Ready) of a node it lost.
KUBELET_SILENT: frozenset[SignalKind] = frozenset(
    {SignalKind.HEARTBEAT_STALE, SignalKind.READY_UNKNOWN, SignalKind.NOT_READY}
)
# The node cannot run pods at all: its kubelet is silent or its instance is not running (or never
# registered). No kubelet will finish deleting its pods, so a drain does not wait for them
# (runtime/executor.py), and incidents group these signals as one family (incidents/group.py).
NODE_DOWN: frozenset[SignalKind] = KUBELET_SILENT | frozenset(
    {
        SignalKind.INSTANCE_STOPPED,
        SignalKind.INSTANCE_DEALLOCATED,
        SignalKind.INSTANCE_FAILED,
        SignalKind.INSTANCE_MISSING,
        SignalKind.NOT_REGISTERED,
    }
)


class Scope(StrEnum):
    NODE = "node"
    INSTANCE = "instance"  # an instance with no node
    POOL = "pool"
    ZONE = "zone"
    IMAGE = "image"
    CLUSTER = "cluster"


@dataclass(frozen=True)
class Signal:
    """One observed fact about a node, instance, pool, zone, image or the cluster."""

    kind: SignalKind
    scope: Scope
    subject: str  # node name, "<vmss>/<instanceId>", pool, zone ("eastus-1"), image version or cluster name
    since: datetime  # when the condition began, from the evidence (transition time, last renewal …)
    message: str  # one line a human reads
    evidence: tuple[str, ...] = ()  # the facts behind it, each one line naming its source
    node: str | None = None
    pool: str | None = None
    zone: str | None = None
    instance: str | None = None  # "<vmss>/<instanceId>"
    image: str | None = None  # kubernetes.azure.com/node-image-version
    condition: str | None = None  # the node condition type, for NODE_PROBLEM and pressures
    value: float | None = None  # a measured number (z-score, hours until full, share unhealthy)

    @property
    def is_problem(self) -> bool:
        return self.kind in PROBLEMS


class HealthState(StrEnum):
    HEALTHY = "Healthy"
    SUSPECT = "Suspect"  # a problem signal, not yet held long enough to act
    UNHEALTHY = "Unhealthy"  # a problem signal held past its policy threshold
    REMEDIATING = "Remediating"  # an open remediation episode in the journal
    RECOVERED = "Recovered"  # healthy again after remediation; becomes Healthy once stable
    FAILED = "Failed"  # remediation gave up (ladder exhausted, quarantined): a human's turn


@dataclass(frozen=True)
class NodeHealth:
    """One node's health, carried from cycle to cycle (the state machine's memory)."""

    node: str
    state: HealthState
    since: datetime  # when it entered `state`
    pool: str | None = None
    zone: str | None = None
    image: str | None = None
    instance: str | None = None  # "<vmss>/<instanceId>"
    signals: tuple[Signal, ...] = ()  # current problem signals on this node
    # this cycle's other signals on the node (evidence, not problems: VMAgentUnresponsive, ResourceHealth …), kept so
    # that their onset carries to the next cycle instead of starting again each time
    evidence: tuple[Signal, ...] = ()
    problem_since: datetime | None = None  # first problem signal of the current bout
    clear_since: datetime | None = None  # observed without any problem signal continuously since (None: problems now)
    ready: bool | None = None  # Ready=True at the last observation (None: no condition reported)
    ready_flips: tuple[datetime, ...] = field(default=())  # recent Ready transitions, for flapping

    @property
    def kinds(self) -> frozenset[SignalKind]:
        return frozenset(signal.kind for signal in self.signals)


@dataclass(frozen=True)
class Detection:
    """One detection pass: every signal (node and wider) and the new health of every node."""

    now: datetime
    signals: tuple[Signal, ...]
    health: dict[str, NodeHealth]  # by node name

    def node_signals(self, node: str) -> tuple[Signal, ...]:
        return tuple(signal for signal in self.signals if signal.node == node)

    def of_kind(self, kind: SignalKind) -> tuple[Signal, ...]:
        return tuple(signal for signal in self.signals if signal.kind is kind)

"""What the planner decides and what the journal remembers: actions, holds, episodes.

An *episode* is one node's remediation from the first cordon to its end (recovered, failed or handed to
a human). Each step of it is journaled twice: the intent before the call, the outcome after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from nodewarden.model.health import SignalKind


class Step(StrEnum):
    """One thing the controller can do; act/results.py maps each to its Event `action` (NodeAction)."""

    CORDON = "Cordon"
    DRAIN = "Drain"
    RESTART = "Restart"
    REIMAGE = "Reimage"
    REDEPLOY = "Redeploy"
    REPLACE = "Replace"
    UNCORDON = "Uncordon"
    SCALE = "Scale"  # set a pool's node count (zone compensation out, and back)
    ESCALATE = "Escalate"  # hand to a human: quarantine the node, page
    # fencing (heal/fencing.py): only for a node confirmed off, and only with policy spec.fencing.enabled
    POWER_OFF = "PowerOff"  # power the node's instance off with skipShutdown, so ARM can confirm it off
    FENCE = "Fence"  # add the out-of-service taint (PlannedAction.taint): its pods are released, volumes detach
    UNFENCE = "Unfence"  # remove the out-of-service taint once the node is back or its instance is gone

    @property
    def destructive(self) -> bool:
        """Takes capacity away or rebuilds it: counts against blast radius, breakers and the rate budget."""
        return self in DESTRUCTIVE

    @property
    def is_rung(self) -> bool:
        """A rung of the escalation ladder (an instance-level repair)."""
        return self in RUNGS

    @property
    def spec(self) -> StepSpec:
        """How the executor runs this step and how resume settles it (`STEP_SPECS`)."""
        return STEP_SPECS[self]


RUNGS: tuple[Step, ...] = (Step.RESTART, Step.REIMAGE, Step.REDEPLOY, Step.REPLACE)
DESTRUCTIVE: frozenset[Step] = frozenset({Step.DRAIN, *RUNGS})


@dataclass(frozen=True)
class StepSpec:
    """What the executor and crash recovery need to know about a step, kept beside it (as kopf keeps a
    handler's settings in its registry) instead of in sets scattered over the runtime."""

    needs_azure: bool  # acts through ARM (an instance or a pool), not the Kubernetes API
    in_activity_log: bool  # after a crash, the Activity Log tells (by correlation id) whether Azure took it
    # how long it may run when the plan gave it no time (a resumed intent); None: it is not timed
    default_timeout: timedelta | None


_ARM_OPERATION = StepSpec(needs_azure=True, in_activity_log=True, default_timeout=timedelta(minutes=30))
_KUBERNETES = StepSpec(needs_azure=False, in_activity_log=False, default_timeout=None)
STEP_SPECS: dict[Step, StepSpec] = {
    Step.CORDON: _KUBERNETES,
    Step.DRAIN: StepSpec(needs_azure=False, in_activity_log=False, default_timeout=timedelta(minutes=5)),
    Step.RESTART: _ARM_OPERATION,
    Step.REIMAGE: _ARM_OPERATION,
    Step.REDEPLOY: _ARM_OPERATION,
    Step.REPLACE: _ARM_OPERATION,
    Step.UNCORDON: _KUBERNETES,
    Step.SCALE: _ARM_OPERATION,
    Step.ESCALATE: _KUBERNETES,  # a cordon, the quarantine taint and an Event
    Step.POWER_OFF: _ARM_OPERATION,  # always with skipShutdown: the node is unreachable, nothing would shut down
    Step.FENCE: _KUBERNETES,
    Step.UNFENCE: _KUBERNETES,
}


SCALE_EPISODE_PREFIX = "scale/"  # zone compensation episodes are "scale/<pool>/<time>"


def spends_rate_budget(step: Step, attempt: int) -> bool:
    """Counts against the hourly rate budget: every rung, and an episode's first drain (a blocked drain's
    retries evict nothing new, so they must not starve the rest of the pool)."""
    return step.is_rung or (step is Step.DRAIN and attempt == 1)


def attempt_of(key: str) -> int:
    """The attempt number at the end of an idempotency key ("<episode>/<step>/<attempt>")."""
    tail = key.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else 1


class HoldReason(StrEnum):
    """Why the planner did not act. Values are Event reasons and metric labels."""

    NOT_SYNCED = "NotSynced"  # caches not synced yet
    STALE_DATA = "StaleData"  # the observation is older than the policy allows
    NOT_LEADER = "NotLeader"
    PAUSED = "Paused"  # policy `paused`, or nodewarden.io/pause=true on the node or kube-system
    EXCLUDED = "Excluded"  # nodewarden.io/exclude=true
    STORM = "StormBreaker"  # too much of the pool unhealthy at once
    ZONE_BREAKER = "ZoneBreaker"  # failures cluster in one zone
    MAX_IN_FLIGHT = "MaxInFlight"  # the pool's blast-radius budget is used
    RATE_LIMIT = "RateLimit"  # destructive actions per hour, pool or cluster
    CLUSTER_BUSY = "ClusterBusy"  # cluster upgrading or otherwise not Succeeded
    POOL_BUSY = "PoolBusy"  # pool upgrading or scaling
    AUTO_REPAIR = "AutoRepair"  # AKS auto-repair is working on the node (policy autoRepair: defer)
    AUTOSCALER = "AutoscalerDeleting"  # the cluster autoscaler is removing the node
    OPERATION_IN_FLIGHT = "OperationInFlight"  # an operation is already running on the instance
    PDB = "DisruptionBudget"  # draining would break a PodDisruptionBudget
    QUARANTINED = "Quarantined"  # the same failure came back after replacement: a human's turn
    NO_INSTANCE = "NoInstance"  # the node does not map to a scale-set instance
    WAITING = "Waiting"  # a step is being verified, or a signal has not lasted long enough yet
    LADDER_EXHAUSTED = "LadderExhausted"
    AT_LIMIT = "AtPoolLimit"  # compensation would exceed the pool's maximum
    DRY_RUN = "DryRun"  # would act, but the controller only plans
    OPERATOR_ACTION = "OperatorAction"  # a person acted on the node through `nodewarden node …`; wait for it
    UNREADABLE_RECORD = "UnreadableRecord"  # the node's stored record cannot be read (a hand edit): never act on it
    RECORD_UNAVAILABLE = "RecordUnavailable"  # a new leader could not read the record the last one wrote: wait
    FENCING_OFF = "FencingOff"  # would fence a dead node to release its pods, but spec.fencing.enabled is false
    NOT_CONFIRMED_OFF = "NotConfirmedOff"  # a dead node is not confirmed off (ARM says running): never fenced


@dataclass(frozen=True)
class PlannedAction:
    """One step the planner wants taken now."""

    step: Step
    subject: str  # node name, or the pool for SCALE
    reason: str  # one line: why this step, now
    key: str  # idempotency key: "<episode>/<step>/<attempt>"; also the ARM correlation id's source
    episode: str
    node: str | None = None
    pool: str | None = None
    zone: str | None = None
    instance: str | None = None  # "<vmss>/<instanceId>"
    causes: tuple[SignalKind, ...] = ()
    image: str | None = None
    count: int | None = None  # SCALE: the pool count to set
    timeout: float = 0.0  # seconds the step may take (drain) or be verified in (rungs)
    force: bool = False  # DRAIN: delete instead of evict (policy opt-in)
    taint: str | None = None  # FENCE/UNFENCE: the taint to add or remove, "key=value:effect"


@dataclass(frozen=True)
class Hold:
    """A decision not to act, with its reason; journaled and published like an action."""

    reason: HoldReason
    subject: str  # node, pool, zone or cluster
    message: str
    node: str | None = None
    pool: str | None = None
    zone: str | None = None
    step: Step | None = None  # what would have been done


@dataclass(frozen=True)
class Closure:
    """The end of an episode, decided by heal (heal/lifecycle.py); the runtime journals it."""

    episode: str
    state: EpisodeState
    note: str  # why it closed


@dataclass(frozen=True)
class Plan:
    now: datetime
    actions: tuple[PlannedAction, ...] = ()
    holds: tuple[Hold, ...] = ()
    closures: tuple[Closure, ...] = ()  # episodes that end now (applied only by a controller that acts)


class Outcome(StrEnum):
    PENDING = "pending"  # intent journaled, no outcome yet (in progress, or the controller died)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    SKIPPED = "skipped"  # found already done on resume, or not needed (node gone)


class EpisodeState(StrEnum):
    OPEN = "open"
    RECOVERED = "recovered"
    FAILED = "failed"  # escalated: ladder exhausted or quarantined
    ABANDONED = "abandoned"  # the node went away or recovered before anything destructive


@dataclass(frozen=True)
class JournalEntry:
    key: str
    episode: str
    step: Step
    subject: str
    intent_at: datetime
    outcome: Outcome = Outcome.PENDING
    outcome_at: datetime | None = None
    detail: str = ""  # error, operation id, drain summary …
    correlation_id: str = ""  # the x-ms-correlation-request-id sent to ARM
    node: str | None = None
    pool: str | None = None
    count: int | None = None
    leader: str | None = None  # the Lease holder identity that journaled the intent
    lease_transitions: int | None = None  # the Lease's leaseTransitions when the intent was journaled


@dataclass(frozen=True)
class Episode:
    id: str
    node: str
    opened_at: datetime
    pool: str | None = None
    zone: str | None = None
    instance: str | None = None
    image: str | None = None
    causes: tuple[SignalKind, ...] = ()
    state: EpisodeState = EpisodeState.OPEN
    closed_at: datetime | None = None
    note: str = ""  # why it closed
    entries: tuple[JournalEntry, ...] = ()

    @property
    def last(self) -> JournalEntry | None:
        return self.entries[-1] if self.entries else None

    def done(self, step: Step) -> bool:
        return any(e.step is step and e.outcome is Outcome.SUCCEEDED for e in self.entries)

    @property
    def rungs_tried(self) -> tuple[Step, ...]:
        return tuple(e.step for e in self.entries if e.step.is_rung and e.outcome is not Outcome.PENDING)


@dataclass(frozen=True)
class History:
    """What the journal knows that the planner needs: open episodes, recent closed ones, scale changes."""

    episodes: tuple[Episode, ...] = ()  # open ones plus those closed within the look-back window
    scale_entries: tuple[JournalEntry, ...] = field(default=())  # SCALE steps not yet undone
    # node → why its stored record cannot be read (a hand-edited NodeRemediation): never act on such a node
    unreadable: Mapping[str, str] = field(default_factory=dict)

    def open_for(self, node: str) -> Episode | None:
        return next((e for e in self.episodes if e.node == node and e.state is EpisodeState.OPEN), None)

    @property
    def open(self) -> tuple[Episode, ...]:
        return tuple(e for e in self.episodes if e.state is EpisodeState.OPEN)

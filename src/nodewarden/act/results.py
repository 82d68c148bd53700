"""What an action reports back: plain, frozen records the CLI renders and the journal will keep.

The vocabulary of node actions and Event reasons lives here as enums, so a typo cannot invent a new
action or reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from nodewarden.model.remediation import Step


class NodeAction(StrEnum):
    """An action on a node; the value is the events.k8s.io/v1 `action` field."""

    CORDON = "Cordon"
    UNCORDON = "Uncordon"
    TAINT = "Taint"
    UNTAINT = "Untaint"
    ANNOTATE = "Annotate"
    DRAIN = "Drain"
    RESTART = "Restart"
    REIMAGE = "Reimage"
    REDEPLOY = "Redeploy"
    POWER_OFF = "PowerOff"
    DEALLOCATE = "Deallocate"
    START = "Start"
    REPLACE = "Replace"
    DELETE = "Delete"
    SCALE = "Scale"
    ESCALATE = "Escalate"  # quarantined and handed to a human
    FENCE = "Fence"  # the out-of-service taint added to a node confirmed off
    UNFENCE = "Unfence"


# The Event `action` of each remediation step, spelled out rather than matched by value, so a step renamed
# or added without its action fails here (tests/runtime/test_step_metadata.py checks every step has one).
STEP_ACTIONS: Mapping[Step, NodeAction] = {
    Step.CORDON: NodeAction.CORDON,
    Step.DRAIN: NodeAction.DRAIN,
    Step.RESTART: NodeAction.RESTART,
    Step.REIMAGE: NodeAction.REIMAGE,
    Step.REDEPLOY: NodeAction.REDEPLOY,
    Step.REPLACE: NodeAction.REPLACE,
    Step.UNCORDON: NodeAction.UNCORDON,
    Step.SCALE: NodeAction.SCALE,
    Step.ESCALATE: NodeAction.ESCALATE,
    Step.POWER_OFF: NodeAction.POWER_OFF,
    Step.FENCE: NodeAction.FENCE,
    Step.UNFENCE: NodeAction.UNFENCE,
}


class EventReason(StrEnum):
    """The events.k8s.io/v1 `reason` of what nodewarden did or declined to do."""

    CORDON = "Cordon"
    UNCORDON = "Uncordon"
    TAINT = "Taint"
    UNTAINT = "Untaint"
    ANNOTATE = "Annotate"
    DRAIN = "Drain"
    DRAINED = "Drained"
    DRAIN_BLOCKED = "DrainBlocked"
    DRAIN_TIMED_OUT = "DrainTimedOut"
    OPERATION_STARTED = "OperationStarted"
    OPERATION_SUCCEEDED = "OperationSucceeded"
    OPERATION_FAILED = "OperationFailed"
    OPERATION_TIMED_OUT = "OperationTimedOut"
    REFUSED_BUSY = "RefusedBusy"
    DELETE_NODE = "DeleteNode"
    DELETE_REFUSED = "DeleteRefused"


@dataclass(frozen=True)
class PodRef:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Blocker:
    """A PodDisruptionBudget that refused an eviction, and the workload behind the pod."""

    pod: PodRef
    budget: str  # the PDB's name ("" when the 429 named none and no selector matched)
    workload: str  # "Deployment/shop/api", "StatefulSet/shop/db", or "" when the pod has no owner
    message: str  # the apiserver's cause message

    def describe(self) -> str:
        who = f" ({self.workload})" if self.workload else ""
        budget = f"PodDisruptionBudget {self.pod.namespace}/{self.budget}" if self.budget else "a disruption budget"
        return f"{budget} blocks evicting {self.pod}{who}: {self.message}"


@dataclass(frozen=True)
class DrainResult:
    node: str
    evicted: tuple[PodRef, ...]  # evictions (or deletions) the apiserver accepted
    skipped: tuple[PodRef, ...]  # DaemonSet and mirror pods, left alone
    remaining: tuple[PodRef, ...]  # still on the node when the drain ended
    blockers: tuple[Blocker, ...]  # the latest refusal per blocked pod
    timed_out: bool
    forced: bool = False

    @property
    def ok(self) -> bool:
        return not self.remaining and not self.timed_out


@dataclass(frozen=True)
class ActionResult:
    """The outcome of one Azure action on one node's instance (or pool, for replace)."""

    action: NodeAction
    node: str
    target: str  # the ARM resource acted on
    succeeded: bool
    operation_ids: tuple[str, ...] = ()  # from the Azure-AsyncOperation URLs, in order
    correlation_id: str = ""  # x-ms-correlation-request-id we sent; the Activity Log carries it
    request_ids: tuple[str, ...] = ()  # x-ms-request-id of each initial response
    error_code: str = ""
    message: str = ""
    steps: tuple[str, ...] = field(default=())  # what happened, for progress and the journal

"""The drill file (`kind: Drill`): a fault, where it may land, what steady state means, what to expect.

    apiVersion: nodewarden.io/v1
    kind: Drill
    metadata: {name: single-instance-crash}
    spec:
      scope: {pools: [apps]}                 # faults outside these pools (and zones, if listed) are refused
      fault: {type: instance-crash, target: {pool: apps}}
      steadyState: {allNodesReady: true, minReplicaShare: 100%, noPdbViolated: true}
      expect: {timeToDetect: 60s, timeToRestore: 5m, pdbViolations: 0, maxPodsDisrupted: 10}
      abort: {after: 20m, minReadyNodes: 50%, onPdbViolation: true}

Keys are camelCase; an unknown key is an error naming the file and the field (with a suggestion).
Durations are `30s`, `10m`, `1h30m` or seconds, each at most `LONGEST` (a day); shares are `66%` or `0.66`.
This model checks the file's shape and ranges; `drill/faults.py` `check` then checks the fault against the
catalogue and the scope, and `drill check` and `drill run` both go through the two.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator
from pydantic.alias_generators import to_camel

from nodewarden.config import read_config_text
from nodewarden.errors import ConfigError
from nodewarden.heal import durations
from nodewarden.model.remediation import HoldReason, Step
from nodewarden.schema import parse_yaml_model

KIND: Literal["Drill"] = "Drill"
# A drill is a rehearsal watched by an operator: no wait in it (abort, settle, a fault's duration, an expected
# time) may be longer than a day, so every one of them stays far inside what date arithmetic can hold.
LONGEST = timedelta(days=1)
MOST = 100_000  # pods or budgets a drill may count (AKS: 5,000 nodes of at most 250 pods is more than any cluster)

Duration = Annotated[
    timedelta,
    BeforeValidator(durations.parse_duration),
    AfterValidator(durations.within(timedelta(0), LONGEST)),
    PlainSerializer(durations.format_duration, return_type=str),
]
Share = Annotated[
    float, BeforeValidator(durations.parse_share), PlainSerializer(durations.format_share, return_type=str)
]


def _one_of(names: tuple[str, ...]) -> Any:
    def parse(value: object) -> str:
        for name in names:
            if isinstance(value, str) and value.strip().lower() == name.lower():
                return name
        raise ValueError(f"expected one of {', '.join(names)}, found {value!r}")

    return BeforeValidator(parse)


StepName = Annotated[str, _one_of(tuple(step.value for step in Step))]
HoldName = Annotated[str, _one_of(tuple(reason.value for reason in HoldReason))]


class DrillError(ConfigError):
    """A drill file is malformed, has a typo, or names a fault outside its own scope."""


class Rollback(StrEnum):
    AUTO = "auto"  # undo the fault when its duration ends, on abort, and at the end if it is still in place
    NONE = "none"  # leave the fault in place (the operator undoes it)


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class Scope(_Schema):
    """The blast radius the experiment may touch: a fault whose target lies outside is refused."""

    pools: tuple[str, ...] = Field(min_length=1)
    zones: tuple[str, ...] = ()  # empty: any zone of those pools; "1" and "westeurope-1" both match zone 1


class Target(_Schema):
    """Where the fault lands: one node by name, or one picked from a pool (and zone), or a whole zone or pool."""

    node: str | None = None
    pool: str | None = None
    zone: str | None = None
    hosting: str | None = Field(None, pattern=r"^[^/\s]+/[^/\s]+$")  # "namespace/workload": a node running its pod

    @model_validator(mode="after")
    def _something(self) -> Target:
        if not (self.node or self.pool or self.zone or self.hosting):
            raise ValueError("name a node, a pool, a zone or a workload it is hosting")
        return self


class Fault(_Schema):
    type: str = Field(min_length=1)  # see `nodewarden drill faults`
    target: Target | None = None  # faults on the whole cluster (arm-throttle, watch-drop) take none
    options: dict[str, Any] = Field(default_factory=dict)
    duration: Duration | None = None  # undo the fault this long after injecting it (rollback: auto)


class SteadyState(_Schema):
    """What healthy means, checked before the fault and after the drill (and `timeToRestore` waits for)."""

    all_nodes_ready: bool = True
    min_replica_share: Share = 1.0  # each Deployment and StatefulSet has at least this share of replicas Ready
    namespaces: tuple[str, ...] = ()  # whose workloads count; empty: every namespace but kube-system
    no_pdb_violated: bool = True  # no budget below its desired healthy count


class Expect(_Schema):
    time_to_detect: Duration | None = None  # from the fault to nodewarden calling a faulted node Suspect or worse
    time_to_restore: Duration | None = None  # from the fault to every workload at its replica share again
    pdb_violations: int = Field(0, ge=0, le=MOST)
    max_pods_disrupted: int | None = Field(None, ge=0, le=MOST)
    detected: bool = True  # a fault that hits nodes must be detected, or the drill fails
    actions: tuple[StepName, ...] = ()  # steps nodewarden must take (Cordon, Drain, Restart, …), seen in its Events
    holds: tuple[HoldName, ...] = ()  # reasons it must hold for (ZoneBreaker, DisruptionBudget, …), seen in its Events


class Abort(_Schema):
    """Stop the experiment, undo the fault and fail the drill when any of these holds."""

    after: Duration = timedelta(minutes=20)  # not back to steady state by then
    min_ready_nodes: Share | None = Field(0.5)  # fewer of the cluster's nodes Ready than this share
    on_pdb_violation: bool = True


class DrillSpec(_Schema):
    scope: Scope
    fault: Fault
    steady_state: SteadyState = Field(default_factory=SteadyState)
    expect: Expect = Field(default_factory=Expect)
    abort: Abort = Field(default_factory=Abort)
    rollback: Rollback = Rollback.AUTO
    settle: Duration = timedelta(minutes=10)  # after rollback, how long to wait for the steady state


class Metadata(_Schema):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    description: str = ""


class Drill(_Schema):
    api_version: Literal["nodewarden.io/v1"] = "nodewarden.io/v1"
    kind: Literal["Drill"] = KIND
    metadata: Metadata
    spec: DrillSpec


def load_drill(path: Path) -> Drill:
    """Read and validate a drill file; every problem raises DrillError naming the file and field."""
    return parse_drill(read_config_text(path, DrillError), source=str(path))


def parse_drill(text: str, *, source: str) -> Drill:
    return parse_yaml_model(text, source=source, model=Drill, error=DrillError, what=f"a {KIND} mapping")


def zone_matches(wanted: str, zone: str | None) -> bool:
    """`1` matches `westeurope-1` and `1`; a node with no zone matches nothing but an empty wish."""
    if zone is None:
        return False
    return zone == wanted or zone.rsplit("-", 1)[-1] == wanted.rsplit("-", 1)[-1]

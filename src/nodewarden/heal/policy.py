"""The remediation policy (`kind: RemediationPolicy`): which signals lead to which ladder, and the guards.

A YAML file validated by pydantic. Keys are camelCase as users write them; an unknown key is an error
that names the file and the field and suggests the nearest known one. Every field has a default, and
the packaged `data/default-policy.yaml` spells out the same defaults (a test keeps the two equal), so a
user's policy only needs what it changes. `spec.pools.<name>` overrides sections for one pool: only
the keys written there replace the cluster-wide values (`Policy.for_pool` merges them).

Every duration, count and share has a range, checked here, by the one model that `policy check` and
`run` both read the file through: durations at most `LONGEST` (a week), so the planner's date arithmetic
(`now ± a policy duration`) cannot overflow for any `now` between `EARLIEST` and `LATEST`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from nodewarden.config import read_config_text
from nodewarden.errors import ConfigError
from nodewarden.heal import durations
from nodewarden.model.health import Signal, SignalKind
from nodewarden.model.remediation import RUNGS, Step
from nodewarden.schema import parse_yaml_model

DEFAULT_POLICY_FILE = "default-policy.yaml"
API_VERSION: Literal["nodewarden.io/v1"] = "nodewarden.io/v1"
KIND: Literal["RemediationPolicy"] = "RemediationPolicy"
# Pools this large get 10 % of their nodes as blast radius instead of 1.
LARGE_POOL = 20
# The longest duration a policy may hold: a step that has not verified within a week, or a node that must stay
# healthy longer than that, is a typo (or an attack), never a plan.
LONGEST = timedelta(days=7)
# The instants the planner can plan at: `now` plus or minus a policy duration (a week at most) and a planner window
# (a day, `heal/planner.py` QUARANTINE_WINDOW) stays a datetime. A clock outside these is not a real clock;
# tests/heal/test_policy_ranges.py plans at both edges with every range at its bound.
EARLIEST = datetime.min.replace(tzinfo=UTC) + 2 * LONGEST
LATEST = datetime.max.replace(tzinfo=UTC) - 2 * LONGEST
MOST_NODES = 5000  # AKS's limit per cluster: no count of nodes or steps needs more
MOST_SECONDS = int(LONGEST.total_seconds())


class PolicyError(ConfigError):
    """A remediation policy file is malformed or has a typo; the message names the file and field."""


def _parse_rung(value: object) -> Step:
    for step in RUNGS:
        if isinstance(value, str) and value.strip().lower() == step.value.lower():
            return step
    names = ", ".join(step.value.lower() for step in RUNGS)
    raise ValueError(f"expected one of {names}, found {value!r}")


_AS_TEXT = PlainSerializer(durations.format_duration, return_type=str)
# 0 to a week: waits that may be zero (stableFor, a trigger's after, the drain's timeout)
Duration = Annotated[
    timedelta,
    BeforeValidator(durations.parse_duration),
    AfterValidator(durations.within(timedelta(0), LONGEST)),
    _AS_TEXT,
]
# 1 s to a week: limits and windows that mean nothing at zero (a step's verify time, maxDataAge, a zone window)
Limit = Annotated[
    timedelta,
    BeforeValidator(durations.parse_duration),
    AfterValidator(durations.within(timedelta(seconds=1), LONGEST)),
    _AS_TEXT,
]
Share = Annotated[
    float, BeforeValidator(durations.parse_share), PlainSerializer(durations.format_share, return_type=str)
]
Rung = Annotated[Step, BeforeValidator(_parse_rung), PlainSerializer(lambda step: step.value.lower(), return_type=str)]


class Mode(StrEnum):
    DRY_RUN = "dry-run"  # plan, journal and report; change nothing
    ENFORCE = "enforce"


class AutoRepairMode(StrEnum):
    DEFER = "defer"  # leave a node AKS's auto-repair is working on alone
    OVERRIDE = "override"


class OnTimeout(StrEnum):
    HOLD = "hold"  # a drain that times out holds, names its blocker and is retried
    PROCEED = "proceed"  # go on to the ladder with the pods that would not leave


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel)


class Trigger(_Schema):
    """Which signals open an episode, and the ladder it climbs. The first matching trigger wins."""

    name: str = Field(description="Names the trigger in plans, journal entries and incidents.")
    signals: tuple[SignalKind, ...] = Field((), description="Signal kinds that match.")
    conditions: tuple[str, ...] = Field(
        (), description="node-problem-detector condition types that match (their NodeProblem signals)."
    )
    after: Duration | None = Field(
        None,
        description="How long a signal must last before the node is Unhealthy; null: detection's own wait "
        "(10s for a node that is down, 60s for a node problem, 5m for pressure).",
    )
    ladder: tuple[Rung, ...] = Field(
        (),
        description="The rungs tried in order, each once the last did not heal the node in time; "
        "empty: cordon and drain, then wait for the platform or the node.",
    )

    def matches(self, signal: Signal) -> bool:
        return signal.kind in self.signals or (signal.condition is not None and signal.condition in self.conditions)


DEFAULT_TRIGGERS: tuple[Trigger, ...] = tuple(
    Trigger.model_validate(raw)
    for raw in (
        {
            "name": "node-down",
            "signals": [
                "HeartbeatStale",
                "ReadyUnknown",
                "NotReady",
                "InstanceStopped",
                "InstanceDeallocated",
                "InstanceFailed",
            ],
            "ladder": ["restart", "reimage", "redeploy", "replace"],
        },
        {"name": "os-disk-full", "signals": ["DiskPressure"], "ladder": ["reimage", "replace"]},
        {
            "name": "node-problem",
            "signals": ["NodeProblem", "NetworkUnavailable", "Flapping"],
            "ladder": ["restart", "reimage", "redeploy", "replace"],
        },
        {"name": "scheduled-maintenance", "signals": ["ScheduledEvent"], "ladder": []},
    )
)


class StepTimeouts(_Schema):
    """How long after a rung succeeded the node has to become healthy before the next rung."""

    restart: Limit = Field(timedelta(minutes=10), description="After a restart of the instance.")
    reimage: Limit = Field(timedelta(minutes=15), description="After a reimage of the instance.")
    redeploy: Limit = Field(timedelta(minutes=20), description="After a redeploy of the instance to another host.")
    replace: Limit = Field(
        timedelta(minutes=30), description="After a replace: the machine deleted, the pool's count put back."
    )

    def of(self, step: Step) -> timedelta:
        return {
            Step.RESTART: self.restart,
            Step.REIMAGE: self.reimage,
            Step.REDEPLOY: self.redeploy,
            Step.REPLACE: self.replace,
        }.get(step, timedelta(0))


class Drain(_Schema):
    """How a node is drained before a disruptive rung: evictions that respect PodDisruptionBudgets."""

    timeout: Duration = Field(timedelta(minutes=5), description="How long the drain may take.")
    grace_period_seconds: int | None = Field(
        None, ge=0, le=MOST_SECONDS, description="Grace period for each eviction; null: each pod's own."
    )
    on_timeout: OnTimeout = Field(
        OnTimeout.HOLD,
        description="hold: the node is held, its blocker named, and the drain retried; "
        "proceed: go on to the rung with the pods that would not leave.",
    )
    force: bool = Field(
        False, description="Delete the pods instead of evicting them: PodDisruptionBudgets are not consulted."
    )


class ZoneBreaker(_Schema):
    """Holds disruptive steps in a zone when a large share of its nodes fails within a window."""

    share: Share = Field(0.5, description="Share of a zone's nodes failing within the window that trips it.")
    window: Limit = Field(timedelta(minutes=10), description="The window the failures are counted in.")


class RatePerHour(_Schema):
    """Destructive steps (drains and rungs) started in the last hour, at most."""

    pool: int = Field(6, ge=0, le=MOST_NODES, description="In one pool.")
    cluster: int = Field(20, ge=0, le=MOST_NODES, description="In the whole cluster.")


class Guards(_Schema):
    """Limits that hold remediation back, so nodewarden never makes an outage worse."""

    max_in_flight: int | None = Field(
        None, ge=1, le=MOST_NODES,
        description="Nodes of a pool in disruptive remediation at once; null: 1, or 10% (rounded down) of a pool "
        f"of {LARGE_POOL} nodes or more.",
    )  # fmt: skip
    max_unhealthy: Share = Field(
        0.4, description="Storm breaker: no disruptive step while more than this share of a pool is unhealthy."
    )
    zone_breaker: ZoneBreaker = Field(default_factory=ZoneBreaker, description="The zone breaker.")
    rate_per_hour: RatePerHour = Field(default_factory=RatePerHour, description="Rate limits per hour.")

    def in_flight_limit(self, pool_size: int) -> int:
        """Nodes of a pool that may be in disruptive remediation at once."""
        if self.max_in_flight is not None:
            return self.max_in_flight
        return max(1, pool_size // 10) if pool_size >= LARGE_POOL else 1


class Compensation(_Schema):
    """Zone compensation: while a zone fails, scale its pools up so the healthy zones carry the load, once."""

    enabled: bool = Field(True, description="Whether to scale pools up while a zone fails.")
    max_extra_nodes: int = Field(3, ge=0, le=MOST_NODES, description="Nodes added to one pool at most.")


class ConfirmOff(_Schema):
    """How a dead node counts as off before it is fenced: ARM reports its instance stopped, deallocated or deleted
    (always); or nodewarden powered it off and ARM confirms (powerOff); or, in a zone reported failing, Azure
    Resource Health has reported its instance Unavailable for zoneUnavailableFor."""

    power_off: bool = Field(
        False,
        description="Let nodewarden power off (skipShutdown) the instance of a node unreachable for spec.fencing.after "
        "while ARM still reports it running, before its first rung; it is fenced once ARM confirms it stopped. "
        "Add Microsoft.Compute/virtualMachineScaleSets/virtualMachines/powerOff/action to the controller's Azure "
        "role (deploy/azure/controller.json) first: it is not there by default.",
    )
    zone_unavailable_for: Limit = Field(
        timedelta(minutes=5),
        description="In a zone detection reports failing, Azure Resource Health reporting a node's instance "
        "Unavailable this long counts as off, even while ARM still reports it running.",
    )


class Fencing(_Schema):
    """Fencing (Kubernetes non-graceful node shutdown): the out-of-service taint on a dead node confirmed off, so its
    StatefulSet pods and Azure Disks are released at once; removed once the node is Ready again or its instance is
    gone. The storm and zone breakers (spec.guards) hold it, except for a node whose zone Azure confirms
    unavailable (confirmOff.zoneUnavailableFor): those nodes do not count toward the storm breaker."""

    enabled: bool = Field(False, description="Whether to fence; false: a hold names the pods fencing would release.")
    after: Limit = Field(
        timedelta(seconds=60), description="How long a node must be down (NotReady, Unknown) before it is fenced."
    )
    confirm_off: ConfirmOff = Field(default_factory=ConfirmOff, description="How a node counts as off.")


class PoolOverride(_Schema):
    """`spec.pools.<name>`: sections that replace the cluster-wide ones for one pool (only keys written)."""

    triggers: tuple[Trigger, ...] | None = Field(None, description="Replaces spec.triggers for this pool.")
    step_timeouts: StepTimeouts | None = Field(None, description="Keys written replace spec.stepTimeouts's.")
    drain: Drain | None = Field(None, description="Keys written replace spec.drain's.")
    guards: Guards | None = Field(None, description="Keys written replace spec.guards's.")
    compensation: Compensation | None = Field(None, description="Keys written replace spec.compensation's.")
    fencing: Fencing | None = Field(None, description="Keys written replace spec.fencing's.")
    paused: bool | None = Field(None, description="true pauses this pool only (spec.paused pauses every pool).")


class Spec(_Schema):
    mode: Mode = Field(
        Mode.DRY_RUN, description="dry-run: plan, journal and report, change nothing; enforce: carry the plan out."
    )
    paused: bool = Field(False, description="true: plan and report, start no step anywhere (a hold on every node).")
    max_data_age: Limit = Field(timedelta(seconds=60), description="Act only on observations younger than this.")
    stable_for: Duration = Field(
        timedelta(seconds=30),
        description="A repaired node stays Ready, with fresh heartbeats, this long before it is uncordoned.",
    )
    auto_repair: AutoRepairMode = Field(
        AutoRepairMode.DEFER,
        description="defer: leave a node AKS's own auto-repair is working on alone; override: remediate it anyway.",
    )
    triggers: tuple[Trigger, ...] = Field(
        DEFAULT_TRIGGERS, description="Which signals open an episode and the ladder it climbs; the first match wins."
    )
    step_timeouts: StepTimeouts = Field(
        default_factory=StepTimeouts,
        description="How long a node has to become healthy after a rung succeeded, before the next rung.",
    )
    drain: Drain = Field(default_factory=Drain, description="How a node is drained before a disruptive rung.")
    guards: Guards = Field(default_factory=Guards, description="Limits that hold remediation back.")
    compensation: Compensation = Field(default_factory=Compensation, description="Zone compensation.")
    fencing: Fencing = Field(
        default_factory=Fencing, description="Opt-in fencing of dead nodes confirmed off (the out-of-service taint)."
    )
    exclusion_label: str = Field(
        "nodewarden.io/exclude", description="Nodes with this label set to true are never remediated."
    )
    pools: dict[str, PoolOverride] = Field(
        default_factory=dict, description="Per-pool overrides, by agent pool name (matched ignoring case)."
    )


class Metadata(_Schema):
    name: str = Field("default", description="Names the policy in logs and `policy check`.")


@dataclass(frozen=True)
class PoolPolicy:
    """The policy as it applies to one pool: cluster-wide sections with that pool's overrides merged in."""

    pool: str | None
    paused: bool
    stable_for: timedelta
    triggers: tuple[Trigger, ...]
    step_timeouts: StepTimeouts
    drain: Drain
    guards: Guards
    compensation: Compensation
    fencing: Fencing

    def trigger_for(self, signals: tuple[Signal, ...]) -> Trigger | None:
        """The first trigger that matches any of `signals`."""
        return next((t for t in self.triggers if any(t.matches(s) for s in signals)), None)


class Policy(_Schema):
    api_version: Literal["nodewarden.io/v1"] = Field(API_VERSION, description="The schema version.")
    kind: Literal["RemediationPolicy"] = Field(KIND, description="What this file is.")
    metadata: Metadata = Field(default_factory=Metadata, description="The policy's name.")
    spec: Spec = Field(default_factory=Spec, description="The policy itself.")

    def for_pool(self, name: str | None) -> PoolPolicy:
        spec = self.spec
        override = _pool_override(spec.pools, name)
        return PoolPolicy(
            pool=name,
            paused=spec.paused or bool(override.paused),
            stable_for=spec.stable_for,
            triggers=override.triggers if override.triggers is not None else spec.triggers,
            step_timeouts=_overlay(spec.step_timeouts, override.step_timeouts),
            drain=_overlay(spec.drain, override.drain),
            guards=_overlay(spec.guards, override.guards),
            compensation=_overlay(spec.compensation, override.compensation),
            fencing=_overlay(spec.fencing, override.fencing),
        )


def _pool_override(pools: dict[str, PoolOverride], name: str | None) -> PoolOverride:
    if name is not None:
        for key, override in pools.items():
            if key.lower() == name.lower():
                return override
    return PoolOverride()


_M = TypeVar("_M", bound=BaseModel)


def _overlay(base: _M, top: _M | None) -> _M:
    """`base` with the fields the user wrote in `top` (recursively) replacing its own."""
    if top is None:
        return base
    update: dict[str, Any] = {}
    for name in top.model_fields_set:
        value, current = getattr(top, name), getattr(base, name)
        both_models = isinstance(value, BaseModel) and isinstance(current, BaseModel)
        update[name] = _overlay(current, value) if both_models else value
    return base.model_copy(update=update)


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; every problem raises PolicyError naming the file and field."""
    text = read_config_text(path, PolicyError)
    return parse_policy(text, source=str(path))


def parse_policy(text: str, *, source: str) -> Policy:
    return parse_yaml_model(text, source=source, model=Policy, error=PolicyError, what=f"a {KIND} mapping")


def default_policy() -> Policy:
    """The built-in policy, from the packaged `default-policy.yaml`."""
    text = resources.files("nodewarden.heal.data").joinpath(DEFAULT_POLICY_FILE).read_text(encoding="utf-8")
    return parse_policy(text, source=f"nodewarden/heal/data/{DEFAULT_POLICY_FILE}")


def render_policy(policy: Policy) -> str:
    """The policy as YAML: every cluster-wide value, and for each pool only what it overrides."""
    data = policy.model_dump(mode="json", by_alias=True, exclude={"spec": {"pools"}})
    data["spec"]["pools"] = {
        name: override.model_dump(mode="json", by_alias=True, exclude_unset=True)
        for name, override in policy.spec.pools.items()
    }
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)

"""Ranges on every duration, count and share of the policy, and a planner that cannot overflow inside them.

Issue 17: `spec: {stableFor: 999999999999}` passed `policy check`, then the controller crashed mid-repair on
`settled + stableFor` (OverflowError: date value out of range) and left the node cordoned; a few more digits
made `policy check` itself exit 3. `policy check` and `run` read the file through the one model
(`heal/policy.py`), so a value it accepts is a value the planner can plan with.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nodewarden.heal import durations, plan
from nodewarden.heal.policy import EARLIEST, LATEST, LONGEST, Policy, PolicyError, parse_policy
from nodewarden.model.health import Detection, HealthState, SignalKind
from nodewarden.model.remediation import History, Outcome, Step
from nodewarden.model.snapshot import Snapshot
from tests.conftest import Invoke
from tests.heal import builders as b
from tests.strategies import HOSTILE_SCALARS

HEADER = "apiVersion: nodewarden.io/v1\nkind: RemediationPolicy\n"
WEEK = int(LONGEST.total_seconds())


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


OUT_OF_RANGE = [
    pytest.param("spec: {stableFor: 999999999999}", "spec.stableFor", id="stableFor-past-date-arithmetic"),
    pytest.param("spec: {stableFor: 99999999999999999}", "spec.stableFor", id="stableFor-past-timedelta"),
    pytest.param(f"spec: {{stableFor: {WEEK + 1}}}", "spec.stableFor", id="stableFor-a-week-and-a-second"),
    pytest.param("spec: {stableFor: '9999999999h'}", "spec.stableFor", id="stableFor-hours"),
    pytest.param(f"spec: {{stableFor: '{'9' * 5000}'}}", "spec.stableFor", id="stableFor-5000-digits"),
    pytest.param("spec: {maxDataAge: 0s}", "spec.maxDataAge", id="maxDataAge-zero"),
    pytest.param("spec: {maxDataAge: 8760h}", "spec.maxDataAge", id="maxDataAge-a-year"),
    pytest.param("spec: {triggers: [{name: t, after: 200h}]}", "spec.triggers[0].after", id="trigger-after"),
    pytest.param("spec: {stepTimeouts: {restart: 0s}}", "spec.stepTimeouts.restart", id="restart-zero"),
    pytest.param("spec: {stepTimeouts: {replace: 999999h}}", "spec.stepTimeouts.replace", id="replace-huge"),
    pytest.param("spec: {drain: {timeout: 9999999999}}", "spec.drain.timeout", id="drain-timeout"),
    pytest.param("spec: {drain: {gracePeriodSeconds: 99999999999}}", "spec.drain.gracePeriodSeconds", id="grace"),
    pytest.param("spec: {drain: {gracePeriodSeconds: -1}}", "spec.drain.gracePeriodSeconds", id="grace-negative"),
    pytest.param("spec: {guards: {zoneBreaker: {window: 0s}}}", "spec.guards.zoneBreaker.window", id="window-zero"),
    pytest.param("spec: {guards: {zoneBreaker: {window: 9999h}}}", "spec.guards.zoneBreaker.window", id="window"),
    pytest.param("spec: {guards: {zoneBreaker: {share: 150%}}}", "spec.guards.zoneBreaker.share", id="share"),
    pytest.param("spec: {guards: {maxUnhealthy: -0.1}}", "spec.guards.maxUnhealthy", id="maxUnhealthy"),
    pytest.param(f"spec: {{guards: {{maxUnhealthy: {10**400}}}}}", "spec.guards.maxUnhealthy", id="share-huge-int"),
    pytest.param("spec: {guards: {maxInFlight: 0}}", "spec.guards.maxInFlight", id="maxInFlight-zero"),
    pytest.param("spec: {guards: {maxInFlight: 1000000}}", "spec.guards.maxInFlight", id="maxInFlight-huge"),
    pytest.param("spec: {guards: {ratePerHour: {pool: 99999999}}}", "spec.guards.ratePerHour.pool", id="rate"),
    pytest.param("spec: {guards: {ratePerHour: {cluster: -1}}}", "spec.guards.ratePerHour.cluster", id="rate-neg"),
    pytest.param("spec: {compensation: {maxExtraNodes: 99999}}", "spec.compensation.maxExtraNodes", id="extra"),
    pytest.param(
        "spec: {pools: {gpu: {stepTimeouts: {reimage: 999999999999}}}}",
        "spec.pools.gpu.stepTimeouts.reimage",
        id="pool-override",
    ),
]


@pytest.mark.parametrize(("body", "field"), OUT_OF_RANGE)
def test_a_value_out_of_range_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, invoke: Invoke, body: str, field: str
) -> None:
    path = write(tmp_path, body + "\n")
    checked = invoke("policy", "check", str(path))
    assert checked.code == 2, checked.err
    lines = checked.err.strip().splitlines()
    assert len(lines) == 1, checked.err
    assert lines[0].startswith(f"nodewarden: {path}: {field}: "), lines[0]
    assert len(lines[0]) < 400  # a 5,000-digit value is not repeated whole
    with pytest.raises(PolicyError):  # `run` reads the file through the same model
        parse_policy(HEADER + body, source=str(path))


def test_the_bounds_themselves_are_accepted(tmp_path: Path, invoke: Invoke) -> None:
    body = (
        f"spec:\n  stableFor: {WEEK}\n  maxDataAge: 1s\n  drain: {{timeout: 0s, gracePeriodSeconds: {WEEK}}}\n"
        "  stepTimeouts: {restart: 1s, replace: 168h}\n  guards: {maxInFlight: 5000, maxUnhealthy: 0%,\n"
        "    zoneBreaker: {share: 100%, window: 168h}, ratePerHour: {pool: 0, cluster: 5000}}\n"
        "  compensation: {maxExtraNodes: 5000}\n"
    )
    checked = invoke("policy", "check", str(write(tmp_path, body)))
    assert checked.code == 0, checked.err
    policy = parse_policy(HEADER + body, source="policy.yaml")
    assert policy.spec.stable_for == LONGEST
    assert policy.spec.step_timeouts.replace == LONGEST


def test_the_message_says_the_range_in_the_files_own_spelling(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(HEADER + "spec: {stableFor: 999999999999}\n", source="p.yaml")
    assert str(raised.value) == "p.yaml: spec.stableFor: expected a duration from 0s to 168h, found 277777777h46m39s"


# -- the planner, at the edges of time the ranges allow ------------------------------------------------------

SECONDS = st.integers(0, WEEK)


def _duration(seconds: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    return seconds.map(lambda s: durations.format_duration(timedelta(seconds=s)))


@st.composite
def extreme_policies(draw: st.DrawFn) -> Policy:
    """Any policy `policy check` accepts, its durations and counts drawn up to their bounds."""
    limit = _duration(st.integers(1, WEEK))
    spec = {
        "mode": "enforce",
        "stableFor": draw(_duration(SECONDS)),
        "maxDataAge": draw(limit),
        "triggers": [
            {
                "name": "down",
                "signals": ["HeartbeatStale", "NotReady"],
                "after": draw(_duration(SECONDS)),
                "ladder": ["restart", "reimage", "redeploy", "replace"],
            },
        ],
        "stepTimeouts": {step: draw(limit) for step in ("restart", "reimage", "redeploy", "replace")},
        "drain": {"timeout": draw(_duration(SECONDS)), "gracePeriodSeconds": draw(st.none() | st.integers(0, WEEK))},
        "guards": {
            "maxInFlight": draw(st.none() | st.integers(1, 5000)),
            "maxUnhealthy": draw(st.floats(0, 1)),
            "zoneBreaker": {"share": draw(st.floats(0, 1)), "window": draw(limit)},
            "ratePerHour": {"pool": draw(st.integers(0, 5000)), "cluster": draw(st.integers(0, 5000))},
        },
        "compensation": {"maxExtraNodes": draw(st.integers(0, 5000))},
    }
    return Policy.model_validate({"apiVersion": "nodewarden.io/v1", "kind": "RemediationPolicy", "spec": spec})


def _world(now: datetime, *, ago: timedelta) -> tuple[Snapshot, Detection, History]:
    """Three nodes: one repaired and Ready (waiting out stableFor), one down, one healthy; `ago` back in time."""
    nodes = [b.node("apps", i, zone=f"eastus-{i + 1}") for i in range(3)]
    since = now - min(ago, timedelta(minutes=2))
    healths = (
        b.health(nodes[0], HealthState.HEALTHY, ready=True, since=since),
        b.health(nodes[1], HealthState.UNHEALTHY, SignalKind.HEARTBEAT_STALE, ready=False, since=since),
        b.health(nodes[2], HealthState.HEALTHY, since=since),
    )
    steps = (Step.CORDON, Step.DRAIN, (Step.RESTART, Outcome.SUCCEEDED))
    repaired = b.episode(nodes[0], *steps, start=now - ago, gap=ago / 4)
    pending = b.episode(nodes[1], Step.CORDON, (Step.DRAIN, Outcome.FAILED), start=now - ago, gap=ago / 4)
    snapshot = Snapshot(
        cluster=b.cluster(),
        pools=(b.pool("apps", 3),),
        nodes=tuple(nodes),
        instances=tuple(b.instance("apps", i) for i in range(3)),
    )
    signals = tuple(s for h in healths for s in h.signals)
    detection = Detection(now=now, signals=signals, health={h.node: h for h in healths})
    return snapshot, detection, History(episodes=(repaired, pending))


EDGES = st.one_of(
    st.integers(0, 3600).map(lambda s: LATEST - timedelta(seconds=s)),
    st.integers(0, 3600).map(lambda s: EARLIEST + timedelta(seconds=s)),
)


@settings(max_examples=150)
@given(policy=extreme_policies(), now=EDGES, ago=st.integers(1, WEEK).map(lambda s: timedelta(seconds=s)))
def test_any_policy_check_accepts_can_be_planned_with_at_the_edges_of_time(
    policy: Policy, now: datetime, ago: timedelta
) -> None:
    snapshot, detection, history = _world(now, ago=ago)
    plan(snapshot, detection, history, policy, now, synced=True, observed_at=now)  # never raises


def test_the_longest_stable_for_at_the_latest_instant_plans_an_uncordon_wait() -> None:
    """The story of issue 17's crash, at its worst within the ranges: `settled + stableFor` at the end of time."""
    policy = Policy.model_validate({"spec": {"mode": "enforce", "stableFor": "168h"}})
    snapshot, detection, history = _world(LATEST, ago=timedelta(minutes=5))
    result = plan(snapshot, detection, history, policy, LATEST, synced=True, observed_at=LATEST)
    assert all(action.step is not Step.UNCORDON for action in result.actions)


# -- any value in any field: a policy or a field error, nothing else ------------------------------------------

FIELDS = (
    ("stableFor",), ("maxDataAge",), ("stepTimeouts", "restart"), ("stepTimeouts", "replace"), ("drain", "timeout"),
    ("drain", "gracePeriodSeconds"), ("guards", "maxInFlight"), ("guards", "maxUnhealthy"),
    ("guards", "zoneBreaker", "share"), ("guards", "zoneBreaker", "window"), ("guards", "ratePerHour", "pool"),
    ("compensation", "maxExtraNodes"),
)  # fmt: skip


@given(path=st.sampled_from(FIELDS), value=HOSTILE_SCALARS)
def test_any_value_in_any_field_is_a_policy_or_a_policy_error(path: tuple[str, ...], value: object) -> None:
    spec = value
    for key in reversed(path):
        spec = {key: spec}
    try:
        policy = Policy.model_validate({"spec": spec})
    except ValidationError:
        return
    snapshot, detection, history = _world(LATEST, ago=timedelta(minutes=5))
    plan(snapshot, detection, history, policy, LATEST, synced=True, observed_at=LATEST)

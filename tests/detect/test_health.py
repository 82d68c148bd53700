"""The per-node health state machine, one test per transition."""

from __future__ import annotations

from datetime import datetime

from nodewarden.detect import DetectSettings, detect
from nodewarden.model.health import HealthState, NodeHealth
from nodewarden.model.snapshot import Snapshot
from tests.detect.builders import T0, at, lease, node, node_name

SETTINGS = DetectSettings()
NAME = node_name("user", 0)


def healthy() -> Snapshot:
    return Snapshot(nodes=(node(),), leases=(lease(NAME, at(-5)),))


def crashed(last_renewal: datetime) -> Snapshot:
    return Snapshot(nodes=(node(),), leases=(lease(NAME, last_renewal),))


def step(
    snapshot: Snapshot,
    previous: dict[str, NodeHealth],
    now: datetime,
    *,
    remediating: frozenset[str] = frozenset(),
    failed: frozenset[str] = frozenset(),
) -> NodeHealth:
    """One detection cycle; `previous` is updated in place to the new health."""
    detection = detect(snapshot, previous, now, SETTINGS, remediating=remediating, failed=failed)
    previous.clear()
    previous.update(detection.health)
    return detection.health[NAME]


def test_a_crash_is_suspect_when_the_lease_goes_stale_and_unhealthy_ten_seconds_later() -> None:
    history: dict[str, NodeHealth] = {}
    assert step(healthy(), history, T0).state is HealthState.HEALTHY
    assert step(crashed(T0), history, at(21)).state is HealthState.SUSPECT
    assert step(crashed(T0), history, at(29)).state is HealthState.SUSPECT
    unhealthy = step(crashed(T0), history, at(30))
    assert unhealthy.state is HealthState.UNHEALTHY
    assert unhealthy.since == at(30)
    assert unhealthy.problem_since == T0


def test_suspect_goes_back_to_healthy_when_the_problem_goes() -> None:
    history: dict[str, NodeHealth] = {}
    assert step(crashed(T0), history, at(21)).state is HealthState.SUSPECT
    back = step(Snapshot(nodes=(node(),), leases=(lease(NAME, at(25)),)), history, at(26))
    assert back.state is HealthState.HEALTHY
    assert back.problem_since is None
    assert back.signals == ()


def test_any_state_becomes_remediating_when_the_journal_says_so() -> None:
    history: dict[str, NodeHealth] = {}
    assert step(healthy(), history, T0, remediating=frozenset({NAME})).state is HealthState.REMEDIATING


def test_failed_wins_over_remediating() -> None:
    history: dict[str, NodeHealth] = {}
    both = frozenset({NAME})
    assert step(crashed(T0), history, at(60), remediating=both, failed=both).state is HealthState.FAILED


def test_remediation_that_ends_without_problems_is_recovered_then_healthy_once_stable() -> None:
    history: dict[str, NodeHealth] = {}
    step(crashed(T0), history, at(60), remediating=frozenset({NAME}))
    recovered = step(healthy_at(120), history, at(120))
    assert recovered.state is HealthState.RECOVERED
    assert step(healthy_at(400), history, at(400)).state is HealthState.RECOVERED
    assert step(healthy_at(420), history, at(420)).state is HealthState.HEALTHY


def test_remediation_that_ends_with_the_problem_still_there_is_unhealthy() -> None:
    history: dict[str, NodeHealth] = {}
    step(crashed(T0), history, at(60), remediating=frozenset({NAME}))
    assert step(crashed(T0), history, at(120)).state is HealthState.UNHEALTHY


def test_a_problem_while_recovered_is_suspect_again() -> None:
    history: dict[str, NodeHealth] = {}
    step(crashed(T0), history, at(60), remediating=frozenset({NAME}))
    step(healthy_at(120), history, at(120))
    assert step(crashed(at(119)), history, at(141)).state is HealthState.SUSPECT


def test_unhealthy_stays_unhealthy_while_any_problem_remains() -> None:
    history: dict[str, NodeHealth] = {}
    step(crashed(T0), history, at(60))
    fresh = Snapshot(nodes=(node(conditions={"MemoryPressure": ("True", at(59))}),), leases=(lease(NAME, at(60)),))
    still = step(fresh, history, at(61))
    assert still.state is HealthState.UNHEALTHY
    assert still.problem_since == T0


def test_pressure_must_last_five_minutes_before_unhealthy() -> None:
    history: dict[str, NodeHealth] = {}
    pressured = Snapshot(nodes=(node(conditions={"DiskPressure": ("True", T0)}),))
    assert step(pressured, history, at(299)).state is HealthState.SUSPECT
    assert step(pressured, history, at(300)).state is HealthState.UNHEALTHY


def test_a_node_that_disappears_drops_out() -> None:
    history: dict[str, NodeHealth] = {}
    step(healthy(), history, T0)
    assert detect(Snapshot(), history, at(10), SETTINGS).health == {}


def healthy_at(seconds: float) -> Snapshot:
    return Snapshot(nodes=(node(),), leases=(lease(NAME, at(seconds - 1)),))

"""Kubernetes-side signals: the Lease, node conditions and Ready flapping."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from nodewarden.detect import DetectSettings, detect
from nodewarden.model.health import NodeHealth, Scope, SignalKind
from nodewarden.model.kube import NodeStatus
from nodewarden.model.snapshot import Snapshot
from tests.detect.builders import T0, at, lease, node, node_name

SETTINGS = DetectSettings()
NAME = node_name("user", 0)


def kinds(snapshot: Snapshot, now_seconds: float = 0) -> set[SignalKind]:
    return {s.kind for s in detect(snapshot, {}, at(now_seconds), SETTINGS).signals}


def test_stale_lease_raises_heartbeat_stale_since_the_last_renewal() -> None:
    snapshot = Snapshot(nodes=(node(),), leases=(lease(NAME, at(-25)),))
    [signal] = detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.HEARTBEAT_STALE)
    assert signal.since == at(-25)
    assert signal.scope is Scope.NODE
    assert (signal.node, signal.pool, signal.zone) == (NAME, "user", "eastus-1")
    assert signal.instance == "aks-user-12345678-vmss/0"
    assert signal.image == "AKSUbuntu-2204gen2containerd-202611.01.0"
    assert "renewTime" in signal.evidence[0]


@pytest.mark.parametrize("age", [0, 10, 20])
def test_fresh_lease_raises_nothing(age: int) -> None:
    assert kinds(Snapshot(nodes=(node(),), leases=(lease(NAME, at(-age)),))) == set()


def test_lease_renewed_in_the_future_is_not_judged() -> None:
    assert kinds(Snapshot(nodes=(node(),), leases=(lease(NAME, at(300)),))) == set()


def test_node_without_a_lease_has_no_heartbeat_signal() -> None:
    assert kinds(Snapshot(nodes=(node(),))) == set()


@pytest.mark.parametrize(("status", "kind"), [("False", SignalKind.NOT_READY), ("Unknown", SignalKind.READY_UNKNOWN)])
def test_ready_false_or_unknown_is_signalled_from_its_transition_time(status: str, kind: SignalKind) -> None:
    snapshot = Snapshot(nodes=(node(ready=status, ready_since=at(-40)),))
    [signal] = detect(snapshot, {}, T0, SETTINGS).of_kind(kind)
    assert signal.since == at(-40)
    assert signal.condition == "Ready"


@pytest.mark.parametrize(
    ("condition", "kind"),
    [
        ("MemoryPressure", SignalKind.MEMORY_PRESSURE),
        ("DiskPressure", SignalKind.DISK_PRESSURE),
        ("PIDPressure", SignalKind.PID_PRESSURE),
        ("NetworkUnavailable", SignalKind.NETWORK_UNAVAILABLE),
        ("KernelDeadlock", SignalKind.NODE_PROBLEM),
        ("ReadonlyFilesystem", SignalKind.NODE_PROBLEM),
        ("GPUMissing", SignalKind.NODE_PROBLEM),
    ],
)
def test_true_problem_conditions_are_signalled_and_false_ones_are_not(condition: str, kind: SignalKind) -> None:
    bad = Snapshot(nodes=(node(conditions={condition: ("True", at(-5))}),))
    [signal] = detect(bad, {}, T0, SETTINGS).of_kind(kind)
    assert signal.condition == condition
    assert signal.since == at(-5)
    assert kinds(Snapshot(nodes=(node(conditions={condition: ("False", at(-5))}),))) == set()


def test_conditions_outside_the_npd_list_are_ignored() -> None:
    assert kinds(Snapshot(nodes=(node(conditions={"SomethingVendorSpecific": ("True", at(-5))}),))) == set()


def test_ready_changing_four_times_in_ten_minutes_is_flapping() -> None:
    health: dict[str, NodeHealth] = {}
    statuses = ["True", "False", "True", "False", "True"]
    detection = None
    for step, status in enumerate(statuses):
        snapshot = Snapshot(nodes=(node(ready=status, ready_since=at(step * 60)),))
        detection = detect(snapshot, health, at(step * 60), SETTINGS)
        health = detection.health
    assert detection is not None
    assert len(detection.health[NAME].ready_flips) == 4
    [signal] = detection.of_kind(SignalKind.FLAPPING)
    assert signal.since == at(60)


def test_three_flips_or_old_flips_are_not_flapping() -> None:
    health: dict[str, NodeHealth] = {}
    detection = None
    # three flips a minute apart, then a long quiet spell: they age out of the window
    for seconds, status in [(0, "True"), (60, "False"), (120, "True"), (180, "False"), (900, "False")]:
        detection = detect(Snapshot(nodes=(node(ready=status),)), health, at(seconds), SETTINGS)
        health = detection.health
        assert not detection.of_kind(SignalKind.FLAPPING)
    assert detection is not None
    assert detection.health[NAME].ready_flips == ()


def test_zone_label_zero_means_no_zone() -> None:
    snapshot = Snapshot(nodes=(node(zone="0", ready="False", ready_since=at(-5)),))
    detection = detect(snapshot, {}, T0, SETTINGS)
    assert detection.health[NAME].zone is None
    assert detection.of_kind(SignalKind.NOT_READY)[0].zone is None


def test_unparseable_transition_time_counts_from_first_sight() -> None:
    broken = node(ready="False")
    conditions = broken.status.conditions if broken.status else None
    assert conditions is not None
    bad = replace(broken, status=NodeStatus(conditions=[replace(conditions[0], last_transition_time="yesterday")]))
    first = detect(Snapshot(nodes=(bad,)), {}, T0, SETTINGS)
    assert first.of_kind(SignalKind.NOT_READY)[0].since == T0
    later = detect(Snapshot(nodes=(bad,)), first.health, T0 + timedelta(seconds=30), SETTINGS)
    assert later.of_kind(SignalKind.NOT_READY)[0].since == T0

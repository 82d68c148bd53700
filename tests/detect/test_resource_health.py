"""The ResourceHealth signal: Azure's platform-initiated Unavailable or Degraded on a node's instance, with why."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from nodewarden.detect import DetectSettings, detect
from nodewarden.model.azure import AvailabilityStatus
from nodewarden.model.health import HealthState, SignalKind
from nodewarden.model.snapshot import Snapshot
from tests.detect.builders import T0, at, instance, iso, node, node_name, vm_id

SETTINGS = DetectSettings()
VMSS = "aks-user-12345678-vmss"


def status(state: str, *, reason: str | None, context: str, index: int = 0) -> AvailabilityStatus:
    return AvailabilityStatus(
        id=f"{vm_id(VMSS, index)}/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
        availability_state=state,
        reason_type=reason,
        context=context,
        occured_time=iso(at(-120)),
        summary="We're sorry, your virtual machine is unavailable.",
    )


@dataclass(frozen=True)
class Case:
    desc: str
    state: str
    reason: str | None
    context: str
    condition: str | None  # the signal's condition, None: no signal


CASES = [
    Case("a host failure", "Unavailable", "Unplanned", "Platform Initiated", "Unavailable/Unplanned"),
    Case("planned maintenance", "Unavailable", "Planned", "Platform Initiated", "Unavailable/Planned"),
    Case("a freeze", "Degraded", "Planned", "Platform Initiated", "Degraded/Planned"),
    Case("a user's deallocation is InstanceDeallocated's", "Unavailable", "UserInitiated", "Customer Initiated", None),
    Case("available says nothing new", "Available", None, "Unknown", None),
]


@pytest.mark.parametrize("case", CASES, ids=[case.desc for case in CASES])
def test_platform_initiated_unavailability_is_a_signal_on_the_node(case: Case) -> None:
    snapshot = Snapshot(
        nodes=(node("user", 0, ready="Unknown"),),
        instances=(instance("user", 0),),
        availability=(status(case.state, reason=case.reason, context=case.context),),
    )
    found = detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.RESOURCE_HEALTH)
    if case.condition is None:
        assert found == (), case.desc
        return
    [signal] = found
    assert (signal.node, signal.condition, signal.since) == (node_name("user", 0), case.condition, at(-120))
    assert (case.reason or "") in signal.message
    assert "Platform Initiated" in signal.message
    assert signal.evidence[0].startswith(f"Resource Health of instance {VMSS}/0: {case.state}, reasonType")


def test_the_signal_is_evidence_and_does_not_make_a_ready_node_unhealthy() -> None:
    snapshot = Snapshot(
        nodes=(node("user", 0),),
        instances=(instance("user", 0),),
        availability=(status("Degraded", reason="Planned", context="Platform Initiated"),),
    )
    detection = detect(snapshot, {}, T0, SETTINGS)
    assert len(detection.of_kind(SignalKind.RESOURCE_HEALTH)) == 1
    assert detection.health[node_name("user", 0)].state is HealthState.HEALTHY


def test_a_status_for_an_instance_without_a_node_is_not_pinned_on_another() -> None:
    snapshot = Snapshot(
        nodes=(node("user", 0, ready="Unknown"),),
        instances=(instance("user", 0), instance("user", 5)),
        availability=(status("Unavailable", reason="Unplanned", context="Platform Initiated", index=5),),
    )
    assert detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.RESOURCE_HEALTH) == ()

"""Azure-side signals: each node's instance, instances with no node, and Scheduled Events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nodewarden.detect import DetectSettings, detect
from nodewarden.model.health import HealthState, Scope, SignalKind
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot
from tests.detect.builders import T0, at, instance, node, node_name, scale_set, scheduled_event

SETTINGS = DetectSettings()
NAME = node_name("user", 0)


@pytest.mark.parametrize(
    ("power", "kind"),
    [("stopped", SignalKind.INSTANCE_STOPPED), ("deallocated", SignalKind.INSTANCE_DEALLOCATED)],
)
def test_stopped_or_deallocated_instance_is_signalled_on_its_node(power: str, kind: SignalKind) -> None:
    snapshot = Snapshot(nodes=(node(),), instances=(instance(power=power),))
    [signal] = detect(snapshot, {}, T0, SETTINGS).of_kind(kind)
    assert signal.node == NAME
    assert signal.instance == "aks-user-12345678-vmss/0"


def test_running_instance_raises_nothing() -> None:
    snapshot = Snapshot(nodes=(node(),), instances=(instance(),), scale_sets=(scale_set(),))
    assert detect(snapshot, {}, T0, SETTINGS).signals == ()


@pytest.mark.parametrize(
    ("power", "agent", "signalled"),
    [
        pytest.param("running", "Not Ready", True, id="running-with-its-agent-silent"),
        pytest.param("running", "Ready", False, id="running-with-its-agent-ready"),
        pytest.param("running", None, False, id="no-agent-status-in-the-view"),
        pytest.param("stopped", "Not Ready", False, id="stopped-so-of-course-silent"),
    ],
)
def test_a_running_vm_whose_agent_stopped_reporting_ready_is_evidence_not_a_problem(
    power: str, agent: str | None, signalled: bool
) -> None:
    """A crashed guest stops its VM agent too, a hung kubelet does not: the fact is logged for the ranking,
    and alone it moves no node out of Healthy."""
    snapshot = Snapshot(nodes=(node(),), instances=(instance(power=power, agent=agent),))
    detection = detect(snapshot, {}, T0, SETTINGS)
    found = detection.of_kind(SignalKind.VM_AGENT_UNRESPONSIVE)
    assert [s.node for s in found] == ([NAME] if signalled else [])
    assert all(not s.is_problem for s in found)
    if power == "running":
        assert detection.health[NAME].state is HealthState.HEALTHY


def test_evidence_keeps_its_onset_from_cycle_to_cycle() -> None:
    """A silent VM agent is evidence, not a problem: it started again each cycle, so a zone-outage incident
    recorded 126 VMAgentUnresponsive signals per node instead of one."""
    snapshot = Snapshot(nodes=(node(),), instances=(instance(agent="Not Ready"),))
    first = detect(snapshot, {}, T0, SETTINGS)
    later = detect(snapshot, first.health, at(30), SETTINGS)
    [again] = later.of_kind(SignalKind.VM_AGENT_UNRESPONSIVE)
    assert again.since == T0
    cleared = detect(Snapshot(nodes=(node(),), instances=(instance(),)), later.health, at(60), SETTINGS)
    back = detect(snapshot, cleared.health, at(90), SETTINGS)
    assert back.of_kind(SignalKind.VM_AGENT_UNRESPONSIVE)[0].since == at(90), "a new bout starts anew"


def test_failed_provisioning_is_signalled_from_its_status_time() -> None:
    snapshot = Snapshot(
        nodes=(node(),), instances=(instance(provisioning="failed/OSProvisioningTimedOut", provisioned_at=at(-90)),)
    )
    [signal] = detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.INSTANCE_FAILED)
    assert signal.since == at(-90)
    assert "OSProvisioningTimedOut" in signal.evidence[0]


def test_node_maps_to_its_instance_by_computer_name_without_a_provider_id() -> None:
    snapshot = Snapshot(nodes=(node(provider_id=None),), instances=(instance(power="stopped"),))
    detection = detect(snapshot, {}, T0, SETTINGS)
    assert detection.of_kind(SignalKind.INSTANCE_STOPPED)[0].node == NAME
    assert detection.health[NAME].instance == "aks-user-12345678-vmss/0"
    assert not detection.of_kind(SignalKind.NOT_REGISTERED)


def test_node_whose_instance_is_gone_from_a_listed_scale_set_is_instance_missing() -> None:
    snapshot = Snapshot(nodes=(node(instance_id=0),), instances=(instance(instance_id=1),))
    [signal] = detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.INSTANCE_MISSING)
    assert signal.node == NAME


def test_instance_missing_also_when_the_scale_set_was_listed_empty() -> None:
    snapshot = Snapshot(inputs=frozenset({Input.INSTANCES}), nodes=(node(),), scale_sets=(scale_set(),))
    assert detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.INSTANCE_MISSING)


def test_no_instance_missing_when_instances_were_not_observed() -> None:
    snapshot = Snapshot(nodes=(node(),), scale_sets=(scale_set(),))
    assert not detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.INSTANCE_MISSING)


def test_running_instance_without_a_node_past_the_startup_timeout_is_not_registered() -> None:
    snapshot = Snapshot(
        nodes=(node(instance_id=0),),
        instances=(instance(instance_id=0), instance(instance_id=7, provisioned_at=at(-601))),
        scale_sets=(scale_set(),),
    )
    [signal] = detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.NOT_REGISTERED)
    assert signal.scope is Scope.INSTANCE
    assert signal.subject == "aks-user-12345678-vmss/7"
    assert signal.node is None
    assert (signal.pool, signal.zone) == ("user", "eastus-1")
    assert signal.since == at(-601)


def test_instance_within_the_startup_timeout_is_not_yet_unregistered() -> None:
    snapshot = Snapshot(nodes=(node(instance_id=0),), instances=(instance(instance_id=7, provisioned_at=at(-599)),))
    assert not detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.NOT_REGISTERED)


def test_without_a_node_list_no_instance_is_called_unregistered() -> None:
    snapshot = Snapshot(instances=(instance(instance_id=7, provisioned_at=at(-3600)),))
    assert not detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.NOT_REGISTERED)


@pytest.mark.parametrize("resource", ["aks-user-12345678-vmss_0", NAME])
def test_scheduled_event_naming_the_vm_or_the_node_is_signalled_with_its_deadline(resource: str) -> None:
    snapshot = Snapshot(nodes=(node(),), scheduled_events=(scheduled_event(resource, kind="Redeploy"),))
    [signal] = detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.SCHEDULED_EVENT)
    assert signal.node == NAME
    assert signal.condition == "Redeploy"
    assert signal.value == timedelta(minutes=15).total_seconds()
    assert "NotBefore" in signal.evidence[0]


def test_scheduled_event_for_another_vm_is_ignored() -> None:
    snapshot = Snapshot(nodes=(node(),), scheduled_events=(scheduled_event("someone-else_3"),))
    assert not detect(snapshot, {}, T0, SETTINGS).signals

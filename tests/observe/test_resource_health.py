"""Resource Health in the observation: which instances are read, the SDK reader against the twin over HTTPS, and
the live observer carrying the statuses into the Snapshot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nodewarden.connection import Connection, connect
from nodewarden.model.azure import AvailabilityStatus
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot
from nodewarden.observe import resource_health
from nodewarden.runtime.observer import observe_once
from nodewarden.twin.service import Twin
from tests.detect.builders import instance, node, vm_id


def test_only_instances_under_nodes_not_ready_or_without_a_node_are_read() -> None:
    snapshot = Snapshot(
        nodes=(node("user", 0), node("user", 1, ready="Unknown"), node("user", 2, ready="False")),
        instances=tuple(instance("user", index) for index in range(4)),
    )
    vmss = "aks-user-12345678-vmss"
    assert resource_health.instances_to_read(snapshot) == [vm_id(vmss, 1), vm_id(vmss, 2), vm_id(vmss, 3)]
    reads, kept = resource_health.next_reads(snapshot, (), most=1)
    assert (reads, kept) == ([vm_id(vmss, 1)], ())


def test_past_the_cap_the_unread_come_first_then_the_oldest_and_the_rest_are_carried() -> None:
    snapshot = Snapshot(
        nodes=tuple(node("user", i, ready="Unknown") for i in range(4)),
        instances=tuple(instance("user", i) for i in range(4)),
    )
    vmss = "aks-user-12345678-vmss"

    def read_at(index: int, when: str) -> AvailabilityStatus:
        return AvailabilityStatus(
            id=f"{vm_id(vmss, index)}/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
            availability_state="Unavailable",
            reported_time=when,
        )

    old, older, gone = read_at(0, "2026-11-26T08:01:00Z"), read_at(1, "2026-11-26T08:00:00Z"), read_at(9, "")
    reads, kept = resource_health.next_reads(snapshot, (old, older, gone), most=3)
    assert reads == [vm_id(vmss, 2), vm_id(vmss, 3), vm_id(vmss, 1)]  # never read, then the oldest
    assert kept == (old,)  # instance 9 is no longer wanted


def test_a_healthy_fleet_needs_no_call() -> None:
    snapshot = Snapshot(nodes=(node("user", 0),), instances=(instance("user", 0),))
    assert resource_health.instances_to_read(snapshot) == []


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin("small", advance_on_poll=30) as running:
        yield running


@pytest.fixture
def connection(twin: Twin) -> Connection:
    return connect(twin=twin.state_dir)


def test_the_reader_gets_each_status_through_the_sdk_and_notes_one_it_cannot_read(
    twin: Twin, connection: Connection
) -> None:
    assert connection.azure is not None
    crashed = twin.azure.instances("apps")[0]
    twin.azure.crash(crashed)
    ids = [twin.azure.scope.vm_id(crashed.pool.vmss_name, crashed.instance_id)]
    ids.append(ids[0].rsplit("/", 1)[0] + "/999")  # no such instance: a 404 for that one alone
    documents, notes = resource_health.read_availability(connection.azure, ids)
    assert [d["properties"]["availabilityState"] for d in documents] == ["Unavailable"]
    assert documents[0]["properties"]["reasonType"] == "Unplanned"
    assert documents[0]["properties"]["occuredTime"]
    assert len(notes) == 1
    assert "not read" in notes[0]
    assert "/999" in notes[0]


def test_the_live_observation_holds_resource_health_for_the_crashed_node_only(
    twin: Twin, connection: Connection
) -> None:
    crashed = twin.azure.instances("apps")[1]
    twin.inject("instance-crash", target=crashed.computer_name)
    twin.advance(60)  # past node-monitor-grace-period: the node is no longer Ready
    observation = observe_once(connection, twin.now())
    snapshot = observation.snapshot
    assert Input.RESOURCE_HEALTH in snapshot.inputs
    assert [(s.availability_state, s.reason_type, s.context) for s in snapshot.availability] == [
        ("Unavailable", "Unplanned", "Platform Initiated")
    ]
    assert snapshot.availability[0].resource_id.lower().endswith(f"/virtualmachines/{crashed.instance_id}")
    assert not [note for note in observation.notes if "Resource Health" in note]

"""Resource Health on the twin: the availabilityStatuses routes, what each fault makes Azure say, and recovery;
ephemeral OS disks refusing deallocate. The wire shape is checked once more with azure-mgmt-resourcehealth over
HTTPS (test_sdk_conformance.py's server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.mgmt.resourcehealth import ResourceHealthMgmtClient

from nodewarden.twin.azure import AzureState
from nodewarden.twin.clock import Clock

from .conftest import NODE_RG, SUB, build_identity
from .test_arm_api import Arm, _json
from .test_sdk_conformance import Twin, _serve

HEALTH = "providers/Microsoft.ResourceHealth/availabilityStatuses"


@pytest.fixture
def arm(state: AzureState, clock: Clock) -> Arm:
    return Arm(state, clock, build_identity(clock), page_size=4)


def _vm(state: AzureState, pool: str, index: int) -> str:
    inst = state.instances(pool)[index]
    return state.scope.vm_id(inst.pool.vmss_name, inst.instance_id)


def _status(arm: Arm, state: AzureState, pool: str = "user", index: int = 0) -> dict[str, Any]:
    response = arm("GET", f"{_vm(state, pool, index)}/{HEALTH}/current", version="2025-05-01")
    assert response.status == 200, response.body
    body: dict[str, Any] = _json(response)
    return body


def _said(status: dict[str, Any]) -> tuple[str, str | None, str]:
    properties = status["properties"]
    return properties["availabilityState"], properties.get("reasonType"), properties["context"]


def test_a_running_instance_is_available_in_the_rest_shape(arm: Arm, state: AzureState) -> None:
    status = _status(arm, state)
    vm = _vm(state, "user", 0)
    assert status["id"] == f"{vm}/{HEALTH}/current"
    assert (status["name"], status["type"], status["location"]) == (
        "current",
        "Microsoft.ResourceHealth/AvailabilityStatuses",
        "eastus",
    )
    properties = status["properties"]
    assert _said(status) == ("Available", None, "Unknown")
    assert {"title", "summary", "reasonChronicity", "category", "occuredTime", "reportedTime"} <= set(properties)
    assert "rootCauseAttributionTime" not in properties


@pytest.mark.parametrize(
    ("desc", "fault", "wanted"),
    [
        ("a crash is a platform host failure", "crash", ("Unavailable", "Unplanned", "Platform Initiated")),
        ("a zone outage takes the zone's VMs", "zone", ("Unavailable", "Unplanned", "Platform Initiated")),
        ("a deallocation a user asked for", "deallocate", ("Unavailable", "UserInitiated", "Customer Initiated")),
        ("a restart a user asked for", "restart", ("Unavailable", "UserInitiated", "Customer Initiated")),
        ("a maintenance reboot", "reboot", ("Unavailable", "Planned", "Platform Initiated")),
        ("a maintenance freeze", "freeze", ("Degraded", "Planned", "Platform Initiated")),
    ],
)
def test_each_fault_makes_resource_health_say_who_and_why(
    arm: Arm, state: AzureState, clock: Clock, desc: str, fault: str, wanted: tuple[str, str, str]
) -> None:
    inst = state.instances("user")[0]
    if fault == "crash":
        state.crash(inst)
    elif fault == "zone":
        state.zone_outage(inst.zone or "")
    elif fault in ("deallocate", "restart"):
        state.act(fault, inst)
        clock.advance(seconds=10)
    else:
        state.planned_maintenance(inst, "Reboot" if fault == "reboot" else "Freeze", not_before_seconds=60)
        clock.advance(seconds=61)
    status = _status(arm, state)
    assert _said(status) == wanted, desc
    platform = wanted[2] == "Platform Initiated"
    assert ("rootCauseAttributionTime" in status["properties"]) is platform, desc


def test_a_zone_outage_makes_every_instance_of_the_zone_unavailable_and_no_other(arm: Arm, state: AzureState) -> None:
    state.zone_outage("2")
    for pool in ("system", "user"):
        for index, inst in enumerate(state.instances(pool)):
            down = _said(_status(arm, state, pool, index))[0] == "Unavailable"
            assert down is (inst.zone == "2"), inst.computer_name


def test_a_crashed_instance_is_available_again_once_restarted(arm: Arm, state: AzureState, clock: Clock) -> None:
    inst = state.instances("user")[1]
    state.crash(inst)
    crashed_at = _status(arm, state, "user", 1)["properties"]["occuredTime"]
    clock.advance(seconds=30)
    state.act("restart", inst)
    clock.advance(seconds=30)
    assert _said(_status(arm, state, "user", 1)) == ("Unavailable", "UserInitiated", "Customer Initiated")
    clock.advance(seconds=state.timings.restart)
    status = _status(arm, state, "user", 1)
    assert _said(status) == ("Available", None, "Unknown")
    assert status["properties"]["occuredTime"] > crashed_at


def test_the_resource_group_list_holds_every_instance_and_other_groups_hold_none(arm: Arm, state: AzureState) -> None:
    state.crash(state.instances("user")[2])
    listed = _json(arm("GET", f"/subscriptions/{SUB}/resourceGroups/{NODE_RG}/{HEALTH}", version="2025-05-01"))
    states = [item["properties"]["availabilityState"] for item in listed["value"]]
    assert len(states) == 4
    assert "nextLink" in listed
    history = _json(arm("GET", f"{_vm(state, 'user', 2)}/{HEALTH}", version="2025-05-01"))
    assert [item["properties"]["availabilityState"] for item in history["value"]] == ["Unavailable"]


def test_an_unknown_instance_is_a_404(arm: Arm, state: AzureState) -> None:
    vm = _vm(state, "user", 0).rsplit("/", 1)[0] + "/999"
    assert arm("GET", f"{vm}/{HEALTH}/current", version="2025-05-01").status == 404


# -- ephemeral OS disks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [False, True], ids=["one instance", "the scale set"])
def test_deallocating_an_ephemeral_os_disk_is_refused_like_azure(arm: Arm, state: AzureState, batch: bool) -> None:
    vm = _vm(state, "system", 0)
    if batch:
        response = arm("POST", vm.rsplit("/virtualMachines/", 1)[0] + "/deallocate", {"instanceIds": ["0"]})
    else:
        response = arm("POST", f"{vm}/deallocate")
    assert response.status == 409
    error = _json(response)["error"]
    assert error["code"] == "OperationNotAllowed"
    assert "ephemeral OS disk" in error["message"]
    assert state.instances("system")[0].power == "running"


def test_the_pool_and_scale_set_say_which_os_disk_they_have(arm: Arm, state: AzureState) -> None:
    base = f"/subscriptions/{SUB}/resourceGroups/{NODE_RG}/providers/Microsoft.Compute/virtualMachineScaleSets"
    disks = {}
    for pool in ("system", "user"):
        document = _json(arm("GET", f"{base}/{state.pool(pool).vmss_name}"))
        disks[pool] = document["properties"]["virtualMachineProfile"]["storageProfile"]["osDisk"]
    assert disks["system"]["diffDiskSettings"] == {"option": "Local"}
    assert "diffDiskSettings" not in disks["user"]
    assert [state.pool(p).os_disk_type for p in ("system", "user")] == ["Ephemeral", "Managed"]


# -- the official SDK over HTTPS -------------------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[Twin]:
    yield from _serve(Clock())


def _health(twin: Twin) -> ResourceHealthMgmtClient:
    return ResourceHealthMgmtClient(
        twin.credential(), SUB, base_url=twin.server.base_url, connection_verify=str(twin.server.ca_path)
    )


def test_azure_mgmt_resourcehealth_parses_the_twins_statuses_unchanged(served: Twin) -> None:
    inst = served.state.instances("user")[3]
    served.state.crash(inst)
    vm = served.state.scope.vm_id(inst.pool.vmss_name, inst.instance_id)
    status = _health(served).availability_statuses.get_by_resource(vm.lstrip("/"))
    assert status.properties is not None
    assert (status.properties.availability_state, status.properties.reason_type, status.properties.context) == (
        "Unavailable",
        "Unplanned",
        "Platform Initiated",
    )
    assert status.properties.occured_time is not None
    assert status.properties.root_cause_attribution_time == status.properties.occured_time
    listed = list(_health(served).availability_statuses.list_by_resource_group(NODE_RG))
    assert len(listed) == 9
    assert served.requests[-1].arg("api-version") == "2025-05-01"

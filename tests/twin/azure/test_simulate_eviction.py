"""`simulateEviction` on a scale-set VM: 204 at once, a Preempt Scheduled Event, then eviction per the pool's policy."""

from __future__ import annotations

import json

import pytest

from nodewarden.twin.azure import ArmApi, AzureState
from nodewarden.twin.azure.documents import agent_pool, instance_view, scale_set
from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response
from nodewarden.twin.scenario import Scenario

from .conftest import IMAGE, NODE_RG, SUB, Heard, build_identity, build_state

BASE = "https://127.0.0.1:8443"
COMPUTE = f"/subscriptions/{SUB}/resourceGroups/{NODE_RG}/providers/Microsoft.Compute/virtualMachineScaleSets"
CORRELATION = "5d9c3f0e-1b7a-4c2e-9f4d-0a1b2c3d4e5f"


def _spot_state(clock: Clock, *, policy: str = "Delete") -> AzureState:
    state = build_state(clock, system=1, user=1)
    state.add_pool(
        "spot", mode="User", vm_size="Standard_D4s_v5", zones=["1"], count=2, node_image_version=IMAGE, spot=True,
        eviction_policy=policy, os_disk_type="Managed",  # an ephemeral Spot VM can only be deleted, not deallocated
    )  # fmt: skip
    return state


def _simulate(state: AzureState, clock: Clock, pool: str, instance_id: int) -> Response:
    identity = build_identity(clock)
    api = ArmApi(state, clock, identity)
    path = (
        f"{COMPUTE}/{state.pool(pool).vmss_name}/virtualMachines/{instance_id}/simulateEviction?api-version=2024-11-01"
    )
    headers = {"Authorization": f"Bearer {identity.issue_token()}", "x-ms-correlation-request-id": CORRELATION}
    return api.handle(Request.build("POST", path, headers, b"", BASE))


def _power(state: AzureState, pool: str, instance_id: int) -> str:
    codes = [str(status["code"]) for status in instance_view(state.pool(pool).instances[instance_id])["statuses"]]
    return next(code for code in codes if code.startswith("PowerState/"))


def test_a_spot_vm_gets_a_preempt_notice_then_is_deleted_with_its_node(clock: Clock) -> None:
    state = _spot_state(clock)
    heard = Heard(clock)
    state.on_down(heard.down)
    state.on_removed(heard.removed)
    victim = state.instances("spot")[0]
    response = _simulate(state, clock, "spot", victim.instance_id)
    assert (response.status, response.body) == (204, b"")
    [event] = state.scheduled_events(victim)["Events"]
    assert (event["EventType"], event["Resources"], event["EventStatus"]) == ("Preempt", [victim.vm_name], "Scheduled")
    assert event["NotBefore"] == "Thu, 26 Nov 2026 08:00:30 GMT"
    clock.advance(seconds=29)
    assert heard.events == []
    clock.advance(seconds=1 + state.timings.delete)
    assert heard.about(victim.computer_name) == [("down", 30.0), ("removed", 90.0)]
    assert [inst.instance_id for inst in state.instances("spot")] == [1]
    assert state.pool("spot").count == 1


def test_the_activity_log_shows_who_simulated_the_eviction(clock: Clock) -> None:
    state = _spot_state(clock)
    _simulate(state, clock, "spot", 1)
    entries = [e for e in state.activity_log() if e["correlationId"] == CORRELATION]
    assert {e["status"]["value"] for e in entries} == {"Started", "Succeeded"}
    assert {e["operationName"]["value"] for e in entries} == {
        "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/simulateEviction/action"
    }
    assert all(e["resourceId"].endswith("/virtualMachines/1") for e in entries)


def test_a_pool_with_the_deallocate_policy_keeps_the_instance_deallocated(clock: Clock) -> None:
    state = _spot_state(clock, policy="Deallocate")
    assert _simulate(state, clock, "spot", 0).status == 204
    clock.advance(seconds=30 + state.timings.deallocate)
    assert _power(state, "spot", 0) == "PowerState/deallocated"
    assert len(state.instances("spot")) == 2
    assert state.pool("spot").count == 2


@pytest.mark.parametrize(
    ("desc", "pool", "prepare", "reason"),
    [
        ("a regular (non-Spot) VM", "user", None, "since it is not a Spot VM"),
        ("a Spot VM already deallocated", "spot", "deallocate", "since the VM is deallocated"),
    ],
)
def test_simulate_eviction_is_refused_with_operation_not_allowed(
    clock: Clock, desc: str, pool: str, prepare: str | None, reason: str
) -> None:
    state = _spot_state(clock)
    if prepare is not None:
        state.act(prepare, state.instances(pool)[0])
        clock.advance(seconds=state.timings.deallocate)
    response = _simulate(state, clock, pool, 0)
    assert response.status == 409, desc
    error = json.loads(response.body)["error"]
    assert error["code"] == "OperationNotAllowed"
    assert reason in error["message"]
    assert state.scheduled_events()["Events"] == []


def test_an_unknown_eviction_policy_is_refused(clock: Clock) -> None:
    state = build_state(clock, system=1, user=1)
    with pytest.raises(ValueError, match="eviction_policy must be one of Delete, Deallocate, found 'Keep'"):
        state.add_pool("spot", mode="User", vm_size="Standard_D4s_v5", zones=["1"], count=1,
                       node_image_version=IMAGE, spot=True, eviction_policy="Keep")  # fmt: skip


@pytest.mark.parametrize("policy", ["Delete", "Deallocate"])
def test_the_pool_and_scale_set_documents_carry_the_eviction_policy(clock: Clock, policy: str) -> None:
    state = _spot_state(clock, policy=policy)
    pool = state.pool("spot")
    assert agent_pool(state.scope, pool)["properties"]["scaleSetEvictionPolicy"] == policy
    assert scale_set(state.scope, pool)["properties"]["virtualMachineProfile"]["evictionPolicy"] == policy
    assert "evictionPolicy" not in scale_set(state.scope, state.pool("user"))["properties"]["virtualMachineProfile"]


def test_a_scenario_spot_pool_takes_its_eviction_policy() -> None:
    scenario = Scenario.model_validate(
        {"name": "s", "pools": [{"name": "spot", "spot": True, "evictionPolicy": "Deallocate", "count": 1}]}
    )
    assert scenario.pools[0].eviction_policy == "Deallocate"

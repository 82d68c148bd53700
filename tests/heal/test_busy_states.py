"""A pool, cluster or instance is busy only while an operation is in progress on it (model/aks.py).

Before, the guards held on anything but Succeeded, so a pool whose last upgrade Failed could never be
repaired by nodewarden, while detection (PoolBusy) and the Azure actions already treated Failed and
Canceled as settled. A Failed resource has no operation running that ours would preempt.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from nodewarden.heal import plan
from nodewarden.heal.policy import Policy
from nodewarden.model.health import HealthState, SignalKind
from nodewarden.model.remediation import History, HoldReason, Plan, Step
from nodewarden.model.snapshot import Snapshot
from tests.heal import builders as b
from tests.heal.builders import NOW

POLICY = Policy.model_validate({"apiVersion": "nodewarden.io/v1", "kind": "RemediationPolicy", "spec": {}})
ZONES = ("eastus-1", "eastus-2", "eastus-3")


def _plan(*, pool: str = "Succeeded", cluster: str = "Succeeded", instance: str = "succeeded") -> Plan:
    nodes = [b.node("nodepool1", i, zone=ZONES[i % 3]) for i in range(6)]
    snapshot = Snapshot(
        cluster=b.cluster(cluster),
        pools=(b.pool("nodepool1", 6, state=pool),),
        nodes=tuple(nodes),
        instances=(b.instance("nodepool1", 0, provisioning=instance),),
    )
    healths = [b.health(nodes[0], HealthState.UNHEALTHY, SignalKind.HEARTBEAT_STALE)]
    healths += [b.health(n, HealthState.HEALTHY) for n in nodes[1:]]
    # The node is already cordoned and drained: the next step is a rung, which every busy guard checks.
    history = History(episodes=(b.episode(nodes[0], Step.CORDON, Step.DRAIN),))
    return plan(snapshot, b.detection(*healths), history, POLICY, NOW)


def _holds(result: Plan) -> set[HoldReason]:
    return {hold.reason for hold in result.holds}


@pytest.mark.parametrize(
    ("desc", "state", "busy"),
    [
        ("Succeeded", "Succeeded", False),
        ("Failed: the last operation ended", "Failed", False),
        ("Canceled: the last operation ended", "Canceled", False),
        ("Upgrading", "Upgrading", True),
        ("Scaling", "Scaling", True),
    ],
)
def test_a_pool_holds_remediation_only_while_an_operation_runs_on_it(desc: str, state: str, busy: bool) -> None:
    assert (HoldReason.POOL_BUSY in _holds(_plan(pool=state))) is busy, desc


@pytest.mark.parametrize(
    ("desc", "state", "busy"),
    [
        ("Succeeded", "Succeeded", False),
        ("Failed", "Failed", False),
        ("Updating", "Updating", True),
    ],
)
def test_the_cluster_holds_remediation_only_while_an_operation_runs_on_it(desc: str, state: str, busy: bool) -> None:
    assert (HoldReason.CLUSTER_BUSY in _holds(_plan(cluster=state))) is busy, desc


@pytest.mark.parametrize(
    ("desc", "state", "busy"),
    [
        ("succeeded", "succeeded", False),
        ("failed, with the error in the status code", "failed/InternalOperationError", False),
        ("updating", "updating", True),
        ("deleting", "deleting", True),
    ],
)
def test_an_instance_holds_its_rung_only_while_an_operation_runs_on_it(desc: str, state: str, busy: bool) -> None:
    assert (HoldReason.OPERATION_IN_FLIGHT in _holds(_plan(instance=state))) is busy, desc


def test_an_instance_listed_by_name_only_holds_its_rung_while_an_operation_runs_on_it() -> None:
    # Detection keys an instance by its resource id, else by its name "<vmss>_<instanceId>" (aks.key_of_instance);
    # the guards keyed busy instances by the resource id alone, so one listed without an id was never busy.
    listed = b.instance("nodepool1", 0, provisioning="updating")
    by_name = replace(listed, id=None, name="aks-nodepool1-vmss_0")
    nodes = [b.node("nodepool1", i, zone=ZONES[i % 3]) for i in range(6)]
    snapshot = Snapshot(pools=(b.pool("nodepool1", 6),), nodes=tuple(nodes), instances=(by_name,))
    healths = [b.health(nodes[0], HealthState.UNHEALTHY, SignalKind.HEARTBEAT_STALE)]
    healths += [b.health(n, HealthState.HEALTHY) for n in nodes[1:]]
    history = History(episodes=(b.episode(nodes[0], Step.CORDON, Step.DRAIN),))
    result = plan(snapshot, b.detection(*healths), history, POLICY, NOW)
    assert HoldReason.OPERATION_IN_FLIGHT in _holds(result)
    assert not any(action.step.is_rung for action in result.actions)

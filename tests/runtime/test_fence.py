"""The leader's fence at the transport: the controller's clients send no change unless it holds the Lease.

Real clients against the twin: lightkube (an httpx request hook) and the Azure SDK (a pipeline policy). Reads
always pass; the Lease itself and every other client (runbook commands, drill injectors) are not fenced.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nodewarden.act import azure_actions, kube_actions
from nodewarden.act.results import NodeAction
from nodewarden.connection import Connection, connect, fenced
from nodewarden.errors import LeaseLostError
from nodewarden.runtime.clock import DrivenClock
from nodewarden.runtime.leader import LeaderElector, fence
from nodewarden.twin.azure.activity import ActivityFilter
from nodewarden.twin.service import Twin


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin("small", advance_on_poll=30) as running:
        yield running


def replica(twin: Twin, identity: str) -> tuple[LeaderElector, Connection, Connection]:
    """An elector, its unfenced connection and the fenced one its controller acts through."""
    connection = connect(twin=twin.state_dir)
    assert connection.kube is not None
    elector = LeaderElector(connection.kube, identity=identity)
    return elector, connection, fenced(connection, fence(elector, DrivenClock(twin)))


def apps_node(twin: Twin) -> str:
    names = [str(n["metadata"]["name"]) for n in twin.world.store.items("nodes")]
    return sorted(name for name in names if "-apps-" in name)[0]


def test_a_follower_reads_but_its_kubernetes_changes_are_refused_before_they_are_sent(twin: Twin) -> None:
    leader, _, _ = replica(twin, "replica-a")
    follower, plain, acting = replica(twin, "replica-b")
    leader.tick(twin.clock.now())
    follower.tick(twin.clock.now())
    node = apps_node(twin)
    assert acting.kube is not None
    assert not kube_actions.read_node(acting.kube, node).cordoned  # a read passes
    with pytest.raises(LeaseLostError, match="replica-b does not hold the Lease"):
        kube_actions.cordon(acting.kube, node)
    assert not twin.world.store.get("nodes", None, node).get("spec", {}).get("unschedulable")
    assert plain.kube is not None
    assert kube_actions.cordon(plain.kube, node), "the unfenced client (a runbook command's) is not held back"


def test_a_follower_sends_no_arm_operation(twin: Twin) -> None:
    leader, _, _ = replica(twin, "replica-a")
    follower, _, acting = replica(twin, "replica-b")
    leader.tick(twin.clock.now())
    follower.tick(twin.clock.now())
    assert acting.kube is not None
    assert acting.azure is not None
    ref = azure_actions.instance_of(kube_actions.read_node(acting.kube, apps_node(twin)))
    with pytest.raises(LeaseLostError):
        azure_actions.run_instance_action(acting.azure, ref, NodeAction.RESTART, correlation_id="fenced-restart")
    assert [e for e in twin.azure.activity.query(ActivityFilter()) if e["correlationId"] == "fenced-restart"] == []


def test_the_leader_acts_through_the_fence_and_renews_on_the_way(twin: Twin) -> None:
    leader, _, acting = replica(twin, "replica-a")
    leader.tick(twin.clock.now())
    assert acting.kube is not None
    assert acting.azure is not None
    node = apps_node(twin)
    ref = azure_actions.instance_of(kube_actions.read_node(acting.kube, node))
    # each poll of the restart moves the twin 30 s: the Lease would lapse twice over without renewals on the way
    result = azure_actions.run_instance_action(acting.azure, ref, NodeAction.RESTART, correlation_id="leader-restart")
    assert result.succeeded
    assert kube_actions.cordon(acting.kube, node)
    spec = twin.world.store.get("leases", "kube-system", "nodewarden")["spec"]
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("replica-a", 0)

"""Kubernetes node actions against the twin: cordon, taints, and a drain that honours PDBs and time."""

from __future__ import annotations

from typing import Any, cast

import pytest
from lightkube import Client
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.models.policy_v1 import PodDisruptionBudgetSpec
from lightkube.resources.core_v1 import Event, Node, Pod
from lightkube.resources.policy_v1 import PodDisruptionBudget

from nodewarden.act import kube_actions
from nodewarden.act.events import EventRecorder
from nodewarden.act.results import PodRef
from nodewarden.connection import Connection
from nodewarden.errors import ActionError, ActionRefusedError
from nodewarden.twin.service import Twin

NODE = "aks-apps-84805669-vmss000000"  # small scenario: worker, api and db-0 run here


def _kube(connection: Connection) -> Client:
    assert connection.kube is not None
    return connection.kube


def _events(kube: Client, node: str) -> list[Event]:
    # Read as core/v1: the twin's own (core/v1) events have no eventTime, and lightkube's
    # events.k8s.io/v1 model cannot decode `eventTime: null` -- as on a real cluster.
    return [
        e
        for e in kube.list(Event, namespace="default")
        if e.involvedObject.name == node and e.reportingComponent == "nodewarden"
    ]


def _pods_on(kube: Client, node: str) -> set[str]:
    return {
        f"{p.metadata.namespace}/{p.metadata.name}"
        for p in kube.list(Pod, namespace="*", fields={"spec.nodeName": node})
        if p.metadata
    }


def test_cordon_makes_the_node_unschedulable_and_records_an_event(connection: Connection) -> None:
    kube = _kube(connection)
    recorder = EventRecorder(kube)
    assert kube_actions.cordon(kube, NODE, recorder=recorder)
    node = kube.get(Node, NODE)
    assert node.spec is not None
    assert node.spec.unschedulable is True
    assert not kube_actions.cordon(kube, NODE, recorder=recorder)  # already cordoned: no second patch or Event
    events = _events(kube, NODE)
    assert [(e.action, e.reason, e.type) for e in events] == [("Cordon", "Cordon", "Normal")]
    assert recorder.core_fallback is False  # the twin serves events.k8s.io/v1
    assert kube_actions.uncordon(kube, NODE, recorder=recorder)
    node = kube.get(Node, NODE)
    assert not (node.spec and node.spec.unschedulable)


def test_taint_and_untaint_keep_the_other_taints(connection: Connection) -> None:
    kube = _kube(connection)
    name = "aks-system-84805669-vmss000000"  # carries CriticalAddonsOnly=true:NoSchedule
    assert kube_actions.taint(kube, name, key="nodewarden.io/remediating", value="true", effect="NoSchedule")
    taints = {(t.key, t.effect) for t in kube.get(Node, name).spec.taints or []}  # type: ignore[union-attr]
    assert {("CriticalAddonsOnly", "NoSchedule"), ("nodewarden.io/remediating", "NoSchedule")} <= taints
    assert kube_actions.untaint(kube, name, key="nodewarden.io/remediating")
    taints = {(t.key, t.effect) for t in kube.get(Node, name).spec.taints or []}  # type: ignore[union-attr]
    assert ("nodewarden.io/remediating", "NoSchedule") not in taints
    assert ("CriticalAddonsOnly", "NoSchedule") in taints


class Interfering:
    """A client that lets someone else change the node (a label, as a controller would) before each of the
    first `times` patches: the taint list read before is then stale, and the API server answers 409."""

    def __init__(self, kube: Client, twin: Twin, times: int) -> None:
        self.kube = kube
        self.twin = twin
        self.times = times

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self.kube.get(*args, **kwargs)

    def patch(self, resource: Any, name: str, patch: Any) -> Any:
        if self.times > 0:
            self.times -= 1

            def relabel(node: dict[str, Any]) -> None:
                node["metadata"].setdefault("labels", {})[f"example.com/touched-{self.times}"] = "yes"

            self.twin.world.store.mutate("nodes", None, name, relabel, touches=("metadata",))
        return self.kube.patch(resource, name, patch)


def test_a_taint_change_that_loses_a_race_is_read_again_and_retried(twin: Twin, connection: Connection) -> None:
    client = Interfering(_kube(connection), twin, times=2)
    name = "aks-system-84805669-vmss000001"
    assert kube_actions.taint(cast(Client, client), name, key="nodewarden.io/quarantined", effect="NoSchedule")
    node = _kube(connection).get(Node, name)
    assert ("nodewarden.io/quarantined", "NoSchedule") in {(t.key, t.effect) for t in node.spec.taints or []}  # type: ignore[union-attr]
    assert {"example.com/touched-0", "example.com/touched-1"} <= set(node.metadata.labels or {})  # type: ignore[union-attr]
    assert client.times == 0


def test_a_taint_change_that_keeps_losing_is_reported(twin: Twin, connection: Connection) -> None:
    client = Interfering(_kube(connection), twin, times=kube_actions.CONFLICT_RETRIES)
    with pytest.raises(ActionError, match="409"):
        kube_actions.untaint(cast(Client, client), "aks-system-84805669-vmss000000", key="CriticalAddonsOnly")


def test_drain_evicts_the_pods_and_waits_until_they_are_gone(twin: Twin, connection: Connection) -> None:
    kube = _kube(connection)
    before = _pods_on(kube, NODE)
    assert len(before) == 3
    lines: list[str] = []
    result = kube_actions.drain(
        kube,
        NODE,
        timeout=600,
        recorder=EventRecorder(kube),
        progress=lines.append,
        wait=twin.advance,
        monotonic=twin.clock.elapsed,
    )
    assert result.ok, result
    assert {str(ref) for ref in result.evicted} == before
    assert _pods_on(kube, NODE) == set()
    assert kube.get(Node, NODE).spec.unschedulable is True  # type: ignore[union-attr]
    reasons = [e.reason for e in _events(kube, NODE)]
    assert reasons[0] == "Cordon"
    assert reasons[-1] == "Drained"
    assert any(line.startswith("drained") for line in lines)


def test_drain_reports_the_blocking_budget_and_its_workload_then_times_out(twin: Twin, connection: Connection) -> None:
    kube = _kube(connection)
    kube.create(
        PodDisruptionBudget(
            metadata=ObjectMeta(name="worker-frozen", namespace="jobs"),
            spec=PodDisruptionBudgetSpec(maxUnavailable=0, selector=LabelSelector(matchLabels={"app": "worker"})),
        )
    )
    twin.advance(1)  # the disruption controller computes the budget's status
    lines: list[str] = []
    started = twin.clock.elapsed()
    result = kube_actions.drain(
        kube,
        NODE,
        timeout=90,
        recorder=EventRecorder(kube),
        progress=lines.append,
        wait=twin.advance,
        monotonic=twin.clock.elapsed,
    )
    assert result.timed_out
    assert 90 <= twin.clock.elapsed() - started < 100
    [worker] = list(result.remaining)
    assert worker.namespace == "jobs"
    assert worker.name.startswith("worker-")
    [blocker] = result.blockers
    assert blocker.budget == "worker-frozen"
    assert blocker.workload == "Deployment/jobs/worker"
    assert {ref.name.split("-")[0] for ref in result.evicted} == {"api", "db"}  # the others went
    assert any("PodDisruptionBudget jobs/worker-frozen" in line for line in lines)
    assert any(line.startswith("timed out after 90s, still on the node: jobs/worker-") for line in lines)
    events = {e.reason: e for e in _events(kube, NODE)}
    assert "worker-frozen" in (events["DrainBlocked"].message or "")
    assert events["DrainBlocked"].type == "Warning"
    assert "still on the node: jobs/worker-" in (events["DrainTimedOut"].message or "")


def test_a_forced_drain_deletes_pods_a_budget_protects(twin: Twin, connection: Connection) -> None:
    kube = _kube(connection)
    kube.create(
        PodDisruptionBudget(
            metadata=ObjectMeta(name="worker-frozen", namespace="jobs"),
            spec=PodDisruptionBudgetSpec(maxUnavailable=0, selector=LabelSelector(matchLabels={"app": "worker"})),
        )
    )
    twin.advance(1)
    result = kube_actions.drain(
        kube, NODE, timeout=300, force=True, grace_period=0, wait=twin.advance, monotonic=twin.clock.elapsed
    )
    assert result.ok
    assert result.forced
    assert _pods_on(kube, NODE) == set()


def test_a_drain_preview_names_pods_and_budgets_without_changing_anything(twin: Twin, connection: Connection) -> None:
    kube = _kube(connection)
    kube.create(
        PodDisruptionBudget(
            metadata=ObjectMeta(name="worker-frozen", namespace="jobs"),
            spec=PodDisruptionBudgetSpec(maxUnavailable=0, selector=LabelSelector(matchLabels={"app": "worker"})),
        )
    )
    twin.advance(1)
    preview = kube_actions.preview_drain(kube, NODE)
    assert len(preview.evict) == 3
    assert [b.budget for b in preview.blockers] == ["worker-frozen"]
    assert not preview.cordoned
    assert not kube.get(Node, NODE).spec.unschedulable  # type: ignore[union-attr]
    assert PodRef("jobs", preview.blockers[0].pod.name) in preview.evict


def test_deleting_a_node_with_pods_is_refused_until_it_is_drained(twin: Twin, connection: Connection) -> None:
    kube = _kube(connection)
    with pytest.raises(ActionRefusedError, match="pod\\(s\\) still on it"):
        kube_actions.delete_node(kube, NODE, recorder=EventRecorder(kube))
    assert [e.reason for e in _events(kube, NODE)][-1] == "DeleteRefused"
    kube_actions.drain(
        kube, NODE, timeout=600, recorder=EventRecorder(kube), wait=twin.advance, monotonic=twin.clock.elapsed
    )
    kube_actions.delete_node(kube, NODE, recorder=EventRecorder(kube))
    assert twin.world.store.peek("nodes", None, NODE) is None

"""The drain reads lightkube objects through the model's predicates (act/kube_actions.py at its boundary)."""

from __future__ import annotations

from datetime import UTC, datetime

from lightkube.models.core_v1 import NodeCondition, NodeSpec, NodeStatus, PodCondition, PodStatus
from lightkube.models.meta_v1 import LabelSelector, LabelSelectorRequirement, ObjectMeta, OwnerReference
from lightkube.models.policy_v1 import PodDisruptionBudgetSpec
from lightkube.resources.core_v1 import Node, Pod
from lightkube.resources.policy_v1 import PodDisruptionBudget

from nodewarden.act import kube_actions


def _owner(kind: str, *, controller: bool | None) -> OwnerReference:
    return OwnerReference(apiVersion="apps/v1", kind=kind, name="x", uid="u", controller=controller)


def _pod(*owners: OwnerReference, annotations: dict[str, str] | None = None, **status: object) -> Pod:
    return Pod(
        metadata=ObjectMeta(name="p", namespace="shop", ownerReferences=list(owners), annotations=annotations),
        status=PodStatus(**status),  # type: ignore[arg-type]
    )


def test_a_drain_leaves_daemonset_and_mirror_pods_and_evicts_the_rest() -> None:
    def leaves(pod: Pod) -> bool:
        return kube_actions.as_model_pod(pod).belongs_to_node

    assert leaves(_pod(_owner("DaemonSet", controller=True)))
    assert leaves(_pod(annotations={"kubernetes.io/config.mirror": "hash"}))
    # Not the DaemonSet's to replace: kubectl drain evicts it, and so do we.
    assert not leaves(_pod(_owner("DaemonSet", controller=None)))
    assert not leaves(_pod(_owner("ReplicaSet", controller=True)))


def test_a_terminating_pod_is_not_ready_at_the_boundary() -> None:
    running = _pod(phase="Running", conditions=[PodCondition(type="Ready", status="True")])
    assert kube_actions.as_model_pod(running).ready
    assert running.metadata is not None
    running.metadata.deletionTimestamp = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert not kube_actions.as_model_pod(running).ready


def test_a_node_is_ready_by_its_ready_condition() -> None:
    def node(status: str | None) -> Node:
        conditions = [NodeCondition(type="Ready", status=status)] if status else []
        return Node(
            metadata=ObjectMeta(name="n"),
            spec=NodeSpec(providerID="azure:///x"),
            status=NodeStatus(conditions=conditions),
        )

    assert kube_actions.as_model_node(node("True")).ready
    assert not kube_actions.as_model_node(node("Unknown")).ready
    assert not kube_actions.as_model_node(node(None)).ready
    assert kube_actions.as_model_node(node("True")).spec.provider_id == "azure:///x"


def test_a_budget_whose_selector_has_an_unknown_operator_covers_no_pod() -> None:
    def budget(operator: str) -> PodDisruptionBudget:
        requirement = LabelSelectorRequirement(key="app", operator=operator, values=["web"])
        return PodDisruptionBudget(
            metadata=ObjectMeta(name="web", namespace="shop"),
            spec=PodDisruptionBudgetSpec(selector=LabelSelector(matchExpressions=[requirement])),
        )

    assert kube_actions.covers(budget("In"), {"app": "web"})
    assert not kube_actions.covers(budget("Matches"), {"app": "web"})

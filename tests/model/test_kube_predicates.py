"""Each Kubernetes predicate has one definition (model/kube.py, model/selectors.py, model/health.py)."""

from __future__ import annotations

import pytest

from nodewarden.incidents.group import FAMILY, Family
from nodewarden.model import selectors
from nodewarden.model.health import KUBELET_SILENT, NODE_DOWN, PROBLEMS, SignalKind
from nodewarden.model.kube import (
    LabelSelector,
    LabelSelectorRequirement,
    ObjectMeta,
    OwnerReference,
    Pod,
    PodCondition,
    PodStatus,
)


def _pod(*owners: OwnerReference, annotations: dict[str, str] | None = None) -> Pod:
    return Pod(metadata=ObjectMeta(name="p", owner_references=list(owners), annotations=annotations))


@pytest.mark.parametrize(
    ("desc", "owners", "daemonset"),
    [
        ("the DaemonSet controls it", [OwnerReference(kind="DaemonSet", name="ds", controller=True)], True),
        # kubectl drain reads metav1.GetControllerOf: a non-controller DaemonSet owner would not replace the pod.
        ("a DaemonSet owns it without controlling it", [OwnerReference(kind="DaemonSet", name="ds")], False),
        ("controller flag false", [OwnerReference(kind="DaemonSet", name="ds", controller=False)], False),
        ("a ReplicaSet controls it", [OwnerReference(kind="ReplicaSet", name="rs", controller=True)], False),
        ("no owner", [], False),
    ],
)
def test_a_daemonset_pod_is_one_its_daemonset_controls(
    desc: str, owners: list[OwnerReference], daemonset: bool
) -> None:
    assert _pod(*owners).is_daemonset_pod is daemonset, desc


def test_a_mirror_pod_carries_the_kubelets_mirror_annotation() -> None:
    assert _pod(annotations={"kubernetes.io/config.mirror": "abc"}).is_mirror
    assert not _pod().is_mirror


@pytest.mark.parametrize(
    ("desc", "phase", "ready_condition", "deleting", "ready"),
    [
        ("running and Ready", "Running", "True", False, True),
        ("running, not Ready", "Running", "False", False, False),
        ("being deleted", "Running", "True", True, False),
        ("not running", "Pending", "True", False, False),
    ],
)
def test_a_pod_is_ready_when_running_ready_and_not_being_deleted(
    desc: str, phase: str, ready_condition: str, deleting: bool, ready: bool
) -> None:
    pod = Pod(
        metadata=ObjectMeta(name="p", deletion_timestamp="2026-12-07T10:00:00Z" if deleting else None),
        status=PodStatus(phase=phase, conditions=[PodCondition(type="Ready", status=ready_condition)]),
    )
    assert pod.ready is ready, desc


@pytest.mark.parametrize(
    ("desc", "operator", "values", "labels", "matches"),
    [
        ("In", "In", ["web"], {"app": "web"}, True),
        ("NotIn", "NotIn", ["web"], {"app": "db"}, True),
        ("Exists", "Exists", None, {"app": "db"}, True),
        ("DoesNotExist", "DoesNotExist", None, {"app": "db"}, False),
        # The API server rejects such a selector, and the eviction subresource skips a budget whose selector
        # does not parse: it protects no pod. The drain's copy (act/kube_actions.py) used to let it match.
        ("an unknown operator matches nothing", "Matches", ["web"], {"app": "web"}, False),
    ],
)
def test_label_selector_operators(
    desc: str, operator: str, values: list[str] | None, labels: dict[str, str], matches: bool
) -> None:
    selector = LabelSelector(match_expressions=[LabelSelectorRequirement(key="app", operator=operator, values=values)])
    assert selectors.matches(selector, labels) is matches, desc


def test_an_empty_selector_matches_everything_and_a_missing_one_nothing() -> None:
    assert selectors.matches(LabelSelector(), {"app": "web"})
    assert not selectors.matches(None, {"app": "web"})


def test_node_down_is_one_set_read_by_incident_grouping() -> None:
    assert KUBELET_SILENT < NODE_DOWN <= PROBLEMS
    assert {kind for kind, family in FAMILY.items() if family is Family.NODE_DOWN} == NODE_DOWN
    assert SignalKind.NOT_REGISTERED in NODE_DOWN

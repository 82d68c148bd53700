"""Annotations are anyone's text: the audit reads the JSON some of them hold without trusting its shape."""

from __future__ import annotations

from nodewarden.audit.rules import autoscaling
from nodewarden.model.kube import ObjectMeta, Workload


def test_a_last_applied_configuration_nested_past_the_interpreters_limit_declares_nothing() -> None:
    annotations = {"kubectl.kubernetes.io/last-applied-configuration": "[" * 100_000}  # fits in 256 KiB
    workload = Workload(kind="Deployment", metadata=ObjectMeta(name="web", namespace="shop", annotations=annotations))
    assert autoscaling._declares_replicas(workload) is False

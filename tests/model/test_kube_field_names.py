"""Field names the camel-case default gets wrong are spelled as the Kubernetes API spells them."""

from __future__ import annotations

from pydantic import TypeAdapter

from nodewarden.model.kube import Service


def test_a_service_s_cluster_ip_is_read_from_spec_cluster_ip() -> None:
    """core/v1 ServiceSpec.clusterIP (kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1)."""
    document = {"metadata": {"name": "db", "namespace": "shop"}, "spec": {"type": "ClusterIP", "clusterIP": "None"}}
    service = TypeAdapter(Service).validate_python(document)
    assert service.spec is not None
    assert service.spec.cluster_ip == "None"

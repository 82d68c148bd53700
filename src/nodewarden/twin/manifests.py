"""Kubernetes manifests for a scenario's workloads: namespaces, controllers, PDBs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nodewarden.twin.scenario import Scenario, WorkloadSpec

_SPREAD_KEYS = {"zone": "topology.kubernetes.io/zone", "node": "kubernetes.io/hostname"}


def scenario_manifests(scenario: Scenario) -> Iterator[dict[str, Any]]:
    """Namespaces first, then each workload and its PDB, in scenario order."""
    expanded = [(spec, name, namespace) for spec in scenario.workloads for name, namespace in _copies(spec)]
    for namespace in dict.fromkeys(namespace for _, _, namespace in expanded):
        yield {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    for spec, name, namespace in expanded:
        yield workload_manifest(spec, name=name, namespace=namespace)
        if spec.min_available is not None or spec.max_unavailable is not None:
            yield pdb_manifest(spec, name=name, namespace=namespace)


def _copies(spec: WorkloadSpec) -> Iterator[tuple[str, str]]:
    if spec.copies == 1:
        yield spec.name, spec.namespace
        return
    for index in range(spec.copies):
        namespace = spec.namespace if spec.namespaces == 1 else f"{spec.namespace}-{index % spec.namespaces:03d}"
        yield f"{spec.name}-{index:04d}", namespace


def workload_manifest(spec: WorkloadSpec, *, name: str, namespace: str) -> dict[str, Any]:
    labels = {"app": name}
    pod_spec: dict[str, Any] = {
        "containers": [
            {
                "name": name,
                "image": spec.image,
                "resources": {
                    "requests": {"cpu": spec.cpu, "memory": spec.memory},
                    "limits": {"memory": spec.memory},
                },
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5},
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
            }
        ],
        "terminationGracePeriodSeconds": 30,
    }
    if spec.pool:
        pod_spec["nodeSelector"] = {"kubernetes.azure.com/agentpool": spec.pool}
    if spec.priority_class:
        pod_spec["priorityClassName"] = spec.priority_class
    if spec.spread != "none" and spec.kind != "DaemonSet":
        pod_spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": _SPREAD_KEYS[spec.spread],
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": labels},
            }
        ]
    if spec.kind == "DaemonSet":
        pod_spec["tolerations"] = [{"operator": "Exists"}]
    body: dict[str, Any] = {
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
    }
    if spec.kind != "DaemonSet":
        body["replicas"] = spec.replicas
    if spec.kind == "StatefulSet":
        body["serviceName"] = name
    if spec.volume is not None:
        pod_spec["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        body["volumeClaimTemplates"] = [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": spec.volume.storage_class,
                    "resources": {"requests": {"storage": spec.volume.size}},
                },
            }
        ]
    group = "apps/v1"
    return {"apiVersion": group, "kind": spec.kind, "metadata": {"name": name, "namespace": namespace}, "spec": body}


def pdb_manifest(spec: WorkloadSpec, *, name: str, namespace: str) -> dict[str, Any]:
    body: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}}
    if spec.min_available is not None:
        body["minAvailable"] = spec.min_available
    else:
        body["maxUnavailable"] = spec.max_unavailable
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }

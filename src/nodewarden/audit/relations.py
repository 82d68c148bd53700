"""How Kubernetes objects relate: which HPA scales a workload, which PDBs cover it, which pods it owns.

Shared by the AS, RG and WL rules so they agree on the answers.
"""

from __future__ import annotations

from collections.abc import Iterator

from nodewarden.audit.params import AuditParams
from nodewarden.model import selectors
from nodewarden.model.kube import HorizontalPodAutoscaler, PodDisruptionBudget, Workload
from nodewarden.model.snapshot import Snapshot


def is_system_namespace(namespace: str | None, params: AuditParams) -> bool:
    return (namespace or "default") in params.system_namespaces


def app_workloads(snap: Snapshot, params: AuditParams) -> Iterator[Workload]:
    """Deployments and StatefulSets outside the system namespaces AKS and add-ons own."""
    return (w for w in snap.workloads if not is_system_namespace(w.namespace, params))


def hpa_for(workload: Workload, snap: Snapshot) -> HorizontalPodAutoscaler | None:
    """The HPA whose scaleTargetRef names this workload, if any."""
    return snap.hpas_by_target.get((workload.namespace, workload.kind, workload.metadata.name))


def replica_floor(workload: Workload, snap: Snapshot) -> int:
    """The fewest replicas the workload runs: HPA minReplicas when scaled by one, else spec.replicas (unset = 1)."""
    hpa = hpa_for(workload, snap)
    return hpa.floor if hpa is not None else workload.replicas


def pdbs_for(workload: Workload, snap: Snapshot) -> list[PodDisruptionBudget]:
    """PDBs in the workload's namespace whose selector matches its pod template labels."""
    labels = workload.pod_labels
    return [p for p in snap.pdbs_by_namespace.get(workload.namespace, ()) if selectors.matches(p.spec.selector, labels)]

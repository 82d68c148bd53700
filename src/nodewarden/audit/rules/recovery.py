"""DR rules: backup and disaster recovery (a backup solution, its coverage, and its storage prerequisites).

Reimaging or replacing VMSS instances never loses persistent volumes, but a deleted namespace, a bad
migration or a region outage does; these rules check that something can bring the data back.

Inputs: AKS Backup shows up in `az k8s-extension list` (extension type
`microsoft.dataprotection.kubernetes`); Velero in `kubectl get schedules.velero.io`. AKS Backup's
backup instances (which namespaces it protects) live in the Backup vault and are not part of the input.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase

from nodewarden.audit import relations
from nodewarden.audit.catalog import NotEvaluated, Rule, RuleContext, Violation, rule
from nodewarden.model import kube
from nodewarden.model.azure import ClusterExtension
from nodewarden.model.findings import Category, Profile, Severity
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot, cluster_level_target, cluster_target

AKS_BACKUP_EXTENSION = "microsoft.dataprotection.kubernetes"
EXTENSIONS_EXPORT = "az k8s-extension list --cluster-type managedClusters -g <rg> -c <cluster> -o json"


def _backup_extensions(snap: Snapshot) -> list[ClusterExtension]:
    return [e for e in snap.extensions if (e.extension_type or "").lower() == AKS_BACKUP_EXTENSION]


def _is_healthy(extension: ClusterExtension) -> bool:
    return extension.provisioning_state is None or extension.provisioning_state.lower() == "succeeded"


def _active_schedules(snap: Snapshot) -> list[kube.VeleroSchedule]:
    return [s for s in snap.velero_schedules if not s.spec.paused]


def _has_persistent_volumes(snap: Snapshot) -> bool:
    """PVCs in the input, or workloads that claim volumes (StatefulSet templates, pod PVC volumes)."""
    if snap.pvcs:
        return True
    for workload in snap.workloads:
        if workload.spec.volume_claim_templates:
            return True
        if any(v.persistent_volume_claim for v in workload.pod_spec.volumes or ()):
            return True
    return False


@rule(
    id="DR001",
    title="A backup solution protects the cluster",
    category=Category.DR,
    severity=Severity.HIGH,
    rationale="Node repair brings back compute, not data or objects: after a deleted namespace, a corrupted "
    "volume or a region loss only a backup restores them.",
    fix="Install AKS Backup: az k8s-extension create -g <rg> -c <cluster> -t managedClusters -n azure-aks-backup "
    "--extension-type microsoft.dataprotection.kubernetes --configuration-settings "
    "blobContainer=<container> storageAccount=<account> storageAccountResourceGroup=<rg> "
    "storageAccountSubscriptionId=<sub>\n(then a Backup vault policy and backup instance), or a Velero Schedule.",
    # Either export can show a backup solution, so no single input is required; the function says
    # NOT_EVALUATED when neither was given.
    needs=(),
    references=(
        "APRL 269a9f1a",
        "Advisor 29f2eea3",
        "https://learn.microsoft.com/azure/backup/azure-kubernetes-service-cluster-manage-backups",
        "https://learn.microsoft.com/azure/backup/quick-install-backup-extension",
        "https://velero.io/docs/main/api-types/schedule/",
    ),
)
def backup_solution_present(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    """Passes on a healthy AKS Backup extension or an unpaused Velero Schedule.

    Severity is high when persistent volumes exist (PVCs, claim templates or PVC volumes), else medium.
    """
    if not snap.inputs & {Input.EXTENSIONS, Input.VELERO_SCHEDULES}:
        raise NotEvaluated(f"input missing: {EXTENSIONS_EXPORT} or {Input.VELERO_SCHEDULES.command}")
    extensions = _backup_extensions(snap)
    if any(_is_healthy(e) for e in extensions) or _active_schedules(snap):
        return
    observed = []
    if extensions:
        states = ", ".join(f"{e.name} {e.provisioning_state}" for e in extensions)
        observed.append(f"the AKS Backup extension is not healthy ({states})")
    elif snap.has(Input.EXTENSIONS):
        observed.append("no AKS Backup extension (microsoft.dataprotection.kubernetes)")
    else:
        observed.append(f"extensions not exported ({EXTENSIONS_EXPORT})")
    if snap.velero_schedules:
        observed.append("every Velero Schedule is paused")
    elif snap.has(Input.VELERO_SCHEDULES):
        observed.append("no Velero Schedule")
    else:
        observed.append(f"Velero schedules not exported ({Input.VELERO_SCHEDULES.command})")
    stateful = _has_persistent_volumes(snap)
    data = "persistent volumes exist" if stateful else "no persistent volumes seen"
    target = cluster_level_target(snap)
    who = f"cluster {snap.cluster.name}" if snap.cluster is not None else "the cluster"
    yield Violation(
        target,
        f"{who}: {'; '.join(observed)}; {data}; install AKS Backup or schedule Velero backups",
        severity=Severity.HIGH if stateful else Severity.MEDIUM,
    )


def _is_covered(namespace: str, schedule: kube.VeleroSchedule) -> bool:
    """Velero semantics: no includedNamespaces (or `*`) means all; excludedNamespaces win. Globs allowed."""
    template = schedule.spec.template
    included = template.included_namespaces or ["*"]
    excluded = template.excluded_namespaces or []
    if any(fnmatchcase(namespace, pattern) for pattern in excluded):
        return False
    return any(fnmatchcase(namespace, pattern) for pattern in included)


@rule(
    id="DR002",
    title="Backups cover every namespace with persistent volumes",
    category=Category.DR,
    severity=Severity.MEDIUM,
    rationale="A schedule that leaves out a namespace with volumes gives a restore that comes back without "
    "that data, which is found out only on the day it is needed.",
    fix="Add the namespace to a Schedule: velero schedule create <name> --schedule '0 2 * * *' "
    "--include-namespaces <ns1>,<ns2> (or edit spec.template.includedNamespaces / excludedNamespaces).",
    needs=(Input.PVCS,),
    references=(
        "https://velero.io/docs/main/api-types/schedule/",
        "https://velero.io/docs/main/resource-filtering/",
    ),
    profile=Profile.EXTENDED,
    params=("system_namespaces",),
)
def backups_cover_volume_namespaces(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    """Each non-system namespace with a PVC must be in an unpaused Velero Schedule.

    Namespaces Velero leaves out may still be protected by AKS Backup, whose backup instances are not in
    the input: then NOT_EVALUATED, never a pass.
    """
    claimed = {p.metadata.namespace or "default" for p in snap.pvcs}
    namespaces = sorted(n for n in claimed if not relations.is_system_namespace(n, ctx.params))
    if not namespaces:
        return
    if not snap.has(Input.VELERO_SCHEDULES):
        raise NotEvaluated(
            f"input missing: {Input.VELERO_SCHEDULES.command} (AKS Backup instances are not in the input either)"
        )
    schedules = _active_schedules(snap)
    uncovered = [n for n in namespaces if not any(_is_covered(n, s) for s in schedules)]
    if not uncovered:
        return
    if _backup_extensions(snap):
        raise NotEvaluated(
            f"namespaces {', '.join(uncovered)} are in no Velero Schedule, and AKS Backup is installed: which "
            "namespaces its backup instances protect is not in the input (see the Backup vault)"
        )
    objects = {ns.metadata.name: ns.metadata for ns in snap.namespaces}
    names = ", ".join(s.metadata.name for s in schedules) or "none"
    for namespace in uncovered:
        meta = objects.get(namespace) or kube.ObjectMeta(name=namespace)
        yield Violation(
            kube.target_of("Namespace", meta),
            f"namespace {namespace} has persistent volume claims but no active Velero Schedule includes it "
            f"(schedules: {names}); add it to a schedule's includedNamespaces",
        )


@rule(
    id="DR003",
    title="CSI drivers and the snapshot controller are enabled",
    category=Category.DR,
    severity=Severity.MEDIUM,
    rationale="AKS Backup and volume snapshots need the Azure Disk and Files CSI drivers and the snapshot "
    "controller; the in-tree drivers they replace are retired.",
    fix="az aks update -g <rg> -n <cluster> --enable-disk-driver --enable-file-driver --enable-snapshot-controller",
    needs=(Input.CLUSTER,),
    references=(
        "APRL b002c030",
        "https://learn.microsoft.com/azure/backup/quick-install-backup-extension",
        "https://learn.microsoft.com/azure/aks/csi-storage-drivers",
    ),
)
def csi_drivers_enabled(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    """Fails when any of the three is explicitly disabled.

    An absent `storageProfile` or `enabled` is not a finding: the AKS API documents each of
    `diskCSIDriver.enabled`, `fileCSIDriver.enabled` and `snapshotController.enabled` as "The default
    value is true", and AKS uses CSI drivers by default since Kubernetes 1.21.
    """
    cluster = snap.cluster
    assert cluster is not None  # guaranteed by needs
    profile = cluster.storage_profile
    parts = {
        "diskCSIDriver": profile.disk_csi_driver if profile else None,
        "fileCSIDriver": profile.file_csi_driver if profile else None,
        "snapshotController": profile.snapshot_controller if profile else None,
    }
    disabled = [name for name, part in parts.items() if part is not None and part.enabled is False]
    if disabled:
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has storageProfile {', '.join(disabled)} disabled; enable them",
        )


RULES: tuple[Rule, ...] = (backup_solution_present, backups_cover_volume_namespaces, csi_drivers_enabled)

"""Builds a Snapshot from exported files: parse, recognise, validate types, de-duplicate.

Wrong types are input errors that name the file, the object and the field in the user's own spelling.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from nodewarden.errors import InputError, NoInputError, SchemaError
from nodewarden.model import azure, kube
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot
from nodewarden.observe.files import DEFAULT_MAX_BYTES, Document, expand_paths, read_documents
from nodewarden.observe.fold import original_path
from nodewarden.observe.recognise import Item, recognise

T = TypeVar("T")

CLUSTER_SCOPED = {"Namespace", "PriorityClass", "StorageClass", "Node"}

_KUBE_CLASSES: dict[Input, type[Any]] = {
    Input.WORKLOADS: kube.Workload,
    Input.DAEMONSETS: kube.Workload,
    Input.PODS: kube.Pod,
    Input.PDBS: kube.PodDisruptionBudget,
    Input.HPAS: kube.HorizontalPodAutoscaler,
    Input.NAMESPACES: kube.Namespace,
    Input.RESOURCE_QUOTAS: kube.ResourceQuota,
    Input.LIMIT_RANGES: kube.LimitRange,
    Input.PRIORITY_CLASSES: kube.PriorityClass,
    Input.NETWORK_POLICIES: kube.NetworkPolicy,
    Input.STORAGE_CLASSES: kube.StorageClass,
    Input.PVCS: kube.PersistentVolumeClaim,
    Input.SERVICES: kube.Service,
    Input.ENDPOINT_SLICES: kube.EndpointSlice,
    Input.NODES: kube.Node,
    Input.VELERO_SCHEDULES: kube.VeleroSchedule,
}

_AZURE_CLASSES: dict[Input, type[Any]] = {
    Input.CLUSTER: azure.Cluster,
    Input.NODEPOOLS: azure.AgentPool,
    Input.SCALE_SETS: azure.ScaleSet,
    Input.INSTANCES: azure.ScaleSetInstance,
    Input.MAINTENANCE: azure.MaintenanceConfiguration,
    Input.DIAGNOSTICS: azure.DiagnosticSetting,
    Input.EXTENSIONS: azure.ClusterExtension,
    Input.VERSIONS: azure.KubernetesVersions,
    Input.SUBNETS: azure.Subnet,
    Input.USAGE: azure.Usage,
    Input.ACTIVITY_LOG: azure.ActivityLogEntry,
}


@dataclass(frozen=True, slots=True)
class LoadResult:
    snapshot: Snapshot
    notes: tuple[str, ...]


def load_paths(paths: Sequence[Path], *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadResult:
    """Read every file under `paths` into one Snapshot."""
    files = list(expand_paths(paths))
    if not files:
        raise NoInputError(f"no JSON or YAML files under {', '.join(str(p) for p in paths)}")
    return load_documents(doc for path in files for doc in read_documents(path, max_bytes=max_bytes))


def load_documents(documents: Iterable[Document]) -> LoadResult:
    """Recognise and validate parsed documents into one Snapshot."""
    grouped: dict[Input, list[Item]] = defaultdict(list)
    present: set[Input] = set()
    notes: list[str] = []
    ignored: dict[str, int] = defaultdict(int)
    sources: list[str] = []
    for document in documents:
        found = recognise(document.data, source=document.source)
        if found.unrecognised:
            notes.append(f"{document.source}: not recognised as az or kubectl output; skipped")
            continue
        sources.append(document.source)
        present |= found.present
        for item in found.items:
            grouped[item.kind].append(item)
        for kind, count in found.ignored_kinds.items():
            ignored[kind] += count
    if not sources:
        skipped = [note.split(": not recognised", 1)[0] for note in notes]
        shown = ", ".join(skipped[:3]) + (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "")
        raise NoInputError(
            f"nothing recognisable in the input ({shown}): give the JSON or YAML output of az aks show, "
            "az aks nodepool list, kubectl get … -o json and the like (see README)"
        )
    if ignored:
        listed = ", ".join(f"{count} {kind}" for kind, count in sorted(ignored.items()))
        notes.append(f"not audited, ignored: {listed}")
    return LoadResult(_build(grouped, present, tuple(sources)), tuple(notes))


def _build(grouped: dict[Input, list[Item]], present: set[Input], sources: tuple[str, ...]) -> Snapshot:
    kube_objects = {kind: _validate_kube(kind, items) for kind, items in grouped.items() if kind in _KUBE_CLASSES}
    azure_objects = {kind: _validate_azure(kind, items) for kind, items in grouped.items() if kind in _AZURE_CLASSES}
    cluster = _single_cluster(azure_objects.get(Input.CLUSTER, []), grouped.get(Input.CLUSTER, []))
    pools = azure_objects.get(Input.NODEPOOLS, [])
    if not pools and cluster is not None and cluster.agent_pool_profiles is not None:
        pools = list(cluster.agent_pool_profiles)
        present.add(Input.NODEPOOLS)
    versions = azure_objects.get(Input.VERSIONS, [])
    workloads = kube_objects.get(Input.WORKLOADS, [])
    return Snapshot(
        inputs=frozenset(present),
        cluster=cluster,
        pools=tuple(_unique(pools, lambda p: p.name.lower())),
        scale_sets=tuple(_unique(azure_objects.get(Input.SCALE_SETS, []), lambda s: (s.id or s.name).lower())),
        instances=tuple(azure_objects.get(Input.INSTANCES, [])),
        maintenance_configs=tuple(_unique(azure_objects.get(Input.MAINTENANCE, []), lambda m: m.name)),
        diagnostic_settings=tuple(_unique(azure_objects.get(Input.DIAGNOSTICS, []), lambda d: d.name)),
        extensions=tuple(_unique(azure_objects.get(Input.EXTENSIONS, []), lambda e: e.name)),
        versions=versions[-1] if versions else None,
        subnets=tuple(_unique(azure_objects.get(Input.SUBNETS, []), lambda s: (s.id or s.name).lower())),
        usages=tuple(azure_objects.get(Input.USAGE, [])),
        activity_log=tuple(azure_objects.get(Input.ACTIVITY_LOG, [])),
        workloads=tuple(_unique(workloads, lambda w: (w.kind, w.namespace, w.metadata.name))),
        daemonsets=tuple(kube_objects.get(Input.DAEMONSETS, [])),
        pods=tuple(_unique(kube_objects.get(Input.PODS, []), _kube_key)),
        pdbs=tuple(_unique(kube_objects.get(Input.PDBS, []), _kube_key)),
        hpas=tuple(_unique(kube_objects.get(Input.HPAS, []), _kube_key)),
        namespaces=tuple(_unique(kube_objects.get(Input.NAMESPACES, []), _kube_key)),
        resource_quotas=tuple(_unique(kube_objects.get(Input.RESOURCE_QUOTAS, []), _kube_key)),
        limit_ranges=tuple(_unique(kube_objects.get(Input.LIMIT_RANGES, []), _kube_key)),
        priority_classes=tuple(_unique(kube_objects.get(Input.PRIORITY_CLASSES, []), _kube_key)),
        network_policies=tuple(_unique(kube_objects.get(Input.NETWORK_POLICIES, []), _kube_key)),
        storage_classes=tuple(_unique(kube_objects.get(Input.STORAGE_CLASSES, []), _kube_key)),
        pvcs=tuple(_unique(kube_objects.get(Input.PVCS, []), _kube_key)),
        services=tuple(_unique(kube_objects.get(Input.SERVICES, []), _kube_key)),
        endpoint_slices=tuple(_unique(kube_objects.get(Input.ENDPOINT_SLICES, []), _kube_key)),
        nodes=tuple(_unique(kube_objects.get(Input.NODES, []), _kube_key)),
        velero_schedules=tuple(_unique(kube_objects.get(Input.VELERO_SCHEDULES, []), _kube_key)),
        sources=sources,
        origins=_origins(grouped, kube_objects, azure_objects, cluster),
    )


# Azure inputs and the target kind their findings carry (see model.snapshot's target helpers).
_AZURE_TARGET_KINDS = {
    Input.CLUSTER: "managedCluster",
    Input.NODEPOOLS: "agentPool",
    Input.SCALE_SETS: "virtualMachineScaleSet",
    Input.MAINTENANCE: "maintenanceConfiguration",
    Input.SUBNETS: "subnet",
    Input.USAGE: "vcpuQuota",
    Input.DIAGNOSTICS: "diagnosticSetting",
}


def _origins(
    grouped: dict[Input, list[Item]],
    kube_objects: dict[Input, list[Any]],
    azure_objects: dict[Input, list[Any]],
    cluster: azure.Cluster | None,
) -> dict[str, str]:
    """Which file held each object (by target key) and, failing that, the first file of each kind."""
    origins: dict[str, str] = {}
    for kind, objects in kube_objects.items():
        for item, obj in zip(grouped[kind], objects, strict=True):
            kind_name = item.data["kind"]
            namespace = obj.metadata.namespace
            key = f"{kind_name}/{namespace}/{obj.metadata.name}" if namespace else f"{kind_name}/{obj.metadata.name}"
            origins[key] = item.source
            origins.setdefault(kind_name, item.source)
    for kind, target_kind in _AZURE_TARGET_KINDS.items():
        for item, obj in zip(grouped.get(kind, []), azure_objects.get(kind, []), strict=True):
            name = getattr(obj, "name", None)
            if isinstance(name, str):
                origins[f"{target_kind}/{name}"] = item.source
            origins.setdefault(target_kind, item.source)
    if cluster is not None and Input.CLUSTER in grouped:
        cluster_file = grouped[Input.CLUSTER][-1].source
        origins.setdefault("agentPool", cluster_file)  # pools read from az aks show's agentPoolProfiles
        for pool in cluster.agent_pool_profiles or ():
            origins.setdefault(f"agentPool/{pool.name}", cluster_file)
    return origins


def _kube_key(obj: Any) -> tuple[str | None, str]:
    return (obj.metadata.namespace, obj.metadata.name)


def _unique(objects: Iterable[T], key: Any) -> list[T]:
    """Later copies of the same object replace earlier ones (a folder may hold overlapping exports)."""
    return list({key(obj): obj for obj in objects}.values())


def _single_cluster(clusters: list[azure.Cluster], items: list[Item]) -> azure.Cluster | None:
    distinct = {(c.id or c.name).lower(): (c, item.source) for c, item in zip(clusters, items, strict=True)}
    if len(distinct) > 1:
        described = ", ".join(f"{c.name} in {source}" for c, source in distinct.values())
        raise InputError(f"the input holds more than one cluster ({described}); audit one cluster at a time")
    return clusters[-1] if clusters else None


_ADAPTERS: dict[type[Any], TypeAdapter[list[Any]]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[list[Any]]:
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(list[cls])  # type: ignore[valid-type]
    return _ADAPTERS[cls]


def _validate_kube(kind: Input, items: list[Item]) -> list[Any]:
    cls = _KUBE_CLASSES[kind]
    for item in items:
        metadata = item.data.get("metadata")
        if isinstance(metadata, dict) and item.data["kind"] not in CLUSTER_SCOPED:
            metadata.setdefault("namespace", "default")
    return _validate(cls, items, describe=_describe_kube)


def _validate_azure(kind: Input, items: list[Item]) -> list[Any]:
    if kind in (Input.NODEPOOLS, Input.CLUSTER):
        for item in items:
            pools = item.data.get("agentpoolprofiles") if kind is Input.CLUSTER else [item.data]
            for pool in pools if isinstance(pools, list) else ():
                _pool_type_spelling(pool)
    return _validate(_AZURE_CLASSES[kind], items, describe=_describe_azure)


def _pool_type_spelling(pool: Any) -> None:
    """`az aks show` says `type: VirtualMachineScaleSets`; `az aks nodepool list` says `typePropertiesType`."""
    if isinstance(pool, dict) and "typepropertiestype" not in pool:
        value = pool.get("type")
        if isinstance(value, str) and "/" not in value:
            pool["typepropertiestype"] = value


def _validate(cls: type[Any], items: list[Item], *, describe: Any) -> list[Any]:
    try:
        return list(_adapter(cls).validate_python([item.data for item in items]))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        index, *loc = error["loc"]
        item = items[int(index)]
        raise SchemaError(_schema_message(item, tuple(loc), error, describe)) from exc


def _schema_message(item: Item, loc: tuple[Any, ...], error: Any, describe: Any) -> str:
    path = original_path(item.original, loc) if item.data is not item.original else _dotted(loc)
    found = error.get("input")
    shown = repr(found) if not isinstance(found, (dict, list)) else type(found).__name__
    if len(shown) > 60:
        shown = shown[:57] + "..."
    what = error["msg"].rstrip(".")
    if error["type"] == "missing":
        return f"{item.source}: {describe(item)}: field {path} is missing"
    return f"{item.source}: {describe(item)}: field {path}: {what} (found {shown})"


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _describe_kube(item: Item) -> str:
    metadata = item.data.get("metadata") if isinstance(item.data, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    where = f"{namespace}/{name}" if namespace and item.data["kind"] not in CLUSTER_SCOPED else str(name)
    return f"{item.data['kind']} {where}"


def _describe_azure(item: Item) -> str:
    name = item.data.get("name") if isinstance(item.data, dict) else None
    return f"{item.kind.value} entry {name!r}" if name else f"{item.kind.value} entry"

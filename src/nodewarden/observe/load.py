"""Builds a Snapshot from exported files or live documents: parse, recognise, validate types, de-duplicate.

Wrong types are input errors that name the source (a file, or "the cluster's nodes"), the object and the
field in the user's own spelling.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
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
from nodewarden.observe.recognise import KUBE_KINDS, Item, Recognition

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
    Input.PERSISTENT_VOLUMES: kube.PersistentVolume,
    Input.VOLUME_ATTACHMENTS: kube.VolumeAttachment,
    Input.SERVICES: kube.Service,
    Input.ENDPOINT_SLICES: kube.EndpointSlice,
    Input.NODES: kube.Node,
    Input.VELERO_SCHEDULES: kube.VeleroSchedule,
    Input.LEASES: kube.Lease,
    Input.EVENTS: kube.KubeEvent,
}

# The kind name for a Kubernetes input (workloads carry their own: Deployment or StatefulSet).
_KUBE_KIND_NAMES: dict[Input, str] = {kind: name for name, kind in reversed(KUBE_KINDS.items())}

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
    Input.SCHEDULED_EVENTS: azure.ScheduledEvent,
    Input.RESOURCE_HEALTH: azure.AvailabilityStatus,
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
    with _collector_paused():
        return load_documents(doc for path in files for doc in read_documents(path, max_bytes=max_bytes))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading builds millions of long-lived, acyclic objects; the cyclic GC re-traversing them as the heap
    grows cost ~15 s of a 19 s load in the 5,000-node benchmark. Pause it, then freeze what was built so
    later collections (during the rules) skip it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


class _Collected:
    """Validated objects by input kind, with the file each came from."""

    def __init__(self, validate: Callable[[Item], Any]) -> None:
        self.objects: dict[Input, list[Any]] = defaultdict(list)
        self.sources: dict[Input, list[str]] = defaultdict(list)
        self.validate = validate

    def add(self, item: Item) -> None:
        self.objects[item.kind].append(self.validate(item))
        self.sources[item.kind].append(item.source)


def load_documents(documents: Iterable[Document], *, validate: Callable[[Item], Any] | None = None) -> LoadResult:
    """Recognise and validate parsed documents into one Snapshot, one item at a time.

    A document with a `kind` is taken as that kind, item by item, without recognising it. `validate` turns
    each item into its model object (default `validate_item`); the live observer passes one that reuses the
    objects of items unchanged since its last cycle."""
    collected = _Collected(validate or validate_item)
    present: set[Input] = set()
    notes: list[str] = []
    ignored: dict[str, int] = defaultdict(int)
    sources: list[str] = []
    for document in documents:
        recognition = Recognition(document.data, source=document.source, kind=document.kind)
        for item in recognition.items():
            collected.add(item)
        if recognition.mismatched and document.kind is not None:
            listed = ", ".join(f"{count} {what}" for what, count in sorted(recognition.mismatched.items()))
            notes.append(f"{document.source}: skipped {listed}: expected only {document.kind.value} output")
        if recognition.unrecognised:
            notes.append(f"{document.source}: not recognised as az or kubectl output; skipped")
            continue
        sources.append(document.source)
        present |= recognition.present
        for kind, count in recognition.ignored_kinds.items():
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
    return LoadResult(_build(collected, present, tuple(sources)), tuple(notes))


def _build(collected: _Collected, present: set[Input], sources: tuple[str, ...]) -> Snapshot:
    objects = collected.objects
    cluster = _single_cluster(objects.get(Input.CLUSTER, []), collected.sources.get(Input.CLUSTER, []))
    pools = objects.get(Input.NODEPOOLS, [])
    if not pools and cluster is not None and cluster.agent_pool_profiles is not None:
        pools = list(cluster.agent_pool_profiles)
        present.add(Input.NODEPOOLS)
    versions = objects.get(Input.VERSIONS, [])

    def kube(kind: Input) -> tuple[Any, ...]:
        return tuple(_unique(objects.get(kind, []), _kube_key))

    return Snapshot(
        inputs=frozenset(present),
        cluster=cluster,
        pools=tuple(_unique(pools, lambda p: p.name.lower())),
        scale_sets=tuple(_unique(objects.get(Input.SCALE_SETS, []), lambda s: (s.id or s.name).lower())),
        instances=tuple(objects.get(Input.INSTANCES, [])),
        maintenance_configs=tuple(_unique(objects.get(Input.MAINTENANCE, []), lambda m: m.name)),
        diagnostic_settings=tuple(_unique(objects.get(Input.DIAGNOSTICS, []), lambda d: d.name)),
        extensions=tuple(_unique(objects.get(Input.EXTENSIONS, []), lambda e: e.name)),
        versions=versions[-1] if versions else None,
        subnets=tuple(_unique(objects.get(Input.SUBNETS, []), lambda s: (s.id or s.name).lower())),
        usages=tuple(objects.get(Input.USAGE, [])),
        activity_log=tuple(objects.get(Input.ACTIVITY_LOG, [])),
        workloads=tuple(_unique(objects.get(Input.WORKLOADS, []), lambda w: (w.kind, w.namespace, w.metadata.name))),
        daemonsets=tuple(objects.get(Input.DAEMONSETS, [])),
        pods=kube(Input.PODS),
        pdbs=kube(Input.PDBS),
        hpas=kube(Input.HPAS),
        namespaces=kube(Input.NAMESPACES),
        resource_quotas=kube(Input.RESOURCE_QUOTAS),
        limit_ranges=kube(Input.LIMIT_RANGES),
        priority_classes=kube(Input.PRIORITY_CLASSES),
        network_policies=kube(Input.NETWORK_POLICIES),
        storage_classes=kube(Input.STORAGE_CLASSES),
        pvcs=kube(Input.PVCS),
        persistent_volumes=kube(Input.PERSISTENT_VOLUMES),
        volume_attachments=kube(Input.VOLUME_ATTACHMENTS),
        services=kube(Input.SERVICES),
        endpoint_slices=kube(Input.ENDPOINT_SLICES),
        nodes=kube(Input.NODES),
        velero_schedules=kube(Input.VELERO_SCHEDULES),
        leases=kube(Input.LEASES),
        events=tuple(objects.get(Input.EVENTS, [])),
        scheduled_events=tuple(_unique(objects.get(Input.SCHEDULED_EVENTS, []), lambda e: e.event_id)),
        availability=tuple(_unique(objects.get(Input.RESOURCE_HEALTH, []), lambda s: s.id.lower())),
        sources=sources,
        origins=_origins(collected, cluster),
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


def _origins(collected: _Collected, cluster: azure.Cluster | None) -> dict[str, str]:
    """Which file held each object (by target key) and, failing that, the first file of each kind."""
    origins: dict[str, str] = {}
    for kind in _KUBE_CLASSES:
        for obj, source in zip(collected.objects.get(kind, ()), collected.sources.get(kind, ()), strict=True):
            kind_name = obj.kind if isinstance(obj, kube.Workload) else _KUBE_KIND_NAMES[kind]
            namespace = obj.metadata.namespace
            key = f"{kind_name}/{namespace}/{obj.metadata.name}" if namespace else f"{kind_name}/{obj.metadata.name}"
            origins[key] = source
            origins.setdefault(kind_name, source)
    for kind, target_kind in _AZURE_TARGET_KINDS.items():
        for obj, source in zip(collected.objects.get(kind, ()), collected.sources.get(kind, ()), strict=True):
            name = getattr(obj, "name", None)
            if isinstance(name, str):
                origins[f"{target_kind}/{name}"] = source
            origins.setdefault(target_kind, source)
    cluster_sources = collected.sources.get(Input.CLUSTER)
    if cluster is not None and cluster_sources:
        origins.setdefault("agentPool", cluster_sources[-1])  # pools read from az aks show's agentPoolProfiles
        for pool in cluster.agent_pool_profiles or ():
            origins.setdefault(f"agentPool/{pool.name}", cluster_sources[-1])
    return origins


def _kube_key(obj: Any) -> tuple[str | None, str]:
    return (obj.metadata.namespace, obj.metadata.name)


def _unique(objects: Iterable[T], key: Any) -> list[T]:
    """Later copies of the same object replace earlier ones (a folder may hold overlapping exports)."""
    return list({key(obj): obj for obj in objects}.values())


def _single_cluster(clusters: list[azure.Cluster], sources: list[str]) -> azure.Cluster | None:
    distinct = {(c.id or c.name).lower(): (c, source) for c, source in zip(clusters, sources, strict=True)}
    if len(distinct) > 1:
        described = ", ".join(f"{c.name} in {source}" for c, source in distinct.values())
        raise InputError(f"the input holds more than one cluster ({described}); audit one cluster at a time")
    return clusters[-1] if clusters else None


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def validate_item(item: Item) -> Any:
    """One recognised item as its model object; a wrong type is a SchemaError naming file, object and field."""
    if item.kind in _KUBE_CLASSES:
        cls, describe = _KUBE_CLASSES[item.kind], _describe_kube
        metadata = item.data.get("metadata")
        if isinstance(metadata, dict) and item.data["kind"] not in CLUSTER_SCOPED:
            metadata.setdefault("namespace", "default")
    else:
        cls, describe = _AZURE_CLASSES[item.kind], _describe_azure
        if item.kind is Input.CLUSTER:
            pools = item.data.get("agentpoolprofiles")
            for pool in pools if isinstance(pools, list) else ():
                _pool_type_spelling(pool)
        elif item.kind is Input.NODEPOOLS:
            _pool_type_spelling(item.data)
    try:
        return _adapter(cls).validate_python(item.data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise SchemaError(_schema_message(item, tuple(error["loc"]), error, describe)) from exc


def _pool_type_spelling(pool: Any) -> None:
    """`az aks show` says `type: VirtualMachineScaleSets`; `az aks nodepool list` says `typePropertiesType`."""
    if isinstance(pool, dict) and "typepropertiestype" not in pool:
        value = pool.get("type")
        if isinstance(value, str) and "/" not in value:
            pool["typepropertiestype"] = value


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

"""One observation per cycle: the caches' Kubernetes objects and a fresh ARM read, as a Snapshot.

The Kubernetes side comes from the list+watch caches (no API call per cycle); the Azure side is read
each cycle: the cluster, its pools, the scale sets with every instance view (one paged call per scale
set), the Activity Log of the last hour and, where an IMDS endpoint is configured, Scheduled Events.
Both go through the same loader as exported files, so `plan` on files and `run` see the same shapes; each
document declares the kind it holds (the observer knows it: a cache's kind, the ARM call it made), so the
loader takes its items as that kind rather than recognising them by content, and messages name their origin
("the cluster's nodes") rather than a file that never was.

Validating every cached object each cycle would cost seconds at 5,000 nodes and 50,000 pods, so the
observer keeps the model objects it validated last cycle by (kind, namespace, name, resourceVersion) and
validates only the objects that changed: the server gives every write a new resourceVersion, and model
objects are immutable. The Snapshot is the one `load.load_documents` builds from the same documents.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nodewarden import http
from nodewarden.connection import AzureClients, Connection
from nodewarden.errors import InputError, NodewardenError
from nodewarden.model.azure import AvailabilityStatus
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot
from nodewarden.observe import live_azure, load, recognise, resource_health
from nodewarden.observe.activity import activity_since
from nodewarden.observe.cache import Caches, KubeCache
from nodewarden.observe.files import Document
from nodewarden.observe.recognise import Item

# What the controller watches: the node and everything that decides whether touching it is safe.
REMEDIATION_KINDS = ("nodes", "leases", "pods", "pdbs", "deployments", "statefulsets", "daemonsets", "events",
                     "namespaces", "pvc", "persistentvolumes", "volumeattachments")  # fmt: skip
SCHEDULED_EVENTS_API = "2020-07-01"
AZURE_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Observation:
    snapshot: Snapshot
    observed_at: datetime
    synced: bool  # every cache has listed at least once and the ARM read succeeded
    notes: tuple[str, ...] = ()


class LiveObserver:
    """The Kubernetes side from the caches every cycle; the Azure side read at most every `azure_every`
    (ARM allows a subscription about 12,000 reads an hour, and a cluster's Azure state changes slowly), and
    again at once after nodewarden itself changed something there (`refresh_azure`)."""

    def __init__(
        self,
        connection: Connection,
        caches: Caches,
        *,
        activity_lookback: timedelta = timedelta(hours=1),
        azure_every: timedelta = AZURE_EVERY,
    ) -> None:
        self.connection = connection
        self.caches = caches
        self.activity_lookback = activity_lookback
        self.azure_every = azure_every
        self.validator = IncrementalValidator()
        self._azure: list[Document] = []
        self._azure_at: datetime | None = None
        self._availability: tuple[AvailabilityStatus, ...] = ()

    def refresh_azure(self) -> None:
        """Read Azure again at the next cycle, whatever the pace."""
        self._azure_at = None

    def observe(self, now: datetime) -> Observation:
        documents, synced, notes = self.read(now)
        loaded = self.validator.load(documents)
        snapshot, health_notes = self._with_resource_health(loaded.snapshot, now)
        return Observation(snapshot, now, synced, notes + loaded.notes + health_notes)

    def _with_resource_health(self, snapshot: Snapshot, now: datetime) -> tuple[Snapshot, tuple[str, ...]]:
        """Resource Health for the instances that matter (observe/resource_health.py), read when Azure was read
        this cycle and carried between reads, like the rest of the Azure side."""
        azure = self.connection.azure
        if azure is None or azure.health is None:
            return snapshot, ()
        notes: list[str] = []
        if self._azure_at == now:
            reads, kept = resource_health.next_reads(snapshot, self._availability)
            found, notes = resource_health.read_availability(azure, reads)
            fresh = load.load_documents(
                [Document(source="Azure Resource Health", data=found, kind=Input.RESOURCE_HEALTH)]
            ).snapshot.availability
            self._availability = kept + fresh
        inputs = snapshot.inputs | {Input.RESOURCE_HEALTH}
        return dataclasses.replace(snapshot, availability=self._availability, inputs=inputs), tuple(notes)

    def read(self, now: datetime) -> tuple[list[Document], bool, tuple[str, ...]]:
        """This cycle's input: the caches' objects and a fresh ARM read, as (documents, synced, notes)."""
        documents: list[Document] = []
        notes: list[str] = []
        synced = self.caches.synced
        for cache in self.caches.caches.values():
            documents.append(
                Document(source=f"the cluster's {cache.name}", data=cache.items(), kind=cache_input(cache))
            )
        azure = self.connection.azure
        if azure is not None:
            last = self._azure_at
            if last is None or now < last or now - last >= self.azure_every:
                try:
                    self._azure = _azure_documents(azure, now - self.activity_lookback, now)
                    self._azure_at = now
                except NodewardenError as exc:
                    synced = False
                    notes.append(f"Azure not read this cycle: {exc}")
            documents += self._azure
            if azure.target.imds_url:  # IMDS is local and not rate limited; Preempt gives only 30 s notice
                try:
                    events = scheduled_events(azure)
                    documents.append(Document(source="IMDS Scheduled Events", data=events, kind=Input.SCHEDULED_EVENTS))
                except NodewardenError as exc:
                    notes.append(f"Scheduled Events not read this cycle: {exc}")
        return documents, synced, tuple(notes)


VersionKey = tuple[str, str | None, str, str]  # (kind, namespace, name, resourceVersion)


class IncrementalValidator:
    """`load.load_documents` that validates only the Kubernetes objects changed since the last call.

    Objects with a resourceVersion are kept by (kind, namespace, name, resourceVersion) from one call to
    the next; only what this call's documents hold is kept, so deleted objects are dropped. Azure
    documents (no resourceVersion) are validated every time.
    """

    def __init__(self) -> None:
        self._objects: dict[VersionKey, Any] = {}
        self.reused = 0  # objects taken from the last call, in the last call (for tests and benchmarks)
        self.validated = 0  # objects validated in the last call

    def load(self, documents: Iterable[Document]) -> load.LoadResult:
        kept: dict[VersionKey, Any] = {}
        self.reused = self.validated = 0

        def validate(item: Item) -> Any:
            key = version_key(item)
            if key is not None and key in self._objects:
                self.reused += 1
                obj = self._objects[key]
            else:
                self.validated += 1
                obj = load.validate_item(item)
            if key is not None:
                kept[key] = obj
            return obj

        loaded = load.load_documents(documents, validate=validate)
        self._objects = kept
        return loaded


def cache_input(cache: KubeCache) -> Input:
    """The input a watch cache holds, known from the kind it lists (`Caches.KINDS` in observe/cache.py)."""
    return recognise.KUBE_KINDS[cache.export.kind]


def version_key(item: Item) -> VersionKey | None:
    """A Kubernetes object's (kind, namespace, name, resourceVersion); None without a resourceVersion."""
    data = item.data
    metadata = data.get("metadata") if item.kind in recognise.KUBE_INPUTS else None  # Azure has no versions
    if not isinstance(metadata, dict):
        return None
    name, version, namespace = metadata.get("name"), metadata.get("resourceVersion"), metadata.get("namespace")
    if not isinstance(name, str) or not isinstance(version, str) or not version:
        return None
    return (str(data.get("kind")), namespace if isinstance(namespace, str) else None, name, version)


def _azure_documents(azure: AzureClients, since: datetime, until: datetime) -> list[Document]:
    documents = [
        Document(source=export.what, data=export.document, kind=export.kind)
        for export in live_azure.list_exports(azure)
    ]
    node_rg = azure.target.node_resource_group or node_resource_group(documents)
    if node_rg:
        entries = activity_since(azure, since, until, resource_group=node_rg)
        documents.append(Document(source=f"the Activity Log of {node_rg}", data=entries, kind=Input.ACTIVITY_LOG))
    return documents


def node_resource_group(documents: list[Document]) -> str | None:
    """The node resource group the cluster document names (found by its kind), or None."""
    cluster: Any = next((d.data for d in documents if d.kind is Input.CLUSTER), None)
    return cluster.get("nodeResourceGroup") if isinstance(cluster, dict) else None


def scheduled_events(azure: AzureClients) -> Any:
    """IMDS Scheduled Events (learn.microsoft.com/azure/virtual-machines/linux/scheduled-events)."""
    imds = http.Endpoint(
        azure.target.imds_url or "", name="Scheduled Events", ca_bundle=azure.target.ca_bundle, timeout=5
    )
    with imds:
        return imds.call(
            "GET",
            "/metadata/scheduledevents",
            params={"api-version": SCHEDULED_EVENTS_API},
            headers={"Metadata": "true"},
        )


def observe_once(connection: Connection, now: datetime, *, sync_timeout: float = 60.0) -> Observation:
    """One observation without keeping caches: list every watched kind once, then read Azure."""
    if connection.kube is None:
        raise InputError("a live observation needs a Kubernetes connection (--kubeconfig or --twin)")
    with Caches(connection.kube, kinds=REMEDIATION_KINDS) as caches:
        if not caches.wait_synced(sync_timeout):
            failing = "; ".join(f"{c.name}: {c.stats.last_error}" for c in caches.caches.values() if not c.synced)
            raise InputError(f"could not list the cluster within {sync_timeout:g}s ({failing})")
        return LiveObserver(connection, caches).observe(now)

"""One observation per cycle: the caches' Kubernetes objects and a fresh ARM read, as a Snapshot.

The Kubernetes side comes from the list+watch caches (no API call per cycle); the Azure side is read
each cycle: the cluster, its pools, the scale sets with every instance view (one paged call per scale
set), the Activity Log of the last hour and, where an IMDS endpoint is configured, Scheduled Events.
Both go through the same loader as exported files, so `plan` on files and `run` see the same shapes.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2

from nodewarden.connection import AzureClients, Connection
from nodewarden.errors import InputError, NodewardenError
from nodewarden.model.snapshot import Snapshot
from nodewarden.observe import live_azure, load
from nodewarden.observe.activity import activity_since
from nodewarden.observe.cache import Caches
from nodewarden.observe.files import Document
from nodewarden.observe.live_kube import kubectl_list

# What the controller watches: the node and everything that decides whether touching it is safe.
REMEDIATION_KINDS = ("nodes", "leases", "pods", "pdbs", "deployments", "statefulsets", "daemonsets", "events",
                     "namespaces")  # fmt: skip
SCHEDULED_EVENTS_API = "2020-07-01"


@dataclass(frozen=True)
class Observation:
    snapshot: Snapshot
    observed_at: datetime
    synced: bool  # every cache has listed at least once and the ARM read succeeded
    notes: tuple[str, ...] = ()


class LiveObserver:
    def __init__(
        self, connection: Connection, caches: Caches, *, activity_lookback: timedelta = timedelta(hours=1)
    ) -> None:
        self.connection = connection
        self.caches = caches
        self.activity_lookback = activity_lookback

    def observe(self, now: datetime) -> Observation:
        documents: list[Document] = []
        notes: list[str] = []
        synced = self.caches.synced
        for name, cache in self.caches.caches.items():
            documents.append(Document(source=f"k8s-{name}.json", data=kubectl_list(cache.items())))
        azure = self.connection.azure
        if azure is not None:
            try:
                documents += _azure_documents(azure, now - self.activity_lookback, now)
            except NodewardenError as exc:
                synced = False
                notes.append(f"Azure not read this cycle: {exc}")
        loaded = load.load_documents(documents)
        return Observation(loaded.snapshot, now, synced, tuple(notes) + loaded.notes)


def _azure_documents(azure: AzureClients, since: datetime, until: datetime) -> list[Document]:
    documents = [Document(source=export.file_name, data=export.document) for export in live_azure.list_exports(azure)]
    node_rg = azure.target.node_resource_group or _node_rg(documents)
    if node_rg:
        entries = activity_since(azure, since, until, resource_group=node_rg)
        documents.append(Document(source="activity-log.json", data=entries))
    if azure.target.imds_url:
        documents.append(Document(source="scheduled-events.json", data=scheduled_events(azure)))
    return documents


def _node_rg(documents: list[Document]) -> str | None:
    cluster: Any = next((d.data for d in documents if d.source == "aks.json"), None)
    return cluster.get("nodeResourceGroup") if isinstance(cluster, dict) else None


def scheduled_events(azure: AzureClients) -> Any:
    """IMDS Scheduled Events (learn.microsoft.com/azure/virtual-machines/linux/scheduled-events)."""
    url = f"{azure.target.imds_url}/metadata/scheduledevents"
    ca_bundle = azure.target.ca_bundle
    verify: Any = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
    try:
        response = httpx2.get(
            url, params={"api-version": SCHEDULED_EVENTS_API}, headers={"Metadata": "true"}, verify=verify, timeout=5
        )
        response.raise_for_status()
        return response.json()
    except (httpx2.HTTPError, ValueError) as exc:
        raise InputError(f"Scheduled Events from {url}: {exc}") from exc


def observe_once(connection: Connection, now: datetime, *, sync_timeout: float = 60.0) -> Observation:
    """One observation without keeping caches: list every watched kind once, then read Azure."""
    if connection.kube is None:
        raise InputError("a live observation needs a Kubernetes connection (--kubeconfig or --twin)")
    with Caches(connection.kube, kinds=REMEDIATION_KINDS) as caches:
        if not caches.wait_synced(sync_timeout):
            failing = "; ".join(f"{c.name}: {c.stats.last_error}" for c in caches.caches.values() if not c.synced)
            raise InputError(f"could not list the cluster within {sync_timeout:g}s ({failing})")
        return LiveObserver(connection, caches).observe(now)

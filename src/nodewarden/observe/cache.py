"""List+watch caches of Kubernetes objects, kept current in background threads (issue 4, "Observe").

One `KubeCache` per resource type: a paged list (`chunk_size=500`) records the list's resourceVersion,
then a watch from it applies ADDED/MODIFIED/DELETED to a dict keyed by (namespace, name). lightkube's
watch reconnects by itself from the last version it saw when the server ends a stream (timeout or a
dropped connection); an ERROR event or an ApiError with code 410 (Expired) makes the cache re-list;
any other error backs off (capped exponential) and resumes from the last resourceVersion seen.
BOOKMARK events (delivered if the server sends them; lightkube 1.0 does not ask for them) only move
the resourceVersion and the event clock on.

Items are the server's JSON as dicts, with `apiVersion` and `kind` set, like `live_kube.list_items`.
Callers check `synced` and `last_event_age(now)` before acting, so they never act on stale data.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx2
from lightkube import Client
from lightkube.core.exceptions import ApiError, NotReadyError

from nodewarden.errors import NodewardenError
from nodewarden.observe.live_kube import (
    CHUNK_SIZE,
    KUBE_EXPORTS,
    KubeExport,
    resource_type,
    translate_api_error,
    translate_transport_error,
)

Key = tuple[str, str]  # (namespace or "", name)

LEASES = KubeExport("leases", "coordination.k8s.io", "v1", "Lease", "leases")
EVENTS = KubeExport("events", "events.k8s.io", "v1", "Event", "events")
# Where a down node's pods can go (model/capacity.py, heal/fencing.py): not audited, so not among KUBE_EXPORTS.
PERSISTENT_VOLUMES = KubeExport(
    "persistentvolumes", "", "v1", "PersistentVolume", "persistentvolumes", namespaced=False
)
VOLUME_ATTACHMENTS = KubeExport(
    "volumeattachments", "storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", namespaced=False
)
NODE_LEASE_NAMESPACE = "kube-node-lease"
NODE_EVENT_NAMESPACE = "default"


@dataclass
class CacheStats:
    """Counters for tests and benchmarks: how often the cache listed, resumed and failed."""

    lists: int = 0  # complete paged lists (the first one and every re-list)
    watches: int = 0  # watch streams opened by the cache (lightkube's own reconnects are not counted)
    expired: int = 0  # 410s seen
    errors: int = 0  # other errors, each followed by a back-off
    events: int = 0  # ADDED/MODIFIED/DELETED applied
    bookmarks: int = 0
    last_error: str = ""


class KubeCache:
    """The objects of one resource type (optionally one namespace), kept by list+watch in a thread."""

    def __init__(
        self,
        client: Client,
        export: KubeExport,
        *,
        namespace: str | None = None,
        server_timeout: int = 300,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.export = export
        self.namespace = namespace
        self.server_timeout = server_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.clock = clock
        self.stats = CacheStats()
        self.absent = False  # an optional kind (a CRD) this cluster does not serve
        self._sleep = sleep
        self._items: dict[Key, dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._resource_version = ""
        self._listed = False
        self._watching = False
        self._last_event: float | None = None
        self._failures = 0  # consecutive, reset by a successful list or an event

    # -- reading ---------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return f"{self.export.plural}" + (f" in {self.namespace}" if self.namespace else "")

    @property
    def synced(self) -> bool:
        """The list is done and the watch is running (False while re-listing or backing off)."""
        with self._changed:
            return self._listed and self._watching

    @property
    def resource_version(self) -> str:
        with self._changed:
            return self._resource_version

    def last_event_age(self, now: float | None = None) -> float | None:
        """Seconds since the last list, event or bookmark (on `clock`), or None before the first list."""
        with self._changed:
            if self._last_event is None:
                return None
            return (self.clock() if now is None else now) - self._last_event

    def items(self) -> list[dict[str, Any]]:
        with self._changed:
            return list(self._items.values())

    def get(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        with self._changed:
            return self._items.get((namespace or "", name))

    def __len__(self) -> int:
        with self._changed:
            return len(self._items)

    def wait_for(self, predicate: Callable[[KubeCache], bool], timeout: float) -> bool:
        """Block until `predicate(self)` holds (checked after every change), or `timeout` real seconds pass."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    def wait_synced(self, timeout: float) -> bool:
        return self.wait_for(lambda cache: cache._listed and cache._watching, timeout)

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> KubeCache:
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stopping.clear()
        self._thread = threading.Thread(target=self.run, name=f"kubecache-{self.export.plural}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 0.0) -> None:
        """Stop applying events now; the thread ends at its next event, error or back-off (it is a daemon:
        a quiet watch blocks in lightkube until the server ends the stream). `timeout`: wait that long for it."""
        self._stopping.set()
        with self._changed:
            self._watching = False
            self._changed.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def run(self) -> None:
        """The loop: list, watch, resume or re-list, back off on errors, until `stop()`."""
        while not self._stopping.is_set():
            try:
                if not self._listed:
                    self.relist()
                self._watch()
            except ApiError as exc:
                if exc.status.code == 404 and self.export.optional and not self._listed:
                    self._not_served()
                    return
                if exc.status.code == 410:
                    self._expire()
                    continue
                self._failed(
                    translate_api_error(exc, verb="watch", resource=self.export.plural, group=self.export.group)
                )
            except httpx2.TransportError as exc:
                self._failed(translate_transport_error(exc))
            except (httpx2.HTTPError, NodewardenError, ValueError) as exc:
                self._failed(exc)

    def relist(self) -> None:
        """A complete paged list, replacing the cache's content and its resourceVersion."""
        listed = self._list()
        items: dict[Key, dict[str, Any]] = {}
        for obj in listed:
            item = self._item(obj)
            items[_key(item)] = item
        with self._changed:
            self._items = items
            self._resource_version = _list_version(listed) or self._resource_version
            self._listed = True
            self._last_event = self.clock()
            self._failures = 0
            self.stats.lists += 1
            self._changed.notify_all()

    # -- internals -------------------------------------------------------------------------------

    def _list(self) -> Any:
        resource = resource_type(self.export)
        if self.export.namespaced:
            return self.client.list(resource, namespace=self.namespace or "*", chunk_size=CHUNK_SIZE)
        return self.client.list(resource, chunk_size=CHUNK_SIZE)

    def _watch(self) -> None:
        resource = resource_type(self.export)
        with self._changed:
            if self._stopping.is_set():
                return
            rv = self._resource_version
            self._watching = True
            self.stats.watches += 1
            self._changed.notify_all()
        kwargs: dict[str, Any] = {"server_timeout": self.server_timeout, "resource_version": rv or None}
        if self.export.namespaced:
            kwargs["namespace"] = self.namespace or "*"
        stream = self.client.watch(resource, **kwargs)
        for kind, obj in stream:
            if self._stopping.is_set():
                return
            self._apply(kind, obj)

    def _apply(self, kind: str, obj: Any) -> None:
        if kind == "BOOKMARK":
            rv = obj.metadata.resourceVersion if obj.metadata is not None else None
            with self._changed:
                if rv:
                    self._resource_version = rv
                self._last_event = self.clock()
                self.stats.bookmarks += 1
                self._changed.notify_all()
            return
        item = self._item(obj)
        key = _key(item)
        with self._changed:
            if kind == "DELETED":
                self._items.pop(key, None)
            else:
                self._items[key] = item
            self._resource_version = item.get("metadata", {}).get("resourceVersion") or self._resource_version
            self._last_event = self.clock()
            self._failures = 0
            self.stats.events += 1
            self._changed.notify_all()

    def _item(self, obj: Any) -> dict[str, Any]:
        item = dict(obj)
        item["apiVersion"] = self.export.api_version
        item["kind"] = self.export.kind
        return item

    def _not_served(self) -> None:
        """An add-on's kind the cluster does not serve (no CRD): synced, empty, and nothing to watch."""
        with self._changed:
            self._items = {}
            self._listed = True
            self._watching = True
            self.absent = True
            self._last_event = self.clock()
            self._changed.notify_all()
        self._stopping.wait()

    def _expire(self) -> None:
        with self._changed:
            self._listed = False
            self._watching = False
            self.stats.expired += 1
            self._changed.notify_all()

    def _failed(self, exc: Exception) -> None:
        """Record the error and back off: the delay doubles per failure since the last list or event."""
        with self._changed:
            self._watching = False
            self.stats.errors += 1
            self.stats.last_error = str(exc)
            self._failures += 1
            failures = self._failures
            self._changed.notify_all()
        delay = min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1))
        if self._sleep is not None:
            self._sleep(delay)
        else:
            self._stopping.wait(delay)


def _key(item: dict[str, Any]) -> Key:
    metadata = item.get("metadata") or {}
    return (metadata.get("namespace") or "", metadata.get("name") or "")


def _list_version(listed: Any) -> str:
    try:
        return str(listed.resourceVersion)
    except NotReadyError:  # the server sent no resourceVersion
        return ""


def _export(name: str) -> KubeExport:
    return next(export for export in KUBE_EXPORTS if export.name == name)


def _audit_only() -> tuple[KubeExport, ...]:
    watched = {"nodes", "pods", "pdb", "deployments", "statefulsets", "daemonsets", "namespaces"}
    return tuple(export for export in KUBE_EXPORTS if export.name not in watched)


class Caches:
    """One cache per kind nodewarden watches: what remediation reads (nodes, node leases, pods, PDBs,
    workloads, Node events, namespaces, and the claims, volumes and attachments that say where a dead node's pods
    can go) and every other kind the audit reads."""

    KINDS: tuple[tuple[str, KubeExport, str | None], ...] = (
        ("nodes", _export("nodes"), None),
        ("leases", LEASES, NODE_LEASE_NAMESPACE),
        ("pods", _export("pods"), None),
        ("pdbs", _export("pdb"), None),
        ("deployments", _export("deployments"), None),
        ("statefulsets", _export("statefulsets"), None),
        ("daemonsets", _export("daemonsets"), None),
        ("events", EVENTS, NODE_EVENT_NAMESPACE),  # Node events live in `default`
        ("namespaces", _export("namespaces"), None),
        ("persistentvolumes", PERSISTENT_VOLUMES, None),
        ("volumeattachments", VOLUME_ATTACHMENTS, None),
        *((export.name, export, None) for export in _audit_only()),
    )

    def __init__(self, client: Client, kinds: Iterable[str] | None = None, **options: Any) -> None:
        wanted = set(kinds) if kinds is not None else None
        self.caches: dict[str, KubeCache] = {
            name: KubeCache(client, export, namespace=namespace, **options)
            for name, export, namespace in self.KINDS
            if wanted is None or name in wanted
        }

    def __getitem__(self, name: str) -> KubeCache:
        return self.caches[name]

    def start(self) -> Caches:
        for cache in self.caches.values():
            cache.start()
        return self

    def stop(self) -> None:
        for cache in self.caches.values():
            cache.stop()

    @property
    def synced(self) -> bool:
        return all(cache.synced for cache in self.caches.values())

    def wait_synced(self, timeout: float) -> bool:
        """True once every cache is synced; False if `timeout` real seconds pass first."""
        deadline = time.monotonic() + timeout
        return all(cache.wait_synced(max(0.0, deadline - time.monotonic())) for cache in self.caches.values())

    def __enter__(self) -> Caches:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

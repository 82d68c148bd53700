"""The twin's etcd and registry: Kubernetes objects with resourceVersions, an event log and watches.

Semantics follow the apiserver as clients see them (Kubernetes docs, "API concepts"): one global
resourceVersion counter bumped by every write; optimistic concurrency (409 on a stale resourceVersion); lists in key
order, paged with an opaque continue token and served at the first page's resourceVersion; a
per-resource event log compacted after `retain_seconds` of twin time or `retain_events` entries, so a
watch or continue token older than the window gets 410 Expired, deterministically.

Custom resources live in tables the store adds when their CRD is written and drops, objects first,
when it is deleted; their writes are pruned and validated against the CRD's schema (`structural`).

Stored objects are never changed in place: every write stores a fresh dict. Callers get deep copies
(`copy=False` hands out the stored object itself, read-only, for the HTTP layer and the physics).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import builtins
import json
import random
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from nodewarden.twin.clock import Clock
from nodewarden.twin.kube import crds, structural
from nodewarden.twin.kube import patch as patches
from nodewarden.twin.kube.defaults import apply_defaults
from nodewarden.twin.kube.errors import ApiError, already_exists, bad_request, conflict, expired, invalid, not_found
from nodewarden.twin.kube.faults import ApiFaults
from nodewarden.twin.kube.meta import Obj, clone, rfc3339
from nodewarden.twin.kube.resources import Registry, ResourceType
from nodewarden.twin.kube.selectors import object_filter

Key = tuple[str, str]  # (namespace or "", name)
Listener = Callable[[str, str, Obj, Obj | None], None]  # (resource, type, object, previous)
Admission = Callable[[str, Obj], None]  # (resource, object being created), may raise ApiError
IndexFn = Callable[[Obj], Iterable[str]]

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Built in to every cluster (scheduling/v1 `SystemPriorityClasses`).
SYSTEM_PRIORITY_CLASSES = (("system-node-critical", 2000001000), ("system-cluster-critical", 2000000000))


@dataclass(frozen=True)
class Change:
    """One entry of a resource's event log: what a watch from before `rv` will be told."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    obj: Obj
    old: Obj | None
    at: float  # clock.elapsed() when written


@dataclass(frozen=True)
class Page:
    items: list[Obj]
    resource_version: str
    continue_token: str | None = None
    remaining: int | None = None


class _Table:
    def __init__(self, rtype: ResourceType, lock: threading.RLock) -> None:
        self.type = rtype
        self.objects: dict[Key, Obj] = {}
        self.by_namespace: dict[str, dict[Key, Obj]] = {}  # the same objects, grouped (namespaced lists are common)
        self.log: list[Change] = []
        self.head = 0  # log[:head] is compacted away (kept until the list is trimmed)
        self.floor = 0  # the newest compacted resourceVersion: watching from before it is 410
        self.last_rv = 0
        self.dropped = False  # its CRD was deleted: open watches end once they have seen the deletions
        self.indexes: dict[str, tuple[IndexFn, dict[str, set[Key]]]] = {}
        self.changed = threading.Condition(lock)


def _key_of(obj: Obj) -> Key:
    metadata = obj["metadata"]
    return (metadata.get("namespace") or "", metadata["name"])


def _spec_part(obj: Obj, rtype: ResourceType) -> dict[str, Any]:
    """What `metadata.generation` tracks: everything but metadata (and status, where it is a subresource)."""
    skipped = ("metadata", "status", "kind", "apiVersion") if rtype.has_status else ("metadata", "kind", "apiVersion")
    return {k: v for k, v in obj.items() if k not in skipped}


class KubeStore:
    """Objects by resource plural; all methods are thread-safe (one lock)."""

    def __init__(
        self,
        clock: Clock,
        *,
        retain_seconds: float = 300.0,
        retain_events: int = 50_000,
        seed: int = 0,
        namespaces: Iterable[str] = DEFAULT_NAMESPACES,
    ) -> None:
        self.clock = clock
        self.retain_seconds = retain_seconds
        self.retain_events = retain_events
        self.faults = ApiFaults(seed=seed)
        self._lock = threading.RLock()
        self._rv = 0
        self._random = random.Random(seed)
        self.resources = Registry()
        self._tables = {
            key: _Table(self.resources.storage_type(key), self._lock) for key in self.resources.storage_keys()
        }
        self._listeners: list[Listener] = []
        self._admission: list[Admission] = []
        self._watch_epoch = 0
        for namespace in namespaces:
            self.create("namespaces", {"metadata": {"name": namespace}})
        for name, value in SYSTEM_PRIORITY_CLASSES:
            self.create(
                "priorityclasses",
                {"metadata": {"name": name}, "value": value, "description": "Used for system critical pods."},
            )

    # -- reading ---------------------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        with self._lock:
            return str(self._rv)

    def get(self, resource: str, namespace: str | None, name: str, *, copy: bool = True) -> Obj:
        table = self._table(resource)
        with self._lock:
            obj = table.objects.get(self._key(table, namespace, name))
            if obj is None:
                raise not_found(table.type.plural, name, group=table.type.group)
            return clone(obj) if copy else obj

    def peek(self, resource: str, namespace: str | None, name: str) -> Obj | None:
        """The stored object itself, or None: read-only, never modify it."""
        table = self._table(resource)
        with self._lock:
            return table.objects.get(self._key(table, namespace, name))

    def items(self, resource: str, namespace: str | None = None) -> builtins.list[Obj]:
        """Every stored object of a resource (read-only, unordered), without the cost of copies."""
        table = self._table(resource)
        with self._lock:
            if namespace:
                return list(table.by_namespace.get(namespace, {}).values())
            return list(table.objects.values())

    def count(self, resource: str) -> int:
        with self._lock:
            return len(self._table(resource).objects)

    def list(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = "",
        field_selector: str | None = "",
        limit: int | None = None,
        continue_token: str | None = None,
        *,
        copy: bool = True,
    ) -> Page:
        """A page of objects in key order; every page of one list is served at the first page's RV."""
        table = self._table(resource)
        accept = object_filter(label_selector, field_selector)
        filtered = bool(label_selector or field_selector)
        if limit is not None and limit <= 0:
            limit = None
        with self._lock:
            start: Key | None = None
            if continue_token:
                rv, start = self._decode_continue(continue_token)
                self._compact(table)
                if rv < table.floor:
                    raise expired(
                        "The provided continue parameter is too old to display a consistent list result. "
                        "You can start a new list without the continue parameter."
                    )
                objects = self._objects_at(table, rv)
            else:
                rv, objects = self._rv, table.objects
            if namespace and objects is table.objects:
                keys = sorted(table.by_namespace.get(namespace, {}))
            else:
                keys = sorted(key for key in objects if not namespace or key[0] == namespace)
            position = bisect.bisect_right(keys, start) if start is not None else 0
            items: list[Obj] = []
            last: Key | None = None
            while position < len(keys) and (limit is None or len(items) < limit):
                key = keys[position]
                position += 1
                obj = objects[key]
                if accept(obj):
                    items.append(clone(obj) if copy else obj)
                    last = key
            more = position < len(keys) and last is not None
            token = self._encode_continue(rv, last) if more and last is not None else None
            remaining = len(keys) - position if more and not filtered else None
            return Page(items, str(rv), token, remaining)

    def by_index(self, resource: str, index: str, value: str, *, copy: bool = True) -> builtins.list[Obj]:
        table = self._table(resource)
        with self._lock:
            _, entries = table.indexes[index]
            found = [table.objects[key] for key in sorted(entries.get(value, ()))]
            return [clone(obj) for obj in found] if copy else found

    def add_index(self, resource: str, index: str, fn: IndexFn) -> None:
        """Keep `resource` objects findable by every value `fn` returns (node name, owner uid …)."""
        table = self._table(resource)
        with self._lock:
            entries: dict[str, set[Key]] = {}
            table.indexes[index] = (fn, entries)
            for key, obj in table.objects.items():
                for value in fn(obj):
                    entries.setdefault(value, set()).add(key)

    # -- writing ---------------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Called under the store lock after every write: must be quick and must not write back."""
        with self._lock:
            self._listeners.append(listener)

    def add_admission(self, admission: Admission) -> None:
        """Called on every create after defaulting (a mutating admission plugin)."""
        with self._lock:
            self._admission.append(admission)

    def create(
        self, resource: str, obj: Obj, *, namespace: str | None = None, copy: bool = True, strict: bool = False
    ) -> Obj:
        """Store a new object. `copy=False`: the store takes `obj` itself and returns the stored object (read-only).

        `strict`: fields a custom resource's schema does not declare are a 400 (`fieldValidation=Strict`), not pruned.
        """
        table = self._table(resource)
        rtype = table.type
        new = clone(obj) if copy else obj
        metadata = new.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        if rtype.namespaced:
            if namespace and metadata.get("namespace") and metadata["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            metadata["namespace"] = namespace or metadata.get("namespace") or "default"
        else:
            metadata.pop("namespace", None)
        with self._lock:
            if not metadata.get("name"):
                if not metadata.get("generateName"):
                    raise invalid(rtype.kind, "", "metadata.name: Required value: name or generateName is required")
                metadata["name"] = metadata["generateName"] + self._suffix()
            key = _key_of(new)
            if rtype.namespaced and ("", key[0]) not in self._tables["namespaces"].objects:
                raise not_found("namespaces", key[0])
            if key in table.objects:
                raise already_exists(rtype.plural, key[1], group=rtype.group)
            new["kind"], new["apiVersion"] = rtype.kind, rtype.api_version
            metadata["uid"] = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
            metadata["creationTimestamp"] = rfc3339(self.clock.now())
            metadata["generation"] = 1
            for field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
                metadata.pop(field, None)
            apply_defaults(table.type.key, new)
            if rtype.custom is not None:
                if rtype.has_status:
                    new.pop("status", None)  # written through /status only
                self._admit_custom(rtype, new, strict=strict)
            elif rtype.key == "customresourcedefinitions":
                self._admit_crd(new, None)
            if table.type.key == "pods":
                self._resolve_priority(new)
            for admission in self._admission:
                admission(table.type.key, new)
            self._write(table, key, new, None, "ADDED")
            return clone(new) if copy else new

    def replace(
        self,
        resource: str,
        obj: Obj,
        *,
        namespace: str | None = None,
        subresource: str | None = None,
        strict: bool = False,
    ) -> Obj:
        """PUT: 409 if `metadata.resourceVersion` is set and stale; status kept unless `subresource="status"`."""
        table = self._table(resource)
        new = clone(obj)
        metadata = new.get("metadata") or {}
        name = metadata.get("name")
        if not name:
            raise invalid(table.type.kind, "", "metadata.name: Required value: name is required")
        with self._lock:
            key = self._key(table, namespace or metadata.get("namespace"), name)
            current = table.objects.get(key)
            if current is None:
                raise not_found(table.type.plural, name, group=table.type.group)
            return clone(self._update(table, key, current, new, subresource, strict=strict))

    def patch(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        body: bytes | Obj | builtins.list[Any],
        content_type: str = patches.STRATEGIC,
        *,
        subresource: str | None = None,
        strict: bool = False,
    ) -> Obj:
        """PATCH with a strategic-merge, merge, JSON or apply patch; 409 if the patch names a stale RV.

        Custom resources have no Go types to take patch strategies from, so a strategic-merge patch is 415.
        """
        table = self._table(resource)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if table.type.custom is not None and content_type.split(";")[0].strip().lower() == patches.STRATEGIC:
            raise ApiError(
                415,
                "the body of the request was in an unknown format - accepted media types include: "
                f"{patches.JSON_PATCH}, {patches.MERGE}, {patches.APPLY}",
            )
        with self._lock:
            key = self._key(table, namespace, name)
            current = table.objects.get(key)
            if current is None:
                if content_type.startswith(patches.APPLY):
                    fresh = patches.apply_patch({}, raw, content_type)
                    fresh.setdefault("metadata", {})["name"] = name
                    return self.create(resource, fresh, namespace=namespace, strict=strict)
                raise not_found(table.type.plural, name, group=table.type.group)
            patched = patches.apply_patch(clone(current), raw, content_type)
            return clone(self._update(table, key, current, patched, subresource, strict=strict))

    def delete(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        *,
        resource_version: str | None = None,
        uid: str | None = None,
    ) -> Obj:
        """Delete now (or mark for deletion while finalizers remain); returns the object as deleted."""
        table = self._table(resource)
        with self._lock:
            key = self._key(table, namespace, name)
            current = table.objects.get(key)
            if current is None:
                raise not_found(table.type.plural, name, group=table.type.group)
            metadata = current["metadata"]
            if (resource_version and resource_version != metadata.get("resourceVersion")) or (
                uid and uid != metadata.get("uid")
            ):
                raise conflict(table.type.plural, name, group=table.type.group)
            if metadata.get("finalizers"):
                if metadata.get("deletionTimestamp"):
                    return clone(current)
                marked = clone(current)
                marked["metadata"]["deletionTimestamp"] = rfc3339(self.clock.now())
                marked["metadata"]["deletionGracePeriodSeconds"] = 0
                self._write(table, key, marked, current, "MODIFIED")
                return clone(marked)
            if table.type.key == "namespaces":
                self._empty_namespace(name)
            if table.type.key == "customresourcedefinitions":
                self._empty_custom_table(crds.storage_key(current))
            return clone(self._remove(table, key, current))

    def mutate(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        fn: Callable[[Obj], Obj | None],
        *,
        touches: tuple[str, ...] | None = None,
    ) -> Obj | None:
        """Change an object as a controller would, with no resourceVersion check.

        `fn` gets a copy to change in place (or returns a replacement). With `touches` (top-level fields such
        as "status"), only those are deep-copied and `fn` must change nothing else: the physics' hot paths
        skip copying whole pod specs. Nothing is written when the object comes out unchanged. Returns the
        stored result (read-only), or None if the object does not exist.
        """
        table = self._table(resource)
        with self._lock:
            key = self._key(table, namespace, name)
            current = table.objects.get(key)
            if current is None:
                return None
            if touches is None:
                work = clone(current)
            else:
                work = dict(current)
                work["metadata"] = dict(current["metadata"])  # the write sets resourceVersion in it
                for field in touches:
                    if field in current:
                        work[field] = clone(current[field])
            result = fn(work)
            new = work if result is None else result
            if new == current:
                return current
            return self._update(table, key, current, new, "*")

    def close_watches(self) -> None:
        """End every open watch (the `watch-drop` fault, or shutting down): clients re-watch from their RV."""
        with self._lock:
            self._watch_epoch += 1
            for table in self._tables.values():
                table.changed.notify_all()

    def watch(
        self,
        resource: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = "",
        field_selector: str | None = "",
    ) -> Watch:
        """Events after `resource_version`; without one (or "0"), synthetic ADDED events for what exists now."""
        table = self._table(resource)
        accept = object_filter(label_selector, field_selector)
        with self._lock:
            if resource_version in (None, "", "0"):
                scope = table.by_namespace.get(namespace, {}) if namespace else table.objects
                initial = [obj for _, obj in sorted(scope.items()) if accept(obj)]
                return Watch(self, table, namespace, accept, self._rv, initial, self._watch_epoch)
            rv = self._parse_rv(resource_version)
            self._compact(table)
            if rv < table.floor:
                raise expired(f"too old resource version: {rv} ({table.floor + 1})")
            return Watch(self, table, namespace, accept, rv, [], self._watch_epoch)

    # -- internals -------------------------------------------------------------------------------

    def _table(self, resource: str) -> _Table:
        try:
            return self._tables[resource]
        except KeyError:
            known = ", ".join(self._tables)
            raise KeyError(f"unknown resource {resource!r}; known: {known}") from None

    @staticmethod
    def _key(table: _Table, namespace: str | None, name: str) -> Key:
        if table.type.namespaced:
            return (namespace or "default", name)
        return ("", name)

    def _suffix(self) -> str:
        # apimachinery's utilrand alphabet: no vowels, no easily confused characters.
        return "".join(self._random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))

    @staticmethod
    def _parse_rv(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise bad_request(f"invalid resource version {text!r}") from None

    def _resolve_priority(self, pod: Obj) -> None:
        spec = pod["spec"]
        name = spec.get("priorityClassName")
        classes = self._tables["priorityclasses"].objects
        if name:
            found = classes.get(("", name))
            if found is None:
                raise ApiError(
                    403, f'pods "{pod["metadata"]["name"]}" is forbidden: no PriorityClass with name {name} was found'
                )
            spec["priority"] = found.get("value", 0)
            spec.setdefault("preemptionPolicy", found.get("preemptionPolicy", "PreemptLowerPriority"))
            return
        default = next((pc for pc in classes.values() if pc.get("globalDefault")), None)
        if default is not None:
            spec["priorityClassName"] = default["metadata"]["name"]
            spec["priority"] = default.get("value", 0)
        else:
            spec.setdefault("priority", 0)

    def _update(
        self, table: _Table, key: Key, current: Obj, new: Obj, subresource: str | None, *, strict: bool = False
    ) -> Obj:
        """Carry the server-owned fields over, bump generation on spec changes, write. `"*"`: the physics."""
        rtype = table.type
        metadata = new.setdefault("metadata", {})
        old_metadata = current["metadata"]
        if subresource != "*":
            wanted = metadata.get("resourceVersion")
            if wanted and wanted != old_metadata["resourceVersion"]:
                raise conflict(rtype.plural, key[1], group=rtype.group)
            if metadata.get("uid") and metadata["uid"] != old_metadata["uid"]:
                raise conflict(rtype.plural, key[1], group=rtype.group)
            if metadata.get("name", key[1]) != key[1]:
                raise bad_request("the name of the object does not match the name on the URL")
        if subresource == "status":
            status = new.get("status")
            new = dict(current)
            new["status"] = status
            metadata = dict(old_metadata)
            new["metadata"] = metadata
        elif subresource is None and rtype.has_status:
            if "status" in current:
                new["status"] = current["status"]
            else:
                new.pop("status", None)
        server_owned: tuple[str, ...] = ("uid", "creationTimestamp", "generation")
        if subresource != "*":  # only the physics (graceful deletion) sets the deletion fields
            server_owned += ("deletionTimestamp", "deletionGracePeriodSeconds")
        for field in server_owned:
            if field in old_metadata:
                metadata[field] = old_metadata[field]
            else:
                metadata.pop(field, None)
        metadata["name"], metadata["resourceVersion"] = key[1], old_metadata["resourceVersion"]
        if rtype.namespaced:
            metadata["namespace"] = key[0]
        new["kind"], new["apiVersion"] = current["kind"], current["apiVersion"]
        if rtype.custom is not None and subresource != "*":
            self._admit_custom(rtype, new, strict=strict)
        elif rtype.key == "customresourcedefinitions" and subresource != "*":
            self._admit_crd(new, current)
        if new == current:
            return current  # a no-op update does not bump the resourceVersion
        if _spec_part(new, rtype) != _spec_part(current, rtype):
            metadata["generation"] = int(old_metadata.get("generation", 1)) + 1
        self._write(table, key, new, current, "MODIFIED")
        if metadata.get("deletionTimestamp") and not metadata.get("finalizers") and rtype.key != "pods":
            return self._remove(table, key, new)
        return new

    def _remove(self, table: _Table, key: Key, current: Obj) -> Obj:
        gone = dict(current)
        gone["metadata"] = dict(current["metadata"])
        self._write(table, key, gone, current, "DELETED")
        return gone

    def _admit_custom(self, rtype: ResourceType, obj: Obj, *, strict: bool) -> None:
        """Prune what the schema does not declare (400 instead when `strict`), then 422 on what breaks it."""
        assert rtype.custom is not None
        schema = rtype.custom.schema
        dropped = structural.prune(obj, schema)
        if dropped and strict:
            raise structural.unknown_fields(rtype.kind, rtype.version, dropped)
        causes = structural.validate(obj, schema)
        if causes:
            raise structural.invalid(rtype.kind, rtype.group, obj["metadata"].get("name", ""), causes)

    def _admit_crd(self, crd: Obj, previous: Obj | None) -> None:
        crds.default(crd)
        crds.check(crd)
        crds.set_status(crd, previous, now=rfc3339(self.clock.now()))

    def _serve_crd(self, crd: Obj) -> None:
        """Serve the CRD's versions, with a table for its objects (kept across updates of the CRD)."""
        rows = crds.resource_types(crd)
        self.resources.set_custom(crds.storage_key(crd), rows)
        key = crds.storage_key(crd)
        table = self._tables.get(key)
        if table is None:
            self._tables[key] = _Table(rows[0], self._lock)
        else:
            table.type = rows[0]

    def _unserve_crd(self, crd: Obj) -> None:
        key = crds.storage_key(crd)
        self.resources.drop_custom(key)
        table = self._tables.pop(key, None)
        if table is not None:
            table.dropped = True
            table.changed.notify_all()

    def _empty_custom_table(self, key: str) -> None:
        table = self._tables.get(key)
        if table is not None:
            for object_key in sorted(table.objects):
                self._remove(table, object_key, table.objects[object_key])

    def _empty_namespace(self, namespace: str) -> None:
        for table in self._tables.values():
            if table.type.namespaced:
                for key in list(table.by_namespace.get(namespace, {})):
                    self._remove(table, key, table.objects[key])

    def _write(self, table: _Table, key: Key, obj: Obj, old: Obj | None, kind: str) -> None:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        for fn, entries in table.indexes.values():
            if old is not None:
                for value in fn(old):
                    members = entries.get(value)
                    if members is not None:
                        members.discard(key)
                        if not members:
                            del entries[value]
            if kind != "DELETED":
                for value in fn(obj):
                    entries.setdefault(value, set()).add(key)
        group = table.by_namespace.setdefault(key[0], {})
        if kind == "DELETED":
            del table.objects[key]
            del group[key]
            if not group:
                del table.by_namespace[key[0]]
        else:
            table.objects[key] = obj
            group[key] = obj
        table.log.append(Change(self._rv, kind, obj, old, self.clock.elapsed()))
        table.last_rv = self._rv
        self._compact(table)
        if table.type.key == "customresourcedefinitions":
            if kind == "DELETED":
                self._unserve_crd(obj)
            else:
                self._serve_crd(obj)
        for listener in self._listeners:
            listener(table.type.key, kind, obj, old)
        table.changed.notify_all()

    def _compact(self, table: _Table) -> None:
        cutoff = self.clock.elapsed() - self.retain_seconds
        log = table.log
        while table.head < len(log) and (len(log) - table.head > self.retain_events or log[table.head].at < cutoff):
            table.floor = log[table.head].rv
            table.head += 1
        if table.head > 1024 and table.head * 2 > len(log):
            del log[: table.head]
            table.head = 0

    def _objects_at(self, table: _Table, rv: int) -> dict[Key, Obj]:
        """The resource's objects as they were at `rv`, undoing the logged changes after it."""
        if rv >= table.last_rv:
            return table.objects
        snapshot = dict(table.objects)
        start = bisect.bisect_right(table.log, rv, lo=table.head, key=lambda change: change.rv)
        for change in reversed(table.log[start:]):
            key = _key_of(change.obj)
            if change.type == "ADDED":
                snapshot.pop(key, None)
            elif change.old is not None:
                snapshot[key] = change.old
        return snapshot

    @staticmethod
    def _encode_continue(rv: int, last: Key) -> str:
        raw = json.dumps({"v": "twin/1", "rv": rv, "start": list(last)}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _decode_continue(token: str) -> tuple[int, Key]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
            return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
        except (ValueError, KeyError, IndexError, TypeError, binascii.Error):
            raise bad_request("continue key is not valid: incorrect encoded start resourceVersion") from None


class Watch:
    """One watcher's position in a resource's event log. `poll` blocks in real time, wakes on writes."""

    def __init__(
        self,
        store: KubeStore,
        table: _Table,
        namespace: str | None,
        accept: Callable[[Obj], bool],
        rv: int,
        initial: list[Obj],
        epoch: int,
    ) -> None:
        self._store = store
        self._table = table
        self._namespace = namespace
        self._accept = accept
        self._rv = rv
        self._epoch = epoch
        self._closed = False
        self.initial = initial  # synthetic ADDED events (stored objects: read-only)

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    @property
    def kind(self) -> ResourceType:
        return self._table.type

    def close(self) -> None:
        with self._store._lock:
            self._closed = True
            self._table.changed.notify_all()

    def poll(self, timeout: float) -> list[tuple[str, Obj]] | None:
        """Events since the last poll, [] after `timeout` real seconds, None once closed or dropped.

        Raises ApiError 410 if the log was compacted past this watcher (it fell too far behind).
        """
        store, table = self._store, self._table
        with store._lock:
            if not self._live():
                return None
            if table.last_rv <= self._rv:
                if table.dropped:
                    return None
                table.changed.wait(timeout)
                if not self._live():
                    return None
            if self._rv < table.floor:
                raise expired(f"too old resource version: {self._rv} ({table.floor + 1})")
            start = bisect.bisect_right(table.log, self._rv, lo=table.head, key=lambda change: change.rv)
            changes = table.log[start:]
            self._rv = max(self._rv, store._rv)
        events: list[tuple[str, Obj]] = []
        for change in changes:
            if self._namespace and _key_of(change.obj)[0] != self._namespace:
                continue
            now_in = change.type != "DELETED" and self._accept(change.obj)
            was_in = change.old is not None and self._accept(change.old)
            if change.type == "DELETED":
                if was_in:
                    events.append(("DELETED", change.obj))
            elif now_in:
                events.append(("MODIFIED" if was_in and change.type == "MODIFIED" else "ADDED", change.obj))
            elif was_in:
                events.append(("DELETED", change.obj))  # left the selector: watchers see it go
        return events

    def _live(self) -> bool:
        return not self._closed and self._epoch == self._store._watch_epoch

"""The twin's Kubernetes API server: routes HTTP requests onto the store, as kube-apiserver would.

Bearer-token auth (401 without a known token, 403 for writes with a read-only one, whatever the
group: custom resources and their `/status` too), discovery and the `/openapi/v3` index kubectl
validates with, namespaced and cluster-scoped paths in every served version (the built-ins and each
CustomResourceDefinition's, `crds`), get/list/watch/create/update/patch/
delete, `/status` subresources, pods `/eviction`, the legacy `/api/v1/watch/...` paths, and a
Kubernetes `Status` for every error (see `errors`). The `kube-errors` fault answers a share of
resource calls with 500/503 before they touch the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import yaml

from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response, parse_bool
from nodewarden.twin.kube import discovery, eviction, tables, watchstream
from nodewarden.twin.kube.convert import from_wire, to_wire
from nodewarden.twin.kube.errors import ApiError, bad_request, status_body
from nodewarden.twin.kube.meta import Obj
from nodewarden.twin.kube.resources import Registry, ResourceType
from nodewarden.twin.kube.store import KubeStore
from nodewarden.twin.kube.termination import terminate_pod

ADMIN, READ_ONLY = "admin", "read-only"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ANONYMOUS = frozenset({"/version", "/healthz", "/livez", "/readyz"})  # system:public-info-viewer
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class Target:
    """What a resource path names."""

    rtype: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    legacy_watch: bool


class KubeApi:
    """`handle(request) -> Response` for every Kubernetes path; pass it to the HTTPS server's router."""

    def __init__(
        self,
        store: KubeStore,
        clock: Clock,
        tokens: Mapping[str, str],
        *,
        kubernetes_version: str = "1.33.7",
        watch_timeout: float = 1800.0,
        bookmark_interval: float = 60.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.tokens = dict(tokens)
        self.kubernetes_version = kubernetes_version
        self.watch_timeout = watch_timeout
        self.bookmark_interval = bookmark_interval

    def close(self) -> None:
        """End every open watch stream (call before stopping the server)."""
        self.store.close_watches()

    def handle(self, request: Request) -> Response:
        try:
            return self._handle(request)
        except ApiError as error:
            return _error(error)
        except (ValueError, yaml.YAMLError) as exc:
            return _error(bad_request(f"the request could not be decoded: {exc}"))

    # -- routing ---------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        path = unquote(request.path).rstrip("/") or "/"
        if path == "/version":
            return Response.json(200, discovery.version_info(self.kubernetes_version))
        if path in _ANONYMOUS:
            return Response(200, b"ok", {"Content-Type": "text/plain; charset=utf-8"})
        role = self._authenticate(request)
        parts = path.strip("/").split("/")
        if path == "/api":
            return Response.json(200, discovery.api_versions(request.base_url.split("://")[-1]))
        registry = self.store.resources
        if path == "/apis":
            return Response.json(200, discovery.api_group_list(registry))
        if parts[0] == "apis" and len(parts) == 2:
            return _found(discovery.api_group(registry, parts[1]))
        if (parts[0] == "api" and len(parts) == 2) or (parts[0] == "apis" and len(parts) == 3):
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            return _found(discovery.resource_list(registry, group, version))
        if path == "/openapi/v2":
            return discovery.openapi_v2(request.headers.get("accept", ""))
        if path == "/openapi/v3":
            return Response.json(200, discovery.openapi_paths(registry))
        if path.startswith("/openapi/v3/"):
            return _found(discovery.openapi_document(registry, path.removeprefix("/openapi/v3/")))
        target = _parse(registry, parts)
        if target is None:
            raise _not_found_path()
        if request.method in _WRITES and role != ADMIN:
            raise _forbidden(role, request.method, target)
        failure = self.store.faults.roll()
        if failure is not None:
            return _injected(failure)
        return self._dispatch(request, target)

    def _authenticate(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        role = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if role is None:
            raise ApiError(401, "Unauthorized")
        return role

    def _dispatch(self, request: Request, target: Target) -> Response:
        method, rtype = request.method, target.rtype
        if target.subresource not in (None, "status", "eviction"):
            raise _not_found_path()
        if target.subresource == "eviction":
            if rtype.key != "pods" or method != "POST" or target.name is None:
                raise ApiError(405, f"the server does not allow this method on the requested resource: {method}")
            return self._evict(request, target)
        if target.subresource == "status" and not rtype.has_status:
            raise _not_found_path()
        if method == "GET":
            if target.legacy_watch or parse_bool(request.arg("watch")):
                return self._watch(request, target)
            if target.name is None:
                return self._list(request, target)
            obj = self.store.get(rtype.key, target.namespace, target.name, copy=False)
            return self._object(request, 200, rtype, obj)
        strict = request.arg("fieldValidation") == "Strict"
        storage = self.store.resources.storage_type(rtype.key)
        if method == "POST" and target.name is None:
            created = self.store.create(
                rtype.key, from_wire(rtype, _body(request), storage), namespace=target.namespace, strict=strict
            )
            return self._object(request, 201, rtype, created)
        if method == "PUT" and target.name is not None:
            body = _body(request)
            if body.get("metadata", {}).get("name", target.name) != target.name:
                raise bad_request("the name of the object does not match the name on the URL")
            body.setdefault("metadata", {})["name"] = target.name
            replaced = self.store.replace(
                rtype.key,
                from_wire(rtype, body, storage),
                namespace=target.namespace,
                subresource=target.subresource,
                strict=strict,
            )
            return self._object(request, 200, rtype, replaced)
        if method == "PATCH" and target.name is not None:
            content_type = request.headers.get("content-type", "")
            patched = self.store.patch(
                rtype.key,
                target.namespace,
                target.name,
                request.body,
                content_type,
                subresource=target.subresource,
                strict=strict,
            )
            return self._object(request, 200, rtype, patched)
        if method == "DELETE":
            return self._delete(request, target)
        raise ApiError(405, f"the server does not allow this method on the requested resource: {method}")

    # -- verbs -----------------------------------------------------------------------------------

    def _list(self, request: Request, target: Target) -> Response:
        rtype = target.rtype
        limit = request.arg("limit")
        page = self.store.list(
            rtype.key,
            target.namespace,
            label_selector=request.arg("labelSelector", ""),
            field_selector=request.arg("fieldSelector", ""),
            limit=int(limit) if limit else None,
            continue_token=request.arg("continue") or None,
            copy=False,
        )
        metadata: dict[str, Any] = {"resourceVersion": page.resource_version}
        if page.continue_token:
            metadata["continue"] = page.continue_token
        if page.remaining is not None:
            metadata["remainingItemCount"] = page.remaining
        items = [to_wire(rtype, obj) for obj in page.items]
        if tables.wants_table(request.headers.get("accept", "")):
            return Response.json(200, tables.table(rtype, items, metadata, now=self.clock.now()))
        return _json(
            200, {"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": metadata, "items": items}
        )

    def _watch(self, request: Request, target: Target) -> Response:
        rtype = target.rtype
        field_selector = request.arg("fieldSelector", "") or ""
        if target.name is not None:
            field_selector = ",".join(filter(None, [field_selector, f"metadata.name={target.name}"]))
        send_initial = request.arg("sendInitialEvents")
        resource_version = request.arg("resourceVersion")
        if send_initial is not None and parse_bool(send_initial):
            resource_version = None  # initial events from the current state, then a bookmark marking their end
        timeout = float(request.arg("timeoutSeconds") or self.watch_timeout)
        bookmarks = parse_bool(request.arg("allowWatchBookmarks"))
        headers = {"Content-Type": "application/json", "Cache-Control": "no-cache, private"}
        try:
            watch = self.store.watch(
                rtype.key,
                target.namespace,
                resource_version=resource_version,
                label_selector=request.arg("labelSelector", ""),
                field_selector=field_selector,
            )
        except ApiError as error:
            if error.code != 410:
                raise
            # The apiserver answers 200 and carries the 410 as the stream's only event.
            return Response(200, headers=headers, stream=iter([watchstream.error_line(error)]))
        if send_initial is not None and not parse_bool(send_initial) and resource_version in (None, "", "0"):
            watch.initial = []
        stream = watchstream.stream(
            watch,
            rtype,
            timeout=timeout,
            bookmarks=bookmarks,
            bookmark_interval=self.bookmark_interval,
            initial_end_bookmark=send_initial is not None and parse_bool(send_initial) and bookmarks,
        )
        return Response(200, headers=headers, stream=stream)

    def _evict(self, request: Request, target: Target) -> Response:
        assert target.namespace is not None
        assert target.name is not None
        body = _body(request) if request.body else {}
        dry_run = bool(request.query.get("dryRun"))
        result = eviction.evict(self.store, self.clock, target.namespace, target.name, body, dry_run=dry_run)
        return Response.json(201, result)

    def _delete(self, request: Request, target: Target) -> Response:
        rtype = target.rtype
        options = _body(request) if request.body else {}
        grace_arg = request.arg("gracePeriodSeconds")
        grace = options.get("gracePeriodSeconds", int(grace_arg) if grace_arg else None)
        preconditions = options.get("preconditions") or {}
        dry_run = bool(request.query.get("dryRun")) or bool(options.get("dryRun"))
        if target.name is None:
            page = self.store.list(
                rtype.key,
                target.namespace,
                label_selector=request.arg("labelSelector", ""),
                field_selector=request.arg("fieldSelector", ""),
            )
            if not dry_run:
                for obj in page.items:
                    self._delete_one(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"], grace)
            items = [to_wire(rtype, obj) for obj in page.items]
            return _json(
                200, {"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": {}, "items": items}
            )
        if dry_run:
            return self._object(request, 200, rtype, self.store.get(rtype.key, target.namespace, target.name))
        if preconditions:
            current = self.store.get(rtype.key, target.namespace, target.name, copy=False)
            wanted_rv, wanted_uid = preconditions.get("resourceVersion"), preconditions.get("uid")
            if (wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]) or (
                wanted_uid and wanted_uid != current["metadata"]["uid"]
            ):
                actual_uid = current["metadata"]["uid"]
                message = (
                    f"Precondition failed: UID in precondition: {wanted_uid}, UID in object meta: {actual_uid}"
                    if wanted_uid
                    else "the object has been modified; please apply your changes to the latest version and try again"
                )
                raise ApiError(409, message)
        deleted = self._delete_one(rtype, target.namespace, target.name, grace)
        return self._object(request, 200, rtype, deleted)

    def _delete_one(self, rtype: ResourceType, namespace: str | None, name: str, grace: int | None) -> Obj:
        if rtype.key == "pods":
            assert namespace is not None
            return terminate_pod(self.store, self.clock, namespace, name, grace=grace)
        return self.store.delete(rtype.key, namespace, name)

    def _object(self, request: Request, status: int, rtype: ResourceType, obj: Obj) -> Response:
        wire = to_wire(rtype, obj)
        if tables.wants_table(request.headers.get("accept", "")):
            return Response.json(
                status,
                tables.table(
                    rtype,
                    [wire],
                    {"resourceVersion": wire["metadata"].get("resourceVersion", "")},
                    now=self.clock.now(),
                ),
            )
        return _json(status, wire)


# -- helpers -------------------------------------------------------------------------------------


def _parse(registry: Registry, parts: list[str]) -> Target | None:
    """`/api/v1/...` or `/apis/<g>/<v>/...`: [watch/] [namespaces/<ns>/] <plural> [/<name> [/<sub>]]."""
    if parts[0] == "api" and len(parts) > 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) > 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    legacy_watch = rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    rtype = registry.lookup(group, version, rest[0])
    if rtype is None or (namespace is not None and not rtype.namespaced):
        return None
    name = rest[1] if len(rest) > 1 else None
    if rtype.namespaced and namespace is None and name is not None:
        return None  # a namespaced object needs its namespace in the path
    return Target(rtype, namespace, name, rest[2] if len(rest) > 2 else None, legacy_watch)


def _body(request: Request) -> Obj:
    content_type = request.headers.get("content-type", "")
    if "yaml" in content_type:
        data = yaml.safe_load(request.body.decode() or "null")
    else:
        data = json.loads(request.body or b"null")
    if not isinstance(data, dict):
        raise bad_request("the request body must be a JSON object")
    return data


def _json(status: int, payload: Any) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, body, {"Content-Type": "application/json"})


def _error(error: ApiError) -> Response:
    return Response.json(error.code, error.status, error.headers)


def _found(document: Obj | None) -> Response:
    if document is None:
        raise _not_found_path()
    return Response.json(200, document)


def _not_found_path() -> ApiError:
    return ApiError(
        404,
        "the server could not find the requested resource",
        details={"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]},
    )


def _forbidden(role: str, method: str, target: Target) -> ApiError:
    rtype = target.rtype
    resource = f"{rtype.plural}/{target.subresource}" if target.subresource else rtype.plural
    verb = _VERBS[method]
    if method == "DELETE" and target.name is None:
        verb = "deletecollection"
    scope = f'in the namespace "{target.namespace}"' if target.namespace else "at the cluster scope"
    subject = f'{rtype.plural} "{target.name}"' if target.name else rtype.plural
    return ApiError(
        403,
        f'{subject} is forbidden: User "{role}" cannot {verb} resource "{resource}" '
        f'in API group "{rtype.group}" {scope}',
        details={"name": target.name or "", "group": rtype.group, "kind": rtype.plural}
        if target.name
        else {"group": rtype.group, "kind": rtype.plural},
    )


def _injected(code: int) -> Response:
    if code == 503:
        error = ApiError(503, "the server is currently unable to handle the request", retry_after=1)
    else:
        error = ApiError(
            500,
            'an error on the server ("injected by the twin: kube-errors") has prevented the request from succeeding',
        )
    return Response.json(error.code, status_body(error.code, error.message, reason=error.reason), error.headers)

"""Discovery documents: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>[/<version>]`.

kr8s, kopf and kubectl read these before anything else; kubectl
drain looks for `pods/eviction` in `/api/v1` and for the `policy` group in `/apis`. They read the
store's `Registry`, so a CRD's group and resources appear as it is created and go when it is deleted.

`/openapi/v3` is the least kubectl needs to validate and apply: a path per group-version whose
document names each kind's PATCH operation and its `fieldValidation` parameter, so kubectl leaves
field validation to the server (`fieldValidation=Strict`) instead of asking for the v2 schema.
Older kubectl (1.20, Debian's) reads `/openapi/v2` as protobuf before `apply`: the twin serves an empty
document, which kubectl's validator takes as "no schema for this kind" and skips, leaving validation to the
server as the newer path does.
"""

from __future__ import annotations

from typing import Any

from nodewarden.twin.http import Response
from nodewarden.twin.kube.resources import ALL_VERBS, Registry, ResourceType


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (payloads here are shorter than 128 bytes)."""
    return bytes([number << 3 | 2, len(payload)]) + payload


# gnostic's openapi_v2.Document: swagger = 1, info = 2 (title = 1, version = 2), paths = 8 (empty)
_OPENAPI_V2_DOCUMENT = _field(1, b"2.0") + _field(2, _field(1, b"Kubernetes") + _field(2, b"v1")) + _field(8, b"")

_SUBRESOURCES: dict[str, list[dict[str, Any]]] = {
    "pods": [
        {
            "name": "pods/eviction",
            "singularName": "",
            "namespaced": True,
            "group": "policy",
            "version": "v1",
            "kind": "Eviction",
            "verbs": ["create"],
        },
        {"name": "pods/binding", "singularName": "", "namespaced": True, "kind": "Binding", "verbs": ["create"]},
        {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
    ],
}


def version_info(kubernetes_version: str) -> dict[str, Any]:
    major, minor, *_ = (kubernetes_version.lstrip("v") + ".0.0").split(".")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{kubernetes_version.lstrip('v')}",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-11-01T00:00:00Z",
        "goVersion": "go1.24.9",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: Registry) -> dict[str, Any]:
    groups = [_group(name, versions) for name, versions in registry.group_versions().items() if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, name: str) -> dict[str, Any] | None:
    versions = registry.group_versions().get(name) if name else None
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _resource(row: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": row.plural,
        "singularName": row.singular,
        "namespaced": row.namespaced,
        "kind": row.kind,
        "verbs": list(ALL_VERBS),
    }
    if row.short_names:
        entry["shortNames"] = list(row.short_names)
    if row.categories:
        entry["categories"] = list(row.categories)
    return entry


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    rows = registry.served(group, version)
    if not rows:
        return None
    resources: list[dict[str, Any]] = []
    for row in rows:
        resources.append(_resource(row))
        if row.has_status:
            resources.append(
                {
                    "name": f"{row.plural}/status",
                    "singularName": "",
                    "namespaced": row.namespaced,
                    "kind": row.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        if not group:
            resources.extend(_SUBRESOURCES.get(row.plural, []))
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_paths(registry: Registry) -> dict[str, Any]:
    """`/openapi/v3`: where each group-version's document is."""
    paths = {
        _gv_path(group, version): {"serverRelativeURL": f"/openapi/v3/{_gv_path(group, version)}"}
        for group, versions in registry.group_versions().items()
        for version in versions
    }
    return {"paths": paths}


def openapi_document(registry: Registry, path: str) -> dict[str, Any] | None:
    """`/openapi/v3/apis/<g>/<v>`: each kind's item path with a PATCH that takes `fieldValidation`, nothing more."""
    parts = path.split("/")
    if parts[0] == "api" and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[0] == "apis" and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        return None
    rows = registry.served(group, version)
    if not rows:
        return None
    paths: dict[str, Any] = {}
    for row in rows:
        scope = "namespaces/{namespace}/" if row.namespaced else ""
        patch = {
            "x-kubernetes-group-version-kind": {"group": row.group, "version": row.version, "kind": row.kind},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}},
        }
        paths[f"/{path}/{scope}{row.plural}/{{name}}"] = {"patch": patch}
    title = f"Kubernetes {group or 'core'}/{version}"
    return {"openapi": "3.0.0", "info": {"title": title, "version": version}, "paths": paths}


def openapi_v2(accept: str) -> Response:
    """`/openapi/v2` with no definitions: zero bytes is the protobuf encoding of an empty Document."""
    if "protobuf" in accept:
        return Response(200, _OPENAPI_V2_DOCUMENT, {"Content-Type": "application/octet-stream"})
    return Response.json(200, {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1"}, "paths": {}})

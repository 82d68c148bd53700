"""Discovery documents: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>[/<version>]`.

kr8s, kopf and kubectl read these before anything else; kubectl
drain looks for `pods/eviction` in `/api/v1` and for the `policy` group in `/apis`.
"""

from __future__ import annotations

from typing import Any

from nodewarden.twin.kube.resources import ALL_VERBS, GROUP_VERSIONS, ResourceType, served

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


def _group(name: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in GROUP_VERSIONS[name]]
    return {"name": name, "versions": versions, "preferredVersion": versions[0]}


def api_group_list() -> dict[str, Any]:
    groups = [_group(name) for name in GROUP_VERSIONS if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(name: str) -> dict[str, Any] | None:
    if not name or name not in GROUP_VERSIONS:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


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


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    rows = served(group, version)
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

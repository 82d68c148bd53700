"""CustomResourceDefinitions: checking one, the status the apiextensions controllers give it, the rows it serves.

The store calls these on every CRD write (`store.KubeStore`): `check` and `default` before it is stored,
`set_status` to mark it NamesAccepted and Established (on a real cluster two controllers do this a
moment later; the twin does it at once, so a client never has to wait), and `resource_types` to turn
it into the resource rows the `Registry` serves while it exists.
"""

from __future__ import annotations

from typing import Any

from nodewarden.twin.kube import structural
from nodewarden.twin.kube.meta import Obj
from nodewarden.twin.kube.resources import CustomVersion, ResourceType
from nodewarden.twin.kube.structural import Cause

KIND = "CustomResourceDefinition"
GROUP = "apiextensions.k8s.io"
_SCOPES = ("Cluster", "Namespaced")
_DEFAULT_COLUMNS = ({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},)


def default(crd: Obj) -> None:
    """Fill what the apiserver defaults: names.singular and listKind, served/storage, conversion."""
    spec = crd.setdefault("spec", {})
    names = spec.setdefault("names", {})
    if isinstance(names, dict) and names.get("kind"):
        names.setdefault("singular", str(names["kind"]).lower())
        names.setdefault("listKind", f"{names['kind']}List")
    spec.setdefault("conversion", {"strategy": "None"})


def check(crd: Obj) -> None:
    """422 Invalid, with causes, for a CRD the apiserver would refuse."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes: list[Cause] = []
    for field, value in (("spec.group", spec.get("group")), ("spec.names.plural", names.get("plural"))):
        if not value:
            causes.append(Cause("FieldValueRequired", field, "Required value"))
    if not names.get("kind"):
        causes.append(Cause("FieldValueRequired", "spec.names.kind", "Required value"))
    if spec.get("scope") not in _SCOPES:
        causes.append(
            Cause(
                "FieldValueNotSupported",
                "spec.scope",
                f'Unsupported value: "{spec.get("scope", "")}": supported values: "Cluster", "Namespaced"',
            )
        )
    name = crd.get("metadata", {}).get("name", "")
    wanted = f"{names.get('plural')}.{spec.get('group')}"
    if name != wanted:
        causes.append(
            Cause(
                "FieldValueInvalid",
                "metadata.name",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    versions = spec.get("versions") or []
    if not versions:
        causes.append(
            Cause(
                "FieldValueInvalid",
                "spec.versions",
                "Invalid value: null: must have exactly one version marked as storage version",
            )
        )
    elif sum(1 for version in versions if version.get("storage")) != 1:
        causes.append(
            Cause(
                "FieldValueInvalid",
                "spec.versions",
                "Invalid value: ...: must have exactly one version marked as storage version",
            )
        )
    for index, version in enumerate(versions):
        if not (version.get("schema") or {}).get("openAPIV3Schema"):
            causes.append(
                Cause(
                    "FieldValueRequired",
                    f"spec.versions[{index}].schema.openAPIV3Schema",
                    "Required value: schemas are required",
                )
            )
    if causes:
        raise structural.invalid(KIND, GROUP, name, causes)


def set_status(crd: Obj, previous: Obj | None, *, now: str) -> None:
    """acceptedNames, the NamesAccepted and Established conditions, storedVersions (kept from `previous`)."""
    spec = crd["spec"]
    names = spec["names"]
    accepted = {
        key: names[key]
        for key in ("plural", "singular", "shortNames", "kind", "listKind", "categories")
        if key in names
    }
    old_status = (previous or {}).get("status") or {}
    since = {c.get("type"): c.get("lastTransitionTime", now) for c in old_status.get("conditions") or []}
    conditions = [
        _condition("NamesAccepted", "NoConflicts", "no conflicts found", since.get("NamesAccepted", now)),
        _condition(
            "Established", "InitialNamesAccepted", "the initial names have been accepted", since.get("Established", now)
        ),
    ]
    stored = list(old_status.get("storedVersions") or [])
    storage = next(v["name"] for v in spec["versions"] if v.get("storage"))
    if storage not in stored:
        stored.append(storage)
    crd["status"] = {"conditions": conditions, "acceptedNames": accepted, "storedVersions": stored}


def _condition(kind: str, reason: str, message: str, since: str) -> dict[str, Any]:
    return {"type": kind, "status": "True", "lastTransitionTime": since, "reason": reason, "message": message}


def storage_key(crd: Obj) -> str:
    """Where the store keeps the CRD's objects: its name, `<plural>.<group>`, which no built-in uses."""
    return str(crd["metadata"]["name"])


def resource_types(crd: Obj) -> tuple[ResourceType, ...]:
    """One row per served version, the storage version first (the store keeps objects in it)."""
    spec = crd["spec"]
    names = spec["names"]
    name = storage_key(crd)
    served = [version for version in spec["versions"] if version.get("served", True)]
    served.sort(key=lambda version: not version.get("storage"))
    return tuple(
        ResourceType(
            plural=names["plural"],
            kind=names["kind"],
            group=spec["group"],
            version=version["name"],
            namespaced=spec["scope"] == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            has_status="status" in (version.get("subresources") or {}),
            storage=name,
            categories=tuple(names.get("categories") or ()),
            custom=CustomVersion(
                crd=name,
                schema=(version.get("schema") or {}).get("openAPIV3Schema") or {},
                printer_columns=tuple(version.get("additionalPrinterColumns") or _DEFAULT_COLUMNS),
            ),
        )
        for version in served
    )

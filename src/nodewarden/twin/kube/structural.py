"""A custom resource against its CRD's structural `openAPIV3Schema`: pruning, then validation.

What the apiextensions apiserver does to every CR write (Kubernetes docs, "Extend the Kubernetes API
with CustomResourceDefinitions", sections "Field pruning" and "Validation"): fields the schema does not
declare are dropped (kept under `x-kubernetes-preserve-unknown-fields: true`; `apiVersion`, `kind` and
`metadata` always stay), then types, `required`, `enum` and `format: date-time` are checked. Each
violation is one Status cause with the field path, reason and message the real server uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodewarden.twin.kube.errors import ApiError

Schema = dict[str, Any]
_ALWAYS_KEPT = frozenset({"apiVersion", "kind", "metadata"})


@dataclass(frozen=True)
class Cause:
    """One violation: a Status `details.causes` entry."""

    reason: str  # FieldValueRequired | FieldValueTypeInvalid | FieldValueNotSupported | FieldValueInvalid
    field: str  # spec.node, status.intents[0].step
    message: str  # "Required value", 'Unsupported value: "x": supported values: "a", "b"'

    def as_status(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def prune(obj: dict[str, Any], schema: Schema) -> list[str]:
    """Drop, in place, what `schema` does not declare; the paths dropped (for strict field validation)."""
    if not schema or schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    dropped: list[str] = []
    properties = schema.get("properties") or {}
    for key in list(obj):
        if key in _ALWAYS_KEPT:
            continue
        if key not in properties:
            del obj[key]
            dropped.append(key)
        else:
            dropped += _prune_value(obj[key], properties[key], key)
    return dropped


def _prune_value(value: Any, schema: Schema, path: str) -> list[str]:
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    dropped: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key in list(value):
            child = f"{path}.{key}"
            if properties is not None and key in properties:
                dropped += _prune_value(value[key], properties[key], child)
            elif isinstance(extra, dict):
                dropped += _prune_value(value[key], extra, child)
            elif properties is not None or extra is None:
                del value[key]
                dropped.append(child)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            dropped += _prune_value(item, schema["items"], f"{path}[{index}]")
    return dropped


def validate(obj: dict[str, Any], schema: Schema) -> list[Cause]:
    """Every violation of `schema` in `obj` (metadata, apiVersion and kind are the server's to check)."""
    if not schema:
        return []
    causes: list[Cause] = []
    properties = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in obj:
            causes.append(Cause("FieldValueRequired", name, "Required value"))
    for key, value in obj.items():
        if key not in _ALWAYS_KEPT and key in properties:
            causes += _check(value, properties[key], key)
    return causes


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _has_type(value: Any, wanted: str) -> bool:
    actual = _type_of(value)
    return actual == wanted or (wanted == "number" and actual == "integer")


def _check(value: Any, schema: Schema, path: str) -> list[Cause]:
    wanted = schema.get("type")
    if value is None and schema.get("nullable"):
        return []
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            return [_type_invalid(path, value, "integer or string")]
        return []
    if wanted and not _has_type(value, wanted):
        return [_type_invalid(path, value, wanted)]
    causes: list[Cause] = []
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        supported = ", ".join(_quote(v) for v in enum)
        causes.append(
            Cause("FieldValueNotSupported", path, f"Unsupported value: {_quote(value)}: supported values: {supported}")
        )
    if schema.get("format") == "date-time" and isinstance(value, str) and not _is_date_time(value):
        causes.append(
            Cause(
                "FieldValueInvalid",
                path,
                f"Invalid value: {_quote(value)}: {path} in body must be of type date-time: {_quote(value)}",
            )
        )
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                causes.append(Cause("FieldValueRequired", f"{path}.{name}", "Required value"))
        extra = schema.get("additionalProperties")
        for key, child in value.items():
            if key in properties:
                causes += _check(child, properties[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                causes += _check(child, extra, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            causes += _check(item, schema["items"], f"{path}[{index}]")
    return causes


def _type_invalid(path: str, value: Any, wanted: str) -> Cause:
    actual = _type_of(value)
    return Cause(
        "FieldValueTypeInvalid",
        path,
        f'Invalid value: "{actual}": {path} in body must be of type {wanted}: "{actual}"',
    )


def _quote(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def _is_date_time(text: str) -> bool:
    # RFC 3339, as go-openapi's strfmt.DateTime parses it; Python's parser is a little more lenient.
    if "T" not in text.upper():
        return False
    try:
        datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> ApiError:
    """The 422 the apiserver answers: `<Kind>.<group> "<name>" is invalid: <field>: <message>` (several in [])."""
    listed = str(causes[0]) if len(causes) == 1 else "[" + ", ".join(str(cause) for cause in causes) + "]"
    qualified = f"{kind}.{group}" if group else kind
    return ApiError(
        422,
        f'{qualified} "{name}" is invalid: {listed}',
        details={
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [cause.as_status() for cause in causes],
        },
    )


def unknown_fields(kind: str, version: str, paths: list[str]) -> ApiError:
    """`fieldValidation=Strict` with fields the schema does not declare: 400, as the apiserver's strict decoder says."""
    listed = ", ".join(f'unknown field "{path}"' for path in sorted(paths))
    return ApiError(
        400, f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: {listed}'
    )

"""PATCH bodies: JSON merge patch (RFC 7386), strategic-merge patch and JSON patch (RFC 6902).

Strategic merge is merge patch plus list semantics from the Go types' `patchStrategy` tags. We keep
the few merge keys that matter for the twin's kinds; every other list is replaced whole, which is
also what the real types say for `spec.taints` and `spec.tolerations` (k8s.io/api `core/v1/types.go`).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from nodewarden.twin.kube.errors import ApiError, bad_request

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"

# List field name → merge key, from `patchMergeKey` in k8s.io/api (core/v1, apps/v1, meta/v1).
MERGE_KEYS: dict[str, str] = {
    "conditions": "type",  # NodeStatus, PodStatus and most status.conditions
    "addresses": "type",  # NodeStatus.addresses
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
}
# Lists of scalars with patchStrategy=merge: union, keep order.
MERGE_SETS = frozenset({"finalizers"})


def apply_patch(target: dict[str, Any], body: bytes, content_type: str) -> dict[str, Any]:
    """The patched copy of `target`; 415 for an unknown patch type, 400/422 for a bad body."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == APPLY:
        patch = _load_yaml(body)
        return strategic_merge(target, patch)
    try:
        patch = json.loads(body or b"null")
    except ValueError as exc:
        raise bad_request(f"invalid JSON in patch body: {exc}") from None
    if kind == STRATEGIC:
        _expect_object(patch)
        return strategic_merge(target, patch)
    if kind == MERGE:
        _expect_object(patch)
        result = merge_patch(target, patch)
        assert isinstance(result, dict)
        return result
    if kind == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json patch must be a list of operations")
        return json_patch(target, patch)
    raise ApiError(
        415,
        "the body of the request was in an unknown format - accepted media types include: "
        f"{STRATEGIC}, {MERGE}, {JSON_PATCH}, {APPLY}",
    )


def _load_yaml(body: bytes) -> Any:
    import yaml

    try:
        data = yaml.safe_load(body.decode() or "null")
    except yaml.YAMLError as exc:
        raise bad_request(f"invalid apply patch: {exc}") from None
    _expect_object(data)
    return data


def _expect_object(patch: Any) -> None:
    if not isinstance(patch, dict):
        raise bad_request("patch body must be a JSON object")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    return _smp_object(target, patch)


def _smp_object(target: Any, patch: dict[str, Any]) -> dict[str, Any]:
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$"):  # $patch, $retainKeys, $setElementOrder/<field>, $deleteFromPrimitiveList/<field>
            if key.startswith("$deleteFromPrimitiveList/"):
                field = key.split("/", 1)[1]
                result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = _smp_object(result.get(key), value)
        elif isinstance(value, list):
            result[key] = _smp_list(key, result.get(key), value)
        else:
            result[key] = value
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _smp_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    existing = current if isinstance(current, list) else []
    if field in MERGE_SETS:
        return list(dict.fromkeys([*existing, *patch]))
    key = MERGE_KEYS.get(field)
    if key is None or not all(isinstance(item, dict) for item in patch):
        return [v for v in copy.deepcopy(patch) if not (isinstance(v, dict) and v.get("$patch") == "delete")]
    if any(item.get("$patch") == "replace" for item in patch):
        return [copy.deepcopy(item) for item in patch if item.get("$patch") != "replace"]
    merged = list(existing)
    for item in patch:
        index = next(
            (i for i, old in enumerate(merged) if isinstance(old, dict) and old.get(key) == item.get(key)), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(_smp_object({}, item))
        else:
            merged[index] = _smp_object(merged[index], item)
    return merged


def json_patch(target: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    document: Any = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise bad_request(f"invalid json patch operation: {operation!r}")
        op, path = operation["op"], _pointer(operation["path"])
        if op == "add":
            document = _add(document, path, copy.deepcopy(operation.get("value")))
        elif op == "remove":
            _remove(document, path)
        elif op == "replace":
            _remove(document, path)
            document = _add(document, path, copy.deepcopy(operation.get("value")))
        elif op in ("move", "copy"):
            source = _pointer(operation.get("from", ""))
            value = copy.deepcopy(_get(document, source))
            if op == "move":
                _remove(document, source)
            document = _add(document, path, value)
        elif op == "test":
            if _get(document, path) != operation.get("value"):
                raise ApiError(
                    422,
                    f"the server rejected our request due to an error in our request: test failed at {operation['path']}",  # noqa: E501
                )
        else:
            raise bad_request(f"unknown json patch operation {op!r}")
    if not isinstance(document, dict):
        raise bad_request("json patch must leave an object")
    return document


def _pointer(text: str) -> list[str]:
    if text == "":
        return []
    if not text.startswith("/"):
        raise bad_request(f"invalid JSON pointer {text!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _missing(path: list[str]) -> ApiError:
    return ApiError(
        422, f"the server rejected our request due to an error in our request: path /{'/'.join(path)} not found"
    )


def _get(document: Any, path: list[str]) -> Any:
    current = document
    for step in path:
        if isinstance(current, dict) and step in current:
            current = current[step]
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            raise _missing(path)
    return current


def _add(document: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent = _get(document, path[:-1])
    last = path[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _missing(path)
    else:
        raise _missing(path)
    return document


def _remove(document: Any, path: list[str]) -> None:
    if not path:
        raise bad_request("cannot remove the whole document")
    parent = _get(document, path[:-1])
    last = path[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
    else:
        raise _missing(path)

"""Reads the AKS cluster, its agent pools, the node pools' scale sets and their instances from ARM.

Four reads, the ones the README's export commands make: `az aks show`, `az aks nodepool list`,
`az vmss list -g <nodeRG>` and, per scale set, ONE paged `az vmss list-instances --expand instanceView`
(never one call per instance). Each document is written in the az CLI's shape: the SDK model's Python
attribute names in camelCase (`enableRbac`, `typePropertiesType`), ARM's `properties` flattened into the
resource, unset attributes as null, and `resourceGroup` added wherever there is an `id` — what az's
`todict` and its resource-group post-processor print. Sits in observe/: it only translates.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from nodewarden.connection import AzureClients
from nodewarden.errors import AuthenticationError, InputError, NotFoundError, PermissionDeniedError, UnreachableError
from nodewarden.model.inputs import Input

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AzureExport:
    """One az document: the file name the README gives it, the input it holds, what was read (for messages:
    "agent pools of aks-prod in resource group rg-prod") and what az would print."""

    file_name: str
    kind: Input
    what: str
    document: Any


def list_exports(clients: AzureClients) -> Iterator[AzureExport]:
    """aks.json, nodepools.json, vmss.json and one vmss-instances-<vmss>.json per scale set."""
    target = clients.target
    rg, name = target.resource_group, target.cluster_name
    what = f"managed cluster {name} in resource group {rg}"
    cluster = azure_call(lambda: clients.aks.managed_clusters.get(rg, name), what=what)
    yield AzureExport("aks.json", Input.CLUSTER, what, az_dict(cluster))
    what = f"agent pools of {name} in resource group {rg}"
    pools = azure_call(lambda: list(clients.aks.agent_pools.list(rg, name)), what=what)
    yield AzureExport("nodepools.json", Input.NODEPOOLS, what, [az_dict(pool) for pool in pools])
    node_rg = getattr(cluster, "node_resource_group", None) or target.node_resource_group
    if not node_rg:
        raise InputError(f"managed cluster {name}: ARM reports no nodeResourceGroup; cannot find its scale sets")
    what = f"scale sets in node resource group {node_rg}"
    scale_sets = azure_call(lambda: list(clients.compute.virtual_machine_scale_sets.list(node_rg)), what=what)
    yield AzureExport("vmss.json", Input.SCALE_SETS, what, [az_dict(scale_set) for scale_set in scale_sets])
    for scale_set in scale_sets:
        vmss = str(scale_set.name)
        what = f"instances of scale set {vmss} in {node_rg}"
        instances = azure_call(functools.partial(_list_instances, clients, node_rg, vmss), what=what)
        yield AzureExport(
            f"vmss-instances-{vmss}.json", Input.INSTANCES, what, [az_dict(instance) for instance in instances]
        )


def _list_instances(clients: AzureClients, node_rg: str, vmss: str) -> list[Any]:
    """Every instance with its instance view: one paged call for the scale set, never one per instance."""
    return list(clients.compute.virtual_machine_scale_set_vms.list(node_rg, vmss, expand="instanceView"))


# -- the az CLI's output shape ---------------------------------------------------------------------------

_CAMEL = re.compile(r"(?!^)_([a-zA-Z])")


def az_dict(value: Any) -> Any:
    """An SDK value as az prints it (see the module docstring); plain JSON values pass through."""
    return _add_resource_group(_todict(value))


def _todict(value: Any) -> Any:
    fields = getattr(type(value), "_attr_to_rest_field", None)
    if isinstance(fields, dict):  # an SDK ("hybrid") model: attributes, not wire names
        result: dict[str, Any] = {}
        for attr in fields:
            attr_value = getattr(value, attr, None)
            if attr == "properties" and getattr(type(attr_value), "_attr_to_rest_field", None) is not None:
                result.update(_todict(attr_value))  # az flattens ARM's `properties` into the resource
                continue
            result[_CAMEL.sub(lambda m: m.group(1).upper(), attr)] = _todict(attr_value)
        return result
    if isinstance(value, dict):
        return {key: _todict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_todict(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (date, time, datetime)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return value


_RESOURCE_GROUP = re.compile(r"/resourcegroups/([^/]+)", re.IGNORECASE)


def _add_resource_group(value: Any) -> Any:
    """az adds `resourceGroup`, parsed from `id`, to every object that has one (nested ones too)."""
    if isinstance(value, dict):
        identifier = value.get("id")
        if isinstance(identifier, str) and "resourceGroup" not in value:
            match = _RESOURCE_GROUP.search(identifier)
            if match:
                value["resourceGroup"] = match.group(1)
        for item in value.values():
            _add_resource_group(item)
    elif isinstance(value, list):
        for item in value:
            _add_resource_group(item)
    return value


# -- errors at the boundary ------------------------------------------------------------------------------

# Where a 403 sends the user: one Azure role per job, each just what its commands use (tests/live/least_privilege.py).
ROLE_FILES = (
    "deploy/azure/controller.json for run, operator.json for node, watch and plan, auditor.json for collect and "
    "audit --live, drill.json for drill run"
)
_ACTION = re.compile(r"perform action '([^']+)'")
_SCOPE = re.compile(r"over scope '([^']+)'")


def azure_call(fn: Callable[[], T], *, what: str) -> T:
    """Run one SDK call, turning the errors a user can fix into one-line InputErrors about `what`."""
    try:
        return fn()
    except Exception as exc:
        translated = translate_azure_error(exc, what=what)
        if translated is None:
            raise
        raise translated from exc


def translate_azure_error(exc: BaseException, *, what: str) -> InputError | None:
    """An Azure SDK or identity error as one line naming what to fix; None for anything else (a bug)."""
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        reason = _first_line(str(exc.message if hasattr(exc, "message") else exc))
        if "CERTIFICATE_VERIFY_FAILED" in reason:
            reason = "its TLS certificate is not trusted (check caBundle in --azure-config)"
        return UnreachableError(f"cannot reach Azure Resource Manager reading {what}: {reason}")
    if isinstance(exc, ClientAuthenticationError):
        reason = _first_line(_arm_message(exc))
        return AuthenticationError(
            f"Azure credentials were refused or are missing reading {what}: {reason} "
            "(run `az login`, or check the service principal in --azure-config)"
        )
    if isinstance(exc, ResourceNotFoundError):
        return NotFoundError(f"{what}: not found: {_first_line(_arm_message(exc))}")
    if isinstance(exc, HttpResponseError):
        message = _first_line(_arm_message(exc))
        if exc.status_code == 403:
            action = _ACTION.search(message)
            scope = _SCOPE.search(message)
            if action:
                where = f" on {scope.group(1)}" if scope else ""
                return PermissionDeniedError(
                    f"Azure denied {action.group(1)}{where} reading {what} (403 AuthorizationFailed): grant it to "
                    f"this identity, in the role of the job it does ({ROLE_FILES})"
                )
            return PermissionDeniedError(f"Azure denied reading {what} (403): {message}")
        if exc.status_code == 401:
            return AuthenticationError(f"Azure credentials were refused reading {what} (401): {message}")
        if exc.status_code == 404:
            return NotFoundError(f"{what}: not found: {message}")
        code = getattr(getattr(exc, "error", None), "code", None)
        return InputError(f"Azure answered {exc.status_code} {code or ''} reading {what}: {message}".replace("  ", " "))
    return None


def _arm_message(exc: HttpResponseError) -> str:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None)
    if message:
        return f"{code}: {message}" if code else str(message)
    return str(getattr(exc, "message", None) or exc)


def _first_line(text: str) -> str:
    text = text.strip()
    return re.split(r"[\r\n]", text, maxsplit=1)[0] if text else ""

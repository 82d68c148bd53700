"""deploy/rbac.yaml and deploy/azure-role.json grant exactly what nodewarden's adapters use.

The twin records every request; this test drives every adapter (collect, the node actions, the Azure
actions), maps each request to a Kubernetes (group, resource, verb) or an ARM action, and compares
with the role files both ways: a missing permission breaks production, an unused one is too much.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import yaml

from nodewarden.act import azure_actions, kube_actions
from nodewarden.act.events import EventRecorder
from nodewarden.act.results import NodeAction
from nodewarden.connection import Connection
from nodewarden.observe import collect
from nodewarden.observe.activity import activity_since
from nodewarden.twin.service import Twin

DEPLOY = Path(__file__).parents[2] / "deploy"
_KUBE_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$"
)
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def kube_permission(method: str, path: str, watch: bool) -> tuple[str, str, str] | None:
    """(apiGroup, resource[/subresource], verb) as RBAC names them; None for discovery and the like."""
    match = _KUBE_PATH.match(path)
    if match is None:
        return None
    group = "" if match["core"] else match["group"]
    resource = match["resource"]
    if match["sub"]:
        resource = f"{resource}/{match['sub']}"
    if method != "GET":
        return group, resource, _VERBS[method]
    return group, resource, "watch" if watch else ("get" if match["name"] else "list")


_ARM_SEGMENT = re.compile(r"/providers/(?P<provider>[^/]+)/(?P<rest>.+)$", re.IGNORECASE)


def arm_permission(method: str, path: str) -> str | None:
    """The Azure RBAC action for an ARM request (`Microsoft.Compute/virtualMachineScaleSets/read`)."""
    if not path.lower().startswith("/subscriptions/"):
        return None
    match = _ARM_SEGMENT.search(path)
    if match is None:
        return None
    parts = match["rest"].split("/")
    types = parts[0::2]  # resource type segments alternate with names
    trailing_action = len(parts) % 2 == 1 and len(parts) > 1
    if trailing_action:
        types = types[:-1]
    kind = "/".join([match["provider"], *types])
    if trailing_action:
        return f"{kind}/{parts[-1]}/action" if method == "POST" else f"{kind}/{parts[-1]}/read"
    return f"{kind}/" + {"GET": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}[method]


def _granted_kube() -> set[tuple[str, str, str]]:
    documents = list(yaml.safe_load_all((DEPLOY / "rbac.yaml").read_text(encoding="utf-8")))
    [role] = [d for d in documents if d and d.get("kind") == "ClusterRole"]
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def _granted_arm() -> set[str]:
    role = json.loads((DEPLOY / "azure-role.json").read_text(encoding="utf-8"))
    return {action.lower() for action in role["permissions"][0]["actions"]}


def _exercise_everything(twin: Twin, connection: Connection) -> None:
    assert connection.kube is not None
    assert connection.azure is not None
    kube, azure = connection.kube, connection.azure
    collect.gather(connection)
    activity_since(azure, twin.clock.now() - timedelta(hours=1), twin.clock.now(), resource_group="any")
    node = next(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"])
    recorder = EventRecorder(kube)
    kube_actions.cordon(kube, node, recorder=recorder)
    kube_actions.uncordon(kube, node, recorder=recorder)
    kube_actions.drain(kube, node, timeout=600, recorder=recorder, wait=twin.advance, monotonic=twin.clock.elapsed)
    # A drain that a PodDisruptionBudget blocks reads the budget and the workload behind the pod.
    deployed = next(
        p
        for p in twin.world.store.items("pods")
        if "-apps-" in (p["spec"].get("nodeName") or "")
        and p["spec"]["nodeName"] != node
        and any(o["kind"] == "ReplicaSet" for o in p["metadata"].get("ownerReferences", []))
    )
    blocked = deployed["spec"]["nodeName"]
    selector = {"matchLabels": {"app": deployed["metadata"]["labels"]["app"]}}
    frozen = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "frozen", "namespace": deployed["metadata"]["namespace"]},
        "spec": {"maxUnavailable": 0, "selector": selector},
    }
    twin.world.kube.apply(frozen)  # the test's own setup goes straight into the twin, not through the API
    kube_actions.preview_drain(kube, blocked)
    kube_actions.drain(kube, blocked, timeout=60, recorder=recorder, wait=twin.advance, monotonic=twin.clock.elapsed)
    ref = azure_actions.instance_of(kube_actions.get_node(kube, node))
    for action in (
        NodeAction.RESTART,
        NodeAction.REIMAGE,
        NodeAction.REDEPLOY,
        NodeAction.DEALLOCATE,
        NodeAction.START,
    ):
        azure_actions.run_instance_action(azure, ref, action, timeout=900, recorder=recorder)
    system = next(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-system-" in n["metadata"]["name"])
    azure_actions.replace(
        azure, azure_actions.instance_of(kube_actions.get_node(kube, system)), timeout=900, recorder=recorder
    )
    kube_actions.delete_node(kube, node, recorder=recorder, force=True)


def test_the_role_files_grant_exactly_what_the_adapters_use(twin: Twin, connection: Connection) -> None:
    twin.record_requests = True
    _exercise_everything(twin, connection)
    used_kube = {p for m, path, watch in twin.requests if (p := kube_permission(m, path, watch)) is not None}
    used_arm = {a.lower() for m, path, _ in twin.requests if (a := arm_permission(m, path)) is not None}
    assert used_kube, "the adapters made no Kubernetes requests?"
    assert used_arm, "the adapters made no ARM requests?"
    granted_kube, granted_arm = _granted_kube(), _granted_arm()
    assert sorted(used_kube - granted_kube) == [], "deploy/rbac.yaml misses these"
    assert sorted(granted_kube - used_kube) == [], "deploy/rbac.yaml grants these, which nodewarden never uses"
    assert sorted(used_arm - granted_arm) == [], "deploy/azure-role.json misses these"
    assert sorted(granted_arm - used_arm) == [], "deploy/azure-role.json grants these, which nodewarden never uses"


def test_request_mapping_follows_rbac_and_azure_naming() -> None:
    assert kube_permission("GET", "/api/v1/nodes", False) == ("", "nodes", "list")
    assert kube_permission("GET", "/api/v1/nodes", True) == ("", "nodes", "watch")
    assert kube_permission("PATCH", "/api/v1/nodes/n1", False) == ("", "nodes", "patch")
    assert kube_permission("POST", "/api/v1/namespaces/shop/pods/web-1/eviction", False) == (
        "",
        "pods/eviction",
        "create",
    )
    assert kube_permission("GET", "/apis/apps/v1/namespaces/shop/replicasets/web-1", False) == (
        "apps",
        "replicasets",
        "get",
    )
    assert kube_permission("GET", "/api", False) is None
    vm = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/v/virtualMachines"
    assert arm_permission("GET", vm) == "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read"
    assert (
        arm_permission("POST", f"{vm}/3/restart")
        == "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action"
    )
    assert arm_permission("GET", f"{vm}/3/instanceView") == (
        "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/instanceView/read"
    )
    pools = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/agentPools"
    assert arm_permission("PUT", f"{pools}/apps") == "Microsoft.ContainerService/managedClusters/agentPools/write"
    log = "/subscriptions/s/providers/Microsoft.Insights/eventtypes/management/values"
    assert arm_permission("GET", log) == "Microsoft.Insights/eventtypes/values/read"
    assert arm_permission("POST", f"{pools}/apps/deleteMachines") == (
        "Microsoft.ContainerService/managedClusters/agentPools/deleteMachines/action"
    )

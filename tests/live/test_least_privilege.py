"""deploy/base/rbac/controller.yaml and deploy/azure/controller.json grant exactly what nodewarden uses: no less, no more, no wider.

The twin records every request. The test drives the adapters (collect, every node action, every Azure
action), the controller (scenario 1 end to end through the scenario harness — caches, leader Lease, journal,
cordon, drain, restart, uncordon, Events — then a scale, a replace, an escalation and a resume after a crash
through its executor) and the `watch`, `plan` and `run` commands. It sorts every request into:

- Kubernetes resource requests, mapped to what RBAC checks: namespace, apiGroup, resource, verb and name;
- public non-resource URLs (`/version` for the API server's clock; discovery), which no role may grant;
- ARM requests, mapped to Azure RBAC actions;
- requests that need no role (the identity provider's token endpoint, IMDS Scheduled Events);

and fails on anything else. Then it compares with the role files both ways: a missing permission breaks
production; a grant nothing used, or a cluster-wide grant where nodewarden only ever works in one fixed
namespace, or a grant on a whole kind where nodewarden only ever touches one fixed object, is too much.

(The events cache lists Events in every namespace though detection reads only Node events, which live in
`default`; narrowing the cache to that namespace would let rbac.yaml move events list/watch into a Role.)
"""

from __future__ import annotations

import json
import logging
import re
import signal
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from nodewarden.act import azure_actions, kube_actions
from nodewarden.act.events import NODE_EVENT_NAMESPACE, EventRecorder
from nodewarden.act.results import NodeAction
from nodewarden.connection import Connection
from nodewarden.model.remediation import Episode, EpisodeState, JournalEntry, Outcome, PlannedAction, Step
from nodewarden.observe import collect
from nodewarden.observe.activity import activity_since
from nodewarden.observe.cache import NODE_LEASE_NAMESPACE
from nodewarden.runtime import leader
from nodewarden.state import correlation_id_for
from nodewarden.state.cluster.incidents import ClusterIncidents
from nodewarden.state.cluster.remediations import ClusterSteps
from nodewarden.twin.service import Twin
from tests.conftest import Invoke
from tests.scenarios.harness import Harness, harness
from tests.state.conftest import install_crds

DEPLOY = Path(__file__).parents[2] / "deploy"
SERVICE_ACCOUNT = ("nodewarden", "nodewarden")  # (namespace, name), as deploy/base/rbac/controller.yaml creates it

# Where nodewarden's code fixes the namespace or the object: grants there must say so (a Role; resourceNames).
PINNED_NAMESPACES = frozenset({leader.DEFAULT_NAMESPACE, NODE_LEASE_NAMESPACE, NODE_EVENT_NAMESPACE})
PINNED_OBJECTS = frozenset({(leader.DEFAULT_NAMESPACE, "coordination.k8s.io", "leases", leader.DEFAULT_NAME)})

# Granted to every client by the default ClusterRoles: system:public-info-viewer (unauthenticated too) and
# system:discovery (authenticated). A role file must not grant them again.
PUBLIC_PATHS = frozenset({"/version", "/version/", "/healthz", "/livez", "/readyz", "/api", "/api/", "/apis", "/apis/"})
_DISCOVERY = re.compile(r"^/(?:api/[^/]+|apis/[^/]+(?:/[^/]+)?|openapi/.*)/?$")
# Requests that need no Kubernetes or Azure role: Entra ID's token endpoint and its metadata, and IMDS on the node.
_NO_ROLE = re.compile(
    r"^/(?:[^/]+/oauth2/v2\.0/token|[^/]+/v2\.0/\.well-known/openid-configuration|common/discovery/instance"
    r"|metadata/scheduledevents|metadata/identity/oauth2/token)/?$"
)

_KUBE_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$"
)
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}
_ARM_SEGMENT = re.compile(r"/providers/(?P<provider>[^/]+)/(?P<rest>.+)$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class KubeUse:
    """One Kubernetes request as the RBAC authorizer sees it."""

    namespace: str  # "" for a cluster-scoped kind, or a request across all namespaces
    group: str
    resource: str  # "pods/eviction" for a subresource
    verb: str
    name: str = ""  # "" when the URL names no object (list, watch, create)


@dataclass(frozen=True, order=True)
class KubeGrant:
    """One (apiGroup, resource, verb) of one rule, where its binding makes it apply."""

    namespace: str  # "" for a ClusterRole bound by a ClusterRoleBinding, else the RoleBinding's namespace
    group: str
    resource: str
    verb: str
    names: tuple[str, ...] = ()  # resourceNames; empty: every object
    role: str = ""

    def covers(self, use: KubeUse) -> bool:
        """RBAC's rule match: a namespaced grant never covers a cluster-wide request, and a grant with
        resourceNames never covers a request that names no object (create, list, watch)."""
        if (self.group, self.resource, self.verb) != (use.group, use.resource, use.verb):
            return False
        if self.namespace and self.namespace != use.namespace:
            return False
        return not self.names or use.name in self.names


def kube_use(method: str, path: str, watch: bool) -> KubeUse | None:
    """The RBAC attributes of a resource request; None for anything else (discovery, /version, ARM …)."""
    match = _KUBE_PATH.match(path)
    if match is None:
        return None
    group = "" if match["core"] else match["group"]
    resource = match["resource"]
    if match["sub"]:
        resource = f"{resource}/{match['sub']}"
    name = match["name"] or ""
    if method == "GET":
        verb = "watch" if watch else ("get" if name else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _VERBS[method]
    return KubeUse(match["ns"] or "", group, resource, verb, name)


def kube_permission(method: str, path: str, watch: bool) -> tuple[str, str, str] | None:
    """(apiGroup, resource[/subresource], verb) as RBAC names them; None for discovery and the like."""
    use = kube_use(method, path, watch)
    return None if use is None else (use.group, use.resource, use.verb)


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


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or _DISCOVERY.match(path) is not None


@dataclass
class Used:
    kube: set[KubeUse]
    arm: set[str]
    public: set[str]
    unknown: set[tuple[str, str]]


def sort_requests(requests: Iterable[tuple[str, str, bool]]) -> Used:
    used = Used(set(), set(), set(), set())
    for method, path, watch in requests:
        if path.startswith("/twin/"):
            continue  # the twin's own admin API: test setup, not nodewarden
        if (use := kube_use(method, path, watch)) is not None:
            used.kube.add(use)
        elif (action := arm_permission(method, path)) is not None:
            used.arm.add(action.lower())
        elif is_public(path):
            used.public.add(path)
        elif _NO_ROLE.match(path) is None:
            used.unknown.add((method, path))
    return used


# -- the role files ----------------------------------------------------------------------------------


def granted_kube(documents: list[dict[str, Any]]) -> list[KubeGrant]:
    """Every grant that reaches the ServiceAccount, through its binding; fails on unbound or non-resource rules."""
    [account] = [d for d in documents if d["kind"] == "ServiceAccount"]
    assert (account["metadata"]["namespace"], account["metadata"]["name"]) == SERVICE_ACCOUNT
    roles = {
        (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d.get("rules", [])
        for d in documents
        if d["kind"] in ("ClusterRole", "Role")
    }
    subject = {"kind": "ServiceAccount", "namespace": SERVICE_ACCOUNT[0], "name": SERVICE_ACCOUNT[1]}
    grants: list[KubeGrant] = []
    bound: set[tuple[str, str, str]] = set()
    for binding in (d for d in documents if d["kind"] in ("ClusterRoleBinding", "RoleBinding")):
        assert subject in binding["subjects"], f"{binding['metadata']['name']} binds someone else"
        scope = binding["metadata"].get("namespace", "") if binding["kind"] == "RoleBinding" else ""
        ref = binding["roleRef"]
        key = (ref["kind"], "" if ref["kind"] == "ClusterRole" else scope, ref["name"])
        assert key in roles, f"{binding['metadata']['name']} refers to {key}, which rbac.yaml does not define"
        bound.add(key)
        for rule in roles[key]:
            assert "nonResourceURLs" not in rule, f"{key}: /version and discovery are public already"
            grants += [
                KubeGrant(scope, group, resource, verb, tuple(rule.get("resourceNames", ())), "/".join(key))
                for group in rule["apiGroups"]
                for resource in rule["resources"]
                for verb in rule["verbs"]
            ]
    assert sorted(set(roles) - bound) == [], "roles nothing binds"
    return grants


def _read_rbac() -> list[dict[str, Any]]:
    return [
        d for d in yaml.safe_load_all((DEPLOY / "base" / "rbac" / "controller.yaml").read_text(encoding="utf-8")) if d
    ]


def _granted_arm() -> set[str]:
    role = json.loads((DEPLOY / "azure" / "controller.json").read_text(encoding="utf-8"))
    return {action.lower() for action in role["permissions"][0]["actions"]}


def too_broad(grant: KubeGrant, uses: Iterable[KubeUse]) -> str | None:
    """Why a grant that is used is still wider than nodewarden needs, or None."""
    covered = [use for use in uses if grant.covers(use)]
    namespaces = {use.namespace for use in covered}
    if not grant.namespace and len(namespaces) == 1 and namespaces <= PINNED_NAMESPACES:
        return f"{grant} is cluster-wide; nodewarden only uses it in namespace {namespaces.pop()}: use a Role there"
    objects = {(use.namespace, use.group, use.resource, use.name) for use in covered}
    if not grant.names and covered and objects <= PINNED_OBJECTS:
        return f"{grant} covers every object; nodewarden only uses {sorted(objects)}: add resourceNames"
    return None


def kube_mismatches(used: set[KubeUse], grants: list[KubeGrant]) -> dict[str, list[str]]:
    return {
        "missing": sorted(str(u) for u in used if not any(g.covers(u) for g in grants)),
        "unused": sorted(str(g) for g in grants if not any(g.covers(u) for u in used)),
        "too broad": sorted(why for g in grants if (why := too_broad(g, used)) is not None),
    }


# -- driving nodewarden ------------------------------------------------------------------------------


def _exercise_adapters(twin: Twin, connection: Connection) -> None:
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
    ref = azure_actions.instance_of(kube_actions.read_node(kube, node))
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
        azure, azure_actions.instance_of(kube_actions.read_node(kube, system)), timeout=900, recorder=recorder
    )
    kube_actions.delete_node(kube, node, recorder=recorder, force=True)


def _exercise_controller(twin: Twin, state_dir: Path) -> None:
    """Scenario 1 end to end, then the steps scenario 1 does not take, through the controller's own executor."""
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=state_dir, twin=twin, state="cluster")
        h.step(0)
        crashed = h.nodes("apps")[0]
        twin.inject("instance-crash", target=crashed)
        h.run_until(lambda _: h.closed(crashed, EpisodeState.RECOVERED), within=900)
        assert [s for s, o in h.steps(crashed) if o is Outcome.SUCCEEDED] == [
            Step.CORDON, Step.DRAIN, Step.RESTART, Step.UNCORDON,
        ]  # fmt: skip
        _execute_by_hand(h)
    # Leaving the stack released the leader Lease, as a clean shutdown does.


def _execute_by_hand(h: Harness) -> None:
    executor = h.controller.executor
    system, apps = h.nodes("system"), h.nodes("apps")

    def execute(step: Step, subject: str, **fields: Any) -> JournalEntry:
        action = PlannedAction(step=step, subject=subject, reason="least-privilege test", key=f"lp-{subject}/{step}",
                               episode=f"lp-{subject}", **fields)  # fmt: skip
        entry = executor.execute(action, h.twin.clock.now())
        assert entry.outcome is Outcome.SUCCEEDED, f"{step} {subject}: {entry.detail}"
        return entry

    # Zone compensation: a pool PUT with a new count (the system pool does not autoscale in "small").
    execute(Step.SCALE, "system", pool="system", count=len(system) + 1)
    # Replace through AKS deleteMachines (apps autoscales, so AKS's autoscaler restores the count).
    execute(Step.REPLACE, apps[1], node=apps[1], pool="apps")
    # Quarantine (cordon and taint), then lift it as an uncordon does (untaint).
    execute(Step.ESCALATE, apps[2], node=apps[2], pool="apps")
    execute(Step.UNCORDON, f"{apps[2]}-lift", node=apps[2], pool="apps")
    # A crash after journaling a restart's intent: resume asks the Activity Log for its correlation id first.
    key = "lp-resume/Restart"
    h.controller.journal.open_episode(Episode(id="lp-resume", node=apps[3], opened_at=h.twin.clock.now(), pool="apps"))
    h.controller.journal.intend(
        JournalEntry(
            key=key,
            episode="lp-resume",
            step=Step.RESTART,
            subject=apps[3],
            intent_at=h.twin.clock.now(),
            correlation_id=correlation_id_for(key),
            node=apps[3],
            pool="apps",
        )
    )
    [resumed] = executor.resume(h.twin.clock.now())
    assert resumed.outcome is Outcome.SUCCEEDED, resumed.detail
    # The cluster's record: another replica opening the same episode (409, then a read of what is there),
    # retention deleting what closed long ago, and an incident merged into another.
    assert h.connection.kube is not None
    other = ClusterSteps(h.connection.kube)
    other.open_episode(Episode(id="lp-resume", node=apps[3], opened_at=h.twin.clock.now(), pool="apps"))
    h.controller.journal.close_episode("lp-resume", EpisodeState.ABANDONED, h.twin.clock.now(), "test")
    assert h.controller.journal.expire(h.twin.clock.now() + timedelta(days=31), timedelta(days=30)) >= 1
    ClusterIncidents(h.connection.kube).delete("lp-merged")


@contextmanager
def _process_state_kept() -> Iterator[None]:
    """`run` and `watch` install signal handlers and configure logging; put the test process back as it was."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    root = logging.getLogger()
    root_handlers, root_level = root.handlers[:], root.level
    try:
        yield
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        root.handlers[:] = root_handlers
        root.setLevel(root_level)


def _exercise_commands(twin: Twin, invoke: Invoke, state_dir: Path) -> None:
    target = ("--twin", str(twin.state_dir))
    with _process_state_kept():
        for args in (
            ("watch", "--once", "-o", "json", *target),
            ("plan", "-o", "json", *target),
            ("run", "--once", "--listen", "127.0.0.1:0", "--state-dir", str(state_dir), "--identity", "lp", *target),
            ("incidents", "list", *target),
        ):
            outcome = invoke(*args)
            assert outcome.code == 0, f"nodewarden {' '.join(args)}: {outcome.err}"


# -- the tests ---------------------------------------------------------------------------------------


@pytest.fixture
def used(twin: Twin, connection: Connection, invoke: Invoke, tmp_path: Path) -> Used:
    assert connection.kube is not None
    install_crds(connection.kube)  # as `kubectl apply -f deploy/crds/` by an admin, before nodewarden runs
    twin.record_requests = True
    # Read-only commands first, then the controller, then the adapters (which delete a node and a machine).
    _exercise_commands(twin, invoke, tmp_path / "run")
    _exercise_controller(twin, tmp_path / "controller")
    _exercise_adapters(twin, connection)
    return sort_requests(twin.requests)


def test_the_role_files_grant_exactly_what_nodewarden_uses(used: Used) -> None:
    assert sorted(used.unknown) == [], "requests this test cannot map to a permission"
    assert "/version" in used.public, "run, watch and plan read the API server's clock"
    for must in (
        KubeUse(leader.DEFAULT_NAMESPACE, "coordination.k8s.io", "leases", "create"),
        KubeUse(leader.DEFAULT_NAMESPACE, "coordination.k8s.io", "leases", "update", leader.DEFAULT_NAME),
        KubeUse(NODE_LEASE_NAMESPACE, "coordination.k8s.io", "leases", "watch"),
        KubeUse("", "", "pods", "watch"),
    ):
        assert must in used.kube, f"the exercise did not reach {must}"
    problems = kube_mismatches(used.kube, granted_kube(_read_rbac()))
    assert problems == {"missing": [], "unused": [], "too broad": []}, "deploy/base/rbac/controller.yaml does not match"
    granted_arm = _granted_arm()
    assert sorted(used.arm - granted_arm) == [], "deploy/azure/controller.json misses these"
    assert sorted(granted_arm - used.arm) == [], (
        "deploy/azure/controller.json grants these, which nodewarden never uses"
    )


def test_a_wider_or_narrower_grant_than_the_use_is_reported() -> None:
    leases = ("coordination.k8s.io", "leases")
    used = {
        KubeUse("kube-system", *leases, "create"),
        KubeUse("kube-system", *leases, "update", "nodewarden"),
        KubeUse("", "", "pods", "list"),
    }
    grants = [
        KubeGrant("", *leases, "create"),  # cluster-wide, only used in kube-system
        KubeGrant("kube-system", *leases, "update"),  # every Lease, only used on one
        KubeGrant("kube-system", "", "pods", "list"),  # a Role cannot serve a list across namespaces
        KubeGrant("", "", "nodes", "delete"),  # never used
    ]
    problems = kube_mismatches(used, grants)
    assert problems["missing"] == [str(KubeUse("", "", "pods", "list"))]
    assert [g for g in grants if str(g) in problems["unused"]] == grants[2:]
    assert len(problems["too broad"]) == 2
    assert "use a Role there" in problems["too broad"][0]
    assert "add resourceNames" in problems["too broad"][1]
    # A grant with resourceNames never covers a create: the name is not in the URL.
    assert not KubeGrant("kube-system", *leases, "create", ("nodewarden",)).covers(
        KubeUse("kube-system", *leases, "create")
    )


def test_requests_that_need_no_role_are_told_apart_from_unknown_ones() -> None:
    used = sort_requests(
        [
            ("GET", "/version", False),
            ("GET", "/apis/apps/v1", False),
            ("POST", "/tenant-id/oauth2/v2.0/token", False),
            ("GET", "/metadata/scheduledevents", False),
            ("GET", "/somewhere/else", False),
        ]
    )
    assert used.public == {"/version", "/apis/apps/v1"}
    assert used.unknown == {("GET", "/somewhere/else")}
    assert not used.kube
    assert not used.arm


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
    assert kube_use("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/nodewarden", False) == (
        KubeUse("kube-system", "coordination.k8s.io", "leases", "update", "nodewarden")
    )
    assert kube_use("GET", "/api/v1/namespaces/kube-system", False) == KubeUse(
        "", "", "namespaces", "get", "kube-system"
    )
    assert kube_permission("GET", "/api", False) is None
    assert kube_permission("GET", "/version", False) is None
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


def test_the_deployment_runs_two_locked_down_replicas_as_the_rbac_service_account() -> None:
    documents = [d for d in yaml.safe_load_all((DEPLOY / "base" / "controller.yaml").read_text(encoding="utf-8")) if d]
    kinds = {(d["apiVersion"], d["kind"]): d for d in documents}
    assert set(kinds) == {("v1", "Namespace"), ("apps/v1", "Deployment"), ("policy/v1", "PodDisruptionBudget")}
    deployment = kinds[("apps/v1", "Deployment")]
    assert deployment["metadata"]["namespace"] == kinds[("v1", "Namespace")]["metadata"]["name"] == SERVICE_ACCOUNT[0]
    spec, pod = deployment["spec"], deployment["spec"]["template"]["spec"]
    assert spec["replicas"] == 2
    assert pod["serviceAccountName"] == SERVICE_ACCOUNT[1]
    assert "hostNetwork" not in pod
    assert pod["securityContext"]["runAsNonRoot"] is True
    [container] = pod["containers"]
    args = container["args"]
    assert args[0] == "run"
    assert "--apply" not in args, "ships dry-run; acting is the operator's explicit choice"
    assert "--listen=0.0.0.0:9464" in args
    state_dir = next(a.split("=", 1)[1] for a in args if a.startswith("--state-dir="))
    [port] = container["ports"]
    assert (port["name"], port["containerPort"]) == ("metrics", 9464)
    assert "hostPort" not in port
    # readiness follows the API (fails after failing cycles); liveness only the loop, so an API outage restarts nothing
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "--state=cluster" in args, "the record outlives the pod: NodeRemediation and Incident objects"
    assert "emptyDir" in volumes[mounts[state_dir]], (
        "the local part of the record lives in an emptyDir (the root filesystem is read-only)"
    )
    budget = kinds[("policy/v1", "PodDisruptionBudget")]
    assert budget["spec"]["selector"] == spec["selector"]
    assert spec["template"]["metadata"]["labels"].items() >= spec["selector"]["matchLabels"].items()

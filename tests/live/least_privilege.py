"""Least privilege, shared by the role tests: what each request needs, what each job's role files grant, the difference.

tests/live/test_least_privilege.py (controller, operator, auditor) and tests/live/test_least_privilege_drill.py
(drill) record every request a job's commands send the twin and sort each into:

- Kubernetes resource requests, mapped to what RBAC checks: namespace, apiGroup, resource, verb and name;
- public non-resource URLs (`/version` for the API server's clock; discovery), which no role may grant;
- ARM requests, mapped to Azure RBAC actions;
- requests that need no role (the identity provider's token endpoint, IMDS Scheduled Events);

and fail on anything else. Then they compare with the job's two files in deploy/ both ways: a missing permission
breaks production; a grant nothing used, or a cluster-wide grant where nodewarden only ever works in one fixed
namespace, or a grant on a whole kind where nodewarden only ever touches one fixed object, is too much.
"""

from __future__ import annotations

import json
import logging
import re
import signal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nodewarden.act.events import NODE_EVENT_NAMESPACE
from nodewarden.observe.cache import NODE_LEASE_NAMESPACE
from nodewarden.runtime import leader
from nodewarden.twin.service import Twin

DEPLOY = Path(__file__).parents[2] / "deploy"
NAMESPACE = "nodewarden"  # where the ServiceAccounts live (deploy/base/)

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
# The last `/providers/` names the provider whose action it is: an extension resource on a VM
# (`…/virtualMachines/3/providers/Microsoft.ResourceHealth/availabilityStatuses/current`) is ResourceHealth's.
_ARM_SEGMENT = re.compile(r"^.*/providers/(?P<provider>[^/]+)/(?P<rest>.+)$", re.IGNORECASE)


# -- what a request needs --------------------------------------------------------------------------------------


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
    """What some requests needed, sorted by who grants it."""

    kube: set[KubeUse] = field(default_factory=set)
    arm: set[str] = field(default_factory=set)  # Azure actions, lower case (Azure compares them so)
    public: set[str] = field(default_factory=set)
    unknown: set[tuple[str, str]] = field(default_factory=set)

    def __or__(self, other: Used) -> Used:
        return Used(self.kube | other.kube, self.arm | other.arm, self.public | other.public,
                    self.unknown | other.unknown)  # fmt: skip


def sort_requests(requests: Iterable[tuple[str, str, bool]]) -> Used:
    used = Used()
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


class Recording:
    """Every request sent to one twin, cut into the named phases of an exercise (one job's commands each)."""

    def __init__(self, twin: Twin) -> None:
        self._twin = twin
        self.phases: dict[str, Used] = {}
        twin.record_requests = True

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = len(self._twin.requests)
        yield
        self.phases[name] = sort_requests(self._twin.requests[start:])

    def of(self, *names: str) -> Used:
        """What the phases `names` used together."""
        used = Used()
        for name in names:
            used |= self.phases[name]
        return used


# -- what a job's files grant ----------------------------------------------------------------------------------


def service_account(name: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE}


def group(name: str) -> dict[str, str]:
    """A group of people (AKS with Entra ID: the group's object id; the files hold a placeholder)."""
    return {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}


@dataclass(frozen=True)
class Job:
    """One job's two role files (paths under deploy/) and whom its bindings name."""

    name: str
    kube_file: str
    azure_file: str
    subjects: tuple[dict[str, str], ...]

    def documents(self) -> list[dict[str, Any]]:
        return [d for d in yaml.safe_load_all((DEPLOY / self.kube_file).read_text(encoding="utf-8")) if d]

    def azure_role(self) -> dict[str, Any]:
        role: dict[str, Any] = json.loads((DEPLOY / self.azure_file).read_text(encoding="utf-8"))
        return role

    def kube_grants(self) -> list[KubeGrant]:
        return granted_kube(self.documents(), self.subjects)

    def arm_actions(self) -> set[str]:
        [permissions] = self.azure_role()["permissions"]
        return {action.lower() for action in permissions["actions"]}


CONTROLLER = Job("controller", "base/rbac/controller.yaml", "azure/controller.json", (service_account("nodewarden"),))
OPERATOR = Job("operator", "base/rbac/operator.yaml", "azure/operator.json", (group("<operators-group>"),))
AUDITOR = Job("auditor", "base/rbac/auditor.yaml", "azure/auditor.json", (service_account("nodewarden-auditor"),))
DRILL = Job(
    "drill",
    "overlays/drill/rbac.yaml",
    "azure/drill.json",
    (group("<drill-operators-group>"), service_account("nodewarden-drill")),
)
JOBS = (CONTROLLER, OPERATOR, AUDITOR, DRILL)


def granted_kube(documents: list[dict[str, Any]], subjects: Iterable[dict[str, str]]) -> list[KubeGrant]:
    """Every grant the file's bindings give `subjects`. Fails on a binding that names anyone else, a ServiceAccount
    that is not one of them, a role the file does not define or nothing binds, and non-resource rules."""
    subjects = list(subjects)
    accounts = [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in documents if d["kind"] == "ServiceAccount"]
    assert sorted(accounts) == sorted((s["namespace"], s["name"]) for s in subjects if s["kind"] == "ServiceAccount")
    roles = {
        (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d.get("rules", [])
        for d in documents
        if d["kind"] in ("ClusterRole", "Role")
    }
    grants: list[KubeGrant] = []
    bound: set[tuple[str, str, str]] = set()
    for binding in (d for d in documents if d["kind"] in ("ClusterRoleBinding", "RoleBinding")):
        assert binding["subjects"] == subjects, f"{binding['metadata']['name']} binds {binding['subjects']}"
        scope = binding["metadata"].get("namespace", "") if binding["kind"] == "RoleBinding" else ""
        ref = binding["roleRef"]
        key = (ref["kind"], "" if ref["kind"] == "ClusterRole" else scope, ref["name"])
        assert key in roles, f"{binding['metadata']['name']} refers to {key}, which its file does not define"
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


# -- the difference --------------------------------------------------------------------------------------------


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


EXACT: dict[str, list[str]] = {"missing": [], "unused": [], "too broad": [], "azure missing": [], "azure unused": []}


def mismatches(job: Job, used: Used) -> dict[str, list[str]]:
    """How the job's two files differ from what its commands used; EXACT when they grant just that."""
    granted_arm = job.arm_actions()
    return kube_mismatches(used.kube, job.kube_grants()) | {
        "azure missing": sorted(used.arm - granted_arm),
        "azure unused": sorted(granted_arm - used.arm),
    }


# -- running commands in the test process ----------------------------------------------------------------------


@contextmanager
def process_state_kept() -> Iterator[None]:
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


def freeze_a_workload_on(twin: Twin, nodes: list[str]) -> str:
    """A node among `nodes` running a ReplicaSet's pod whose new budget allows no disruption (evicting it: 429)."""
    pod = next(
        p
        for p in twin.world.store.items("pods")
        if p["spec"].get("nodeName") in nodes
        and any(o["kind"] == "ReplicaSet" for o in p["metadata"].get("ownerReferences", []))
    )
    frozen = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": f"frozen-{pod['metadata']['labels']['app']}", "namespace": pod["metadata"]["namespace"]},
        "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": pod["metadata"]["labels"]["app"]}}},
    }
    twin.world.kube.apply(frozen)  # the test's own setup goes straight into the twin, not through the API
    return str(pod["spec"]["nodeName"])

"""deploy/overlays/drill/rbac.yaml and deploy/azure/drill.json grant exactly what `nodewarden drill run` uses.

A drill on a real cluster injects only API faults, beside a deployed `nodewarden run`: its own controller only
detects. The twin records every request of

- a drill run through the CLI with `--twin DIR` against a twin served at 120x real time: the caches and the
  detection-only controller, instance-stop, and its undo when the drill aborts (start the instance);
- every other API fault and the undo paths that drill did not take, through the drill's injector on a manual
  clock: instance-deallocate (start), instance-stop on an instance that runs while its node is not Ready
  (restart), spot-eviction of a Spot instance with the Deallocate policy (start), and a node-drain that a
  PodDisruptionBudget blocks (the budget and the workload behind the pod are read) and its uncordon;

then compares both ways with the two files (tests/live/least_privilege.py). People run drills through the group
the file binds, the scheduled drill (deploy/overlays/drill/drill-cronjob.yaml) as the ServiceAccount nodewarden-drill:
both get the same roles. With `--with-controller` the drill also acts as `nodewarden run --apply` does; the drill's
file says to bind the controller's roles too, and the last test proves the two together cover such a drill and the
drill's alone do not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter

from nodewarden.connection import Connection
from nodewarden.drill import faults, inject
from nodewarden.drill.spec import DrillSpec
from nodewarden.model.kube import Node
from nodewarden.model.snapshot import Snapshot
from nodewarden.runtime import leader
from nodewarden.twin.scenario import PoolSpec
from nodewarden.twin.service import Twin
from tests.conftest import Invoke
from tests.live.least_privilege import (
    CONTROLLER,
    DRILL,
    EXACT,
    KubeUse,
    Used,
    freeze_a_workload_on,
    kube_mismatches,
    mismatches,
    process_state_kept,
    sort_requests,
)
from tests.support.os_disks import with_managed_os_disks

SPEED = 120.0  # twin seconds per real second for the CLI runs (their ARM pollers and cache sync wait in real time)
VM = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
FAULT_ACTIONS = frozenset(  # the API faults and their undo: what the drill role adds to reading the cluster
    f"{VM}/{action}/action".lower() for action in ("powerOff", "deallocate", "simulateEviction", "start", "restart")
)


# -- driving drills --------------------------------------------------------------------------------------------


def write_drill(path: Path, **spec: Any) -> Path:
    """instance-stop on the first Ready node of the apps pool, as a drill file."""
    body = {"scope": {"pools": ["apps"]}, "fault": {"type": "instance-stop", "target": {"pool": "apps"}}} | spec
    document = {"apiVersion": "nodewarden.io/v1", "kind": "Drill", "metadata": {"name": "least-privilege"}}
    path.write_text(yaml.safe_dump(document | {"spec": body}), encoding="utf-8")
    return path


def run_drill_cli(invoke: Invoke, tmp_path: Path, drill: Path, *flags: str) -> tuple[dict[str, Any], Used]:
    """`nodewarden drill run` against a twin served at SPEED; the verdict and every request the drill made."""
    scenario = with_managed_os_disks("small", "apps")  # instance-deallocate needs managed OS disks
    with Twin(scenario, speed=SPEED, state_dir=tmp_path / "twin") as twin, process_state_kept():
        twin.record_requests = True
        ran = invoke("drill", "run", str(drill), "--twin", str(twin.state_dir), "--interval", "24",
                     "--state-dir", str(tmp_path / "state"), "-o", "json", *flags)  # fmt: skip
    assert ran.code in (0, 1), ran.err  # passed or failed, but ran: no refusal, no usage error
    return json.loads(ran.out), sort_requests(twin.requests)


def nodes_of(twin: Twin) -> Snapshot:
    """The nodes as the drill's runner hands them to `undo`, read from the twin directly: not a recorded request."""
    return Snapshot(nodes=tuple(TypeAdapter(Node).validate_python(n) for n in twin.world.store.items("nodes")))


def resolve(twin: Twin, fault: str, target: dict[str, str]) -> faults.Resolved:
    spec = DrillSpec.model_validate({"scope": {"pools": ["apps", "spot"]}, "fault": {"type": fault, "target": target}})
    return faults.resolve(spec, nodes_of(twin))


def inject_and_undo(twin: Twin, connection: Connection) -> None:
    """The API faults and undo paths the CLI drill does not take, as `drill run` calls them on a real cluster."""
    injector = inject.injector_for(connection, twin_dir=None)  # no twin: only API faults, as on a real cluster
    apps = sorted(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"])

    deallocated = resolve(twin, "instance-deallocate", {"node": apps[0]})
    injector.inject(deallocated, {})
    assert injector.undo(deallocated, {}, nodes_of(twin)).startswith("started instance")

    stopped = resolve(twin, "instance-stop", {"node": apps[1]})
    twin.inject("instance-crash", target=apps[1])  # its instance runs, its kubelet is silent: undo restarts it
    twin.advance(60)
    assert injector.undo(stopped, {}, nodes_of(twin)).startswith("restarted instance")

    evicted = resolve(twin, "spot-eviction", {"pool": "spot"})
    injector.inject(evicted, {})
    twin.advance(30 + 60)  # the Preempt Scheduled Event's notice, then the eviction
    assert injector.undo(evicted, {}, nodes_of(twin)).startswith("started instance")

    blocked = freeze_a_workload_on(twin, apps[2:])
    drained = resolve(twin, "node-drain", {"node": blocked})
    injector.inject(drained, {})
    assert injector.undo(drained, {}, nodes_of(twin)) == f"uncordoned {blocked}"


# -- the tests ---------------------------------------------------------------------------------------------


@pytest.fixture
def twin() -> Iterator[Twin]:
    """tests/live's manual-clock twin, plus a Spot pool whose instances are deallocated when evicted."""
    small = with_managed_os_disks("small", "apps")  # instance-deallocate needs managed OS disks
    spot = PoolSpec(name="spot", count=1, zones=["1"], spot=True, eviction_policy="Deallocate", os_disk_type="Managed")
    with Twin(small.model_copy(update={"pools": [*small.pools, spot]}), advance_on_poll=30) as running:
        yield running


@pytest.fixture
def used(twin: Twin, connection: Connection, invoke: Invoke, tmp_path: Path) -> Used:
    drill = write_drill(tmp_path / "drill.yaml", expect={"timeToDetect": "3m"}, abort={"after": "1m"}, settle="1m")
    verdict, beside = run_drill_cli(invoke, tmp_path, drill)
    assert verdict["aborted"] == "not back to steady state within 1m"  # nothing here repairs: the drill only detects
    assert verdict["rollback"].startswith("started instance")
    twin.record_requests = True
    inject_and_undo(twin, connection)
    direct = sort_requests(twin.requests)
    return beside | direct


def test_the_drill_role_files_grant_exactly_what_a_drill_uses(used: Used) -> None:
    assert sorted(used.unknown) == [], "requests this test cannot map to a permission"
    assert sorted(FAULT_ACTIONS - used.arm) == [], "the exercise did not reach every API fault and undo"
    reached = {(u.group, u.resource, u.verb) for u in used.kube}
    for must in (
        ("", "nodes", "watch"),  # the detection-only controller's caches
        ("coordination.k8s.io", "leases", "watch"),  # the kubelets' heartbeats
        ("", "nodes", "patch"),  # node-drain's cordon and its undo
        ("", "pods/eviction", "create"),
        ("apps", "replicasets", "get"),  # the drain a budget blocked names the workload behind the pod
    ):
        assert must in reached, f"the exercise did not reach {must}"
    assert not [u for u in used.kube if u.group == "coordination.k8s.io" and u.namespace == leader.DEFAULT_NAMESPACE]
    assert not [u for u in used.kube if u.verb == "create" and u.resource == "events"], "only a controller posts"

    assert mismatches(DRILL, used) == EXACT, "deploy/overlays/drill/rbac.yaml or deploy/azure/drill.json"


def test_the_drill_binds_people_and_the_scheduled_drill_alike() -> None:
    bindings = [d for d in DRILL.documents() if d["kind"] in ("ClusterRoleBinding", "RoleBinding")]
    assert [d["metadata"]["name"] for d in DRILL.documents() if d["kind"] == "ServiceAccount"] == ["nodewarden-drill"]
    assert all(binding["subjects"] == list(DRILL.subjects) for binding in bindings)
    assert {s["kind"] for s in DRILL.subjects} == {"Group", "ServiceAccount"}


def test_a_drill_with_its_own_controller_needs_the_controllers_roles_as_well(invoke: Invoke, tmp_path: Path) -> None:
    drill = write_drill(tmp_path / "drill.yaml", expect={"timeToDetect": "3m"})
    _, used = run_drill_cli(invoke, tmp_path, drill, "--with-controller")
    assert sorted(used.unknown) == []
    acted = {(u.namespace, u.group, u.resource, u.verb) for u in used.kube}
    assert ("default", "events.k8s.io", "events", "create") in acted, "the controller led, acted and recorded it"

    alone = kube_mismatches(used.kube, DRILL.kube_grants())["missing"]
    lease = KubeUse(leader.DEFAULT_NAMESPACE, "coordination.k8s.io", "leases", "update", leader.DEFAULT_NAME)
    assert str(lease) in alone, "the drill's roles alone must not let it lead"
    both = kube_mismatches(used.kube, [*DRILL.kube_grants(), *CONTROLLER.kube_grants()])["missing"]
    assert both == [], "the drill's and the controller's roles together miss these"
    assert sorted(used.arm - DRILL.arm_actions() - CONTROLLER.arm_actions()) == [], "the two Azure roles miss these"

"""The controller's, the operator's and the auditor's role files grant exactly what their commands use.

One twin records every request (tests/live/least_privilege.py sorts them and compares with the files), in phases:

- audit (auditor): `collect` and `audit --live`, the nightly CronJob's commands;
- look (controller and operator): `watch --once` and `plan`, which read the controller's caches;
- run (controller): `run --once`;
- controller (controller): scenario 1 end to end through the scenario harness (caches, leader Lease, the record in
  the cluster, cordon, drain, restart, uncordon, Events), then through the controller's own executor each step
  scenario 1 does not take: a scale, a replace, reimage, redeploy, a quarantine and its lift, a drain a
  PodDisruptionBudget blocks, a drain the policy forces (spec.drain.force), a resume after a crash, retention;
- incidents (operator): `incidents list|show|report --twin` (the Incident objects);
- node (operator): every `nodewarden node …` command through the CLI, dry runs included. Drains that remove pods
  are the exception: the command waits for them in real time, so the same adapter call runs on the twin's clock
  (an evicting drain a budget blocks, and a forced one), and the command itself drains a node already empty.

A job's files must grant the union of its phases: no less, no more, no wider. The phases run once per module.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import ExitStack, redirect_stderr, redirect_stdout
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from nodewarden.act import kube_actions
from nodewarden.act.events import EventRecorder
from nodewarden.cli.main import run
from nodewarden.connection import Connection, connect
from nodewarden.model.remediation import Episode, EpisodeState, JournalEntry, Outcome, PlannedAction, Step
from nodewarden.observe import live_azure, live_kube
from nodewarden.observe.cache import NODE_LEASE_NAMESPACE
from nodewarden.runtime import leader
from nodewarden.state import correlation_id_for
from nodewarden.state.cluster.incidents import ClusterIncidents
from nodewarden.state.cluster.remediations import ClusterSteps
from nodewarden.twin.service import Twin
from tests.conftest import Outcome as Ran
from tests.live.least_privilege import (
    AUDITOR,
    CONTROLLER,
    DEPLOY,
    EXACT,
    JOBS,
    NAMESPACE,
    OPERATOR,
    Job,
    KubeGrant,
    KubeUse,
    Recording,
    Used,
    arm_permission,
    freeze_a_workload_on,
    granted_kube,
    kube_mismatches,
    kube_permission,
    kube_use,
    mismatches,
    process_state_kept,
    sort_requests,
)
from tests.scenarios.harness import Harness, harness
from tests.state.conftest import install_crds
from tests.support.os_disks import with_managed_os_disks

pytestmark = pytest.mark.xdist_group("least-privilege")  # one recording serves every test of the module

PHASES = {
    CONTROLLER.name: ("look", "run", "controller"),
    OPERATOR.name: ("look", "incidents", "node"),
    AUDITOR.name: ("audit",),
}


def invoke(*args: str) -> Ran:
    """The console entry point in-process, its output kept (capsys is per test; the recording is per module)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as exited, process_state_kept():
        run(list(args))
    code = exited.value.code
    return Ran(code=code if isinstance(code, int) else 0, out=out.getvalue(), err=err.getvalue())


def succeed(*args: str, codes: tuple[int, ...] = (0,)) -> Ran:
    ran = invoke(*args)
    assert ran.code in codes, f"nodewarden {' '.join(args)}: {ran.err}"
    return ran


# -- the jobs' commands -------------------------------------------------------------------------------------------


def _audit(twin: Twin, out: Path) -> None:
    target = ("--twin", str(twin.state_dir))
    succeed("collect", "--out", str(out), *target)
    succeed("audit", "--live", "-o", "json", *target, codes=(0, 1))  # 1: findings, which the audit reports


def _look(twin: Twin) -> None:
    target = ("--twin", str(twin.state_dir))
    succeed("watch", "--once", "-o", "json", *target)
    succeed("plan", "-o", "json", *target)


def _run(twin: Twin, state_dir: Path) -> None:
    succeed("run", "--once", "--listen", "127.0.0.1:0", "--state-dir", str(state_dir), "--identity", "lp",
            "--twin", str(twin.state_dir))  # fmt: skip


def _control(twin: Twin, state_dir: Path) -> None:
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

    def execute(step: Step, subject: str, outcome: Outcome = Outcome.SUCCEEDED, **fields: Any) -> JournalEntry:
        action = PlannedAction(step=step, subject=subject, reason="least-privilege test", key=f"lp-{subject}/{step}",
                               episode=f"lp-{subject}", **fields)  # fmt: skip
        entry = executor.execute(action, h.twin.clock.now())
        assert entry.outcome is outcome, f"{step} {subject}: {entry.detail}"
        return entry

    # Zone compensation: a pool PUT with a new count (the system pool does not autoscale in "small").
    execute(Step.SCALE, "system", pool="system", count=len(system) + 1)
    # Replace through AKS deleteMachines (apps autoscales, so AKS's autoscaler restores the count).
    execute(Step.REPLACE, apps[1], node=apps[1], pool="apps")
    # The rungs scenario 1 did not climb, on the node it repaired.
    execute(Step.REIMAGE, apps[0], node=apps[0], pool="apps")
    execute(Step.REDEPLOY, f"{apps[0]}-again", node=apps[0], pool="apps")
    # Quarantine (cordon and taint), then lift it as an uncordon does (untaint).
    execute(Step.ESCALATE, apps[2], node=apps[2], pool="apps")
    execute(Step.UNCORDON, f"{apps[2]}-lift", node=apps[2], pool="apps")
    # A drain a budget blocks names the budget and the workload behind the pod; one the policy forces deletes.
    blocked = freeze_a_workload_on(h.twin, apps[5:7])
    execute(Step.DRAIN, blocked, Outcome.TIMED_OUT, node=blocked, pool="apps", timeout=60)
    execute(Step.DRAIN, apps[4], node=apps[4], pool="apps", timeout=600, force=True)
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


def _incidents(twin: Twin) -> None:
    target = ("--twin", str(twin.state_dir))
    listed = json.loads(succeed("incidents", "list", "-o", "json", *target).out)
    assert listed, "scenario 1 left an incident"
    succeed("incidents", "show", listed[0]["id"], *target)
    succeed("incidents", "report", listed[0]["id"], "-o", "json", *target)


def _operate(twin: Twin, apps: list[str], system: list[str]) -> None:
    """Every runbook command, on nodes the controller phase left alone."""
    target = ("--twin", str(twin.state_dir))
    node, emptied, blocked = apps[7], apps[8], freeze_a_workload_on(twin, apps[5:7])
    for command in ("cordon", "uncordon"):
        succeed("node", command, node, *target)
    succeed("node", "drain", node, "--dry-run", *target)
    succeed("node", "reimage", node, "--dry-run", "--force", *target)
    succeed("node", "replace", system[1], "--dry-run", *target)
    for action in ("restart", "reimage", "redeploy", "deallocate"):  # --force: the node still runs pods
        succeed("node", action, node, "--force", "--timeout", "900", *target)
    succeed("node", "start", node, "--timeout", "900", *target)
    succeed("node", "replace", system[1], "--timeout", "900", *target)
    # `node drain` evicts, or with --force deletes, then waits for the pods in real time: the same calls on the
    # twin's clock. Then the command itself, on the node that drain emptied (its mark, Events and checks).
    kube = connect(twin=twin.state_dir).kube
    assert kube is not None
    recorder = EventRecorder(kube)
    for name, force in ((blocked, False), (emptied, True)):
        kube_actions.drain(kube, name, timeout=60, force=force, grace_period=0 if force else None, recorder=recorder,
                           wait=twin.advance, monotonic=twin.clock.elapsed)  # fmt: skip
    succeed("node", "drain", emptied, "--timeout", "60", *target)
    succeed("node", "delete", node, "--force", *target)


# -- the recording ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    tmp = tmp_path_factory.mktemp("least-privilege")
    # SDK pollers wait in real time; each poll of an unfinished operation moves twin time 30 s.
    with Twin(with_managed_os_disks("small", "apps"), advance_on_poll=30) as twin:  # `node deallocate`
        connection: Connection = connect(twin=twin.state_dir)
        assert connection.kube is not None
        install_crds(connection.kube)  # as `kubectl apply -k deploy/crds` by an admin, before nodewarden runs
        nodes = sorted(n["metadata"]["name"] for n in twin.world.store.items("nodes"))
        apps, system = [n for n in nodes if "-apps-" in n], [n for n in nodes if "-system-" in n]
        recording = Recording(twin)
        # Readers first; then the controller, then the operator (who deletes a node and replaces a machine).
        with recording.phase("audit"):
            _audit(twin, tmp / "export")
        with recording.phase("look"):
            _look(twin)
        with recording.phase("run"):
            _run(twin, tmp / "run")
        with recording.phase("controller"):
            _control(twin, tmp / "controller")
        with recording.phase("incidents"):
            _incidents(twin)
        with recording.phase("node"):
            _operate(twin, apps, system)
        yield recording


def _used_by(job: Job, recording: Recording) -> Used:
    used = recording.of(*PHASES[job.name])
    assert sorted(used.unknown) == [], "requests this test cannot map to a permission"
    return used


# -- the tests ----------------------------------------------------------------------------------------------------


def test_the_controller_files_grant_exactly_what_run_watch_and_plan_use(recording: Recording) -> None:
    used = _used_by(CONTROLLER, recording)
    assert "/version" in used.public, "run, watch and plan read the API server's clock"
    for must in (
        KubeUse(leader.DEFAULT_NAMESPACE, "coordination.k8s.io", "leases", "create"),
        KubeUse(leader.DEFAULT_NAMESPACE, "coordination.k8s.io", "leases", "update", leader.DEFAULT_NAME),
        KubeUse(NODE_LEASE_NAMESPACE, "coordination.k8s.io", "leases", "watch"),
        KubeUse("", "", "pods", "watch"),
    ):
        assert must in used.kube, f"the exercise did not reach {must}"
    reached = {(u.group, u.resource, u.verb) for u in used.kube}
    for needed in (("apps", "replicasets", "get"), ("", "pods", "delete")):  # a blocked drain; a forced one
        assert needed in reached, f"the exercise did not reach {needed}"
    assert mismatches(CONTROLLER, used) == EXACT, "deploy/base/rbac/controller.yaml or deploy/azure/controller.json"


def test_the_controller_holds_nothing_only_the_runbook_or_the_audit_uses() -> None:
    granted = {(g.group, g.resource, g.verb) for g in CONTROLLER.kube_grants()}
    assert ("", "nodes", "delete") not in granted, "only `node delete` deletes a Node"
    assert ("", "services", "list") not in granted, "only the audit reads Services"
    actions = CONTROLLER.arm_actions()
    for action in ("deallocate", "start"):
        assert f"microsoft.compute/virtualmachinescalesets/virtualmachines/{action}/action" not in actions


def test_the_operator_files_grant_exactly_what_the_runbook_commands_use(recording: Recording) -> None:
    used = _used_by(OPERATOR, recording)
    reached = {(u.group, u.resource, u.verb) for u in used.kube}
    for must in (
        ("", "nodes", "delete"),  # node delete
        ("", "pods/eviction", "create"),  # node drain
        ("", "pods", "delete"),  # node drain --force
        ("apps", "replicasets", "get"),  # a drain a budget blocks names the workload
        ("nodewarden.io", "incidents", "get"),  # incidents show --kubeconfig
    ):
        assert must in reached, f"the exercise did not reach {must}"
    assert {"deallocate", "start", "restart"} <= {a.split("/")[-2] for a in used.arm if a.endswith("/action")}
    assert mismatches(OPERATOR, used) == EXACT, "deploy/base/rbac/operator.yaml or deploy/azure/operator.json"


def test_the_auditor_files_grant_exactly_what_collect_and_audit_live_read(recording: Recording) -> None:
    used = _used_by(AUDITOR, recording)
    assert {u.verb for u in used.kube} == {"list"}, "the audit reads, and reads everything by listing"
    assert all(action.endswith("/read") for action in used.arm), "the audit changes nothing in Azure"
    assert mismatches(AUDITOR, used) == EXACT, "deploy/base/rbac/auditor.yaml or deploy/azure/auditor.json"


def test_each_jobs_files_name_each_other_and_the_jobs_commands() -> None:
    for job in JOBS:
        kube_text = (DEPLOY / job.kube_file).read_text(encoding="utf-8")
        description = job.azure_role()["Description"]
        assert f"deploy/{job.azure_file}" in kube_text, f"{job.kube_file} does not name its Azure role"
        assert f"deploy/{job.kube_file}" in description, f"{job.azure_file} does not name its Kubernetes roles"
        assert job.name in description.lower()
        assert job.azure_role()["IsCustom"] is True


def test_no_two_role_files_define_the_same_object() -> None:
    """kustomize refuses two objects with one id; `kubectl apply -f` would let the later file win in silence."""
    seen: dict[tuple[str, str, str], str] = {}
    for job in JOBS:
        for document in job.documents():
            meta = document["metadata"]
            key = (document["kind"], meta.get("namespace", ""), meta["name"])
            assert key not in seen, f"{job.kube_file} and {seen[key]} both define {key}"
            seen[key] = job.kube_file
    names = [job.azure_role()["Name"] for job in JOBS]
    assert len(set(names)) == len(names), "custom role names are unique in a tenant"


def test_a_missing_right_names_every_jobs_role_file() -> None:
    for hint, files in ((live_kube.ROLE_FILES, [j.kube_file for j in JOBS]),
                        (live_azure.ROLE_FILES, [j.azure_file for j in JOBS])):  # fmt: skip
        for path in files:
            assert Path(path).name in hint
        for named in (word.strip("(),;") for word in hint.split() if word.startswith("deploy/")):
            assert (DEPLOY.parent / named).exists(), named


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


def test_a_role_that_misses_or_adds_a_right_fails_the_comparison(recording: Recording) -> None:
    used = _used_by(AUDITOR, recording)
    missing = Used(used.kube | {KubeUse("", "", "nodes", "delete")}, used.arm | {"microsoft.compute/x/action"})
    problems = mismatches(AUDITOR, missing)
    assert problems["missing"] == [str(KubeUse("", "", "nodes", "delete"))]
    assert problems["azure missing"] == ["microsoft.compute/x/action"]
    less = Used({u for u in used.kube if u.resource != "services"}, used.arm - {next(iter(sorted(used.arm)))})
    problems = mismatches(AUDITOR, less)
    assert [p for p in problems["unused"] if "'services'" in p], "a grant nothing used is reported"
    assert problems["azure unused"] == [sorted(used.arm)[0]]


def test_a_binding_to_anyone_else_is_refused() -> None:
    stranger = {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "someone"}
    widened = [d | {"subjects": [*d["subjects"], stranger]} if "subjects" in d else d for d in OPERATOR.documents()]
    with pytest.raises(AssertionError, match="binds"):
        granted_kube(widened, OPERATOR.subjects)


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


def test_the_service_accounts_live_in_the_deployments_namespace() -> None:
    for job in JOBS:
        for document in job.documents():
            if document["kind"] == "ServiceAccount":
                assert document["metadata"]["namespace"] == NAMESPACE


def test_the_deployment_runs_two_locked_down_replicas_as_the_rbac_service_account() -> None:
    documents = [d for d in yaml.safe_load_all((DEPLOY / "base" / "controller.yaml").read_text(encoding="utf-8")) if d]
    kinds = {(d["apiVersion"], d["kind"]): d for d in documents}
    assert set(kinds) == {("apps/v1", "Deployment"), ("policy/v1", "PodDisruptionBudget")}
    deployment = kinds[("apps/v1", "Deployment")]
    namespace = yaml.safe_load((DEPLOY / "base" / "namespace.yaml").read_text(encoding="utf-8"))
    assert deployment["metadata"]["namespace"] == namespace["metadata"]["name"] == NAMESPACE
    spec, pod = deployment["spec"], deployment["spec"]["template"]["spec"]
    assert spec["replicas"] == 2
    assert pod["serviceAccountName"] == CONTROLLER.subjects[0]["name"]
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

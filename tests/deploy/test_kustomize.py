"""The install trees (deploy/): every kustomization renders with Debian's kubectl 1.20 (kustomize v2.0.3, the
oldest a user may hold), the rendered objects fit together (every ServiceAccount, ConfigMap and Secret a pod
names is there or optional, every container runs the one image, locked down, with flags its command takes), the
policy and the drill file they carry pass nodewarden's own checks, and each overlay installs on the twin with
kubectl, as a user would apply it."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.core
import typer.main
import yaml
from typer._click import core, exceptions  # typer 0.29 vendors click (src/nodewarden/cli/main.py)

import nodewarden
from nodewarden.cli.main import app
from nodewarden.drill import faults
from nodewarden.drill.spec import load_drill
from nodewarden.heal.policy import Mode, load_policy
from nodewarden.twin.service import Twin
from tests.conftest import Invoke
from tests.tools import kubectl_120

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TREES = ("crds", "base", "overlays/dry-run", "overlays/enforce", "overlays/drill", "monitoring")
INSTALLS = ("overlays/dry-run", "overlays/enforce", "overlays/drill")  # what a user applies; each holds the base
# Every container names this release's image; a user points it at their registry with an `images:` entry.
IMAGE = f"ghcr.io/<owner>/nodewarden:{nodewarden.__version__}"
# Faults a scheduled drill may inject on a real cluster, unattended. node-drain is what every upgrade does: it evicts
# through the Eviction API (no budget is broken), stops no VM, deletes nothing, and its undo is an uncordon. Not
# here: instance-stop and spot-eviction kill pods without their grace period, instance-deallocate hands the VM back
# to Azure, and the twin faults need a twin.
SAFE_FAULTS = frozenset({"node-drain"})
VARIABLE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")

Document = dict[str, Any]
Kubectl = Callable[..., str]


def _kubectl(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    done = subprocess.run([str(kubectl_120()), *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, f"kubectl {shlex.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    """Each tree, rendered once by `kubectl kustomize`."""
    return {tree: _kubectl("kustomize", str(DEPLOY / tree)) for tree in TREES}


def objects(text: str) -> list[Document]:
    return [document for document in yaml.safe_load_all(text) if document]


def by_kind(documents: list[Document], kind: str) -> list[Document]:
    return [document for document in documents if document["kind"] == kind]


def named(documents: list[Document], kind: str, name: str) -> Document:
    [found] = [d for d in by_kind(documents, kind) if d["metadata"]["name"] == name]
    return found


def pod_specs(documents: list[Document]) -> dict[str, Document]:
    """Each workload's pod spec, by kind/name."""
    specs: dict[str, Document] = {}
    for document in documents:
        spec = document.get("spec", {})
        if document["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if "template" in spec and document["kind"] in ("Deployment", "CronJob"):
            specs[f"{document['kind']}/{document['metadata']['name']}"] = spec["template"]["spec"]
    return specs


def test_every_tree_renders_with_kubectl_120_into_the_kinds_it_is_for(rendered: dict[str, str]) -> None:
    kinds = {tree: {d["kind"] for d in objects(text)} for tree, text in rendered.items()}
    assert kinds["crds"] == {"CustomResourceDefinition"}
    base = {"CustomResourceDefinition", "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
            "RoleBinding", "ConfigMap", "PriorityClass", "Deployment", "PodDisruptionBudget", "Service",
            "CronJob"}  # fmt: skip
    assert base <= kinds["base"], sorted(base - kinds["base"])
    assert kinds["overlays/dry-run"] == kinds["overlays/enforce"] == kinds["base"]
    controller = named(objects(rendered["base"]), "Deployment", "nodewarden")
    assert controller["spec"]["replicas"] == 2
    assert controller["spec"]["template"]["spec"]["priorityClassName"] == "nodewarden-critical"
    assert kinds["monitoring"] == {"ServiceMonitor", "PrometheusRule", "ConfigMap"}
    for tree in INSTALLS:
        assert [d["metadata"]["name"] for d in by_kind(objects(rendered[tree]), "Namespace")] == ["nodewarden"]
    assert {d["metadata"]["name"] for d in by_kind(objects(rendered["overlays/drill"]), "CronJob")} == {
        "nodewarden-audit",
        "nodewarden-drill",
    }


def controller_args(text: str) -> list[str]:
    [container] = named(objects(text), "Deployment", "nodewarden")["spec"]["template"]["spec"]["containers"]
    return list(container["args"])


def test_only_the_enforce_overlay_adds_apply_and_the_policy_stays_dry_run(rendered: dict[str, str]) -> None:
    assert controller_args(rendered["overlays/enforce"]) == [*controller_args(rendered["base"]), "--apply"]
    for tree in ("base", "overlays/dry-run", "overlays/drill"):
        assert "--apply" not in controller_args(rendered[tree])
        assert not any(arg.startswith("--policy") and "enforce" in arg for arg in controller_args(rendered[tree]))


def test_the_policy_in_the_config_map_passes_policy_check(
    rendered: dict[str, str], tmp_path: Path, invoke: Invoke
) -> None:
    policy = named(objects(rendered["overlays/dry-run"]), "ConfigMap", "nodewarden-policy")
    path = tmp_path / "policy.yaml"
    path.write_text(policy["data"]["policy.yaml"], encoding="utf-8")
    checked = invoke("policy", "check", str(path))
    assert checked.code == 0, checked.err
    assert load_policy(path).spec.mode is Mode.DRY_RUN, "a policy in enforce would make the dry-run overlay act"
    mounted = {
        m["mountPath"]
        for m in named(objects(rendered["overlays/dry-run"]), "Deployment", "nodewarden")["spec"]["template"]["spec"][
            "containers"
        ][0]["volumeMounts"]
    }
    [flag] = [arg for arg in controller_args(rendered["overlays/dry-run"]) if arg.startswith("--policy=")]
    assert str(Path(flag.removeprefix("--policy=")).parent) in mounted


def test_the_scheduled_drill_passes_the_drill_loader_and_injects_only_safe_faults(
    rendered: dict[str, str], tmp_path: Path
) -> None:
    documents = objects(rendered["overlays/drill"])
    [config] = [d for d in by_kind(documents, "ConfigMap") if d["metadata"]["name"].startswith("nodewarden-drill")]
    [(name, text)] = config["data"].items()
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    drill = load_drill(path)
    kind = faults.checked(drill, source=str(path))
    assert kind.where is faults.Where.API
    assert kind.name in SAFE_FAULTS
    assert drill.spec.rollback.value == "auto", "a scheduled drill undoes its fault"
    [spec] = [s for key, s in pod_specs(documents).items() if key == "CronJob/nodewarden-drill"]
    [volume] = [v for v in spec["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == config["metadata"]["name"], "the CronJob follows the generated name"
    assert f"/etc/nodewarden/drill/{name}" in spec["containers"][0]["args"]


def test_what_each_pod_names_is_in_the_tree_or_optional(rendered: dict[str, str]) -> None:
    for tree in INSTALLS:
        documents = objects(rendered[tree])
        present = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in documents}
        config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in by_kind(documents, "ConfigMap")}
        for where, spec in pod_specs(documents).items():
            assert ("ServiceAccount", "nodewarden", spec["serviceAccountName"]) in present, f"{tree} {where}"
            if "priorityClassName" in spec:
                assert ("PriorityClass", None, spec["priorityClassName"]) in present, f"{tree} {where}"
            for (kind, name), optional in _references(spec):
                assert optional or (kind, "nodewarden", name) in present, f"{tree} {where}: {kind} {name}"
            for container in spec["containers"]:
                defined = {e["name"] for e in container.get("env", [])} | {
                    key
                    for source in container.get("envFrom", [])
                    for key in config_maps[source["configMapRef"]["name"]]
                }
                used = {v for arg in container["args"] for v in VARIABLE.findall(arg)}
                assert used <= defined, f"{tree} {where}: {sorted(used - defined)} not set"


def _references(spec: Document) -> Iterator[tuple[tuple[str, str], bool]]:
    """Each ConfigMap and Secret a pod spec names, and whether it may be missing."""
    for volume in spec.get("volumes", []):
        if "configMap" in volume:
            yield ("ConfigMap", volume["configMap"]["name"]), bool(volume["configMap"].get("optional"))
        if "secret" in volume:
            yield ("Secret", volume["secret"]["secretName"]), bool(volume["secret"].get("optional"))
    for container in spec["containers"]:
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                yield ("ConfigMap", source["configMapRef"]["name"]), bool(source["configMapRef"].get("optional"))
        for variable in container.get("env", []):
            for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                ref = variable.get("valueFrom", {}).get(key)
                if ref:
                    yield (kind, ref["name"]), bool(ref.get("optional"))


def test_every_container_runs_the_one_image_locked_down_with_flags_its_command_takes(
    rendered: dict[str, str],
) -> None:
    cli = typer.main.get_command(app)
    specs = pod_specs(objects(rendered["overlays/drill"]))
    assert set(specs) == {"Deployment/nodewarden", "CronJob/nodewarden-audit", "CronJob/nodewarden-drill"}
    for where, spec in specs.items():
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        [container] = spec["containers"]
        assert container["image"] == IMAGE, f"{where}: a new release names its own image"
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }, where
        _parse(cli, container["args"], where)


def _parse(group: core.Command, args: list[str], where: str) -> None:
    """Parse the container's arguments as nodewarden would, without running it: an unknown flag fails here."""
    words = list(args)
    command = group
    while isinstance(command, typer.core.TyperGroup):
        command = command.commands[words.pop(0)]
    try:
        command.make_context(command.name or "", words)
    except exceptions.ClickException as exc:
        pytest.fail(f"{where}: nodewarden {shlex.join(args)}: {exc.format_message()}")


def test_a_users_overlay_sets_every_image_and_turns_notifications_on(tmp_path: Path) -> None:
    """What deploy/base/kustomization.yaml and controller.yaml tell a user to write in an overlay of their own: one
    `images:` entry reaches every container, and the --notify-config patch names the file the Secret mounts."""
    mine = tmp_path / "mine"
    mine.mkdir()
    images = [{"name": IMAGE.rsplit(":", 1)[0], "newName": "registry.example/nodewarden", "newTag": "9.9.9"}]
    notify = "--notify-config=/etc/nodewarden/notify/notify.yaml"
    patch = [{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": notify}]
    (mine / "notify.yaml").write_text(yaml.safe_dump(patch), encoding="utf-8")
    target = {"group": "apps", "version": "v1", "kind": "Deployment", "name": "nodewarden", "namespace": "nodewarden"}
    kustomization = {
        "bases": [os.path.relpath(DEPLOY / "overlays" / "drill", mine)],  # kustomize v2.0.3 takes no absolute path
        "images": images,
        "patchesJson6902": [{"target": target, "path": "notify.yaml"}],
    }
    (mine / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    specs = pod_specs(objects(_kubectl("kustomize", str(mine))))
    assert len(specs) == 3
    assert {c["image"] for spec in specs.values() for c in spec["containers"]} == {"registry.example/nodewarden:9.9.9"}
    controller = specs["Deployment/nodewarden"]
    [container] = controller["containers"]
    assert container["args"][-1] == notify
    _parse(typer.main.get_command(app), container["args"], "with notifications")
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == "/etc/nodewarden/notify"]
    [volume] = [v for v in controller["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == "nodewarden-notify"


def test_the_nightly_audit_keeps_its_exit_status_and_never_overlaps(rendered: dict[str, str]) -> None:
    cron = named(objects(rendered["base"]), "CronJob", "nodewarden-audit")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["successfulJobsHistoryLimit"] >= 1
    assert cron["spec"]["failedJobsHistoryLimit"] >= 1
    spec = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert container["args"][:2] == ["audit", "--live"]
    assert "--format=json" in container["args"]
    assert "command" not in container, "no shell around nodewarden: its exit status is the Job's"
    assert spec["serviceAccountName"] == "nodewarden-auditor"


# -- installed on the twin ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twin_kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    """kubectl 1.20 on one twin for the module."""
    home = tmp_path_factory.mktemp("kubectl")
    with Twin("small", state_dir=home / "twin") as twin:
        env = {**os.environ, "KUBECONFIG": str(twin.state_dir / "kubeconfig"), "HOME": str(home)}
        yield lambda *args, stdin=None: _kubectl(*args, env=env, stdin=stdin)


@pytest.fixture(scope="module")
def installed(twin_kubectl: Kubectl) -> str:
    """The default install, as the README has it: kubectl apply -k deploy/overlays/dry-run."""
    return twin_kubectl("apply", "-k", str(DEPLOY / "overlays" / "dry-run"))


def test_each_overlay_installs_on_the_twin_with_kubectl_120(
    rendered: dict[str, str], twin_kubectl: Kubectl, installed: str
) -> None:
    assert "deployment.apps/nodewarden created" in installed
    assert "priorityclass.scheduling.k8s.io/nodewarden-critical created" in installed
    assert "cronjob.batch/nodewarden-audit created" in installed
    enforce = twin_kubectl("apply", "-f", "-", stdin=rendered["overlays/enforce"])
    assert "deployment.apps/nodewarden configured" in enforce
    assert "clusterrole.rbac.authorization.k8s.io/nodewarden unchanged" in enforce
    drill = twin_kubectl("apply", "-f", "-", stdin=rendered["overlays/drill"])
    assert "cronjob.batch/nodewarden-drill created" in drill

    wanted = objects(rendered["overlays/drill"])
    stored = json.loads(twin_kubectl("get", "-f", "-", "-o", "json", stdin=rendered["overlays/drill"]))["items"]
    assert [(d["kind"], d["metadata"]["name"]) for d in stored] == [(d["kind"], d["metadata"]["name"]) for d in wanted]
    deployment = named(stored, "Deployment", "nodewarden")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"][-1] != "--apply", "the drill tree: dry-run"
    assert twin_kubectl("get", "noderemediations").strip() in ("", "No resources found")


def test_the_monitoring_pack_installs_where_its_kinds_are_served(
    rendered: dict[str, str], twin_kubectl: Kubectl, installed: str
) -> None:
    """Beside the base (its namespace and metrics Service), once the Prometheus Operator's kinds are served."""
    twin_kubectl("apply", "-f", str(Path(__file__).with_name("prometheus-operator-crds.yaml")))
    applied = twin_kubectl("apply", "-k", str(DEPLOY / "monitoring"))
    assert "servicemonitor.monitoring.coreos.com/nodewarden created" in applied
    assert "prometheusrule.monitoring.coreos.com/nodewarden created" in applied
    dashboard = json.loads(twin_kubectl("get", "configmap", "nodewarden-dashboard", "-n", "nodewarden", "-o", "json"))
    assert dashboard["metadata"]["labels"] == {"grafana_dashboard": "1"}
    monitor = named(objects(rendered["monitoring"]), "ServiceMonitor", "nodewarden")
    wanted = monitor["spec"]["selector"]["matchLabels"].items()
    scraped = [s["metadata"]["name"] for s in objects(rendered["overlays/dry-run"])
               if s["kind"] == "Service" and wanted <= s["metadata"].get("labels", {}).items()]  # fmt: skip
    assert scraped == ["nodewarden-metrics"], "each replica is scraped once, through the headless Service"


def test_alerts_reach_the_replicas_through_a_service_that_balances_connections(rendered: dict[str, str]) -> None:
    """ClusterIP, not headless: a sender's retry after a follower's 503 is a new connection, to either replica."""
    service = named(objects(rendered["overlays/dry-run"]), "Service", "nodewarden-alerts")
    assert service["spec"].get("clusterIP") != "None"
    deployment = named(objects(rendered["overlays/dry-run"]), "Deployment", "nodewarden")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    [port] = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}

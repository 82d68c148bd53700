"""The monitoring pack (deploy/monitoring/): its alert rules pass promtool's checks and unit tests, and every
metric they query is one nodewarden exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from nodewarden.runtime.metrics import ControllerMetrics
from tests.tools import promtool

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
METRIC = re.compile(r"\bnodewarden_[a-z_]+\b")


def rules_file(into: Path) -> Path:
    """The PrometheusRule's groups as a plain rules file, as the Prometheus Operator hands them to Prometheus."""
    rule: dict[str, Any] = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text(encoding="utf-8"))
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    path = into / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}), encoding="utf-8")
    return path


def promtool_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(promtool()), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_the_rules_pass_promtools_check(tmp_path: Path) -> None:
    checked = promtool_run("check", "rules", str(rules_file(tmp_path)), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 8 rules found" in checked.stdout


def test_the_rules_unit_tests_pass(tmp_path: Path) -> None:
    rules_file(tmp_path)
    shutil.copy(MONITORING / "rules-test.yaml", tmp_path / "rules-test.yaml")
    tested = promtool_run("test", "rules", "rules-test.yaml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_a_broken_rule_fails_the_unit_tests(tmp_path: Path) -> None:
    """The unit tests can fail: a leader alert that never fires is caught."""
    path = rules_file(tmp_path)
    broken = path.read_text(encoding="utf-8").replace("max(nodewarden_leader) < 1", "max(nodewarden_leader) < 0")
    path.write_text(broken)
    shutil.copy(MONITORING / "rules-test.yaml", tmp_path / "rules-test.yaml")
    tested = promtool_run("test", "rules", "rules-test.yaml", cwd=tmp_path)
    assert tested.returncode != 0
    assert "NodewardenNoLeader" in tested.stdout + tested.stderr


def test_every_metric_the_rules_query_is_one_nodewarden_exports() -> None:
    text = (MONITORING / "prometheusrule.yaml").read_text(encoding="utf-8")
    queried = set(METRIC.findall(text))
    assert queried
    assert queried <= exported_metrics().keys(), sorted(queried - exported_metrics().keys())


SCRAPE_LABELS = {"pod", "instance", "job", "namespace", "le"}  # added by Prometheus, or a histogram's buckets
GROUPED = re.compile(r"by \(([^)]*)\) \(([^()]*\(\s*)?(nodewarden_[a-z_]+)")


def exported_metrics() -> dict[str, set[str]]:
    """Each series name nodewarden exports, with its labels."""
    registry = CollectorRegistry()
    ControllerMetrics(registry=registry)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    found: dict[str, set[str]] = {}
    for family in registry.collect():
        labels = _labels_of(registry, family.name)
        for suffix in suffixes.get(family.type, ("",)):
            found[family.name + suffix] = labels
    return found


def _labels_of(registry: CollectorRegistry, name: str) -> set[str]:
    collector = registry._names_to_collectors[name]
    return set(getattr(collector, "_labelnames", ()))


def test_every_dashboard_query_names_only_what_nodewarden_exports() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exported = exported_metrics()
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert exprs
    for expr in exprs:
        unknown = set(METRIC.findall(expr)) - exported.keys()
        assert not unknown, f"{expr}: {sorted(unknown)}"
        for grouped, _, metric in GROUPED.findall(expr):
            labels = {label.strip() for label in grouped.split(",")}
            assert labels <= exported[metric] | SCRAPE_LABELS, f"{expr}: {sorted(labels - exported[metric])}"
    assert {panel["datasource"]["uid"] for panel in dashboard["panels"]} == {"${datasource}"}
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_the_service_monitor_scrapes_the_port_the_deployment_listens_on() -> None:
    service = next(
        d
        for d in yaml.safe_load_all((MONITORING.parent / "base" / "service.yaml").read_text())
        if d["metadata"]["name"] == "nodewarden-metrics"
    )
    monitor = yaml.safe_load((MONITORING / "servicemonitor.yaml").read_text())
    deployment = next(
        d
        for d in yaml.safe_load_all((MONITORING.parent / "base" / "controller.yaml").read_text())
        if d and d["kind"] == "Deployment"
    )
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    [port] = container["ports"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"] == monitor["spec"]["endpoints"][0]["port"]
    assert f"--listen=0.0.0.0:{port['containerPort']}" in container["args"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()

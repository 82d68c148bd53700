"""`nodewarden audit` as a user runs it: exit codes, formats, --output, config, waivers."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.conftest import Invoke

NOW = "2026-11-26T12:00:00Z"


def _cluster(tmp_path: Path, *zones_per_pool: list[str]) -> Path:
    pools = [{"name": f"pool{i}", "mode": "User", "availabilityZones": zones} for i, zones in enumerate(zones_per_pool)]
    doc = {"name": "aks1", "type": "Microsoft.ContainerService/ManagedClusters", "location": "eastus"}
    (tmp_path / "aks.json").write_text(json.dumps({**doc, "agentPoolProfiles": pools}))
    return tmp_path / "aks.json"


def _write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_high_finding_exits_one(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    result = invoke("audit", str(path), "-r", "HA001", "--now", NOW)
    assert result.code == 1
    assert "HA001" in result.out
    assert "pool0" in result.out


def test_fail_on_raises_the_bar(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    assert invoke("audit", str(path), "-r", "HA001", "--fail-on", "critical").code == 0


def test_a_clean_cluster_exits_zero(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1", "2", "3"])
    result = invoke("audit", str(path), "-r", "HA001")
    assert result.code == 0
    assert "Score 100/100, grade A" in result.out


def test_rule_globs_select_rules_and_unknown_ones_are_usage_errors(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1", "2", "3"])
    result = invoke("audit", str(path), "-r", "HA00*", "-o", "json")
    outcomes = {r["id"]: r["outcome"] for r in json.loads(result.out)["rules"]}
    assert outcomes["HA001"] == "pass"
    assert all(o == "disabled" for rule_id, o in outcomes.items() if not rule_id.startswith("HA00"))
    bad = invoke("audit", str(path), "-r", "XX*")
    assert bad.code == 2
    assert "--rule: 'XX*' matches no rule" in bad.err


def test_output_writes_the_report_to_a_file_and_nothing_to_stdout(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    result = invoke("audit", str(path), "-r", "HA001", "-o", "json", "--output", str(report))
    assert result.code == 1
    assert result.out == ""
    assert json.loads(report.read_text())["rules"][0]["outcome"] == "fail"
    assert [p.name for p in report.parent.iterdir()] == ["report.json"]


def test_output_to_an_unwritable_place_is_a_usage_error(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    result = invoke("audit", str(path), "--output", str(tmp_path / "missing-dir" / "r.txt"))
    assert result.code == 2
    assert "cannot write" in result.err


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "junit", "markdown", "html"])
def test_every_format_renders_the_same_finding(tmp_path: Path, invoke: Invoke, fmt: str) -> None:
    path = _cluster(tmp_path, ["1"])
    result = invoke("audit", str(path), "-r", "HA001", "-o", fmt, "--now", NOW)
    assert result.code == 1
    assert "pool0" in result.out
    if fmt in ("json", "sarif"):
        json.loads(result.out)
    if fmt == "junit":
        ET.fromstring(result.out)


def test_a_file_waiver_accepts_a_finding_and_the_exit_code_follows(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    waivers = _write(
        tmp_path, "waivers.yaml", {"waivers": [{"rule": "HA001", "target": "agentPool/pool0", "reason": "legacy pool"}]}
    )
    result = invoke("audit", str(path), "-r", "HA001", "--waivers", str(waivers), "-o", "json")
    assert result.code == 0
    finding = json.loads(result.out)["rules"][0]["findings"][0]
    assert finding["waived"] is True
    assert finding["waiver"]["reason"] == "legacy pool"


def test_an_expired_waiver_no_longer_applies_and_says_so(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    entry = {"rule": "HA*", "target": "pool0", "reason": "until the migration", "expires": "2026-06-30"}
    waivers = _write(tmp_path, "waivers.yaml", {"waivers": [entry]})
    result = invoke("audit", str(path), "-r", "HA001", "--waivers", str(waivers), "--now", NOW)
    assert result.code == 1
    assert "waiver expired on 2026-06-30 (until the migration)" in result.out


def test_a_waiver_without_a_reason_is_refused(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    waivers = _write(tmp_path, "waivers.yaml", {"waivers": [{"rule": "HA001", "target": "*"}]})
    result = invoke("audit", str(path), "--waivers", str(waivers))
    assert result.code == 2
    assert f"{waivers}: waivers[0].reason: required field is missing" in result.err


def test_a_waiver_with_a_bad_date_is_refused(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    entry = {"rule": "HA001", "reason": "r", "expires": "next week"}
    waivers = _write(tmp_path, "waivers.yaml", {"waivers": [entry]})
    result = invoke("audit", str(path), "--waivers", str(waivers))
    assert result.code == 2
    assert "waivers[0].expires" in result.err


def test_config_thresholds_change_what_fails(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1", "2"])
    assert invoke("audit", str(path), "-r", "HA001").code == 0
    config = _write(tmp_path, "config.yaml", {"audit": {"params": {"min_zones": 3}}})
    assert invoke("audit", str(path), "-r", "HA001", "--config", str(config)).code == 1


def test_a_typo_in_the_config_names_the_field_and_suggests_the_right_one(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    config = _write(tmp_path, "config.yaml", {"audit": {"params": {"min_zone": 3}}})
    result = invoke("audit", str(path), "--config", str(config))
    assert result.code == 2
    assert f"{config}: audit.params.min_zone: unknown field (did you mean min_zones?)" in result.err


def test_a_config_value_of_the_wrong_type_is_refused(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    config = _write(tmp_path, "config.yaml", {"audit": {"params": {"min_zones": "three"}}})
    result = invoke("audit", str(path), "--config", str(config))
    assert result.code == 2
    assert "audit.params.min_zones" in result.err


def test_disabling_a_rule_in_the_config_reports_it_disabled(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    config = _write(tmp_path, "config.yaml", {"audit": {"disable": ["HA001"]}})
    result = invoke("audit", str(path), "--config", str(config), "-o", "json")
    ha001 = next(r for r in json.loads(result.out)["rules"] if r["id"] == "HA001")
    assert ha001["outcome"] == "disabled"
    assert ha001["reason"] == "disabled in the config"


def test_disabling_an_unknown_rule_is_refused(tmp_path: Path, invoke: Invoke) -> None:
    path = _cluster(tmp_path, ["1"])
    config = _write(tmp_path, "config.yaml", {"audit": {"disable": ["HA999"]}})
    result = invoke("audit", str(path), "--config", str(config))
    assert result.code == 2
    assert "no such rule HA999" in result.err


def test_rules_missing_their_input_are_not_evaluated_and_say_which_export_is_missing(
    tmp_path: Path, invoke: Invoke
) -> None:
    path = _cluster(tmp_path, ["1", "2", "3"])
    result = invoke("audit", str(path), "-o", "json")
    rules = {r["id"]: r for r in json.loads(result.out)["rules"]}
    not_evaluated = [r for r in rules.values() if r["outcome"] == "not-evaluated"]
    assert not_evaluated
    assert all(r["reason"] for r in not_evaluated)
    assert all(r["findings"] == [] for r in not_evaluated)


def test_python_dash_m_runs_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nodewarden", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.startswith("nodewarden ")

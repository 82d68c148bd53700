"""`nodewarden drill run|check|faults` as a user runs them, on a twin hosted by the command itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nodewarden.twin.service import Twin
from tests.conftest import Invoke
from tests.state.conftest import CRD_FILES

EXAMPLES = Path(__file__).parents[2] / "examples" / "drills"


def variant(tmp_path: Path, example: str, **spec: object) -> Path:
    document = yaml.safe_load((EXAMPLES / f"{example}.yaml").read_text())
    document["spec"].update(spec)
    path = tmp_path / f"{example}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_missed_expectation_exits_1_and_its_report_shows_the_measured_value(invoke: Invoke, tmp_path: Path) -> None:
    drill = variant(tmp_path, "single-instance-crash", expect={"timeToDetect": "5s"})
    state = tmp_path / "state"
    ran = invoke("drill", "run", str(drill), "--on-twin", "prod-3az", "--state-dir", str(state), "-o", "json")
    assert ran.code == 1, ran.err
    verdict = json.loads(ran.out)
    assert verdict["passed"] is False
    detect = next(c for c in verdict["checks"] if c["name"] == "time to detect")
    assert detect["passed"] is False
    assert detect["target"] == "<= 5s"
    assert detect["measured"].endswith("s")
    assert detect["value"] > 5
    progress = ran.err.replace("\n", " ")  # one line per change of phase, on stderr when not on a terminal
    assert "single-instance-crash fault" in progress
    assert "single-instance-crash done: failed" in progress

    report = invoke("incidents", "report", verdict["incident"], "--state-dir", str(state), "-o", "markdown")
    assert report.code == 0, report.err
    assert "## Drill verdict: FAILED" in report.out
    assert detect["measured"] in report.out
    listed = invoke("incidents", "list", "--drills", "--state-dir", str(state))
    assert "single-instance-crash" in listed.out
    assert "FAIL" in listed.out


def test_a_dry_run_names_the_target_and_injects_nothing(invoke: Invoke, tmp_path: Path) -> None:
    ran = invoke("drill", "run", str(EXAMPLES / "zone-outage.yaml"), "--on-twin", "prod-3az", "--dry-run",
                 "--state-dir", str(tmp_path))  # fmt: skip
    assert ran.code == 0, ran.err
    assert "dry run: would inject zone-outage in zone 1 (7 nodes of apps, data, system)" in ran.out
    assert "expectation" not in ran.out  # nothing measured: only the steady state was checked
    assert "steady-state before" in ran.out


def test_a_fault_outside_the_scope_is_refused_with_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    drill = variant(tmp_path, "single-instance-crash", scope={"pools": ["data"]})
    ran = invoke("drill", "run", str(drill), "--on-twin", "prod-3az", "--state-dir", str(tmp_path / "s"))
    assert ran.code == 2
    assert "apps" in ran.err
    assert "scope" in ran.err
    assert "Traceback" not in ran.err


def test_a_typo_in_a_drill_names_the_field(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text((EXAMPLES / "kubelet-hang.yaml").read_text().replace("timeToDetect", "timeToDetcet"))
    checked = invoke("drill", "check", str(path))
    assert checked.code == 2
    assert checked.err.strip().endswith("spec.expect.timeToDetcet: unknown field (did you mean timeToDetect?)")


def test_an_unknown_fault_suggests_the_nearest(invoke: Invoke, tmp_path: Path) -> None:
    path = variant(tmp_path, "kubelet-hang", fault={"type": "kubelet-hnag", "target": {"pool": "apps"}})
    checked = invoke("drill", "check", str(path))
    assert checked.code == 2
    assert "kubelet-hang" in checked.err


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_checks(invoke: Invoke, example: str) -> None:
    checked = invoke("drill", "check", str(EXAMPLES / example))
    assert checked.code == 0, checked.err
    assert "is valid" in checked.out


def test_faults_lists_twin_and_api_faults(invoke: Invoke) -> None:
    listed = invoke("drill", "faults")
    assert listed.code == 0
    lines = {line.split()[0]: line.split()[1] for line in listed.out.splitlines()}
    assert lines["instance-crash"] == "twin"
    assert lines["zone-outage"] == "twin"
    for name in ("instance-stop", "instance-deallocate", "node-drain", "spot-eviction"):
        assert lines[name] == "api"


def test_beside_a_deployed_controller_the_drill_only_detects_then_aborts_and_rolls_back(
    invoke: Invoke, tmp_path: Path
) -> None:
    """Against a twin served at 60x real time (as `twin serve --speed 60` would): no controller acts here, so
    the crash is detected but never repaired; the drill aborts at its limit and restarts the instance itself."""
    drill = variant(tmp_path, "single-instance-crash", expect={"timeToDetect": "3m"}, abort={"after": "2m"})
    with Twin("prod-3az", speed=60, state_dir=tmp_path / "twin") as twin:
        ran = invoke("drill", "run", str(drill), "--twin", str(twin.state_dir), "--interval", "12",
                     "--state-dir", str(tmp_path / "state"), "-o", "json")  # fmt: skip
        verdict = json.loads(ran.out)
        node = verdict["targets"][0]
        back = twin.kube.kubelets.is_ready(node)
    assert ran.code == 1, ran.err
    assert verdict["aborted"] == "not back to steady state within 2m"
    detect = next(c for c in verdict["checks"] if c["name"] == "time to detect")
    assert detect["passed"] is True
    assert verdict["rollback"].startswith("restarted instance aks-apps-")
    assert back


def test_twin_drills_keep_their_own_state_dir_by_default(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ran = invoke("drill", "run", str(EXAMPLES / "kubelet-hang.yaml"), "--on-twin", "prod-3az", "--dry-run")
    assert ran.code == 0, ran.err
    assert (tmp_path / "nodewarden-drills" / "journal.sqlite3").is_file()
    assert not (tmp_path / "nodewarden-state").exists()  # where `nodewarden run` keeps a real cluster's journal


def test_beside_a_controller_keeping_its_record_in_the_cluster_the_verdict_goes_there(
    invoke: Invoke, tmp_path: Path
) -> None:
    """No controller acts here (as in the test above), so the drill aborts; its verdict is an Incident object."""
    drill = variant(tmp_path, "single-instance-crash", expect={"timeToDetect": "3m"}, abort={"after": "2m"})
    with Twin("prod-3az", speed=60, state_dir=tmp_path / "twin", manifests=CRD_FILES) as twin:
        target = ("--twin", str(twin.state_dir))
        ran = invoke("drill", "run", str(drill), *target, "--interval", "12", "--state", "cluster", "--state-dir",
                     str(tmp_path / "local"), "-o", "json")  # fmt: skip
        incident = json.loads(ran.out)["incident"]
        listed = invoke("incidents", "list", *target, "--drills", "-o", "json")
        assert listed.code == 0, listed.err
        assert [(i["id"], i["drill"]) for i in json.loads(listed.out)] == [(incident, "single-instance-crash")]
    assert incident
    refused = invoke("drill", "run", str(drill), "--on-twin", "small", "--state", "cluster")
    assert refused.code == 2
    assert "--state" in refused.err

"""The runner's abort, rollback, interruption and refusal paths, on a hosted twin with the controller acting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from nodewarden.demo.hosted import hosted
from nodewarden.drill.runner import DrillStoppedError, run_drill
from nodewarden.drill.spec import DrillError, parse_drill
from nodewarden.heal.policy import default_policy, parse_policy, render_policy
from nodewarden.model.drill import CheckPhase
from tests.conftest import Invoke

EXAMPLES = Path(__file__).parents[2] / "examples" / "drills"


def crash_drill(**spec: object) -> str:
    document = yaml.safe_load((EXAMPLES / "single-instance-crash.yaml").read_text())
    document["spec"].update(spec)
    return yaml.safe_dump(document)


def paused_policy() -> object:
    document = yaml.safe_load(render_policy(default_policy()))
    document["spec"]["paused"] = True
    return parse_policy(yaml.safe_dump(document), source="paused")


def test_an_abort_undoes_the_fault_and_fails_the_drill(tmp_path: Path) -> None:
    """nodewarden is paused, so nothing repairs the crash: the drill aborts at its limit and restarts the VM."""
    drill = parse_drill(crash_drill(abort={"after": "2m"}), source="crash.yaml")
    with hosted("prod-3az", tmp_path, paused_policy(), speed=None) as env:  # type: ignore[arg-type]
        run = run_drill(drill, probe=env.probe, ticker=env.ticker, injector=env.injector, store=env.store)
        node = run.verdict.targets[0]
        kubelet_up = env.twin.kube.kubelets.is_ready(node)
    verdict = run.verdict
    assert not verdict.passed
    assert verdict.aborted == "not back to steady state within 2m"
    assert verdict.rollback is not None
    assert verdict.rollback.startswith("restart")
    assert kubelet_up  # the rollback really brought the instance back
    after = {c.name: c.passed for c in verdict.checks if c.phase is CheckPhase.AFTER}
    assert after["all nodes Ready"]


def test_an_expectation_that_cannot_be_met_fails_with_the_measured_value(tmp_path: Path) -> None:
    drill = parse_drill(crash_drill(expect={"timeToDetect": "5s", "timeToRestore": "10s"}), source="crash.yaml")
    with hosted("prod-3az", tmp_path, default_policy(), speed=None) as env:
        run = run_drill(drill, probe=env.probe, ticker=env.ticker, injector=env.injector, store=env.store)
    missed = {c.name: c for c in run.verdict.failed_checks}
    assert set(missed) == {"time to detect", "time to restore"}
    assert missed["time to detect"].target == "<= 5s"
    assert missed["time to detect"].value is not None
    assert missed["time to detect"].value > 5
    assert missed["time to detect"].measured == f"{missed['time to detect'].value:.0f}s"
    assert run.verdict.aborted is None


class StopAfter:
    """A ticker that passes the operator's Ctrl-C after `ticks` waits."""

    def __init__(self, inner: object, ticks: int) -> None:
        self.inner = inner
        self.ticks = ticks

    def wait(self, seconds: float) -> None:
        self.ticks -= 1
        if self.ticks < 0:
            raise DrillStoppedError
        self.inner.wait(seconds)  # type: ignore[attr-defined]


def test_an_interrupted_drill_rolls_back_and_fails(tmp_path: Path) -> None:
    zone = yaml.safe_load((EXAMPLES / "zone-outage.yaml").read_text())
    drill = parse_drill(yaml.safe_dump(zone), source="zone-outage.yaml")
    with hosted("prod-3az", tmp_path, default_policy(), speed=None) as env:
        run = run_drill(drill, probe=env.probe, ticker=StopAfter(env.ticker, 6), injector=env.injector,
                        store=env.store)  # fmt: skip
        down = [i.computer_name for i in env.twin.azure.instances() if i.zone_down]
    assert run.verdict.aborted == "interrupted by the operator"
    assert run.verdict.rollback is not None
    assert "zone-restore" in run.verdict.rollback
    assert not run.verdict.passed
    assert down == []  # the zone is back


def test_a_fault_outside_the_drill_scope_is_refused_before_anything_happens(tmp_path: Path) -> None:
    drill = parse_drill(crash_drill(scope={"pools": ["data"]}), source="crash.yaml")
    with hosted("prod-3az", tmp_path, default_policy(), speed=None) as env:
        before = env.twin.now()
        with pytest.raises(DrillError, match="apps"):
            run_drill(drill, probe=env.probe, ticker=env.ticker, injector=env.injector, store=env.store)
        assert env.twin.now() == before
        assert all(env.twin.kube.kubelets.is_ready(n["metadata"]["name"]) for n in env.twin.world.store.items("nodes"))
        assert env.store.list() == []


def test_drills_on_hosted_twins_into_one_state_dir_keep_every_verdict(tmp_path: Path) -> None:
    drill = parse_drill((EXAMPLES / "kubelet-hang.yaml").read_text(), source="kubelet-hang.yaml")
    runs = []
    for _ in range(2):
        with hosted("prod-3az", tmp_path, default_policy(), speed=None) as env:
            runs.append(run_drill(drill, probe=env.probe, ticker=env.ticker, injector=env.injector, store=env.store))
            saved = {i.id: i for i in env.store.list()}
    first, second = runs
    assert first.incident_id != second.incident_id
    assert second.verdict.started_at - first.verdict.started_at >= timedelta(days=1)  # the second twin starts later
    assert {first.incident_id, second.incident_id} <= set(saved)
    assert all(saved[r.incident_id or ""].verdict == r.verdict for r in runs)
    assert second.verdict.passed  # the first drill's restart does not count against the second's rate budget


class FailingProbe:
    """A probe whose cycles start failing after `good` of them, as when the API server goes away mid-drill."""

    def __init__(self, inner: object, good: int) -> None:
        self.inner = inner
        self.good = good

    def cycle(self) -> object:
        self.good -= 1
        if self.good < 0:
            raise ConnectionError("the API server went away")
        return self.inner.cycle()  # type: ignore[attr-defined]

    def busy(self, now: object) -> bool:
        return False


def test_a_drill_that_fails_midway_still_undoes_its_fault(tmp_path: Path) -> None:
    drill = parse_drill((EXAMPLES / "zone-outage.yaml").read_text(), source="zone-outage.yaml")
    with hosted("prod-3az", tmp_path, default_policy(), speed=None) as env:
        probe = FailingProbe(env.probe, good=4)
        with pytest.raises(ConnectionError):
            run_drill(drill, probe=probe, ticker=env.ticker, injector=env.injector, store=env.store)  # type: ignore[arg-type]
        down = [i.computer_name for i in env.twin.azure.instances() if i.zone_down]
    assert down == []  # the zone outage was rolled back before the error went on


def test_a_crash_drill_then_a_zone_outage_in_its_zone_keep_two_incidents_and_both_verdicts(
    invoke: Invoke, tmp_path: Path
) -> None:
    """Issue 12: a zone outage minutes after a crash drill took the drill's incident (its id, its impact start)
    when the crashed node went down again in the outage, and `incidents list --drills` lost the verdict."""
    crash = parse_drill((EXAMPLES / "single-instance-crash.yaml").read_text(), source="crash.yaml")
    zone = yaml.safe_load((EXAMPLES / "zone-outage.yaml").read_text())
    zone["spec"]["scope"]["zones"], zone["spec"]["fault"]["target"] = ["2"], {"zone": "2"}  # the crashed node's
    outage = parse_drill(yaml.safe_dump(zone), source="zone-outage.yaml")
    with hosted("prod-3az", tmp_path, default_policy(), speed=None) as env:
        runs = [run_drill(d, probe=env.probe, ticker=env.ticker, injector=env.injector, store=env.store)
                for d in (crash, outage)]  # fmt: skip
        saved = {incident.id: incident for incident in env.store.list()}
    first, second = runs
    assert first.verdict.targets[0] in second.verdict.targets, "the outage hits the crashed node again"
    assert first.incident_id != second.incident_id
    crashed, lost = saved[first.incident_id or ""], saved[second.incident_id or ""]
    assert (crashed.verdict, lost.verdict) == (first.verdict, second.verdict)
    assert crashed.nodes == first.verdict.targets
    assert crashed.impact_start == first.verdict.fault_at
    assert lost.impact_start == second.verdict.fault_at, "the outage's impact starts at its own fault"
    assert lost.title.startswith("Zone westeurope-2 outage")
    for incident in (crashed, lost):  # what the verdict says was taken is what the incident holds
        assert incident.verdict is not None
        taken = {c.name.removeprefix("action ") for c in incident.verdict.checks if c.name.startswith("action ")}
        assert taken <= {a.step.value for a in incident.actions}
    assert {a.node for a in crashed.actions} == set(first.verdict.targets)
    assert all(a.intent_at <= first.verdict.ended_at for a in crashed.actions), "no step of the outage"
    listed = invoke("incidents", "list", "--drills", "--state-dir", str(tmp_path))
    assert all(run.incident_id and run.incident_id in listed.out for run in runs), listed.out

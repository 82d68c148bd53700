"""Every example drill under examples/drills/ passes on the twin, with the controller acting on the twin's clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodewarden.demo.hosted import hosted
from nodewarden.drill.runner import run_drill
from nodewarden.drill.spec import load_drill
from nodewarden.heal.policy import default_policy
from nodewarden.model.drill import CheckPhase

EXAMPLES = Path(__file__).parents[2] / "examples" / "drills"


def test_the_examples_are_the_ones_the_issue_names() -> None:
    names = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))
    assert names == ["kubelet-hang", "pdb-deadlock", "planned-maintenance", "single-instance-crash", "zone-outage"]


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_each_example_drill_passes_on_the_twin(name: str, tmp_path: Path) -> None:
    drill = load_drill(EXAMPLES / f"{name}.yaml")
    with hosted("prod-3az", tmp_path, default_policy(), speed=None) as env:
        run = run_drill(drill, probe=env.probe, ticker=env.ticker, injector=env.injector, store=env.store)
        saved = env.store.get(run.incident_id or "")
    verdict = run.verdict
    failed = [f"{c.phase}: {c.name}: wanted {c.target}, measured {c.measured}" for c in verdict.failed_checks]
    assert verdict.passed, f"{name}: {failed or verdict.aborted}"
    phases = {c.phase for c in verdict.checks}
    assert phases == {CheckPhase.BEFORE, CheckPhase.EXPECT, CheckPhase.AFTER}
    assert verdict.fault_at is not None
    assert verdict.detected_at is not None
    assert saved is not None
    assert saved.drill == name
    assert saved.verdict == verdict

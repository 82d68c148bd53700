"""The remediation and planning-cycle benchmarks still run and report what they promise.

Tiny settings only (no timing targets: those belong to the bench scripts themselves): scenario 1 on
the twin for both remediators, and a 40-node planning cycle.
"""

from __future__ import annotations

import math

from bench import plan_scale, remediation_scenarios


def test_the_remediation_bench_measures_both_remediators_on_scenario_1() -> None:
    results = remediation_scenarios.run(["1"], step=5.0, horizon=900.0, zone_restore=600.0)
    ours, aks = results
    assert (ours.scenario, ours.who, aks.who) == ("1", "nodewarden", "aks")
    assert ours.finished
    assert aks.finished
    assert ours.detect_s is not None
    assert aks.detect_s is not None
    assert ours.restore_s is not None
    assert ours.signal_s is not None
    assert ours.signal_s <= ours.detect_s
    assert ours.detect_s < aks.detect_s, "nodewarden acts before AKS's 5 minutes NotReady"
    assert ours.pdb_violations == aks.pdb_violations == 0
    assert ours.arm_ops == 1, "one restart"
    assert ours.arm_writes == 1
    assert ours.arm_http is not None
    assert ours.arm_http >= ours.arm_writes
    assert aks.arm_ops >= 1
    assert aks.arm_http is None
    assert ours.pods_disrupted > 0
    [ratio] = remediation_scenarios.judge(results)
    assert ratio.detect is not None
    assert ratio.restore is not None
    assert ratio.detect > 1
    table = remediation_scenarios.render_table(results)
    assert "instance crash" in table
    assert "nodewarden" in table
    assert "aks" in table
    assert "detect" in remediation_scenarios.render_ratios([ratio])


def test_a_ratio_misses_the_target_when_slow_or_when_a_budget_is_broken() -> None:
    def result(who: str, detect: float, restore: float | None, violations: int = 0) -> remediation_scenarios.Result:
        return remediation_scenarios.Result(
            "1", who, None, detect, restore, 0, violations, (), 0, None, None, 0.0, True
        )

    [ok] = remediation_scenarios.judge([result("nodewarden", 10, 100), result("aks", 30, 300)])
    assert ok.ok
    assert math.isclose(ok.detect or 0, 3.0)
    [slow] = remediation_scenarios.judge([result("nodewarden", 10, 101), result("aks", 30, 300)])
    assert not slow.ok
    [broken] = remediation_scenarios.judge([result("nodewarden", 1, 1, violations=1), result("aks", 30, 300)])
    assert not broken.ok
    [unrestored] = remediation_scenarios.judge([result("nodewarden", 1, None), result("aks", 30, 300)])
    assert not unrestored.ok


def test_the_planning_cycle_bench_detects_the_unhealthy_tenth() -> None:
    cluster = plan_scale.build(40)
    assert cluster.node_count == 40
    assert len(cluster.unhealthy) == 4
    assert cluster.pod_count >= 10 * 40 * 0.9
    assert cluster.pdb_count > 0
    timings, outcome = plan_scale.measure(cluster, repeat=1)
    assert outcome.unhealthy == len(cluster.unhealthy)
    assert outcome.actions + outcome.holds >= len(cluster.unhealthy), "every unhealthy node is acted on or held"
    assert min(timings.parse, timings.detect, timings.plan, timings.load) > 0
    assert math.isclose(timings.ratio, (timings.detect + timings.plan) / timings.parse)
    assert "cycle/parse ratio" in plan_scale.render(cluster, timings, outcome)

"""Scenario 4: a zone outage. The zone breaker holds every repair there; the pool is scaled out into
the healthy zones within its limits; when the zone returns its nodes are uncordoned and the pool is
scaled back to the count it had."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from nodewarden.model.health import SignalKind
from nodewarden.model.remediation import HoldReason, Step
from tests.scenarios.harness import Harness, harness, manual_count

ZONE = "westeurope-1"


def _zone_of(h: Harness, node: str) -> str:
    return str(h.node(node)["metadata"]["labels"]["topology.kubernetes.io/zone"])


def test_a_zone_outage_holds_repairs_there_and_scales_out_elsewhere(tmp_path: Path) -> None:
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=tmp_path, in_process=True)
        manual_count(h, "apps")
        h.step(0)
        in_zone = [n for n in h.nodes("apps") if _zone_of(h, n) == ZONE]
        assert len(in_zone) == 3
        h.twin.inject("zone-outage", target=ZONE)

        reports = [h.step(5) for _ in range(60)]  # five minutes into the outage
        assert any(s.kind is SignalKind.ZONE_FAILURE and s.zone == ZONE for r in reports for s in r.detection.signals)
        executed = [e for r in reports for e in r.executed]
        in_zone_steps = [e for e in executed if e.node in in_zone]
        assert not [e for e in in_zone_steps if e.step in (Step.RESTART, Step.REIMAGE, Step.REDEPLOY, Step.REPLACE)]
        assert {hold.node for r in reports for hold in r.holds if hold.reason is HoldReason.ZONE_BREAKER} >= set(
            in_zone
        )
        scaled = [e for e in executed if e.step is Step.SCALE and e.pool == "apps"]
        assert len(scaled) == 1, "one compensation for the pool"
        assert scaled[0].count == 12, "3 nodes lost, within maxExtraNodes 3"
        added = [n for n in h.nodes("apps") if n not in in_zone and _zone_of(h, n) != ZONE]
        assert len(added) >= 9, "the new nodes are in the healthy zones"
        assert sum(1 for n in h.nodes("apps") if h.ready(n)) >= 9, "capacity is back to the pool's count"

        h.twin.inject("zone-restore", target=ZONE)
        h.run_until(
            lambda r: any(e.step is Step.SCALE and e.pool == "apps" and e.count == 9 for e in r.executed),
            within=1800,
            step=10,
        )
        h.run_until(lambda r: all(h.ready(n) and not h.cordoned(n) for n in in_zone if n in h.nodes("apps")),
                    within=900, step=10)  # fmt: skip
        assert not [e for r in h.reports for e in r.executed if e.node in in_zone and e.step.is_rung]

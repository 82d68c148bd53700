"""Issue 12, "people are invisible": an operator's `nodewarden node restart` and `node reimage` beside the controller.

Before: the controller cordoned and drained the very nodes the operator was restarting and reimaging, and a
crash, the manual restart 19 minutes later and the manual reimage became one incident "Pool apps: 3 nodes
down" whose change hypothesis said "No change before impact" while its Activity Log table listed both.
Now the command marks the node, the controller holds it (OperatorAction), the node's downtime is the
operator's and not a failure, and the operator's ARM calls are theirs in the record, with their name.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from nodewarden.model import operator_mark
from nodewarden.model.incident import ChangeOrigin
from nodewarden.model.remediation import EpisodeState, HoldReason
from nodewarden.render import postmortem
from nodewarden.state import IncidentStore
from tests.conftest import Invoke
from tests.scenarios.harness import Harness, harness, iterate

RESTART = "microsoft.compute/virtualmachinescalesets/virtualmachines/restart/action"
REIMAGE = "microsoft.compute/virtualmachinescalesets/virtualmachines/reimage/action"


def _operator(invoke: Invoke, h: Harness, verb: str, node: str, *, actor: str, reason: str) -> None:
    # --force: the operator restarts and reimages nodes that still run pods (issue 25: refused without it)
    done = invoke("node", verb, node, "--force", "--twin", str(h.twin.state_dir), "--actor", actor, "--reason", reason)
    assert done.code == 0, done.err
    assert f"marked {node} for the controller" in done.out


def test_an_operators_restart_and_reimage_are_held_for_and_stay_out_of_a_crash_incident(
    invoke: Invoke, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=tmp_path, in_process=True)
        h.step(0)
        crashed, restarted, reimaged = h.nodes("apps")[:3]
        start = h.twin.clock.now()
        h.twin.inject("instance-crash", target=crashed)
        h.run_until(lambda r: h.closed(crashed, EpisodeState.RECOVERED), within=900)
        while h.twin.clock.now() < start + timedelta(minutes=19):
            h.step(30)

        _operator(invoke, h, "restart", restarted, actor="alice@example.com", reason="kernel patch")
        list(iterate(h, 120))
        _operator(invoke, h, "reimage", reimaged, actor="bob@example.com", reason="new image")
        reports = list(iterate(h, 900, step=10))

        for node in (restarted, reimaged):
            assert h.steps(node) == [], f"the controller acted on {node}, which an operator was working on"
            assert h.ready(node)
        held = {hold.node for _, hold in h.controller.journal.holds() if hold.reason is HoldReason.OPERATOR_ACTION}
        assert {restarted, reimaged} <= held, f"no OperatorAction hold on the operators' nodes: {held}"
        message = next(
            hold.message for _, hold in h.controller.journal.holds()
            if hold.reason is HoldReason.OPERATOR_ACTION and hold.node == restarted
        )  # fmt: skip
        assert "Restart by alice@example.com" in message
        assert "reason: kernel patch" in message
        assert reports[-1].detection.health[restarted].ready

        changes = h.controller.journal.changes()
        arm = {c.operation.lower(): c for c in changes if c.operation.lower() in (RESTART, REIMAGE)}
        assert arm[RESTART].origin is ChangeOrigin.OPERATOR
        assert arm[RESTART].actor == "alice@example.com"
        assert arm[REIMAGE].origin is ChangeOrigin.OPERATOR
        assert arm[REIMAGE].actor == "bob@example.com"
        ours = [c for c in changes if c.origin is ChangeOrigin.OURS]
        assert ours, "the controller's own restart of the crashed node is nodewarden's"
        assert not [c for c in changes if c.origin is ChangeOrigin.OTHERS and c.operation.lower() == RESTART]

        with IncidentStore.open(tmp_path) as store:
            incidents = store.list()
        [crash] = [incident for incident in incidents if crashed in incident.nodes]
        assert crash.nodes == (crashed,), "the crash stands alone"
        assert not [incident for incident in incidents if {restarted, reimaged} & set(incident.nodes)]
        report = postmortem.render_markdown(crash, ())
        others = report.split("### What others changed", 1)[1].split("\n## ", 1)[0]
        assert "alice@example.com" not in others
        assert "bob@example.com" not in others
        assert "restart/action" not in others, "nodewarden's own restart is not a change by others"
        operators = [c for c in crash.changes if c.origin is ChangeOrigin.OPERATOR]
        if operators:  # only when they fall within the crash's incident
            assert "### Operator actions" in report
            assert all(c.actor in report for c in operators)
        assert crash.hypotheses[0].cause.value != "change"


def test_a_node_an_operator_reimaged_that_does_not_come_back_is_a_failure_listing_the_operators_action(
    invoke: Invoke, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=tmp_path, in_process=True)
        h.step(0)
        node = h.nodes("apps")[0]
        h.twin.azure.bad_image("apps")  # reimaged instances of the pool never become Ready
        _operator(invoke, h, "reimage", node, actor="carol@example.com", reason="new image")
        mark = operator_mark.parse_mark(h.node(node)["metadata"]["annotations"][operator_mark.ANNOTATION])
        assert mark is not None
        assert mark.actor == "carol@example.com"
        assert mark.expires - mark.at < timedelta(minutes=20), "the expiry came forward once the reimage ended"
        held = h.step(10)
        assert [hold.reason for hold in held.plan.holds if hold.node == node] == [HoldReason.OPERATOR_ACTION]
        h.run_until(lambda r: r.now > mark.expires + timedelta(minutes=1), within=3600, step=30)

        assert not h.ready(node)
        with IncidentStore.open(tmp_path) as store:
            [incident] = [incident for incident in store.list() if node in incident.nodes]
        marked = [c for c in incident.changes if c.origin is ChangeOrigin.OPERATOR]
        assert {c.actor for c in marked} == {"carol@example.com"}, "the incident lists the operator's reimage"
        assert "### Operator actions" in postmortem.render_markdown(incident, ())

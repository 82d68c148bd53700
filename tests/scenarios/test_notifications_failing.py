"""A sink that keeps answering 500 is counted: the controller's /metrics shows the failed delivery per sink,
which the NodewardenNotificationsFailing alert (deploy/monitoring/prometheusrule.yaml) watches."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from nodewarden.notify.config import load_notify_config
from nodewarden.notify.notifier import Notifier
from nodewarden.state import IncidentStore
from nodewarden.twin.service import Twin
from tests.notify.receivers import T0, FakeClock, receiving
from tests.scenarios.harness import harness


def test_a_sink_answering_500_counts_one_failed_notification_per_event(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with receiving() as receiver, ExitStack() as stack:
        receiver.answer(500, 500)  # both tries of the first delivery
        config = tmp_path / "notify.yaml"
        config.write_text(
            "kind: NotificationConfig\nspec:\n  retry: {attempts: 2}\n  sinks:\n"
            f"    - {{name: ops, type: slack, url: '{receiver.url}/hook', events: [opened]}}\n",
            encoding="utf-8",
        )
        notifier = Notifier(load_notify_config(config), clock=FakeClock(T0))
        twin = stack.enter_context(Twin("small", advance_on_poll=30))
        h = harness(stack, "small", state_dir=state, twin=twin, notifier=notifier)
        h.step(0)
        assert h.metric("nodewarden_notifications_total", sink="ops", outcome="failed") == 0
        assert "nodewarden_notifications_total" in h.metrics.exposition().decode()  # 0 before the first failure
        h.twin.inject("instance-crash", target=h.nodes("apps")[0])
        h.run_until(lambda _: _incidents(state) > 0, within=900)
        stack.close()  # the keeper's outbox sends what is queued before it stops
        assert [r.path for r in receiver.requests] == ["/hook", "/hook"]  # tried twice, failed twice
        assert h.metric("nodewarden_notifications_total", sink="ops", outcome="failed") == 1
        assert h.metric("nodewarden_notifications_total", sink="ops", outcome="sent") == 0


def _incidents(state_dir: Path) -> int:
    with IncidentStore.open(state_dir) as store:
        return len(store.list())

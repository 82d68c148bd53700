"""The incident side of the controller: a crash opens one incident, people are told when it opens and
when it resolves (a signed webhook), and an alert that names a node joins the evidence."""

from __future__ import annotations

import hashlib
import hmac
import json
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

from nodewarden.model.health import SignalKind
from nodewarden.model.incident import IncidentState, SignalRecord
from nodewarden.model.remediation import EpisodeState
from nodewarden.notify.config import load_notify_config
from nodewarden.notify.notifier import Notifier
from nodewarden.notify.transport import Outbound, Reply
from nodewarden.runtime.alerts import AlertInbox
from nodewarden.runtime.clock import DrivenClock
from nodewarden.state import IncidentStore
from nodewarden.twin.service import Twin
from tests.scenarios.harness import harness

KEY = "hmac-key-for-the-test"


def test_a_crash_is_one_incident_announced_when_it_opens_and_resolves(tmp_path: Path) -> None:
    config = tmp_path / "notify.yaml"
    config.write_text(
        "kind: NotificationConfig\nspec:\n  sinks:\n"
        f"    - {{name: ops, type: webhook, url: 'https://hooks.example/nodewarden', hmacKey: {KEY}}}\n"
    )
    sent: list[Outbound] = []

    def send(outbound: Outbound) -> Reply:
        sent.append(outbound)
        return Reply(status=204)

    state = tmp_path / "state"
    with ExitStack() as stack:
        twin = stack.enter_context(Twin("small", advance_on_poll=30))
        inbox = AlertInbox()  # as `run` makes it, before there is a controller
        notifier = Notifier(load_notify_config(config), clock=DrivenClock(twin), send=send)
        h = harness(stack, "small", state_dir=state, twin=twin, inbox=inbox, notifier=notifier)
        h.step(0)
        assert inbox.now() == twin.now(), "alerts taken in are stamped on the controller's clock (twin time)"
        node = h.nodes("apps")[0]
        h.twin.inject("instance-crash", target=node)
        alert_at = h.twin.now()
        inbox.put((_alert(node, alert_at),))
        h.run_until(lambda r: h.closed(node, EpisodeState.RECOVERED), within=900)
        h.run_until(lambda r: _state(state) is IncidentState.RESOLVED, within=1800, step=30)

    with IncidentStore.open(state) as store:
        [incident] = store.list()
    assert any(s.source == "alertmanager" and s.node == node for s in incident.signals), "the alert is evidence"
    kinds = [json.loads(o.body)["event"] for o in sent]
    assert kinds == ["opened", "resolved"]
    for outbound in sent:
        signature = hmac.new(KEY.encode(), outbound.body, hashlib.sha256).hexdigest()
        assert outbound.headers["X-Nodewarden-Signature"] == f"sha256={signature}"


def _state(state_dir: Path) -> IncidentState | None:
    with IncidentStore.open(state_dir) as store:
        incidents = store.list()
    return incidents[0].state if incidents else None


def _alert(node: str, at: datetime) -> SignalRecord:
    return SignalRecord(
        kind=SignalKind.NODE_PROBLEM,
        subject=node,
        since=at,
        first_seen=at,
        last_seen=at,
        message="KubeNodeNotReady",
        evidence=("alertmanager: alertname=KubeNodeNotReady",),
        node=node,
        condition="KubeNodeNotReady",
        source="alertmanager",
    )

"""Each sink's request as a local receiver sees it: Slack blocks, a Teams Adaptive Card, PagerDuty events
with one dedup_key per incident, and a webhook body whose HMAC the receiver can verify."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodewarden.model.incident import IncidentState
from nodewarden.notify import EventKind, NotificationEvent, Notifier, Outcome, load_notify_config
from tests.notify.receivers import T0, FakeClock, Receiver, incident, receiving

KEY = "hmac-k3y-for-tests"
LINK = "https://nodewarden.example/incidents/inc-20261126-0800-zone1"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def notifier_for(tmp_path: Path, sink: str) -> Notifier:
    path = tmp_path / "notify.yaml"
    path.write_text(f"kind: NotificationConfig\nspec:\n  sinks:\n    - {sink}\n", encoding="utf-8")
    return Notifier(load_notify_config(path), clock=FakeClock(T0))


def opened() -> NotificationEvent:
    return NotificationEvent(EventKind.OPENED, incident(), "4 nodes NotReady in zone 1 <!channel>", LINK)


def test_slack_gets_a_block_kit_message_with_mrkdwn_escaped(tmp_path: Path, receiver: Receiver) -> None:
    notifier = notifier_for(tmp_path, f"{{name: ops, type: slack, url: '{receiver.url}/services/T1/B2/x'}}")
    [delivery] = notifier.notify(opened())
    assert (delivery.outcome, delivery.status, delivery.attempts) == (Outcome.SENT, 200, 1)
    [request] = receiver.requests
    assert request.path == "/services/T1/B2/x"
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["text"].startswith("Incident opened: Zone 1 outage")
    header, text, facts, context, actions = body["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": incident().title.join(["Incident opened: ", ""])},
    }
    assert text["text"] == {"type": "mrkdwn", "text": "4 nodes NotReady in zone 1 &lt;!channel&gt;"}
    assert {"type": "mrkdwn", "text": "*Pool*\nuser1"} in facts["fields"]
    assert {"type": "mrkdwn", "text": "*Nodes*\n4 (aks-user1-0, aks-user1-1, aks-user1-2, …)"} in facts["fields"]
    assert len(facts["fields"]) <= 10
    assert context["type"] == "context"
    assert actions["elements"][0]["url"] == LINK


def test_teams_gets_an_adaptive_card_in_the_workflows_envelope(tmp_path: Path, receiver: Receiver) -> None:
    notifier = notifier_for(tmp_path, f"{{name: chan, type: teams, url: '{receiver.url}/workflows/abc?sig=s1g'}}")
    [delivery] = notifier.notify(opened())
    assert delivery.outcome is Outcome.SENT
    body = receiver.requests[0].json()
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title, text, *facts = card["body"]
    assert {block["type"] for block in card["body"]} == {"RichTextBlock"}, "plain text: names never render as links"
    assert title["inlines"] == [
        {"type": "TextRun", "text": f"Incident opened: {incident().title}", "size": "Large", "weight": "Bolder"}
    ]
    assert text["inlines"] == [{"type": "TextRun", "text": opened().text}]
    shown = ["".join(run["text"] for run in fact["inlines"]) for fact in facts]
    assert "Likely cause: zone-outage" in shown
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open incident", "url": LINK}]


def test_pagerduty_triggers_escalates_and_resolves_one_alert_per_incident(tmp_path: Path, receiver: Receiver) -> None:
    notifier = notifier_for(
        tmp_path,
        f"{{name: pager, type: pagerduty, routingKey: R0UTING, url: '{receiver.url}/v2/enqueue', source: aks-prod}}",
    )
    resolved = incident(state=IncidentState.RESOLVED, resolved_at=T0)
    notifier.notify(opened())
    notifier.notify(NotificationEvent(EventKind.ESCALATED, incident(), "zone breaker held reimage", LINK))
    notifier.notify(NotificationEvent(EventKind.RESOLVED, resolved, "all nodes Ready", LINK))
    trigger, escalation, resolve = (r.json() for r in receiver.requests)
    assert {r.path for r in receiver.requests} == {"/v2/enqueue"}
    assert trigger["routing_key"] == "R0UTING"
    assert trigger["event_action"] == "trigger"
    assert (
        trigger["dedup_key"] == escalation["dedup_key"] == resolve["dedup_key"] == "nodewarden/inc-20261126-0800-zone1"
    )
    payload = trigger["payload"]
    assert payload["summary"].startswith("Incident opened: Zone 1 outage")
    assert (payload["source"], payload["severity"], payload["component"]) == ("aks-prod", "error", "user1")
    assert (payload["class"], payload["timestamp"]) == ("zone-outage", "2026-11-26T08:00:45+00:00")
    assert trigger["links"] == [{"href": LINK, "text": "Incident inc-20261126-0800-zone1"}]
    assert escalation["event_action"] == "trigger"
    assert escalation["payload"]["severity"] == "critical"
    assert resolve == {"routing_key": "R0UTING", "dedup_key": trigger["dedup_key"], "event_action": "resolve"}


def test_the_webhook_body_is_signed_with_the_key_and_carries_its_signed_time(
    tmp_path: Path, receiver: Receiver
) -> None:
    notifier = notifier_for(tmp_path, f"{{name: hook, type: webhook, url: '{receiver.url}/in', hmacKey: {KEY}}}")
    notifier.notify(opened())
    [request] = receiver.requests
    expected = "sha256=" + hmac.new(KEY.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-nodewarden-signature"], expected)
    body = json.loads(request.body)
    assert request.headers["x-nodewarden-timestamp"] == str(int(T0.timestamp())) == str(body["timestamp"])
    assert request.headers["x-nodewarden-event"] == "opened"
    assert (body["event"], body["link"], body["version"]) == ("opened", LINK, "1")
    assert body["incident"]["id"] == "inc-20261126-0800-zone1"
    assert (body["incident"]["mttd_seconds"], body["incident"]["mttr_seconds"]) == (45.0, None)
    assert body["incident"]["causes"][0]["cause"] == "zone-outage"
    tampered = request.body.replace(b"opened", b"closed")
    assert not hmac.compare_digest(
        request.headers["x-nodewarden-signature"],
        "sha256=" + hmac.new(KEY.encode(), tampered, hashlib.sha256).hexdigest(),
    )


def test_a_sink_gets_only_the_events_it_subscribed_to(tmp_path: Path, receiver: Receiver) -> None:
    notifier = notifier_for(tmp_path, f"{{name: ops, type: slack, url: '{receiver.url}/s', events: [resolved]}}")
    assert notifier.notify(opened()) == []
    assert receiver.requests == []

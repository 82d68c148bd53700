"""PagerDuty Events API v2: `trigger` on open and escalation, `resolve` on resolve, one alert per incident.

The `dedup_key` is derived from the incident id alone, so a retried trigger, an escalation and the
resolve all land on the same PagerDuty alert (and survive a restart of nodewarden). Opened pages at the
sink's severity; escalated at `critical`, because then a human must act. Field limits: summary 1024
characters, dedup_key 255.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from nodewarden.notify import events
from nodewarden.notify.config import PagerDutySink, Severity
from nodewarden.notify.transport import Outbound
from nodewarden.render import terminal_text

SUMMARY_LIMIT = 1024
DEDUP_LIMIT = 255


def dedup_key(incident_id: str) -> str:
    """Stable per incident; an overlong id is hashed rather than cut, so two ids cannot collide."""
    key = f"nodewarden/{incident_id}"
    return key if len(key) <= DEDUP_LIMIT else f"nodewarden/sha256:{hashlib.sha256(incident_id.encode()).hexdigest()}"


def event_body(sink: PagerDutySink, event: events.NotificationEvent) -> dict[str, Any]:
    """The JSON body, routing key included."""
    incident = event.incident
    body: dict[str, Any] = {
        "routing_key": sink.routing_key.get_secret_value(),
        "dedup_key": dedup_key(incident.id),
    }
    if event.kind is events.EventKind.RESOLVED:
        return {**body, "event_action": "resolve"}
    severity = Severity.CRITICAL if event.kind is events.EventKind.ESCALATED else sink.severity
    summary = terminal_text.printable(f"{events.headline(event)}: {event.text}")  # a plain-text line in PagerDuty
    payload: dict[str, Any] = {
        "summary": summary if len(summary) <= SUMMARY_LIMIT else summary[: SUMMARY_LIMIT - 1] + "…",
        "source": sink.source,
        "severity": severity.value,
        "timestamp": incident.detected_at.isoformat(),
        "custom_details": dict(events.incident_facts(incident)),
    }
    if incident.pool:
        payload["component"] = incident.pool
    if incident.zone:
        payload["group"] = f"zone {incident.zone}"
    if incident.hypotheses:
        payload["class"] = incident.hypotheses[0].cause.value
    body.update(event_action="trigger", payload=payload, client="nodewarden")
    if event.link:
        body.update(client_url=event.link, links=[{"href": event.link, "text": f"Incident {incident.id}"}])
    return body


def render(sink: PagerDutySink, event: events.NotificationEvent, *, now: datetime) -> Outbound:
    body = json.dumps(event_body(sink, event), ensure_ascii=False).encode()
    return Outbound(sink=sink.name, url=sink.url.get_secret_value(), body=body)

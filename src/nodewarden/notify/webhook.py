"""A generic webhook: the event as JSON, signed so the receiver knows it came from us, and recently.

Headers: `X-Nodewarden-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body under the sink's key;
`X-Nodewarden-Timestamp: <unix seconds>`, also inside the signed body as `timestamp`; and
`X-Nodewarden-Event`. A receiver recomputes the HMAC over the bytes it got (compare in constant time),
then rejects a timestamp more than a few minutes old: a replayed body carries its old, signed time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from nodewarden.incidents import figures
from nodewarden.model.incident import Incident
from nodewarden.notify import events
from nodewarden.notify.config import WebhookSink
from nodewarden.notify.transport import Outbound

SIGNATURE_HEADER = "X-Nodewarden-Signature"
TIMESTAMP_HEADER = "X-Nodewarden-Timestamp"
EVENT_HEADER = "X-Nodewarden-Event"
SCHEMA_VERSION = "1"


def event_body(event: events.NotificationEvent, *, now: datetime) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "event": event.kind.value,
        "timestamp": int(now.timestamp()),
        "text": event.text,
        "link": event.link,
        "incident": _incident(event.incident),
    }


def signature(body: bytes, key: str) -> str:
    """The signature header's value: `sha256=<hex HMAC of the raw body>`."""
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def render(sink: WebhookSink, event: events.NotificationEvent, *, now: datetime) -> Outbound:
    body = json.dumps(event_body(event, now=now), ensure_ascii=False, sort_keys=True).encode()
    headers = {
        SIGNATURE_HEADER: signature(body, sink.hmac_key.get_secret_value()),
        TIMESTAMP_HEADER: str(int(now.timestamp())),
        EVENT_HEADER: event.kind.value,
    }
    return Outbound(sink=sink.name, url=sink.url.get_secret_value(), body=body, headers=headers)


def _incident(incident: Incident) -> dict[str, Any]:
    def instant(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": incident.id,
        "title": incident.title,
        "state": incident.state.value,
        "pool": incident.pool,
        "zone": incident.zone,
        "impact_start": instant(incident.impact_start),
        "detected_at": instant(incident.detected_at),
        "mitigation_started_at": instant(incident.mitigation_started_at),
        "mitigated_at": instant(incident.mitigated_at),
        "resolved_at": instant(incident.resolved_at),
        "mttd_seconds": figures.of_incident(incident).mttd,
        "mttr_seconds": figures.of_incident(incident).mttr,
        "nodes": list(incident.nodes),
        "instances": list(incident.instances),
        "workloads": list(incident.workloads),
        "causes": [{"cause": h.cause.value, "score": h.score, "summary": h.summary} for h in incident.hypotheses],
    }

"""Microsoft Teams through a Workflows webhook: an Adaptive Card in the Bot Framework message envelope.

The "Post to a channel when a webhook request is received" template reads `attachments[]` and posts each
`content` whose `contentType` is `application/vnd.microsoft.card.adaptive`; Workflows accept Adaptive
Cards only (not the retired connectors' MessageCard). Schema 1.4: what Teams renders on desktop and
mobile alike.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from nodewarden.notify import events
from nodewarden.notify.config import TeamsSink
from nodewarden.notify.transport import Outbound

CARD_VERSION = "1.4"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def card(event: events.NotificationEvent) -> dict[str, Any]:
    """The Adaptive Card itself."""
    facts = [{"title": label, "value": value} for label, value in events.incident_facts(event.incident)]
    content: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [
            {
                "type": "TextBlock",
                "text": events.headline(event),
                "size": "Large",
                "weight": "Bolder",
                "style": "heading",
                "wrap": True,
            },
            {"type": "TextBlock", "text": event.text, "wrap": True},
            {"type": "FactSet", "facts": facts},
        ],
        "msteams": {"width": "Full"},
    }
    if event.link:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open incident", "url": event.link}]
    return content


def message(event: events.NotificationEvent) -> dict[str, Any]:
    """The webhook's JSON body: the card inside the envelope the Workflows template expects."""
    attachment = {"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card(event)}
    return {"type": "message", "attachments": [attachment]}


def render(sink: TeamsSink, event: events.NotificationEvent, *, now: datetime) -> Outbound:
    body = json.dumps(message(event), ensure_ascii=False).encode()
    return Outbound(sink=sink.name, url=sink.url.get_secret_value(), body=body)

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
from nodewarden.render import terminal_text

CARD_VERSION = "1.4"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def card(event: events.NotificationEvent) -> dict[str, Any]:
    """The Adaptive Card itself.

    Everything that carries names from the cluster (titles, node names, messages) goes in a
    RichTextBlock's TextRuns, which Teams shows as plain text: a TextBlock or a FactSet value would
    render Markdown, so a node or caller named like `[click](https://…)` would become a link.
    """
    facts = [
        _paragraph(_run(f"{label}: ", weight="Bolder"), _run(value))
        for label, value in events.incident_facts(event.incident)
    ]
    content: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [
            _paragraph(_run(events.headline(event), size="Large", weight="Bolder")),
            _paragraph(_run(event.text)),
            *facts,
        ],
        "msteams": {"width": "Full"},
    }
    if event.link:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open incident", "url": event.link}]
    return content


def _run(text: str, **style: str) -> dict[str, Any]:
    """Plain text, control characters replaced (`render/terminal_text.py`)."""
    return {"type": "TextRun", "text": terminal_text.printable(text), **style}


def _paragraph(*runs: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs)}


def message(event: events.NotificationEvent) -> dict[str, Any]:
    """The webhook's JSON body: the card inside the envelope the Workflows template expects."""
    attachment = {"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card(event)}
    return {"type": "message", "attachments": [attachment]}


def render(sink: TeamsSink, event: events.NotificationEvent, *, now: datetime) -> Outbound:
    body = json.dumps(message(event), ensure_ascii=False).encode()
    return Outbound(sink=sink.name, url=sink.url.get_secret_value(), body=body)

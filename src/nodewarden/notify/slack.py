"""Slack incoming webhook: a Block Kit message (header, text, facts, context, a button to the incident).

`text` is the fallback Slack shows in notifications, and Slack reads it as mrkdwn too: it is escaped like
the blocks. User-controlled strings go into mrkdwn escaped (`&`, `<`, `>`), so a node name cannot become
a link or an `<!channel>`, and with control characters replaced (`render/terminal_text.py`). Limits
from Block Kit: header text 150 characters, section text 3000, at most 10 fields of 2000.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from nodewarden.notify import events
from nodewarden.notify.config import SlackSink
from nodewarden.notify.transport import Outbound
from nodewarden.render import terminal_text

HEADER_LIMIT = 150
TEXT_LIMIT = 3000
FIELDS_LIMIT = 10


def message(event: events.NotificationEvent) -> dict[str, Any]:
    """The webhook's JSON body."""
    headline = terminal_text.printable(events.headline(event))
    fields = [
        {"type": "mrkdwn", "text": f"*{label}*\n{escape(value)}"}
        for label, value in events.incident_facts(event.incident)[:FIELDS_LIMIT]
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(headline, HEADER_LIMIT)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(escape(event.text), TEXT_LIMIT)}},
        {"type": "section", "fields": fields},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"nodewarden · {event.kind.value}"}]},
    ]
    if event.link:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Open incident"}, "url": event.link}
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": _clip(escape(f"{headline}: {event.text}"), TEXT_LIMIT), "blocks": blocks}


def render(sink: SlackSink, event: events.NotificationEvent, *, now: datetime) -> Outbound:
    body = json.dumps(message(event), ensure_ascii=False).encode()
    return Outbound(sink=sink.name, url=sink.url.get_secret_value(), body=body)


def escape(text: str) -> str:
    """Slack's three control characters in mrkdwn, and the terminal's (`render/terminal_text.py`)."""
    return terminal_text.printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

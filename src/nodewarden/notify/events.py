"""What a notification is about: an incident that opened, was escalated to a human, or resolved.

The incident side (`incidents/`) builds a `NotificationEvent`; every sink renders the same event its own
way (`slack.py`, `teams.py`, `pagerduty.py`, `webhook.py`). `incident_facts` is the short list of facts
all of them show, so a page, a chat card and a webhook agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from nodewarden.incidents import figures
from nodewarden.model.incident import Incident


class EventKind(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"  # nodewarden stopped and a human must act (a hold, a failed ladder)
    RESOLVED = "resolved"


@dataclass(frozen=True)
class NotificationEvent:
    kind: EventKind
    incident: Incident
    text: str  # one line a human reads first
    link: str = ""  # where the incident's report lives, if anywhere


def headline(event: NotificationEvent) -> str:
    """`Incident opened: <title>`: the first line every sink shows."""
    return f"Incident {event.kind.value}: {event.incident.title}"


def incident_facts(incident: Incident) -> list[tuple[str, str]]:
    """Label and value pairs a human needs at a glance, in a fixed order; empty values are left out."""
    record = figures.of_incident(incident)
    facts = [
        ("Incident", incident.id),
        ("State", incident.state.value),
        ("Pool", incident.pool or ""),
        ("Zone", incident.zone or ""),
        ("Nodes", _count(incident.nodes)),
        ("Impact since", _instant(record.impact_start)),
        ("MTTD", "not detected" if record.mttd is None else f"{record.mttd:.0f}s"),
        ("MTTR", "" if record.mttr is None else f"{record.mttr:.0f}s"),
        ("Likely cause", incident.hypotheses[0].cause.value if incident.hypotheses else ""),
    ]
    return [(label, value) for label, value in facts if value]


def _count(names: tuple[str, ...]) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:3])
    return f"{len(names)} ({shown}{', …' if len(names) > 3 else ''})"


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")

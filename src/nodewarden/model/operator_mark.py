"""The operator's mark: a node annotation saying a person is acting on it through `nodewarden node …`.

`nodewarden node restart|reimage|…` writes it before it acts; the controller reads it from the node in
the Snapshot, holds the node (OperatorAction) while the mark is live, and records it as an OPERATOR
change so a node a person took down is not mistaken for a new failure. The value is a small JSON
object; a mark that does not parse is no mark (one bad annotation must not stop the controller).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from nodewarden.model.kube import Node

ANNOTATION = "nodewarden.io/operator-action"
# How long a node may take to rejoin once its instance's operation ended (boot, kubelet, Ready); the
# mark expires this long after the step's own timeout. Reimaged AKS nodes rejoin in 2–5 minutes.
COME_BACK = timedelta(minutes=10)


@dataclass(frozen=True)
class OperatorMark:
    """Who is doing what to a node, why, from when and until when (the mark's expiry)."""

    step: str  # the node command's action: "Restart", "Reimage", "Drain", …
    actor: str
    reason: str
    at: datetime
    expires: datetime
    correlation_id: str  # the ARM calls the command makes carry it

    def is_live(self, now: datetime) -> bool:
        return self.at <= now < self.expires

    def describe(self) -> str:
        """One line for holds and reports: "Restart by alice@host until 08:40:00Z (reason: kernel patch)"."""
        why = f" (reason: {self.reason})" if self.reason else ""
        return f"{self.step} by {self.actor or 'an operator'} until {self.expires:%Y-%m-%dT%H:%M:%SZ}{why}"


def mark_expiry(at: datetime, *, step_timeout: timedelta) -> datetime:
    """A mark written at `at` lives for the step's timeout plus the time the node takes to come back."""
    return at + step_timeout + COME_BACK


def to_annotation(mark: OperatorMark) -> str:
    """The annotation's value: compact JSON with UTC times."""
    return json.dumps(
        {
            "step": mark.step,
            "actor": mark.actor,
            "reason": mark.reason,
            "at": _iso(mark.at),
            "expires": _iso(mark.expires),
            "correlationId": mark.correlation_id,
        },
        separators=(",", ":"),
    )


def parse_mark(text: str | None) -> OperatorMark | None:
    """The mark in an annotation value; None when absent or malformed (missing step, times or correlation id,
    times without a zone, or an expiry before the mark)."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # a hand-written annotation may be anything, nested deep too
        return None
    if not isinstance(data, dict):
        return None
    step, actor, reason, correlation = (data.get(k) for k in ("step", "actor", "reason", "correlationId"))
    at, expires = _time(data.get("at")), _time(data.get("expires"))
    if not isinstance(step, str) or not step or not isinstance(correlation, str) or not correlation:
        return None
    if at is None or expires is None or expires < at:
        return None
    return OperatorMark(
        step=step,
        actor=actor if isinstance(actor, str) else "",
        reason=reason if isinstance(reason, str) else "",
        at=at,
        expires=expires,
        correlation_id=correlation,
    )


def mark_of(node: Node) -> OperatorMark | None:
    """The operator's mark on a node, if it carries a valid one."""
    return parse_mark(node.metadata.annotation_map.get(ANNOTATION))


def marks_on(nodes: Iterable[Node]) -> list[tuple[str, OperatorMark]]:
    """The operators' marks on these nodes, each with its node's name."""
    found = [(node.metadata.name, mark_of(node)) for node in nodes]
    return [(name, mark) for name, mark in found if mark is not None]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None

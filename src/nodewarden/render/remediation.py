"""Detection and plans for people (tables) and machines (JSON), shared by watch, plan and run."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nodewarden.model.health import Detection, HealthState, NodeHealth, Signal
from nodewarden.model.operator_mark import OperatorMark
from nodewarden.model.remediation import Closure, Hold, Plan, PlannedAction
from nodewarden.render import terminal_text

STATE_STYLES = {
    HealthState.HEALTHY: "green",
    HealthState.SUSPECT: "yellow",
    HealthState.UNHEALTHY: "bold red",
    HealthState.REMEDIATING: "magenta",
    HealthState.RECOVERED: "cyan",
    HealthState.FAILED: "bold white on red",
}


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return ""
    seconds = int((now - then).total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def health_table(detection: Detection, *, all_nodes: bool = True) -> Table:
    table = Table(title=f"node health at {detection.now:%Y-%m-%d %H:%M:%S}Z", title_justify="left")
    for column in ("NODE", "POOL", "ZONE", "STATE", "FOR"):
        table.add_column(column, no_wrap=True)  # names, states and times stay whole; the signals wrap
    table.add_column("SIGNALS")
    for health in sorted(detection.health.values(), key=_order):
        if not all_nodes and health.state is HealthState.HEALTHY:
            continue
        signals = ", ".join(sorted({s.kind.value for s in health.signals}))
        table.add_row(
            health.node, health.pool or "", health.zone or "",
            Text(health.state.value, style=STATE_STYLES[health.state]), _ago(detection.now, condition_since(health)),
            signals,
        )  # fmt: skip
    return table


def condition_since(health: NodeHealth) -> datetime:
    """When the node's condition began, on the cluster's clock: its first problem signal's `since` (a condition's
    lastTransitionTime, a lease's last renewal) while it has problems, else since it was last seen clear. Not
    `health.since`, when this process first judged it: `watch --once` would say 0s of a node down for an hour."""
    if health.signals:
        return health.problem_since or health.since
    return health.clear_since or health.since


def _order(health: NodeHealth) -> tuple[int, str]:
    rank = {HealthState.FAILED: 0, HealthState.UNHEALTHY: 1, HealthState.REMEDIATING: 2, HealthState.SUSPECT: 3}
    return rank.get(health.state, 9), health.node


def wide_signals_table(detection: Detection) -> Table | None:
    """Signals above one node: zone, pool, image, cluster and instance scope."""
    wide = [s for s in detection.signals if s.node is None]
    if not wide:
        return None
    table = Table(title="wider signals", title_justify="left")
    for column in ("SIGNAL", "SCOPE", "SUBJECT", "FOR"):
        table.add_column(column, no_wrap=True)
    table.add_column("MESSAGE")
    for signal in wide:
        table.add_row(signal.kind.value, signal.scope.value, signal.subject, _ago(detection.now, signal.since),
                      signal.message)  # fmt: skip
    return table


def operator_marks_table(marks: Sequence[tuple[str, OperatorMark]], now: datetime) -> Table | None:
    """Nodes a person is acting on through `nodewarden node …` (live marks): the controller holds them."""
    live = sorted((node, mark) for node, mark in marks if mark.is_live(now))
    if not live:
        return None
    table = Table(title="operator actions (run holds these nodes: OperatorAction)", title_justify="left")
    for column in ("NODE", "STEP", "ACTOR", "SINCE", "UNTIL", "REASON"):
        table.add_column(column)
    for node, mark in live:
        table.add_row(node, mark.step, mark.actor, _ago(now, mark.at), f"{mark.expires:%H:%M:%S}Z", mark.reason)
    return table


def operator_mark_json(node: str, mark: OperatorMark) -> dict[str, Any]:
    return {
        "kind": "OperatorAction", "node": node, "step": mark.step, "actor": mark.actor, "reason": mark.reason,
        "at": _time(mark.at), "expires": _time(mark.expires), "correlationId": mark.correlation_id,
    }  # fmt: skip


def plan_tables(plan: Plan) -> list[Table | Text]:
    parts: list[Table | Text] = []
    if plan.actions:
        actions = Table(title="actions", title_justify="left")
        for column in ("STEP", "SUBJECT", "POOL", "ZONE", "WHY"):
            actions.add_column(column)
        for action in plan.actions:
            actions.add_row(action.step.value, action.subject, action.pool or "", action.zone or "", action.reason)
        parts.append(actions)
    else:
        parts.append(Text("no actions"))
    if plan.holds:
        holds = Table(title="holds (decided not to act)", title_justify="left")
        for column in ("REASON", "SUBJECT", "WOULD", "WHY"):
            holds.add_column(column)
        for hold in plan.holds:
            holds.add_row(hold.reason.value, hold.subject, hold.step.value if hold.step else "", hold.message)
        parts.append(holds)
    if plan.closures:
        closures = Table(title="episodes ending", title_justify="left")
        for column in ("EPISODE", "STATE", "WHY"):
            closures.add_column(column)
        for closure in plan.closures:
            closures.add_row(closure.episode, closure.state.value, closure.note)
        parts.append(closures)
    return parts


def render(*parts: Table | Text | None, width: int = 140, color: bool = False) -> str:
    buffer = io.StringIO()
    console = terminal_text.SafeConsole(
        file=buffer, width=width, color_system="standard" if color else None, highlight=False
    )
    console.print(Group(*(part for part in parts if part is not None)))
    return buffer.getvalue()


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def signal_json(signal: Signal) -> dict[str, Any]:
    return {
        "kind": signal.kind.value,
        "scope": signal.scope.value,
        "subject": signal.subject,
        "since": _time(signal.since),
        "message": signal.message,
        "evidence": list(signal.evidence),
        **{key: value for key in ("node", "pool", "zone", "instance", "image", "condition", "value")
           if (value := getattr(signal, key)) is not None},
    }  # fmt: skip


def health_json(health: NodeHealth) -> dict[str, Any]:
    return {
        "node": health.node,
        "state": health.state.value,
        "since": _time(health.since),
        "pool": health.pool,
        "zone": health.zone,
        "problemSince": _time(health.problem_since),
        "signals": sorted({s.kind.value for s in health.signals}),
    }


def action_json(action: PlannedAction) -> dict[str, Any]:
    return {
        "step": action.step.value,
        "subject": action.subject,
        "reason": action.reason,
        "key": action.key,
        "episode": action.episode,
        "node": action.node,
        "pool": action.pool,
        "zone": action.zone,
        "causes": [c.value for c in action.causes],
        **({"count": action.count} if action.count is not None else {}),
    }


def hold_json(hold: Hold) -> dict[str, Any]:
    return {
        "reason": hold.reason.value,
        "subject": hold.subject,
        "message": hold.message,
        "step": hold.step.value if hold.step else None,
        "node": hold.node,
        "pool": hold.pool,
        "zone": hold.zone,
    }


def closure_json(closure: Closure) -> dict[str, Any]:
    return {"episode": closure.episode, "state": closure.state.value, "note": closure.note}


def plan_json(plan: Plan, detection: Detection) -> dict[str, Any]:
    return {
        "now": _time(plan.now),
        "actions": [action_json(a) for a in plan.actions],
        "holds": [hold_json(h) for h in plan.holds],
        "closures": [closure_json(c) for c in plan.closures],
        "health": [health_json(h) for h in sorted(detection.health.values(), key=_order)],
        "signals": [signal_json(s) for s in detection.signals],
    }

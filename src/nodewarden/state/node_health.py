"""Each node's health as the controller last saw it: the health state machine's memory across processes.

So `plan` and a restarted controller detect from where the last cycle left off. One row per node holding
its JSON document, plus the time of the last save; rows are mapped here and nowhere else. Each function
runs on a connection whose lock the caller holds (`state/journal.py`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from nodewarden.model.health import HealthState, NodeHealth, Scope, Signal, SignalKind
from nodewarden.state import columns

# Saved node health older than this is not carried on: the controller was away for several cycles.
HEALTH_FRESH = timedelta(minutes=5)


def save(
    conn: sqlite3.Connection, health: Mapping[str, NodeHealth], *, saved: Mapping[str, NodeHealth], now: datetime
) -> None:
    """Write the rows of `health` that differ from `saved` (what the file holds), forget nodes gone since,
    and stamp the save time: at 5,000 nodes most rows stay as they are from one cycle to the next."""
    changed = [
        (name, h.state.value, json.dumps(_document(h), sort_keys=True))
        for name, h in health.items()
        if saved.get(name) != h
    ]
    gone = [(name,) for name in saved if name not in health]
    with conn:
        conn.executemany(
            "INSERT INTO node_health (node, state, document) VALUES (?, ?, ?) "
            "ON CONFLICT (node) DO UPDATE SET state = excluded.state, document = excluded.document",
            changed,
        )
        conn.executemany("DELETE FROM node_health WHERE node = ?", gone)
        conn.execute(
            "INSERT INTO health_saved (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            (columns.text(now),),
        )


def fresh(conn: sqlite3.Connection, *, now: datetime) -> dict[str, NodeHealth]:
    """Each node's health as last saved, by node name; empty when none was saved within HEALTH_FRESH of
    `now` (no controller yet, or one stopped long enough that a node may have failed and recovered
    unseen: detection then starts afresh, as a new controller would)."""
    row = conn.execute("SELECT at FROM health_saved WHERE id = 1").fetchone()
    if row is None or now - columns.moment(row[0]) > HEALTH_FRESH:
        return {}
    return stored(conn)


def stored(conn: sqlite3.Connection) -> dict[str, NodeHealth]:
    """Every row the file holds, however old, by node name."""
    rows = conn.execute("SELECT document FROM node_health ORDER BY node").fetchall()
    found = (_health(json.loads(row[0])) for row in rows)
    return {h.node: h for h in found}


def _document(health: NodeHealth) -> dict[str, object]:
    return {
        "node": health.node,
        "state": health.state.value,
        "since": columns.text(health.since),
        "pool": health.pool,
        "zone": health.zone,
        "image": health.image,
        "instance": health.instance,
        "signals": [_signal_document(s) for s in health.signals],
        "evidence": [_signal_document(s) for s in health.evidence],
        "problemSince": columns.optional_text(health.problem_since),
        "clearSince": columns.optional_text(health.clear_since),
        "ready": health.ready,
        "readyFlips": [columns.text(flip) for flip in health.ready_flips],
    }


def _signal_document(signal: Signal) -> dict[str, object]:
    return {
        "kind": signal.kind.value,
        "scope": signal.scope.value,
        "subject": signal.subject,
        "since": columns.text(signal.since),
        "message": signal.message,
        "evidence": list(signal.evidence),
        "node": signal.node,
        "pool": signal.pool,
        "zone": signal.zone,
        "instance": signal.instance,
        "image": signal.image,
        "condition": signal.condition,
        "value": signal.value,
    }


def _health(doc: dict[str, Any]) -> NodeHealth:
    return NodeHealth(
        node=doc["node"],
        state=HealthState(doc["state"]),
        since=columns.moment(doc["since"]),
        pool=doc["pool"],
        zone=doc["zone"],
        image=doc["image"],
        instance=doc["instance"],
        signals=tuple(_signal(s) for s in doc["signals"]),
        evidence=tuple(_signal(s) for s in doc.get("evidence", ())),  # absent in records from before it was kept
        problem_since=columns.optional_moment(doc["problemSince"]),
        clear_since=columns.optional_moment(doc["clearSince"]),
        ready=doc["ready"],
        ready_flips=tuple(columns.moment(flip) for flip in doc["readyFlips"]),
    )


def _signal(doc: dict[str, Any]) -> Signal:
    return Signal(
        kind=SignalKind(doc["kind"]),
        scope=Scope(doc["scope"]),
        subject=doc["subject"],
        since=columns.moment(doc["since"]),
        message=doc["message"],
        evidence=tuple(doc["evidence"]),
        node=doc["node"],
        pool=doc["pool"],
        zone=doc["zone"],
        instance=doc["instance"],
        image=doc["image"],
        condition=doc["condition"],
        value=doc["value"],
    )

"""The evidence incidents are built from: the signal log and the Activity Log changes.

The signal log keeps one row per fact (kind, subject, condition, since), however many cycles saw it; the
changes keep who changed what, once per correlation id, operation and status. Each function runs on a
connection whose lock the caller holds (`state/journal.py`); rows are mapped here and nowhere else.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from nodewarden.model.health import Signal, SignalKind
from nodewarden.model.incident import ChangeOrigin, ChangeRecord, SignalRecord
from nodewarden.state import columns

_SIGNAL_COLUMNS = (
    "kind, subject, condition, since, first_seen, last_seen, message, evidence, node, pool, zone, instance, image, "
    "source"
)
_CHANGE_COLUMNS = "at, caller, operation, resource, status, correlation_id, origin, actor, until"


def record_signals(conn: sqlite3.Connection, signals: Sequence[Signal], now: datetime, *, source: str) -> None:
    """Log this cycle's signals: a fact (kind, subject, condition, since) not seen before gets a row with
    first_seen = last_seen = now; one seen before only moves last_seen (and takes the latest message)."""
    seen = columns.text(now)
    _upsert_signals(conn, [
        (s.kind.value, s.subject, s.condition or "", columns.text(s.since), seen, seen, s.message,
         json.dumps(list(s.evidence)), s.node, s.pool, s.zone, s.instance, s.image, source)
        for s in signals
    ])  # fmt: skip


def record_signal_records(conn: sqlite3.Connection, records: Sequence[SignalRecord]) -> None:
    """Log signals that arrive whole (alerts taken in on the listener), with their own first and last seen."""
    _upsert_signals(conn, [
        (r.kind.value, r.subject, r.condition or "", columns.text(r.since), columns.text(r.first_seen),
         columns.text(r.last_seen), r.message, json.dumps(list(r.evidence)), r.node, r.pool, r.zone, r.instance,
         r.image, r.source)
        for r in records
    ])  # fmt: skip


def _upsert_signals(conn: sqlite3.Connection, rows: list[tuple[str | None, ...]]) -> None:
    with conn:
        conn.executemany(
            f"INSERT INTO signals ({_SIGNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, subject, condition, since) DO UPDATE SET "
            "last_seen = MAX(last_seen, excluded.last_seen), message = excluded.message, "
            "evidence = excluded.evidence",
            rows,
        )


def signal_records(conn: sqlite3.Connection, since: datetime | None) -> list[SignalRecord]:
    """Logged signals (last seen at or after `since`), in the order they began."""
    query = f"SELECT {_SIGNAL_COLUMNS} FROM signals"
    params: tuple[str, ...] = ()
    if since is not None:
        query, params = query + " WHERE last_seen >= ?", (columns.text(since),)
    rows = conn.execute(query + " ORDER BY since, kind, subject, condition", params).fetchall()
    return [_signal_record(row) for row in rows]


def record_changes(conn: sqlite3.Connection, changes: Sequence[ChangeRecord]) -> None:
    """Keep Activity Log changes; the same correlation id, operation and status is kept once. An operator's
    mark seen again keeps its latest expiry (`node` commands move it when their step ends)."""
    rows = [
        (_change_key(c), columns.text(c.at), c.caller, c.operation, c.resource, c.status, c.correlation_id,
         c.origin.value, c.actor, columns.optional_text(c.until))
        for c in changes
    ]  # fmt: skip
    with conn:
        conn.executemany(
            f"INSERT INTO changes (key, {_CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET until = excluded.until "
            f"WHERE changes.origin = '{ChangeOrigin.OPERATOR.value}' AND excluded.origin = changes.origin",
            rows,
        )


def changes(conn: sqlite3.Connection, since: datetime | None) -> list[ChangeRecord]:
    """Kept changes (made at or after `since`), oldest first."""
    query = f"SELECT {_CHANGE_COLUMNS} FROM changes"
    params: tuple[str, ...] = ()
    if since is not None:
        query, params = query + " WHERE at >= ?", (columns.text(since),)
    rows = conn.execute(query + " ORDER BY at, key", params).fetchall()
    return [
        ChangeRecord(at=columns.moment(at), caller=caller, operation=operation, resource=resource, status=status,
                     correlation_id=correlation, origin=ChangeOrigin(origin), actor=actor,
                     until=columns.optional_moment(until))
        for at, caller, operation, resource, status, correlation, origin, actor, until in rows
    ]  # fmt: skip


def _change_key(change: ChangeRecord) -> str:
    """What makes a change one change: its correlation id, operation and status (an entry without a
    correlation id is told apart by its time, caller and resource instead)."""
    origin = change.correlation_id or f"{columns.text(change.at)} {change.caller} {change.resource}"
    return "\x1f".join((origin, change.operation, change.status))


def _signal_record(row: tuple[object, ...]) -> SignalRecord:
    kind, subject, condition, since, first_seen, last_seen, message, evidence, *rest = row
    node, pool, zone, instance, image, source = rest
    return SignalRecord(
        kind=SignalKind(str(kind)),
        subject=str(subject),
        since=columns.moment(str(since)),
        first_seen=columns.moment(str(first_seen)),
        last_seen=columns.moment(str(last_seen)),
        message=str(message),
        evidence=tuple(str(line) for line in json.loads(str(evidence))),
        node=columns.optional_str(node),
        pool=columns.optional_str(pool),
        zone=columns.optional_str(zone),
        instance=columns.optional_str(instance),
        image=columns.optional_str(image),
        condition=str(condition) or None,
        source=str(source),
    )

"""The steps' record: episodes, their entries (intent before each call, outcome after) and holds.

This is the write-ahead part of the journal (`state/journal.py`): after a crash `pending()` lists the steps
whose outcome is unknown and the controller resumes them instead of repeating or losing them; `history()`
feeds the next plan. Each function runs on a connection whose lock the caller holds; a write is one
transaction. Rows are mapped to and from the model here and nowhere else.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from nodewarden.model.health import SignalKind
from nodewarden.model.remediation import (
    SCALE_EPISODE_PREFIX,
    Episode,
    EpisodeState,
    History,
    Hold,
    HoldReason,
    JournalEntry,
    Outcome,
    Step,
)
from nodewarden.state import columns

HOLD_REPEAT = timedelta(minutes=10)  # the same hold is journaled (and published) again at most this often

# uuid5 namespace for correlation ids: the same idempotency key always yields the same ARM correlation id,
# so a step resumed after a crash can be found in the Activity Log under the id of its first attempt.
_CORRELATION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "journal.nodewarden.io")

_EPISODE_COLUMNS = "id, node, opened_at, pool, zone, instance, image, causes, state, closed_at, note"
_ENTRY_COLUMNS = (
    "key, episode, step, subject, intent_at, outcome, outcome_at, intent_detail, outcome_detail, "
    "correlation_id, node, pool, count, leader, lease_transitions"
)


def correlation_id_for(key: str) -> str:
    """The ARM correlation id for an idempotency key: a UUID derived from the key, the same on every attempt."""
    return str(uuid.uuid5(_CORRELATION_NAMESPACE, key))


# -- episodes -----------------------------------------------------------------------------------------


def open_episode(conn: sqlite3.Connection, episode: Episode) -> None:
    """Journal a new episode; opening one that exists changes nothing."""
    with conn:
        conn.execute(
            f"INSERT OR IGNORE INTO episodes ({_EPISODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                episode.id,
                episode.node,
                columns.text(episode.opened_at),
                episode.pool,
                episode.zone,
                episode.instance,
                episode.image,
                json.dumps([cause.value for cause in episode.causes]),
                episode.state.value,
                columns.optional_text(episode.closed_at),
                episode.note,
            ),
        )


def close_episode(conn: sqlite3.Connection, episode_id: str, state: EpisodeState, at: datetime, note: str) -> bool:
    """Close an episode; False when there is no such episode."""
    with conn:
        cursor = conn.execute(
            "UPDATE episodes SET state = ?, closed_at = ?, note = ? WHERE id = ?",
            (state.value, columns.text(at), note, episode_id),
        )
    return cursor.rowcount > 0


def expire(conn: sqlite3.Connection, before: datetime) -> int:
    """Forget episodes closed before `before`, with their entries; how many went."""
    with conn:
        old = "SELECT id FROM episodes WHERE state != ? AND closed_at < ?"
        params = (EpisodeState.OPEN.value, columns.text(before))
        conn.execute(f"DELETE FROM entries WHERE episode IN ({old})", params)
        return conn.execute(f"DELETE FROM episodes WHERE id IN ({old})", params).rowcount


# -- entries ------------------------------------------------------------------------------------------


def intend(conn: sqlite3.Connection, entry: JournalEntry) -> JournalEntry:
    """Journal a step before it is sent. A key already journaled is not written again: its row is returned,
    so the caller can tell a fresh intent (outcome PENDING, its own time) from a resumed or finished one."""
    correlation = entry.correlation_id or correlation_id_for(entry.key)
    with conn:
        conn.execute(
            f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            (
                entry.key,
                entry.episode,
                entry.step.value,
                entry.subject,
                columns.text(entry.intent_at),
                entry.outcome.value,
                columns.optional_text(entry.outcome_at),
                entry.detail,
                correlation,
                entry.node,
                entry.pool,
                entry.count,
                entry.leader,
                entry.lease_transitions,
            ),
        )
        row = conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE key = ?", (entry.key,)).fetchone()
    return _entry(row)


def record(conn: sqlite3.Connection, key: str, outcome: Outcome, at: datetime, detail: str) -> bool:
    """Journal a step's outcome after the call (the intent's detail is kept); False when no intent has `key`."""
    with conn:
        cursor = conn.execute(
            "UPDATE entries SET outcome = ?, outcome_at = ?, outcome_detail = ? WHERE key = ?",
            (outcome.value, columns.text(at), detail, key),
        )
    return cursor.rowcount > 0


def pending(conn: sqlite3.Connection) -> tuple[JournalEntry, ...]:
    """Intents without an outcome, oldest first: in progress, or the controller died during the call."""
    return tuple(_entries(conn, "WHERE outcome = ? ORDER BY seq", (Outcome.PENDING.value,)))


def backlog(conn: sqlite3.Connection) -> int:
    """How many intents have no outcome (a metric)."""
    row = conn.execute("SELECT COUNT(*) FROM entries WHERE outcome = ?", (Outcome.PENDING.value,))
    return int(row.fetchone()[0])


def entries(conn: sqlite3.Connection, since: datetime | None) -> list[JournalEntry]:
    """Every entry (intended at or after `since`), in journal order."""
    if since is None:
        return _entries(conn, "ORDER BY seq", ())
    return _entries(conn, "WHERE intent_at >= ? ORDER BY seq", (columns.text(since),))


def history(conn: sqlite3.Connection, now: datetime, lookback: timedelta) -> History:
    """What the planner needs: open episodes and those closed within `lookback`, each with its entries in
    order, and the zone compensations (SCALE) still outstanding, whatever their age."""
    rows = conn.execute(
        f"SELECT {_EPISODE_COLUMNS} FROM episodes WHERE state = ? OR closed_at >= ? ORDER BY opened_at, id",
        (EpisodeState.OPEN.value, columns.text(now - lookback)),
    ).fetchall()
    by_episode: dict[str, list[JournalEntry]] = {row[0]: [] for row in rows}
    if by_episode:
        marks = ", ".join("?" * len(by_episode))
        for entry in _entries(conn, f"WHERE episode IN ({marks}) ORDER BY seq", tuple(by_episode)):
            by_episode[entry.episode].append(entry)
    episodes = tuple(_episode(row, by_episode[row[0]]) for row in rows)
    scale = _entries(conn, "WHERE step = ? ORDER BY seq", (Step.SCALE.value,))
    return History(episodes=episodes, scale_entries=outstanding_scale(scale))


def outstanding_scale(entries: Iterable[JournalEntry]) -> tuple[JournalEntry, ...]:
    """Zone compensations not yet undone, from every SCALE entry in journal order.

    A compensation episode ("scale/<pool>/…") holds the scale-out and, later, the scale-back. Its first entry
    that did or may have changed the pool (SUCCEEDED, PENDING or TIMED_OUT; not FAILED or SKIPPED) is the
    compensation; a later SUCCEEDED or PENDING SCALE in the same episode undoes it. A scale-back that failed
    or timed out undoes nothing, so the planner sees the compensation again and retries (setting a count is
    idempotent). Put the pool's original count in the scale-out intent's `detail` (e.g. "from=3"): the
    journal keeps the intent's detail when the outcome is recorded.
    """
    changed = (Outcome.SUCCEEDED, Outcome.PENDING, Outcome.TIMED_OUT)
    compensation: dict[str, JournalEntry] = {}
    undone: set[str] = set()
    for entry in entries:
        if entry.step is not Step.SCALE or not entry.episode.startswith(SCALE_EPISODE_PREFIX):
            continue
        if entry.episode not in compensation:
            if entry.outcome in changed:
                compensation[entry.episode] = entry
        elif entry.outcome in (Outcome.SUCCEEDED, Outcome.PENDING):
            undone.add(entry.episode)
    return tuple(entry for episode, entry in compensation.items() if episode not in undone)


def _entries(conn: sqlite3.Connection, where: str, params: tuple[object, ...]) -> list[JournalEntry]:
    rows = conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries {where}", params).fetchall()
    return [_entry(row) for row in rows]


# -- holds --------------------------------------------------------------------------------------------


def hold(conn: sqlite3.Connection, hold: Hold, at: datetime) -> bool:
    """Journal a hold. True when it is new: the same subject, reason and step was not journaled in the last
    ten minutes. A repeat only bumps the earlier row (count, last time, latest message), so a hold that
    lasts an hour is six rows and six Events, not one per cycle."""
    step = hold.step.value if hold.step else ""
    with conn:
        row = conn.execute(
            "SELECT seq FROM holds WHERE subject = ? AND reason = ? AND step = ? AND at > ? ORDER BY seq DESC LIMIT 1",
            (hold.subject, hold.reason.value, step, columns.text(at - HOLD_REPEAT)),
        ).fetchone()
        if row is not None:
            conn.execute(
                "UPDATE holds SET repeats = repeats + 1, last_at = ?, message = ? WHERE seq = ?",
                (columns.text(at), hold.message, row[0]),
            )
            return False
        conn.execute(
            "INSERT INTO holds (at, last_at, reason, subject, step, message, node, pool, zone) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (columns.text(at), columns.text(at), hold.reason.value, hold.subject, step, hold.message, hold.node,
             hold.pool, hold.zone),
        )  # fmt: skip
        return True


def holds(conn: sqlite3.Connection, since: datetime | None) -> list[tuple[datetime, Hold]]:
    """Journaled holds (first seen at or after `since`), oldest first, each with the time it was first seen."""
    query = "SELECT at, reason, subject, step, message, node, pool, zone FROM holds"
    params: tuple[str, ...] = ()
    if since is not None:
        query, params = query + " WHERE at >= ?", (columns.text(since),)
    rows = conn.execute(query + " ORDER BY seq", params).fetchall()
    return [
        (
            columns.moment(at),
            Hold(
                reason=HoldReason(reason),
                subject=subject,
                message=message,
                node=node,
                pool=pool,
                zone=zone,
                step=Step(step) if step else None,
            ),
        )
        for at, reason, subject, step, message, node, pool, zone in rows
    ]


# -- rows ---------------------------------------------------------------------------------------------


def _entry(row: tuple[object, ...]) -> JournalEntry:
    key, episode, step, subject, intent_at, outcome, outcome_at, intent_detail, outcome_detail, *rest = row
    correlation, node, pool, count, leader, transitions = rest
    detail = "; ".join(str(part) for part in (intent_detail, outcome_detail) if part)
    return JournalEntry(
        key=str(key),
        episode=str(episode),
        step=Step(str(step)),
        subject=str(subject),
        intent_at=columns.moment(str(intent_at)),
        outcome=Outcome(str(outcome)),
        outcome_at=columns.optional_moment(outcome_at),
        detail=detail,
        correlation_id=str(correlation),
        node=columns.optional_str(node),
        pool=columns.optional_str(pool),
        count=columns.optional_int(count),
        leader=columns.optional_str(leader),
        lease_transitions=columns.optional_int(transitions),
    )


def _episode(row: tuple[object, ...], entries: list[JournalEntry]) -> Episode:
    id_, node, opened_at, pool, zone, instance, image, causes, state, closed_at, note = row
    return Episode(
        id=str(id_),
        node=str(node),
        opened_at=columns.moment(str(opened_at)),
        pool=columns.optional_str(pool),
        zone=columns.optional_str(zone),
        instance=columns.optional_str(instance),
        image=columns.optional_str(image),
        causes=tuple(SignalKind(cause) for cause in json.loads(str(causes))),
        state=EpisodeState(str(state)),
        closed_at=columns.optional_moment(closed_at),
        note=str(note),
        entries=tuple(entries),
    )

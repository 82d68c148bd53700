"""The write-ahead journal: every remediation step's intent before the call, its outcome after.

It sits at the end of the flow (`heal (plan) ──► act ──► journal`) and feeds the next plan through
`history()`. SQLite in WAL mode with `synchronous=FULL` under the state directory, so an intent that
`intend()` returned survives `kill -9` and power loss; after a crash `pending()` lists the steps whose
outcome is unknown and the controller resumes them instead of repeating or losing them. Every write is
one transaction; times are ISO-8601 UTC text and enums their values, so the file reads well in `sqlite3`.

Beside the steps it keeps what incidents are built from: the signal log (one row per fact, however many
cycles saw it) and the Activity Log changes (who changed what), and each node's health as the controller
last saw it, so `plan` and a restarted controller detect from where the last cycle left off. The incident
store (`incidents.store`) keeps its table in the same file; this module owns the schema and its migrations.

Only SQLite opens and closes the files. On Linux, closing any descriptor of a file drops every POSIX lock
the process holds on it; a stray `os.close` would silently release SQLite's WAL locks, and another
process's checkpoint would then delete the live -wal/-shm under the controller. So the file is created by
SQLite and made private with `chmod` (which opens nothing).

One writer migrates (`Journal.open`: the controller, the demo host, a drill saving its verdict); readers
(`Journal.open_readonly`: incidents, plan) open the file with `mode=ro` and never change it. A read-only
connection to a WAL file whose -wal/-shm are absent (no writer since the last clean close) creates them,
with the database file's mode, and leaves them behind on close (it may not checkpoint); the next writer
to close last removes them. In a directory it cannot write it still reads, from a private heap index.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from nodewarden.errors import InputError
from nodewarden.model.health import HealthState, NodeHealth, Scope, Signal, SignalKind
from nodewarden.model.incident import ChangeOrigin, ChangeRecord, SignalRecord
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

FILE_NAME = "journal.sqlite3"
SCHEMA_VERSION = 4
# How long a statement waits for another process's write before giving up: every write is one short
# transaction (a cycle's upserts at 5,000 nodes take well under a second), so this is ample.
BUSY_TIMEOUT = 30.0
# Saved node health older than this is not carried on: the controller was away for several cycles.
HEALTH_FRESH = timedelta(minutes=5)
HOLD_REPEAT = timedelta(minutes=10)  # the same hold is journaled (and published) again at most this often

# uuid5 namespace for correlation ids: the same idempotency key always yields the same ARM correlation id,
# so a step resumed after a crash can be found in the Activity Log under the id of its first attempt.
_CORRELATION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "journal.nodewarden.io")

_SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
    id TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    pool TEXT,
    zone TEXT,
    instance TEXT,
    image TEXT,
    causes TEXT NOT NULL,
    state TEXT NOT NULL,
    closed_at TEXT,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    episode TEXT NOT NULL,
    step TEXT NOT NULL,
    subject TEXT NOT NULL,
    intent_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    outcome_at TEXT,
    intent_detail TEXT NOT NULL DEFAULT '',
    outcome_detail TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL,
    node TEXT,
    pool TEXT,
    count INTEGER
);
CREATE INDEX IF NOT EXISTS entries_episode ON entries (episode, seq);
CREATE INDEX IF NOT EXISTS entries_outcome ON entries (outcome);
CREATE TABLE IF NOT EXISTS holds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    repeats INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL,
    subject TEXT NOT NULL,
    step TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL,
    node TEXT,
    pool TEXT,
    zone TEXT
);
CREATE INDEX IF NOT EXISTS holds_subject ON holds (subject, reason, step, at);
"""
# Version 2: the signal log, Activity Log changes and incidents (whose rows `incidents.store` reads and writes).
_SCHEMA_2 = """
CREATE TABLE IF NOT EXISTS signals (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    condition TEXT NOT NULL DEFAULT '',
    since TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    message TEXT NOT NULL,
    evidence TEXT NOT NULL,
    node TEXT,
    pool TEXT,
    zone TEXT,
    instance TEXT,
    image TEXT,
    source TEXT NOT NULL,
    PRIMARY KEY (kind, subject, condition, since)
);
CREATE INDEX IF NOT EXISTS signals_last_seen ON signals (last_seen);
CREATE TABLE IF NOT EXISTS changes (
    key TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    caller TEXT NOT NULL,
    operation TEXT NOT NULL,
    resource TEXT NOT NULL,
    status TEXT NOT NULL,
    correlation_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_at ON changes (at);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    impact_start TEXT NOT NULL,
    state TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_impact ON incidents (impact_start);
"""
# Version 3: who journaled each intent (Lease holder and transitions), and whose each change was.
_SCHEMA_3 = """
ALTER TABLE entries ADD COLUMN leader TEXT;
ALTER TABLE entries ADD COLUMN lease_transitions INTEGER;
ALTER TABLE changes ADD COLUMN origin TEXT NOT NULL DEFAULT 'others';
ALTER TABLE changes ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE changes ADD COLUMN until TEXT;
"""
# Version 4: each node's health as the controller last saw it (the state machine's memory across processes).
_SCHEMA_4 = """
CREATE TABLE IF NOT EXISTS node_health (
    node TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS health_saved (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at TEXT NOT NULL
);
"""
# _MIGRATIONS[n] brings a version-n file to version n + 1 (a new file starts at 0).
_MIGRATIONS = (_SCHEMA_1, _SCHEMA_2, _SCHEMA_3, _SCHEMA_4)

_SIGNAL_COLUMNS = (
    "kind, subject, condition, since, first_seen, last_seen, message, evidence, node, pool, zone, instance, image, "
    "source"
)

_ENTRY_COLUMNS = (
    "key, episode, step, subject, intent_at, outcome, outcome_at, intent_detail, outcome_detail, "
    "correlation_id, node, pool, count, leader, lease_transitions"
)


class JournalError(InputError):
    """The journal file cannot be used: corrupt, unreadable, or written by a newer nodewarden."""


def correlation_id_for(key: str) -> str:
    """The ARM correlation id for an idempotency key: a UUID derived from the key, the same on every attempt."""
    return str(uuid.uuid5(_CORRELATION_NAMESPACE, key))


class Journal:
    """One SQLite file; safe to share between threads (one connection behind a lock).

    Open a writer with `open()` and a reader with `open_readonly()`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._lock = threading.Lock()
        self._saved_health: dict[str, NodeHealth] | None = None  # what node_health holds, once read or written

    @classmethod
    def open(cls, state_dir: Path) -> Journal:
        """The writer: `state_dir/journal.sqlite3`, creating the directory (private) and the file if needed and
        bringing an older file's schema up to date."""
        try:
            state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"--state-dir {state_dir}: cannot create: {exc.strerror or exc}") from exc
        path = state_dir / FILE_NAME
        conn = _connect(path, str(path), uri=False)
        with _closed_on_failure(conn, path):
            # SQLite has created the file (empty, with the umask's mode); make it private before the -wal and
            # -shm exist, since SQLite gives them the database file's mode.
            os.chmod(path, 0o600)
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=FULL")
            _migrate(conn, path)
        return cls(path, conn)

    @classmethod
    def open_readonly(cls, state_dir: Path) -> Journal:
        """A reader: the journal in `state_dir` as it is, never created or migrated (`mode=ro`)."""
        path = state_dir / FILE_NAME
        if not path.is_file():
            raise JournalError(
                f"--state-dir {state_dir}: no {FILE_NAME} there; `nodewarden run --state-dir {state_dir}` keeps it"
            )
        conn = _connect(path, f"{path.absolute().as_uri()}?mode=ro", uri=True)
        with _closed_on_failure(conn, path):
            found = _version(conn, path)
        if found < SCHEMA_VERSION:
            conn.close()
            raise JournalError(
                f"journal {path}: written by an older nodewarden (schema {found}; this one reads {SCHEMA_VERSION}); "
                f"start `nodewarden run --state-dir {state_dir}` once to bring it up to date"
            )
        return cls(path, conn)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, held under the journal's lock: for the incident store, whose table is in this file."""
        with self._lock:
            yield self._conn

    # -- episodes -------------------------------------------------------------------------------------

    def open_episode(self, episode: Episode) -> None:
        """Journal a new episode; opening one that exists changes nothing."""
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR IGNORE INTO episodes (id, node, opened_at, pool, zone, instance, image, causes, state, "
                "closed_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    episode.id,
                    episode.node,
                    _text(episode.opened_at),
                    episode.pool,
                    episode.zone,
                    episode.instance,
                    episode.image,
                    json.dumps([cause.value for cause in episode.causes]),
                    episode.state.value,
                    _text(episode.closed_at) if episode.closed_at else None,
                    episode.note,
                ),
            )

    def close_episode(self, episode_id: str, state: EpisodeState, at: datetime, note: str) -> None:
        with self._lock, self._conn:
            cursor = self._conn.execute(
                "UPDATE episodes SET state = ?, closed_at = ?, note = ? WHERE id = ?",
                (state.value, _text(at), note, episode_id),
            )
            if cursor.rowcount == 0:
                raise LookupError(f"journal {self.path}: no episode {episode_id!r}")

    # -- entries --------------------------------------------------------------------------------------

    def intend(self, entry: JournalEntry) -> JournalEntry:
        """Journal a step before it is sent. A key already journaled is not written again: its row is returned,
        so the caller can tell a fresh intent (outcome PENDING, its own time) from a resumed or finished one."""
        correlation = entry.correlation_id or correlation_id_for(entry.key)
        with self._lock, self._conn:
            self._conn.execute(
                f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING",
                (
                    entry.key,
                    entry.episode,
                    entry.step.value,
                    entry.subject,
                    _text(entry.intent_at),
                    entry.outcome.value,
                    _text(entry.outcome_at) if entry.outcome_at else None,
                    entry.detail,
                    correlation,
                    entry.node,
                    entry.pool,
                    entry.count,
                    entry.leader,
                    entry.lease_transitions,
                ),
            )
            row = self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE key = ?", (entry.key,)).fetchone()
        return _entry(row)

    def record(self, key: str, outcome: Outcome, at: datetime, detail: str = "") -> None:
        """Journal a step's outcome after the call. The intent's detail is kept; `detail` is added to it."""
        with self._lock, self._conn:
            cursor = self._conn.execute(
                "UPDATE entries SET outcome = ?, outcome_at = ?, outcome_detail = ? WHERE key = ?",
                (outcome.value, _text(at), detail, key),
            )
            if cursor.rowcount == 0:
                raise LookupError(f"journal {self.path}: no intent with key {key!r}")

    def pending(self) -> tuple[JournalEntry, ...]:
        """Intents without an outcome, oldest first: in progress, or the controller died during the call."""
        return tuple(self._entries("WHERE outcome = ? ORDER BY seq", (Outcome.PENDING.value,)))

    def backlog(self) -> int:
        """How many intents have no outcome (a metric)."""
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*) FROM entries WHERE outcome = ?", (Outcome.PENDING.value,))
            return int(row.fetchone()[0])

    def entries(self, since: datetime | None = None) -> list[JournalEntry]:
        """Every entry (intended at or after `since`), in journal order."""
        if since is None:
            return self._entries("ORDER BY seq", ())
        return self._entries("WHERE intent_at >= ? ORDER BY seq", (_text(since),))

    def history(self, now: datetime, lookback: timedelta = timedelta(hours=24)) -> History:
        """What the planner needs: open episodes and those closed within `lookback`, each with its entries in
        order, and the zone compensations (SCALE) still outstanding, whatever their age."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, node, opened_at, pool, zone, instance, image, causes, state, closed_at, note "
                "FROM episodes WHERE state = ? OR closed_at >= ? ORDER BY opened_at, id",
                (EpisodeState.OPEN.value, _text(now - lookback)),
            ).fetchall()
        by_episode: dict[str, list[JournalEntry]] = {row[0]: [] for row in rows}
        if by_episode:
            marks = ", ".join("?" * len(by_episode))
            for entry in self._entries(f"WHERE episode IN ({marks}) ORDER BY seq", tuple(by_episode)):
                by_episode[entry.episode].append(entry)
        episodes = tuple(_episode(row, by_episode[row[0]]) for row in rows)
        scale = self._entries("WHERE step = ? ORDER BY seq", (Step.SCALE.value,))
        return History(episodes=episodes, scale_entries=outstanding_scale(scale))

    def _entries(self, where: str, params: tuple[object, ...]) -> list[JournalEntry]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries {where}", params).fetchall()
        return [_entry(row) for row in rows]

    # -- holds ----------------------------------------------------------------------------------------

    def hold(self, hold: Hold, at: datetime) -> bool:
        """Journal a hold. True when it is new: the same subject, reason and step was not journaled in the last
        ten minutes. A repeat only bumps the earlier row (count, last time, latest message), so a hold that
        lasts an hour is six rows and six Events, not one per cycle."""
        step = hold.step.value if hold.step else ""
        with self._lock, self._conn:
            row = self._conn.execute(
                "SELECT seq FROM holds WHERE subject = ? AND reason = ? AND step = ? AND at > ? "
                "ORDER BY seq DESC LIMIT 1",
                (hold.subject, hold.reason.value, step, _text(at - HOLD_REPEAT)),
            ).fetchone()
            if row is not None:
                self._conn.execute(
                    "UPDATE holds SET repeats = repeats + 1, last_at = ?, message = ? WHERE seq = ?",
                    (_text(at), hold.message, row[0]),
                )
                return False
            self._conn.execute(
                "INSERT INTO holds (at, last_at, reason, subject, step, message, node, pool, zone) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_text(at), _text(at), hold.reason.value, hold.subject, step, hold.message, hold.node, hold.pool,
                 hold.zone),
            )  # fmt: skip
            return True

    def holds(self, since: datetime | None = None) -> list[tuple[datetime, Hold]]:
        """Journaled holds (first seen at or after `since`), oldest first, each with the time it was first seen."""
        query = "SELECT at, reason, subject, step, message, node, pool, zone FROM holds"
        params: tuple[str, ...] = ()
        if since is not None:
            query, params = query + " WHERE at >= ?", (_text(since),)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY seq", params).fetchall()
        return [
            (
                _time(at),
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

    # -- signals and changes ----------------------------------------------------------------------------

    def record_signals(self, signals: Sequence[Signal], now: datetime, *, source: str = "detection") -> None:
        """Log this cycle's signals: a fact (kind, subject, condition, since) not seen before gets a row with
        first_seen = last_seen = now; one seen before only moves last_seen (and takes the latest message)."""
        seen = _text(now)
        self._upsert_signals([
            (s.kind.value, s.subject, s.condition or "", _text(s.since), seen, seen, s.message,
             json.dumps(list(s.evidence)), s.node, s.pool, s.zone, s.instance, s.image, source)
            for s in signals
        ])  # fmt: skip

    def record_signal_records(self, records: Sequence[SignalRecord]) -> None:
        """Log signals that arrive whole (alerts taken in on the listener), with their own first and last seen."""
        self._upsert_signals([
            (r.kind.value, r.subject, r.condition or "", _text(r.since), _text(r.first_seen), _text(r.last_seen),
             r.message, json.dumps(list(r.evidence)), r.node, r.pool, r.zone, r.instance, r.image, r.source)
            for r in records
        ])  # fmt: skip

    def _upsert_signals(self, rows: list[tuple[str | None, ...]]) -> None:
        with self._lock, self._conn:
            self._conn.executemany(
                f"INSERT INTO signals ({_SIGNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, subject, condition, since) DO UPDATE SET "
                "last_seen = MAX(last_seen, excluded.last_seen), message = excluded.message, "
                "evidence = excluded.evidence",
                rows,
            )

    def signal_records(self, since: datetime | None = None) -> list[SignalRecord]:
        """Logged signals (last seen at or after `since`), in the order they began."""
        query = f"SELECT {_SIGNAL_COLUMNS} FROM signals"
        params: tuple[str, ...] = ()
        if since is not None:
            query, params = query + " WHERE last_seen >= ?", (_text(since),)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY since, kind, subject, condition", params).fetchall()
        return [_signal_record(row) for row in rows]

    def record_changes(self, changes: Sequence[ChangeRecord]) -> None:
        """Keep Activity Log changes; the same correlation id, operation and status is kept once. An operator's
        mark seen again keeps its latest expiry (`node` commands move it when their step ends)."""
        rows = [
            (_change_key(c), _text(c.at), c.caller, c.operation, c.resource, c.status, c.correlation_id,
             c.origin.value, c.actor, _text(c.until) if c.until else None)
            for c in changes
        ]  # fmt: skip
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT INTO changes (key, at, caller, operation, resource, status, correlation_id, "
                "origin, actor, until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET until = excluded.until "
                f"WHERE changes.origin = '{ChangeOrigin.OPERATOR.value}' AND excluded.origin = changes.origin",
                rows,
            )

    def changes(self, since: datetime | None = None) -> list[ChangeRecord]:
        """Kept changes (made at or after `since`), oldest first."""
        query = "SELECT at, caller, operation, resource, status, correlation_id, origin, actor, until FROM changes"
        params: tuple[str, ...] = ()
        if since is not None:
            query, params = query + " WHERE at >= ?", (_text(since),)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY at, key", params).fetchall()
        return [
            ChangeRecord(at=_time(at), caller=caller, operation=operation, resource=resource, status=status,
                         correlation_id=correlation, origin=ChangeOrigin(origin), actor=actor,
                         until=_time(until) if until else None)
            for at, caller, operation, resource, status, correlation, origin, actor, until in rows
        ]  # fmt: skip

    # -- node health ------------------------------------------------------------------------------------

    def save_health(self, health: Mapping[str, NodeHealth], *, now: datetime) -> None:
        """Keep this cycle's node health (the controller's, each cycle). Only rows that differ from what the
        file holds are written and nodes gone since are forgotten: at 5,000 nodes most rows stay as they are
        from one cycle to the next. One writer per state directory saves health (the controller)."""
        with self._lock:
            saved = self._saved_health if self._saved_health is not None else self._read_health()
            changed = [
                (name, h.state.value, json.dumps(_health_document(h), sort_keys=True))
                for name, h in health.items()
                if saved.get(name) != h
            ]
            gone = [(name,) for name in saved if name not in health]
            with self._conn:
                self._conn.executemany(
                    "INSERT INTO node_health (node, state, document) VALUES (?, ?, ?) "
                    "ON CONFLICT (node) DO UPDATE SET state = excluded.state, document = excluded.document",
                    changed,
                )
                self._conn.executemany("DELETE FROM node_health WHERE node = ?", gone)
                self._conn.execute(
                    "INSERT INTO health_saved (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                    (_text(now),),
                )
            self._saved_health = dict(health)

    def node_health(self, *, now: datetime) -> dict[str, NodeHealth]:
        """Each node's health as last saved, by node name; empty when none was saved within HEALTH_FRESH of
        `now` (no controller yet, or one stopped long enough that a node may have failed and recovered
        unseen: detection then starts afresh, as a new controller would)."""
        with self._lock:
            row = self._conn.execute("SELECT at FROM health_saved WHERE id = 1").fetchone()
            if row is None or now - _time(row[0]) > HEALTH_FRESH:
                return {}
            return self._read_health()

    def _read_health(self) -> dict[str, NodeHealth]:
        rows = self._conn.execute("SELECT document FROM node_health ORDER BY node").fetchall()
        found = (_health(json.loads(row[0])) for row in rows)
        return {h.node: h for h in found}

    # -- lifetime -------------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


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


def _connect(path: Path, target: str, *, uri: bool) -> sqlite3.Connection:
    try:
        return sqlite3.connect(target, uri=uri, timeout=BUSY_TIMEOUT, check_same_thread=False)
    except sqlite3.Error as exc:
        raise JournalError(f"journal {path}: cannot open: {exc}") from exc


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode (it stays so). Switching needs the file to itself and SQLite reports a
    conflict at once rather than waiting (two writers opening a new file together), so wait here as its busy
    handler would; once another writer has switched it, the pragma only reads the mode."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _version(conn: sqlite3.Connection, path: Path) -> int:
    """The file's schema version (0: a new, empty file); a newer one or a foreign SQLite file is refused."""
    # one read of the catalogue: another writer may commit the whole schema between two
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if "schema_version" not in names:
        if names:
            raise JournalError(f"journal {path}: an SQLite file, but not a nodewarden journal")
        return 0
    found = int(conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0)
    if found > SCHEMA_VERSION:
        raise JournalError(
            f"journal {path}: written by a newer nodewarden (schema {found}; this one reads up to "
            f"{SCHEMA_VERSION}); upgrade nodewarden or use another --state-dir"
        )
    return found


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction.

    Two writers may start at once, and schema 3's ALTER TABLEs cannot run twice, so the version is read
    again after BEGIN IMMEDIATE has taken the write lock: the second writer finds the first one's work done.
    (Not `executescript`: it commits any open transaction before it runs.)"""
    if _version(conn, path) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = _version(conn, path)
        for script in _MIGRATIONS[found:]:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
        if found < SCHEMA_VERSION:
            conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


@contextmanager
def _closed_on_failure(conn: sqlite3.Connection, path: Path) -> Iterator[None]:
    """Close a connection being set up if setting it up fails, and say what was wrong with the file."""
    try:
        yield
    except OSError as exc:
        conn.close()
        raise JournalError(f"journal {path}: cannot open: {exc.strerror or exc}") from exc
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise JournalError(f"journal {path}: not a nodewarden journal or corrupt: {exc}") from exc
    except JournalError:
        conn.close()
        raise


def _text(moment: datetime) -> str:
    """ISO-8601 in UTC with microseconds: one fixed width, so text order is time order in SQL."""
    if moment.tzinfo is None:
        raise ValueError(f"journal times must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _entry(row: tuple[object, ...]) -> JournalEntry:
    key, episode, step, subject, intent_at, outcome, outcome_at, intent_detail, outcome_detail, *rest = row
    correlation, node, pool, count, leader, transitions = rest
    detail = "; ".join(str(part) for part in (intent_detail, outcome_detail) if part)
    return JournalEntry(
        key=str(key),
        episode=str(episode),
        step=Step(str(step)),
        subject=str(subject),
        intent_at=_time(str(intent_at)),
        outcome=Outcome(str(outcome)),
        outcome_at=_time(str(outcome_at)) if outcome_at else None,
        detail=detail,
        correlation_id=str(correlation),
        node=str(node) if node is not None else None,
        pool=str(pool) if pool is not None else None,
        count=int(str(count)) if count is not None else None,
        leader=_optional(leader),
        lease_transitions=int(str(transitions)) if transitions is not None else None,
    )


def _episode(row: tuple[object, ...], entries: list[JournalEntry]) -> Episode:
    id_, node, opened_at, pool, zone, instance, image, causes, state, closed_at, note = row
    return Episode(
        id=str(id_),
        node=str(node),
        opened_at=_time(str(opened_at)),
        pool=_optional(pool),
        zone=_optional(zone),
        instance=_optional(instance),
        image=_optional(image),
        causes=tuple(SignalKind(cause) for cause in json.loads(str(causes))),
        state=EpisodeState(str(state)),
        closed_at=_time(str(closed_at)) if closed_at else None,
        note=str(note),
        entries=tuple(entries),
    )


def _signal_record(row: tuple[object, ...]) -> SignalRecord:
    kind, subject, condition, since, first_seen, last_seen, message, evidence, *rest = row
    node, pool, zone, instance, image, source = rest
    return SignalRecord(
        kind=SignalKind(str(kind)),
        subject=str(subject),
        since=_time(str(since)),
        first_seen=_time(str(first_seen)),
        last_seen=_time(str(last_seen)),
        message=str(message),
        evidence=tuple(str(line) for line in json.loads(str(evidence))),
        node=_optional(node),
        pool=_optional(pool),
        zone=_optional(zone),
        instance=_optional(instance),
        image=_optional(image),
        condition=str(condition) or None,
        source=str(source),
    )


def _change_key(change: ChangeRecord) -> str:
    """What makes a change one change: its correlation id, operation and status (an entry without a
    correlation id is told apart by its time, caller and resource instead)."""
    origin = change.correlation_id or f"{_text(change.at)} {change.caller} {change.resource}"
    return "\x1f".join((origin, change.operation, change.status))


def _health_document(health: NodeHealth) -> dict[str, object]:
    return {
        "node": health.node,
        "state": health.state.value,
        "since": _text(health.since),
        "pool": health.pool,
        "zone": health.zone,
        "image": health.image,
        "instance": health.instance,
        "signals": [_signal_document(s) for s in health.signals],
        "problemSince": _text(health.problem_since) if health.problem_since else None,
        "clearSince": _text(health.clear_since) if health.clear_since else None,
        "ready": health.ready,
        "readyFlips": [_text(flip) for flip in health.ready_flips],
    }


def _signal_document(signal: Signal) -> dict[str, object]:
    return {
        "kind": signal.kind.value,
        "scope": signal.scope.value,
        "subject": signal.subject,
        "since": _text(signal.since),
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
        since=_time(doc["since"]),
        pool=doc["pool"],
        zone=doc["zone"],
        image=doc["image"],
        instance=doc["instance"],
        signals=tuple(_signal(s) for s in doc["signals"]),
        problem_since=_time(doc["problemSince"]) if doc["problemSince"] else None,
        clear_since=_time(doc["clearSince"]) if doc["clearSince"] else None,
        ready=doc["ready"],
        ready_flips=tuple(_time(flip) for flip in doc["readyFlips"]),
    )


def _signal(doc: dict[str, Any]) -> Signal:
    return Signal(
        kind=SignalKind(doc["kind"]),
        scope=Scope(doc["scope"]),
        subject=doc["subject"],
        since=_time(doc["since"]),
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


def _optional(value: object) -> str | None:
    return None if value is None else str(value)

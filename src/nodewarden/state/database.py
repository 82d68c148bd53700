"""The state file: opening it (one writer entry point, one reader entry point), its schema and migrations.

Everything nodewarden keeps lives in one SQLite file, `journal.sqlite3`, under `--state-dir`: the steps
(`state/steps.py`), the evidence incidents are built from (`state/evidence.py`), each node's health
(`state/node_health.py`) and the incidents (`state/incidents.py`). WAL mode with `synchronous=FULL`, so an
intent the journal returned survives `kill -9` and power loss.

Only SQLite opens and closes the files. On Linux, closing any descriptor of a file drops every POSIX lock
the process holds on it; a stray `os.close` would silently release SQLite's WAL locks, and another
process's checkpoint would then delete the live -wal/-shm under the controller. So the file is created by
SQLite and made private with `chmod` (which opens nothing).

One writer migrates (`open_writer`: the controller, the demo host, a drill saving its verdict); readers
(`open_reader`: incidents, plan) open the file with `mode=ro` and never change it. A read-only connection
to a WAL file whose -wal/-shm are absent (no writer since the last clean close) creates them, with the
database file's mode, and leaves them behind on close (it may not checkpoint); the next writer to close
last removes them. In a directory it cannot write it still reads, from a private heap index.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nodewarden.errors import InputError

FILE_NAME = "journal.sqlite3"
SCHEMA_VERSION = 4
# How long a statement waits for another process's write before giving up: every write is one short
# transaction (a cycle's upserts at 5,000 nodes take well under a second), so this is ample.
BUSY_TIMEOUT = 30.0

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
# Version 2: the signal log, Activity Log changes and incidents.
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


class JournalError(InputError):
    """The journal file cannot be used: corrupt, unreadable, or written by a newer nodewarden."""


def open_writer(state_dir: Path) -> tuple[Path, sqlite3.Connection]:
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
    return path, conn


def open_reader(state_dir: Path) -> tuple[Path, sqlite3.Connection]:
    """A reader: the file in `state_dir` as it is, never created or migrated (`mode=ro`)."""
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
    return path, conn


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
    with immediate(conn):
        found = _version(conn, path)
        for script in _MIGRATIONS[found:]:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
        if found < SCHEMA_VERSION:
            conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One transaction that takes the write lock at its start (BEGIN IMMEDIATE), for a read whose answer the
    write depends on: another writer cannot commit in between. Committed at the end, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


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

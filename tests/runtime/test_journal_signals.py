"""The journal's signal log and change log: one row per fact however many cycles see it, and migration from v1."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nodewarden.model.health import Scope, Signal, SignalKind
from nodewarden.model.incident import ChangeRecord, SignalRecord
from nodewarden.model.remediation import Episode
from nodewarden.state import Journal, database

T0 = datetime(2026, 11, 26, 8, 0, 10, tzinfo=UTC)
NODE = "aks-user-12345678-vmss000001"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def signal(
    kind: SignalKind = SignalKind.HEARTBEAT_STALE,
    *,
    node: str = NODE,
    since: datetime = T0,
    condition: str | None = None,
) -> Signal:
    return Signal(
        kind=kind, scope=Scope.NODE, subject=node, since=since, message=f"{node}: {kind.value}",
        evidence=(f"Lease kube-node-lease/{node} renewed {since.isoformat()}",), node=node, pool="user",
        zone="eastus-1", instance="aks-user-12345678-vmss/1", image="AKSUbuntu-2204gen2containerd-202611.01.0",
        condition=condition,
    )  # fmt: skip


def change(
    status: str, *, when: datetime = T0, correlation: str = "c-1", caller: str = "alice@example.com"
) -> ChangeRecord:
    resource = "/subscriptions/s/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-user"
    return ChangeRecord(
        at=when, caller=caller, operation="Microsoft.Compute/virtualMachineScaleSets/write", resource=resource,
        status=status, correlation_id=correlation,
    )  # fmt: skip


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path) as opened:
        yield opened


def test_a_signal_seen_every_cycle_is_one_row_whose_last_seen_moves(journal: Journal) -> None:
    journal.record_signals([signal()], at(60))
    journal.record_signals([signal()], at(90))
    (record,) = journal.signal_records()
    assert (record.since, record.first_seen, record.last_seen) == (T0, at(60), at(90))
    assert (record.kind, record.node, record.pool, record.zone, record.source) == (
        SignalKind.HEARTBEAT_STALE, NODE, "user", "eastus-1", "detection"
    )  # fmt: skip
    assert record.evidence == (f"Lease kube-node-lease/{NODE} renewed {T0.isoformat()}",)
    assert record.condition is None


def test_a_new_onset_or_another_condition_is_another_fact(journal: Journal) -> None:
    journal.record_signals([signal(), signal(SignalKind.NODE_PROBLEM, condition="KubeletProblem")], at(60))
    journal.record_signals(
        [signal(since=at(600)), signal(SignalKind.NODE_PROBLEM, condition="ContainerRuntimeProblem")], at(660)
    )
    records = journal.signal_records()
    assert [(r.kind, r.condition, r.since, r.first_seen) for r in records] == [
        (SignalKind.HEARTBEAT_STALE, None, T0, at(60)),
        (SignalKind.NODE_PROBLEM, "ContainerRuntimeProblem", T0, at(660)),
        (SignalKind.NODE_PROBLEM, "KubeletProblem", T0, at(60)),
        (SignalKind.HEARTBEAT_STALE, None, at(600), at(660)),
    ]


def test_the_latest_message_is_kept_and_last_seen_never_moves_back(journal: Journal) -> None:
    journal.record_signals([signal()], at(120))
    journal.record_signals([replace(signal(), message="lease 5 min old")], at(60))  # a late writer
    (record,) = journal.signal_records()
    assert (record.last_seen, record.message) == (at(120), "lease 5 min old")


def test_signal_records_since_keeps_facts_still_seen_then(journal: Journal) -> None:
    journal.record_signals([signal(node="a")], at(60))
    journal.record_signals([signal(node="b")], at(600))
    assert [r.subject for r in journal.signal_records(since=at(300))] == ["b"]
    assert [r.subject for r in journal.signal_records(since=at(60))] == ["a", "b"]


def test_alerts_are_logged_with_their_source(journal: Journal) -> None:
    journal.record_signals([signal(SignalKind.NOT_READY)], at(60), source="alertmanager")
    assert [r.source for r in journal.signal_records()] == ["alertmanager"]


def test_a_change_is_kept_once_per_correlation_id_operation_and_status(journal: Journal) -> None:
    journal.record_changes([change("Started"), change("Succeeded", when=at(30))])
    journal.record_changes([change("Started"), change("Succeeded", when=at(30)), change("Started", correlation="c-2")])
    assert [(c.correlation_id, c.status, c.at) for c in journal.changes()] == [
        ("c-1", "Started", T0), ("c-2", "Started", T0), ("c-1", "Succeeded", at(30))
    ]  # fmt: skip
    assert [c.status for c in journal.changes(since=at(1))] == ["Succeeded"]


def test_changes_without_a_correlation_id_are_told_apart_by_time_and_caller(journal: Journal) -> None:
    journal.record_changes([change("Succeeded", correlation=""), change("Succeeded", correlation="", caller="bob")])
    journal.record_changes([change("Succeeded", correlation="")])
    assert sorted(c.caller for c in journal.changes()) == ["alice@example.com", "bob"]


def test_five_thousand_signals_seen_again_are_upserted_in_one_transaction(journal: Journal) -> None:
    """How long it takes is bench/journal_scale.py's business: a wall-clock bound fails on a busy machine."""
    batch = [signal(node=f"aks-user-12345678-vmss{n:06d}") for n in range(5000)]
    journal.record_signals(batch, at(60))
    commits: list[str] = []
    journal._conn.set_trace_callback(lambda statement: commits.append(statement) if statement == "COMMIT" else None)
    journal.record_signals(batch, at(90))
    journal._conn.set_trace_callback(None)
    assert commits == ["COMMIT"], "one transaction for the whole batch"
    assert len(journal.signal_records()) == 5000, "seen again: no new rows"
    assert len(journal.signal_records(since=at(90))) == 5000


def test_a_version_1_journal_is_migrated_and_keeps_its_episodes(tmp_path: Path) -> None:
    path = tmp_path / database.FILE_NAME
    with sqlite3.connect(path) as conn:
        conn.executescript(database._SCHEMA_1 + "INSERT INTO schema_version VALUES (1);")
        conn.execute(
            "INSERT INTO episodes (id, node, opened_at, causes, state) VALUES ('e1', ?, ?, '[]', 'open')",
            (NODE, T0.isoformat(timespec="microseconds")),
        )
    conn.close()
    with Journal.open(tmp_path) as journal:
        assert [e.id for e in journal.history(at(60)).open] == ["e1"]
        journal.record_signals([signal()], at(60))
        assert len(journal.signal_records()) == 1
        version = journal._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    assert version == database.SCHEMA_VERSION == len(database._MIGRATIONS)


def test_a_new_journal_is_created_at_the_current_version(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        journal.open_episode(Episode(id="e1", node=NODE, opened_at=T0))
        tables = {row[0] for row in journal._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"episodes", "entries", "holds", "signals", "changes", "incidents"} <= tables


def test_an_alert_taken_in_is_kept_with_its_own_times_and_source(journal: Journal) -> None:
    alert = SignalRecord(
        kind=SignalKind.NODE_PROBLEM,
        subject="aks-apps-1",
        since=at(0),
        first_seen=at(5),
        last_seen=at(5),
        message="KubeNodeNotReady",
        evidence=("alertmanager: severity=critical",),
        node="aks-apps-1",
        condition="KubeNodeNotReady",
        source="alertmanager",
    )
    journal.record_signal_records([alert])
    journal.record_signal_records([replace(alert, last_seen=at(65), message="still firing")])
    [kept] = journal.signal_records()
    assert kept == replace(alert, last_seen=at(65), message="still firing")

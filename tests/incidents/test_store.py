"""The incident's JSON shape (round trip, errors naming the field) and the SQLite store's own guarantees; what
it shares with the cluster's store is in tests/state/test_incidents_contract.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodewarden.errors import InputError
from nodewarden.incidents import codec
from nodewarden.model.drill import Verdict
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import (
    CauseKind,
    ChangeRecord,
    Evidence,
    HoldRecord,
    Hypothesis,
    Incident,
    IncidentState,
    SignalRecord,
)
from nodewarden.model.remediation import Hold, HoldReason, JournalEntry, Outcome, Step
from nodewarden.state import IncidentStore, Journal, JournalError

T0 = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
NODE = "aks-apps-12345678-vmss000001"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def incident(id_: str = "inc-20261126T080000Z-apps", *, start: float = 0) -> Incident:
    signal = SignalRecord(
        kind=SignalKind.HEARTBEAT_STALE, subject=NODE, since=at(start), first_seen=at(start + 50),
        last_seen=at(start + 300), message="lease not renewed", evidence=("Lease renewed 08:00:00",), node=NODE,
        pool="apps", zone="westeurope-1",
    )  # fmt: skip
    action = JournalEntry(
        key="e/cordon/1", episode="e", step=Step.CORDON, subject=NODE, intent_at=at(start + 120),
        outcome=Outcome.SUCCEEDED, outcome_at=at(start + 121), node=NODE, pool="apps",
    )  # fmt: skip
    return Incident(
        id=id_, title=f"{NODE} down (HeartbeatStale)", state=IncidentState.MITIGATED, impact_start=at(start),
        detected_at=at(start + 50), mitigation_started_at=at(start + 120), mitigated_at=at(start + 331.5),
        pool="apps", zone="westeurope-1", nodes=(NODE,), signals=(signal,), actions=(action,),
        holds=(HoldRecord(at(start + 200), Hold(HoldReason.PDB, NODE, "web-pdb allows 0", node=NODE,
                                                 step=Step.DRAIN)),),
        changes=(ChangeRecord(at(start - 600), "alice@example.com", "vmss/write", "vmss", "Succeeded", "c-1"),),
        hypotheses=(Hypothesis(CauseKind.GUEST_FAILURE, 0.7, "kubelet stopped",
                               supporting=(Evidence("KubeletProblem since 08:00", at(start)),)),),
    )  # fmt: skip


# -- codec ---------------------------------------------------------------------------------------------


def test_the_json_shape_has_camel_case_keys_utc_times_and_mttd_mttr() -> None:
    document = codec.incident_to_dict(incident())
    assert document["impactStart"] == "2026-11-26T08:00:00Z"
    assert document["mitigatedAt"] == "2026-11-26T08:05:31.500000Z"
    assert (document["mttdSeconds"], document["mttrSeconds"], document["resolvedAt"]) == (50.0, 331.5, None)
    assert document["signals"][0]["firstSeen"] == "2026-11-26T08:00:50Z"
    assert document["actions"][0]["correlationId"] == ""
    assert document["holds"][0] == {
        "at": "2026-11-26T08:03:20Z", "reason": "DisruptionBudget", "subject": NODE, "message": "web-pdb allows 0",
        "node": NODE, "pool": None, "zone": None, "step": "Drain",
    }  # fmt: skip
    assert document["hypotheses"][0]["supporting"][0] == {
        "text": "KubeletProblem since 08:00", "at": "2026-11-26T08:00:00Z", "weight": 1.0
    }  # fmt: skip
    assert json.loads(json.dumps(document)) == document


def test_a_document_with_a_wrong_field_names_it() -> None:
    document = codec.incident_to_dict(incident())
    document["holds"][0]["reason"] = "Bored"
    with pytest.raises(InputError, match=r"incident inc-20261126T080000Z-apps\.holds\[0\]\.reason: expected one of"):
        codec.incident_from_dict(document)
    del document["impactStart"]
    with pytest.raises(codec.IncidentFormatError, match=r"\.impactStart: missing"):
        codec.incident_from_dict(document)
    document = codec.incident_to_dict(incident()) | {"detectedAt": "2026-11-26T08:00:00"}
    with pytest.raises(codec.IncidentFormatError, match=r"\.detectedAt: expected an ISO-8601 time with a zone"):
        codec.incident_from_dict(document)
    with pytest.raises(codec.IncidentFormatError, match=r"\.nodes\[0\]: expected a string, found 3"):
        codec.incident_from_dict(codec.incident_to_dict(incident()) | {"nodes": [3]})


texts = st.text(max_size=12)
maybe_texts = st.none() | texts
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))]),
)  # fmt: skip
maybe_times = st.none() | times
tuples = st.lists(texts, max_size=3).map(tuple)
evidence = st.builds(Evidence, text=texts, at=maybe_times, weight=st.floats(allow_nan=False, allow_infinity=False))
incidents = st.builds(
    Incident,
    id=texts, title=texts, state=st.sampled_from(IncidentState), impact_start=times, detected_at=times,
    mitigation_started_at=maybe_times, mitigated_at=maybe_times, resolved_at=maybe_times, pool=maybe_texts,
    zone=maybe_texts, drill=maybe_texts, nodes=tuples, instances=tuples, pods=tuples, workloads=tuples,
    signals=st.lists(st.builds(
        SignalRecord, kind=st.sampled_from(SignalKind), subject=texts, since=times, first_seen=times,
        last_seen=times, message=texts, evidence=tuples, node=maybe_texts, pool=maybe_texts, zone=maybe_texts,
        instance=maybe_texts, image=maybe_texts, condition=maybe_texts, source=texts,
    ), max_size=3).map(tuple),
    actions=st.lists(st.builds(
        JournalEntry, key=texts, episode=texts, step=st.sampled_from(Step), subject=texts, intent_at=times,
        outcome=st.sampled_from(Outcome), outcome_at=maybe_times, detail=texts, correlation_id=texts,
        node=maybe_texts, pool=maybe_texts, count=st.none() | st.integers(),
    ), max_size=3).map(tuple),
    holds=st.lists(st.builds(HoldRecord, at=times, hold=st.builds(
        Hold, reason=st.sampled_from(HoldReason), subject=texts, message=texts, node=maybe_texts,
        pool=maybe_texts, zone=maybe_texts, step=st.none() | st.sampled_from(Step),
    )), max_size=3).map(tuple),
    changes=st.lists(st.builds(
        ChangeRecord, at=times, caller=texts, operation=texts, resource=texts, status=texts, correlation_id=texts
    ), max_size=3).map(tuple),
    hypotheses=st.lists(st.builds(
        Hypothesis, cause=st.sampled_from(CauseKind), score=st.floats(0, 1), summary=texts,
        supporting=st.lists(evidence, max_size=2).map(tuple), against=st.lists(evidence, max_size=2).map(tuple),
    ), max_size=2).map(tuple),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(incidents)
def test_an_incident_survives_a_round_trip_through_json(original: Incident) -> None:
    document = json.loads(json.dumps(codec.incident_to_dict(original)))
    assert codec.incident_from_dict(document) == original


# -- store ---------------------------------------------------------------------------------------------


def test_the_store_shares_the_journal_file_while_the_journal_writes(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal, IncidentStore.open(tmp_path) as store:
        store.save(incident())
        journal.record_changes([ChangeRecord(at(0), "alice@example.com", "vmss/write", "vmss", "Succeeded")])
        assert [i.id for i in store.list()] == ["inc-20261126T080000Z-apps"]
        assert len(journal.changes()) == 1
        assert store.journal._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def verdict(name: str) -> Verdict:
    return Verdict(drill=name, passed=True, fault=f"instance-crash on {NODE}", targets=(NODE,), started_at=at(-60),
                   fault_at=at(0), ended_at=at(900))  # fmt: skip


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    (tmp_path / "journal.sqlite3").write_bytes(b"not SQLite at all\n" * 200)
    with pytest.raises(JournalError, match="not a nodewarden journal or corrupt"):
        IncidentStore.open(tmp_path)

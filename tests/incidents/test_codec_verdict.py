"""A drill's verdict in the incident's JSON: round trip, documents from before drills, errors naming the field."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodewarden.incidents import codec
from nodewarden.model.drill import CheckPhase, CheckResult, Verdict
from nodewarden.model.incident import Incident, IncidentState
from tests.incidents.test_store import incident

T0 = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
NODE = "aks-apps-12345678-vmss000001"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def verdict(*, passed: bool = False) -> Verdict:
    return Verdict(
        drill="single-instance-crash",
        passed=passed,
        fault=f"instance-crash on {NODE}",
        targets=(NODE,),
        started_at=at(-30),
        fault_at=at(0),
        ended_at=at(900),
        checks=(
            CheckResult(CheckPhase.BEFORE, "all nodes Ready", True, "every node Ready", "21 of 21 Ready", 21),
            CheckResult(CheckPhase.EXPECT, "time to detect", passed, "<= 60s", "90s", 90.5),
            CheckResult(CheckPhase.AFTER, "no PDB violated", True, "0 violated", "0 violated"),
        ),
        aborted=None,
        rollback="nothing to undo",
        detected_at=at(90.5),
        restored_at=None,
    )


def drill_incident() -> Incident:
    return replace(incident(), drill="single-instance-crash", verdict=verdict())


def test_an_incident_and_its_verdict_survive_a_round_trip_through_json() -> None:
    document = json.loads(json.dumps(codec.incident_to_dict(drill_incident())))
    assert codec.incident_from_dict(document) == drill_incident()


def test_the_verdict_is_written_in_camel_case_with_utc_times() -> None:
    written = codec.incident_to_dict(drill_incident())["verdict"]
    assert written["faultAt"] == "2026-11-26T08:00:00Z"
    assert (written["restoredAt"], written["aborted"], written["passed"]) == (None, None, False)
    assert written["checks"][1] == {
        "phase": "expectation", "name": "time to detect", "passed": False, "target": "<= 60s", "measured": "90s",
        "value": 90.5,
    }  # fmt: skip


def test_an_incident_without_a_verdict_writes_the_document_it_always_had() -> None:
    assert "verdict" not in codec.incident_to_dict(incident())


def test_a_document_from_before_drills_still_loads() -> None:
    document = codec.incident_to_dict(incident())
    document.pop("verdict", None)
    assert codec.incident_from_dict(document) == incident()
    assert codec.incident_from_dict(document | {"verdict": None}).verdict is None


def document_with(change: dict[str, Any], check: dict[str, Any] | None = None) -> dict[str, Any]:
    document = codec.incident_to_dict(drill_incident())
    document["verdict"] |= change
    if check is not None:
        document["verdict"]["checks"][1] |= check
    return document


@pytest.mark.parametrize(
    ("change", "check", "message"),
    [
        ({"passed": "yes"}, None, r"\.verdict\.passed: expected true or false, found 'yes'"),
        ({"passed": 1}, None, r"\.verdict\.passed: expected true or false, found 1"),
        ({"faultAt": "08:00"}, None, r"\.verdict\.faultAt: expected an ISO-8601 time with a zone, found '08:00'"),
        ({"targets": [NODE, 7]}, None, r"\.verdict\.targets\[1\]: expected a string, found 7"),
        ({"checks": "none"}, None, r"\.verdict\.checks: expected a list of objects, found 'none'"),
        ({}, {"phase": "during"}, r"\.verdict\.checks\[1\]\.phase: expected one of steady-state before, expectation"),
        ({}, {"value": "90s"}, r"\.verdict\.checks\[1\]\.value: expected a number or null, found '90s'"),
        ({}, {"value": True}, r"\.verdict\.checks\[1\]\.value: expected a number or null, found True"),
    ],
    ids=["passed-text", "passed-int", "fault-time", "target", "checks", "phase", "value-text", "value-bool"],
)
def test_a_malformed_verdict_names_the_field(
    change: dict[str, Any], check: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(codec.IncidentFormatError, match=r"^incident inc-20261126T080000Z-apps" + message):
        codec.incident_from_dict(document_with(change, check))


def test_a_verdict_that_is_not_an_object_or_lacks_a_field_names_it() -> None:
    with pytest.raises(codec.IncidentFormatError, match=r"\.verdict: expected an object or null, found 'passed'"):
        codec.incident_from_dict(codec.incident_to_dict(incident()) | {"verdict": "passed"})
    document = codec.incident_to_dict(drill_incident())
    del document["verdict"]["checks"][0]["measured"]
    with pytest.raises(codec.IncidentFormatError, match=r"\.verdict\.checks\[0\]\.measured: missing"):
        codec.incident_from_dict(document)


texts = st.text(max_size=12)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))]),
)  # fmt: skip
checks = st.builds(
    CheckResult, phase=st.sampled_from(CheckPhase), name=texts, passed=st.booleans(), target=texts, measured=texts,
    value=st.none() | st.floats(allow_nan=False, allow_infinity=False),
)  # fmt: skip
verdicts = st.builds(
    Verdict, drill=texts, passed=st.booleans(), fault=texts, targets=st.lists(texts, max_size=3).map(tuple),
    started_at=times, fault_at=st.none() | times, ended_at=times, checks=st.lists(checks, max_size=4).map(tuple),
    aborted=st.none() | texts, rollback=st.none() | texts, detected_at=st.none() | times,
    restored_at=st.none() | times,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(verdicts)
def test_any_verdict_survives_a_round_trip_through_json(original: Verdict) -> None:
    kept = Incident("drill-x", "drill", IncidentState.RESOLVED, T0, T0, drill=original.drill, verdict=original)
    document = json.loads(json.dumps(codec.incident_to_dict(kept)))
    assert codec.incident_from_dict(document) == kept

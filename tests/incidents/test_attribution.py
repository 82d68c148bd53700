"""Whose change was it (issue 12): the classifier's order of evidence, and an operator's downtime excused."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodewarden.incidents import attribution
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import ChangeOrigin, ChangeRecord, SignalRecord
from nodewarden.model.operator_mark import OperatorMark, parse_mark, to_annotation
from tests.detect.builders import at, node_name, vm_id

PRINCIPAL = "5c6596d5-4a09-5f91-b41d-ac9945c244b6"  # the credential's object id, as the Activity Log's caller
NODE = node_name("apps", 1)
MARK = OperatorMark(step="Restart", actor="alice@example.com", reason="kernel patch", at=at(0), expires=at(900),
                    correlation_id="c-operator")  # fmt: skip
WHOSE = attribution.Attribution(
    ours=frozenset({"c-journal"}),
    marks={MARK.correlation_id: [(NODE, MARK)]},
    own_callers=frozenset({PRINCIPAL}),
)


def write(caller: str, correlation: str = "") -> ChangeRecord:
    return ChangeRecord(at=at(10), caller=caller, operation="Microsoft.Compute/virtualMachineScaleSets/virtualMachines/"
                        "restart/action", resource=vm_id("aks-apps-12345678-vmss", 1), status="Started",
                        correlation_id=correlation)  # fmt: skip


@dataclass(frozen=True)
class Case:
    desc: str
    change: ChangeRecord
    origin: ChangeOrigin
    actor: str = ""


CASES = [
    Case("a journal entry's correlation id is ours", write("someone", "c-journal"), ChangeOrigin.OURS),
    Case("our own principal is ours without a journal entry (a drill's undo)", write(PRINCIPAL), ChangeOrigin.OURS),
    Case("a mark's correlation id is the operator's, though made with our principal",
         write(PRINCIPAL, "c-operator"), ChangeOrigin.OPERATOR, "alice@example.com"),
    Case("AKS auto-repair's remediator is AKS", write("aks-remediator", "c-aks"), ChangeOrigin.AKS),
    Case("a user with an unknown correlation id is others", write("bob@contoso.com", "c-bob"), ChangeOrigin.OTHERS),
    Case("another principal is others", write("0f0f0f0f-0000-0000-0000-000000000000"), ChangeOrigin.OTHERS),
    Case("an origin already given is kept", replace(write("bob@contoso.com"), origin=ChangeOrigin.AKS),
         ChangeOrigin.AKS),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.desc for case in CASES])
def test_each_change_gets_its_origin(case: Case) -> None:
    classified = WHOSE.origin_of(case.change)
    assert classified.origin is case.origin
    assert classified.actor == case.actor
    if case.origin is ChangeOrigin.OPERATOR:
        assert classified.until == MARK.expires


def test_an_operators_mark_is_kept_as_a_change_and_read_back() -> None:
    kept = attribution.mark_change(MARK, node=NODE)
    assert kept.origin is ChangeOrigin.OPERATOR
    assert kept.operation == "nodewarden node restart: kernel patch"
    assert attribution.recorded_marks([kept, write("bob@contoso.com")]) == {MARK.correlation_id: [(NODE, MARK)]}


def down(first_seen: float, last_seen: float, *, node: str = NODE, kind: SignalKind = SignalKind.HEARTBEAT_STALE
         ) -> SignalRecord:  # fmt: skip
    return SignalRecord(kind=kind, subject=node, since=at(first_seen - 30), first_seen=at(first_seen),
                        last_seen=at(last_seen), message="down", node=node)  # fmt: skip


@dataclass(frozen=True)
class Downtime:
    desc: str
    signal: SignalRecord
    excused: bool


DOWNTIMES = [
    Downtime("down during the mark and back before it expired", down(60, 180), True),
    Downtime("still down, but the mark has not expired yet", down(60, 600), True),
    Downtime("still seen after the mark expired: it did not come back", down(60, 1200), False),
    Downtime("down before the mark: a failure the operator was fixing", down(-120, 180), False),
    Downtime("down after the mark expired", down(1000, 1100), False),
    Downtime("another node down during the mark", down(60, 180, node=node_name("apps", 2)), False),
    Downtime("a pressure signal is not downtime", down(60, 180, kind=SignalKind.DISK_PRESSURE), False),
]  # fmt: skip


@pytest.mark.parametrize("case", DOWNTIMES, ids=[case.desc for case in DOWNTIMES])
def test_an_operators_downtime_is_excused_only_if_the_node_came_back(case: Downtime) -> None:
    kept = attribution.excuse_operator_downtime([case.signal], WHOSE.windows())
    assert (kept == []) is case.excused


def test_one_signal_past_the_expiry_keeps_the_whole_downtime() -> None:
    """A node that did not come back: its earlier signals in the window stay too, so the incident is whole."""
    signals = [down(60, 300), down(90, 1200, kind=SignalKind.NOT_READY)]
    assert attribution.excuse_operator_downtime(signals, WHOSE.windows()) == signals


MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(text=st.text(max_size=200))
def test_a_mark_parser_never_raises_on_any_text(text: str) -> None:
    parse_mark(text)


def test_a_mark_nested_past_the_interpreters_limit_is_no_mark() -> None:
    """An annotation is anyone's text: 100,000 brackets (fits in Kubernetes' 256 KiB) must not stop the cycle."""
    assert parse_mark("[" * 100_000) is None


@given(
    step=st.sampled_from(["Restart", "Reimage", "Drain"]), actor=st.text(max_size=30), reason=st.text(max_size=60),
    start=MOMENTS, length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1)),
    correlation=st.uuids().map(str),
)  # fmt: skip
def test_a_mark_reads_back_as_written(
    step: str, actor: str, reason: str, start: datetime, length: timedelta, correlation: str
) -> None:
    mark = OperatorMark(step=step, actor=actor, reason=reason, at=start, expires=start + length,
                        correlation_id=correlation)  # fmt: skip
    assert parse_mark(to_annotation(mark)) == mark

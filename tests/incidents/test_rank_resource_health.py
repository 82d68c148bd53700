"""Resource Health as root-cause evidence: Azure's word on a platform host failure, a zone, planned maintenance,
and a silent guest on a VM Azure calls Available."""

from __future__ import annotations

from dataclasses import replace

from nodewarden.incidents.rank import RankContext, rank
from nodewarden.model.azure import AvailabilityStatus
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import CauseKind, SignalRecord
from nodewarden.model.snapshot import Snapshot
from tests.detect.builders import vm_id
from tests.incidents.test_rank import NOW, by_cause, cluster, incident, signal, texts

VMSS = "aks-user-12345678-vmss"


def reported(index: int, condition: str) -> SignalRecord:
    text = (
        f"Resource Health of instance {VMSS}/{index}: {condition.split('/')[0]}, reasonType {condition.split('/')[1]}"
    )
    return signal(SignalKind.RESOURCE_HEALTH, index, condition=condition, evidence=text)


def available(context: RankContext, *indexes: int) -> RankContext:
    """The context with Azure reporting these instances Available now."""
    statuses = tuple(
        AvailabilityStatus(
            id=f"{vm_id(VMSS, i)}/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
            availability_state="Available",
            context="Unknown",
        )
        for i in indexes
    )
    snapshot: Snapshot = replace(context.snapshot, availability=statuses)
    return replace(context, snapshot=snapshot)


def test_azure_reporting_a_platform_host_failure_makes_it_the_host_not_the_guest() -> None:
    silent = signal(SignalKind.HEARTBEAT_STALE, 7)
    hypotheses = rank(incident(silent, reported(7, "Unavailable/Unplanned")), cluster(), NOW)  # agent still "Ready"
    assert hypotheses[0].cause is CauseKind.HOST_FAILURE
    causes = by_cause(hypotheses)
    host, guest = causes[CauseKind.HOST_FAILURE], causes[CauseKind.GUEST_FAILURE]
    assert "Azure reports a platform host failure on aks-user-12345678-vmss000007" in texts(host.supporting)
    assert "Azure reports a platform host failure" in texts(guest.against)
    assert "VM agent still reports Ready" not in texts(host.against)


def test_a_silent_guest_on_a_vm_azure_calls_available_is_the_guest() -> None:
    hypotheses = by_cause(rank(incident(signal(SignalKind.HEARTBEAT_STALE, 7)), available(cluster(), 7), NOW))
    guest, host = hypotheses[CauseKind.GUEST_FAILURE], hypotheses[CauseKind.HOST_FAILURE]
    assert "The guest stopped responding; Azure says Available (Resource Health)" in texts(guest.supporting)
    assert guest.score > host.score
    without = by_cause(rank(incident(signal(SignalKind.HEARTBEAT_STALE, 7)), cluster(), NOW))
    assert guest.score > without[CauseKind.GUEST_FAILURE].score


def test_a_vm_azure_itself_reported_down_is_not_taken_for_a_silent_guest() -> None:
    silent = signal(SignalKind.HEARTBEAT_STALE, 7)
    context = available(cluster(), 7)  # recovered since: Available now, but the incident kept Azure's report
    guest = by_cause(rank(incident(silent, reported(7, "Unavailable/Unplanned")), context, NOW))[
        CauseKind.GUEST_FAILURE
    ]
    assert "Azure says Available" not in texts(guest.supporting)


def test_azure_reporting_a_zones_instances_down_supports_a_zone_outage() -> None:
    zone_one = (0, 3, 6)  # eastus-1
    records = [signal(SignalKind.READY_UNKNOWN, i) for i in zone_one]
    records += [reported(i, "Unavailable/Unplanned") for i in zone_one]
    hypotheses = by_cause(rank(incident(*records), cluster(), NOW))
    zone = hypotheses[CauseKind.ZONE_OUTAGE]
    assert "Azure Resource Health reports 3 of 3 (100%) instances of zone eastus-1 Unavailable" in texts(
        zone.supporting
    )


def test_azure_reporting_planned_maintenance_names_it() -> None:
    records = (signal(SignalKind.READY_UNKNOWN, 4), reported(4, "Unavailable/Planned"))
    hypotheses = rank(incident(*records), cluster(), NOW)
    assert hypotheses[0].cause is CauseKind.PLANNED_MAINTENANCE
    assert f"Resource Health of instance {VMSS}/4: Unavailable, reasonType Planned" in texts(hypotheses[0].supporting)
    assert "No Scheduled Event" not in texts(hypotheses[0].against)

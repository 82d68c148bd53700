"""Root-cause ranking on constructed incidents: each cause ranks first on its own evidence, names its sources,
and the score is the documented noisy-OR of the weights."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodewarden.incidents import rank_evidence
from nodewarden.incidents.rank import RankContext, rank
from nodewarden.model.azure import InstanceStatus, ScaleSetInstance, ScheduledEvent, VmAgent
from nodewarden.model.health import PROBLEMS, SignalKind
from nodewarden.model.incident import (
    CauseKind,
    ChangeRecord,
    Evidence,
    Hypothesis,
    Incident,
    IncidentState,
    SignalRecord,
)
from nodewarden.model.kube import KubeEvent, Node
from nodewarden.model.remediation import JournalEntry, Outcome, Step
from nodewarden.model.snapshot import Snapshot
from tests.detect.builders import T0, at, event, instance, node, node_name, scheduled_event, vm_id

OLD = "AKSUbuntu-2204gen2containerd-202611.01.0"
NEW = "AKSUbuntu-2204gen2containerd-202612.01.0"
POOL_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/demo/agentPools/user"
NOW = at(300)


def zone_of(index: int) -> str:
    return f"eastus-{index % 3 + 1}"


def signal(
    kind: SignalKind, index: int, *, since: datetime = T0, condition: str | None = None, evidence: str = ""
) -> SignalRecord:
    """A node signal on node `index` of pool user (zones round-robin over eastus-1..3)."""
    name = node_name("user", index)
    return SignalRecord(
        kind=kind,
        subject=name,
        since=since,
        first_seen=since + timedelta(seconds=20),
        last_seen=NOW,
        message=f"{kind.value} on {name}",
        evidence=(evidence,) if evidence else (),
        node=name,
        pool="user",
        zone=zone_of(index),
        instance=f"aks-user-12345678-vmss/{index}",
        condition=condition,
    )


def wide(kind: SignalKind, subject: str, message: str) -> SignalRecord:
    return SignalRecord(kind=kind, subject=subject, since=at(0), first_seen=at(20), last_seen=NOW, message=message)


def incident(
    *signals: SignalRecord, changes: Sequence[ChangeRecord] = (), actions: Sequence[JournalEntry] = ()
) -> Incident:
    return Incident(
        id="inc-test",
        title="test",
        state=IncidentState.OPEN,
        impact_start=min(s.since for s in signals),
        detected_at=min(s.first_seen for s in signals),
        pool="user",
        signals=tuple(signals),
        changes=tuple(changes),
        actions=tuple(actions),
    )


def cluster(
    count: int = 9,
    *,
    images: dict[int, str] | None = None,
    power: dict[int, str] | None = None,
    provisioning: dict[int, str] | None = None,
    conditions: dict[int, dict[str, tuple[str, datetime]]] | None = None,
    events: Sequence[KubeEvent] = (),
    scheduled: Sequence[ScheduledEvent] = (),
    agents: dict[int, str] | None = None,
) -> RankContext:
    nodes: list[Node] = []
    instances: list[ScaleSetInstance] = []
    for index in range(count):
        nodes.append(
            node("user", index, zone=zone_of(index), image=(images or {}).get(index, OLD),
                 conditions=(conditions or {}).get(index))
        )  # fmt: skip
        built = instance("user", index, zone=zone_of(index)[-1], power=(power or {}).get(index, "running"),
                         provisioning=(provisioning or {}).get(index, "succeeded"))  # fmt: skip
        instances.append(with_agent(built, (agents or {}).get(index, "Ready")))
    snapshot = Snapshot(nodes=tuple(nodes), instances=tuple(instances), events=tuple(events),
                        scheduled_events=tuple(scheduled))  # fmt: skip
    return RankContext.of(snapshot)


def with_agent(built: ScaleSetInstance, display: str) -> ScaleSetInstance:
    """The instance with its VM agent status as ARM shows it: Ready, or "Not Ready" once the guest is gone."""
    code = "ProvisioningState/succeeded" if display == "Ready" else "ProvisioningState/Unavailable"
    view = built.instance_view
    assert view is not None
    agent = VmAgent(vm_agent_version="2.13.1.1", statuses=[InstanceStatus(code=code, display_status=display)])
    return replace(built, instance_view=replace(view, vm_agent=agent))


def change(
    caller: str, operation: str, *, when: datetime, resource: str = POOL_ID, correlation: str = ""
) -> ChangeRecord:
    return ChangeRecord(at=when, caller=caller, operation=operation, resource=resource, status="Succeeded",
                        correlation_id=correlation)  # fmt: skip


def by_cause(hypotheses: Sequence[Hypothesis]) -> dict[CauseKind, Hypothesis]:
    return {h.cause: h for h in hypotheses}


def texts(lines: Sequence[Evidence]) -> str:
    return "\n".join(line.text for line in lines)


@dataclass(frozen=True)
class Case:
    desc: str
    cause: CauseKind
    build: Callable[[], tuple[Incident, RankContext]]
    mentions: str  # a supporting line of the first hypothesis names this source


def _zone() -> tuple[Incident, RankContext]:
    failing = [signal(SignalKind.HEARTBEAT_STALE, i) for i in (0, 3, 6)]
    zone = wide(SignalKind.ZONE_FAILURE, "eastus-1", "3 of 3 nodes of zone eastus-1 are failing (100%)")
    return incident(*failing, zone), cluster()


def _zonal_allocation() -> tuple[Incident, RankContext]:
    failing = [signal(SignalKind.INSTANCE_FAILED, i) for i in (0, 3)]
    return incident(*failing), cluster(
        provisioning={0: "failed/ZonalAllocationFailed", 3: "failed/ZonalAllocationFailed"}
    )


def _maintenance() -> tuple[Incident, RankContext]:
    text = "Scheduled Event E1 Reboot Scheduled NotBefore Thu, 26 Nov 2026 08:15:00 GMT: host maintenance"
    record = signal(SignalKind.SCHEDULED_EVENT, 2, condition="Reboot", evidence=text)
    return incident(record), cluster(scheduled=[scheduled_event("aks-user-12345678-vmss_2")])


def _maintenance_condition() -> tuple[Incident, RankContext]:
    record = signal(SignalKind.HEARTBEAT_STALE, 1)
    return incident(record), cluster(power={1: "starting"}, conditions={1: {"RebootScheduled": ("True", at(-600))}})


def _change() -> tuple[Incident, RankContext]:
    write = change("alice@contoso.com", "Microsoft.ContainerService/managedClusters/agentPools/write", when=at(-90))
    return incident(signal(SignalKind.HEARTBEAT_STALE, 4), changes=[write]), cluster()


def _bad_image() -> tuple[Incident, RankContext]:
    failing = [signal(SignalKind.NOT_READY, i) for i in (1, 2)]
    image = wide(SignalKind.IMAGE_FAILURE, NEW, f"2 of 2 nodes of image {NEW} are failing (100%)")
    return incident(*failing, image), cluster(images={1: NEW, 2: NEW})


def _disk_pressure() -> tuple[Incident, RankContext]:
    text = "Node aks-user-12345678-vmss000005 condition DiskPressure=True (KubeletHasDiskPressure)"
    record = signal(SignalKind.DISK_PRESSURE, 5, condition="DiskPressure", evidence=text)
    return incident(record), cluster()


def _oom() -> tuple[Incident, RankContext]:
    record = signal(SignalKind.MEMORY_PRESSURE, 5, condition="MemoryPressure")
    oom = event(node_name("user", 5), reason="OOMKilling", component="kernel-monitor", when=at(10),
                message="Killed process 4242 (java)")  # fmt: skip
    return incident(record), cluster(events=[oom])


def _kernel_deadlock() -> tuple[Incident, RankContext]:
    text = "Node aks-user-12345678-vmss000007 condition KernelDeadlock=True (DockerHung)"
    record = signal(SignalKind.NODE_PROBLEM, 7, condition="KernelDeadlock", evidence=text)
    hung = event(node_name("user", 7), reason="DockerHung", component="kernel-monitor", when=at(5))
    return incident(record), cluster(events=[hung])


def _kubelet_hang() -> tuple[Incident, RankContext]:
    return incident(signal(SignalKind.HEARTBEAT_STALE, 7)), cluster()


def _vm_crash() -> tuple[Incident, RankContext]:
    """Detection logs VMAgentUnresponsive beside the silent Lease while the instance view shows the agent down."""
    silent = signal(SignalKind.HEARTBEAT_STALE, 7)
    return incident(silent, signal(SignalKind.VM_AGENT_UNRESPONSIVE, 7)), cluster(agents={7: "Not Ready"})


def _network_unavailable() -> tuple[Incident, RankContext]:
    failing = [signal(SignalKind.NETWORK_UNAVAILABLE, i, condition="NetworkUnavailable") for i in (0, 1, 2)]
    return incident(*failing), cluster()


def _many_silent_with_running_vms() -> tuple[Incident, RankContext]:
    return incident(*(signal(SignalKind.READY_UNKNOWN, i) for i in (0, 1, 2, 4))), cluster()


CASES = [
    Case("a whole zone silent, ZoneFailure", CauseKind.ZONE_OUTAGE, _zone, "Signal ZoneFailure eastus-1"),
    Case("instances failing ZonalAllocationFailed", CauseKind.ZONE_OUTAGE, _zonal_allocation, "ZonalAllocationFailed"),
    Case("a Scheduled Event for the node", CauseKind.PLANNED_MAINTENANCE, _maintenance, "Scheduled Event E1"),
    Case("AKS's RebootScheduled condition", CauseKind.PLANNED_MAINTENANCE, _maintenance_condition, "RebootScheduled"),
    Case("a human's pool write 90 s before", CauseKind.CHANGE, _change, "alice@contoso.com (user)"),
    Case("failures follow the new image", CauseKind.BAD_IMAGE, _bad_image, f"on image {NEW}: 2 of 2"),
    Case("DiskPressure", CauseKind.RESOURCE_EXHAUSTION, _disk_pressure, "Signal DiskPressure"),
    Case("MemoryPressure and an OOM kill", CauseKind.RESOURCE_EXHAUSTION, _oom, "Event OOMKilling"),
    Case("KernelDeadlock from node-problem-detector", CauseKind.GUEST_FAILURE, _kernel_deadlock, "KernelDeadlock"),
    Case("one kubelet silent on a running VM", CauseKind.GUEST_FAILURE, _kubelet_hang, "PowerState/running"),
    Case("one VM silent, its VM agent Not Ready too", CauseKind.HOST_FAILURE, _vm_crash, "VM agent stopped reporting"),
    Case("NetworkUnavailable on three nodes", CauseKind.NETWORK, _network_unavailable, "NetworkUnavailable"),
    Case("four nodes over three zones silent, VMs running", CauseKind.NETWORK, _many_silent_with_running_vms,
         "4 nodes NotReady or silent at once"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.desc for case in CASES])
def test_the_true_cause_ranks_first_and_its_evidence_names_the_source(case: Case) -> None:
    built, context = case.build()
    ranked = rank(built, context, NOW)
    assert ranked[0].cause is case.cause, [(h.cause.value, h.score) for h in ranked]
    assert ranked[0].score > ranked[1].score
    assert case.mentions in texts(ranked[0].supporting)


def test_every_case_covers_every_cause() -> None:
    assert {case.cause for case in CASES} == set(CauseKind)


@pytest.mark.parametrize("case", CASES, ids=[case.desc for case in CASES])
def test_every_cause_is_returned_sorted_with_scores_in_range_and_the_same_twice(case: Case) -> None:
    built, context = case.build()
    ranked = rank(built, context, NOW)
    assert sorted(h.cause for h in ranked) == sorted(CauseKind)
    assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)
    assert all(0.0 <= h.score <= 1.0 for h in ranked)
    assert all(h.score == 0.0 for h in ranked if not h.supporting)
    assert rank(built, context, NOW) == ranked


def test_a_crashed_vm_restarted_since_still_ranks_host_failure_from_what_the_incident_saw() -> None:
    """The instance view speaks of now: after the restart the VM agent is Ready again, and ranking the incident
    anew on that view alone called the crash a guest failure. The incident's VMAgentUnresponsive signal keeps
    what was seen while the node was down."""
    built, failing = _vm_crash()
    back = cluster()  # restarted: running, the agent Ready again
    without_the_agent_signal = replace(built, signals=tuple(s for s in built.signals if s.kind in PROBLEMS))
    assert rank(without_the_agent_signal, back, NOW)[0].cause is CauseKind.GUEST_FAILURE  # the view alone
    ranked = rank(built, back, NOW)
    assert ranked[0].cause is CauseKind.HOST_FAILURE, [(h.cause.value, h.score) for h in ranked]
    assert ranked[0] == rank(built, failing, NOW)[0]


def test_failures_spread_across_zones_count_against_a_zone_outage() -> None:
    built, context = incident(*(signal(SignalKind.HEARTBEAT_STALE, i) for i in (0, 1, 2))), cluster()
    zone = by_cause(rank(built, context, NOW))[CauseKind.ZONE_OUTAGE]
    assert "Failures spread across 3 zones" in texts(zone.against)
    assert zone.score < 0.1


def test_a_closer_change_weighs_more_and_nodewardens_own_steps_are_left_out() -> None:
    operation = "Microsoft.ContainerService/managedClusters/agentPools/write"
    failing = signal(SignalKind.HEARTBEAT_STALE, 4, since=at(3600))
    near = change("alice@contoso.com", operation, when=at(3540))
    far = change("ci-deployer", operation, when=at(600))
    ours = change("nodewarden", operation, when=at(3590), correlation="c-ours")
    step = JournalEntry(key="e/Restart/1", episode="e", step=Step.RESTART, subject=failing.subject,
                        intent_at=at(3590), outcome=Outcome.SUCCEEDED, correlation_id="c-ours")  # fmt: skip
    built = incident(failing, changes=[far, ours, near], actions=[step])
    hypothesis = by_cause(rank(built, cluster(), at(3700)))[CauseKind.CHANGE]
    weights = {line.text.split(": ")[1].split(" ")[0]: line.weight for line in hypothesis.supporting}
    assert set(weights) == {"alice@contoso.com", "ci-deployer"}
    assert weights["alice@contoso.com"] > weights["ci-deployer"] > 0
    assert "1m00s before impact" in texts(hypothesis.supporting)


def test_no_change_in_the_hour_before_is_evidence_against() -> None:
    stale = change("bob@contoso.com", "Microsoft.ContainerService/managedClusters/agentPools/write", when=at(-7200))
    hypothesis = by_cause(rank(incident(signal(SignalKind.HEARTBEAT_STALE, 1), changes=[stale]), cluster(), NOW))[
        CauseKind.CHANGE
    ]
    assert hypothesis.score == 0.0
    assert "No Activity Log write in the hour before impact" in texts(hypothesis.against)


def test_a_pool_mid_upgrade_supports_a_change() -> None:
    busy = wide(SignalKind.POOL_BUSY, "user", "pool user is Upgrading")
    hypothesis = by_cause(rank(incident(signal(SignalKind.NOT_READY, 1), busy), cluster(), NOW))[CauseKind.CHANGE]
    assert "Signal PoolBusy user" in texts(hypothesis.supporting)


def test_a_replacement_failing_the_same_way_points_at_the_image() -> None:
    replaced = node_name("user", 1)
    step = JournalEntry(key="e/Replace/1", episode="e", step=Step.REPLACE, subject=replaced, intent_at=at(0),
                        outcome=Outcome.SUCCEEDED, node=replaced, pool="user")  # fmt: skip
    built = incident(signal(SignalKind.NOT_READY, 1, since=at(-600)), signal(SignalKind.NOT_READY, 9, since=at(200)),
                     actions=[step])  # fmt: skip
    image = by_cause(rank(built, cluster(10), NOW))[CauseKind.BAD_IMAGE]
    assert "Step Replace on aks-user-12345678-vmss000001" in texts(image.supporting)
    assert "aks-user-12345678-vmss000009 failed the same way" in texts(image.supporting)


def test_a_recently_reimaged_failing_node_is_evidence_for_a_bad_image() -> None:
    reimage = change("alice@contoso.com", "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/reimage/action",
                     when=at(-120), resource=vm_id("aks-user-12345678-vmss", 3))  # fmt: skip
    image = by_cause(rank(incident(signal(SignalKind.NOT_READY, 3), changes=[reimage]), cluster(), NOW))[
        CauseKind.BAD_IMAGE
    ]
    assert "reimage/action 2m00s before it failed" in texts(image.supporting)
    assert f"Every node runs image {OLD}" in texts(image.against)


def test_stopped_vms_count_against_the_network_and_the_guest() -> None:
    built = incident(*(signal(SignalKind.HEARTBEAT_STALE, i) for i in (0, 1)))
    ranked = by_cause(rank(built, cluster(power={0: "stopped", 1: "stopped"}), NOW))
    assert "ARM reports the VM down or failed for 2 of 2" in texts(ranked[CauseKind.NETWORK].against)
    assert "ARM reports the VM down or failed for 2 of 2" in texts(ranked[CauseKind.GUEST_FAILURE].against)


def test_a_failing_node_without_a_notice_counts_against_maintenance() -> None:
    built, context = _maintenance()
    built = replace(built, signals=(*built.signals, signal(SignalKind.HEARTBEAT_STALE, 5)))
    maintenance = by_cause(rank(built, context, NOW))[CauseKind.PLANNED_MAINTENANCE]
    assert "No maintenance notice for 1 of 1 (100%) failing nodes" in texts(maintenance.against)


def test_the_context_counts_nodes_per_zone_and_per_image() -> None:
    context = cluster(images={0: NEW})
    assert context.nodes_per_zone == {"eastus-1": 3, "eastus-2": 3, "eastus-3": 3}
    assert context.nodes_per_image == {OLD: 8, NEW: 1}


weights = st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=6)


@given(support=weights, against=weights, extra=st.floats(min_value=0.0, max_value=1.0))
def test_the_score_stays_in_range_and_moves_the_right_way(
    support: list[float], against: list[float], extra: float
) -> None:
    lines = [Evidence("s", weight=w) for w in support]
    contra = [Evidence("a", weight=w) for w in against]
    score = rank_evidence.score(lines, contra)
    assert 0.0 <= score <= 1.0
    assert rank_evidence.score([*lines, Evidence("more", weight=extra)], contra) >= score
    assert rank_evidence.score(lines, [*contra, Evidence("more", weight=extra)]) <= score
    if not support:
        assert score == 0.0

"""Causes on the nodes themselves: a bad node image, resource exhaustion, a guest OS / kubelet failure, the VM
itself failing (a crash or a host failure).

Each function reads the incident's `Facts` and returns one Hypothesis with its evidence for and against;
the weights below say how strongly one fact alone points at (or away from) the cause (see `rank`).
"""

from __future__ import annotations

from datetime import timedelta

from nodewarden.incidents import rank_evidence, rank_platform
from nodewarden.incidents.rank_evidence import AffectedNode, Facts
from nodewarden.model import health, wording
from nodewarden.model.aks import key_from_resource_id
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import CauseKind, Evidence, Hypothesis
from nodewarden.model.remediation import Step
from nodewarden.model.timestamps import parse_time

RECENT = timedelta(hours=1)  # a node created or reimaged this long before it failed is "new"

# Bad image
IMAGE_SIGNAL = 0.8  # detection found ≥ 2 nodes of one image failing while other images are fine (ImageFailure)
IMAGE_SPLIT = 0.9  # times (share failing on the image − share failing on the others); halved for one node
RECENTLY_IMAGED = 0.3  # new or reimaged nodes failing fits a bad image, but new nodes fail for many reasons
REPLACEMENT_FAILS = 0.7  # a fresh replacement failing the same way: the image, not the machine
MIXED_IMAGES = 0.8  # against, times the share of failing nodes on other images than the busiest
ONE_IMAGE = 0.3  # against: every node runs the same image, so there is no healthy image to compare with
# Operations that put an image on an instance: reimage, a model update (write), a node image upgrade.
IMAGE_OPERATIONS = ("/reimage/action", "/reimageall/action", "/write", "/upgradenodeimageversion/action")

# Resource exhaustion
PRESSURE = 0.8  # the kubelet itself reports it is short of memory, disk or PIDs
FILL_PREDICTED = 0.5  # the disk will be full soon (a forecast)
METRIC_OUTLIER = 0.4  # a metric far from the pool's others
OOM_EVENT = 0.6  # the kernel killed processes for memory
NO_SIGN = 0.9  # against: nothing on the nodes says they ran short
OOM_REASONS = frozenset({"OOMKilling", "SystemOOM"})
RESOURCE_KINDS = {
    SignalKind.MEMORY_PRESSURE: PRESSURE,
    SignalKind.DISK_PRESSURE: PRESSURE,
    SignalKind.PID_PRESSURE: PRESSURE,
    SignalKind.DISK_FILL_PREDICTED: FILL_PREDICTED,
    SignalKind.METRIC_OUTLIER: METRIC_OUTLIER,
}

# Guest OS / kubelet / container runtime
NODE_PROBLEM = 0.8  # node-problem-detector names a guest fault (KernelDeadlock, ReadonlyFilesystem …)
NPD_EVENT = 0.5  # a node-problem-detector Event (TaskHung, KernelOops, DockerHung …)
KUBELET_SILENT = 0.6  # heartbeat lost or NotReady while ARM says the VM runs: the guest or its kubelet
SINGLE_NODE = 0.3  # one node alone: its own guest, not a shared cause (only with other guest evidence)
TOGETHER_PER_NODE = 0.25  # against, per node beyond the first failing at once (at most TOGETHER_MAX)
TOGETHER_MAX = 0.8
GUEST_VM_DOWN = 0.7  # against, times the share of failing nodes whose VM ARM reports down or failed
GUEST_AGENT_DOWN = 0.7  # against, times the share of silent nodes whose VM agent stopped answering too
GUEST_PLATFORM_DOWN = 0.7  # against: Azure Resource Health reports a platform (host) failure of the instance

# The VM itself (a guest crash, a host failure): its Lease stops, ARM still says running, and the VM agent in
# the guest stops reporting Ready ("VM Agent is unresponsive."), with no guest-side signal before it.
VM_UNRESPONSIVE = 0.8  # the kubelet and the VM agent both went silent while ARM says PowerState/running
HOST_SINGLE_NODE = 0.3  # one VM alone: its own host or guest, not a shared cause (only with other evidence)
HOST_GUEST_SIGNAL = 0.8  # against, times the share of failing nodes with a guest-side signal (NPD, pressure)
HOST_AGENT_READY = 0.8  # against, times the share of silent nodes whose VM agent still reports Ready
HOST_AZURE_AVAILABLE = 0.8  # against: Azure Resource Health reports the silent node's VM Available
HOST_TOGETHER_PER_NODE = 0.25  # against, per VM beyond the first failing at once (at most HOST_TOGETHER_MAX)
HOST_TOGETHER_MAX = 0.8
# Signals only a live guest can send: a VM whose guest reported these was alive when it failed.
GUEST_SIDE = frozenset({SignalKind.NODE_PROBLEM, SignalKind.MEMORY_PRESSURE, SignalKind.DISK_PRESSURE,
                        SignalKind.PID_PRESSURE, SignalKind.NETWORK_UNAVAILABLE})  # fmt: skip
# node-problem-detector's monitors (config/*.json `source`); AKS runs the same.
NPD_SOURCES = frozenset({"kernel-monitor", "systemd-monitor", "health-checker", "custom-plugin-monitor",
                         "abrt-adaptor", "node-problem-detector"})  # fmt: skip


def bad_image(facts: Facts) -> Hypothesis:
    """Failing nodes share an image while nodes on others are fine (ImageFailure), were imaged recently, or a
    replacement failed the same way; against: failures on several images, or one image everywhere."""
    supporting: list[Evidence] = [
        Evidence(f"Signal ImageFailure {r.subject}: {r.message}", at=r.since, weight=IMAGE_SIGNAL)
        for r in facts.records(SignalKind.IMAGE_FAILURE)[:1]
    ]
    against: list[Evidence] = []
    imaged = [node for node in facts.failing if node.image]
    by_image: dict[str, list[AffectedNode]] = {}
    for node in imaged:
        by_image.setdefault(node.image or "", []).append(node)
    top = max(sorted(by_image), key=lambda image: len(by_image[image])) if by_image else None
    if top is not None:
        here = by_image[top]
        on_image = max(facts.nodes_per_image.get(top, 0), len(here))
        elsewhere = len(imaged) - len(here)
        others = max(sum(n for image, n in facts.nodes_per_image.items() if image != top), elsewhere)
        share_here, share_elsewhere = len(here) / on_image, (elsewhere / others if others else 0.0)
        if others and share_here > share_elsewhere:
            supporting.append(
                Evidence(
                    f"Nodes failing on image {top}: {rank_evidence.share(len(here), on_image)}; on other images: "
                    f"{rank_evidence.share(elsewhere, others)}",
                    at=min(node.onset for node in here),
                    weight=IMAGE_SPLIT * (share_here - share_elsewhere) * (1.0 if len(here) >= 2 else 0.5),
                )
            )
        if not others:
            against.append(Evidence(f"Every node runs image {top}: no other image to compare with", weight=ONE_IMAGE))
        if elsewhere:
            images = ", ".join(f"{image} ({len(by_image[image])})" for image in sorted(by_image))
            against.append(Evidence(f"Failing nodes run {len(by_image)} images: {images}",
                                    weight=MIXED_IMAGES * elsewhere / len(imaged)))  # fmt: skip
    supporting += _recently_imaged(facts)
    supporting += _replacement_failed(facts)
    summary = f"Bad node image {top}" if top is not None else "No node image information"
    return rank_evidence.hypothesis(CauseKind.BAD_IMAGE, summary, supporting, against)


def _recently_imaged(facts: Facts) -> list[Evidence]:
    """Failing nodes created, or whose instance was reimaged or rewritten, within RECENT before they failed.

    A node counts as new only if it is newer than the cluster's first nodes: in a cluster created an hour
    ago every node is "recent", which says nothing about an image."""
    found: list[tuple[str, str]] = []
    born = [parse_time(node.metadata.creation_timestamp) for node in facts.snapshot.nodes]
    first_born = min((moment for moment in born if moment is not None), default=None)
    for node in facts.failing:
        meta = facts.snapshot.nodes_by_name.get(node.name)
        created = parse_time(meta.metadata.creation_timestamp) if meta is not None else None
        if (
            created is not None
            and first_born is not None
            and created > first_born
            and timedelta(0) <= node.onset - created <= RECENT
        ):
            found.append(
                (node.name, f"Node {node.name} created {rank_evidence.before(created, node.onset, 'it failed')}")
            )
            continue
        for change in facts.incident.changes:
            operation = change.operation.lower()
            if (
                node.instance is not None
                and key_from_resource_id(change.resource) == node.instance
                and operation.endswith(IMAGE_OPERATIONS)
                and timedelta(seconds=-rank_evidence.LEASE_GRACE) <= node.onset - change.at <= RECENT
            ):
                found.append(
                    (
                        node.name,
                        f"Instance {node.instance} of node {node.name}: Activity Log {change.caller} "
                        f"{change.operation} {rank_evidence.before(change.at, node.onset, 'it failed')}",
                    )
                )
                break
    if not found:
        return []
    names = [name for name, _ in found]
    more = f" (also {rank_evidence.listed(names[1:])})" if len(names) > 1 else ""
    return [Evidence(found[0][1] + more, weight=RECENTLY_IMAGED)]


def _replacement_failed(facts: Facts) -> list[Evidence]:
    """A REPLACE in the incident's actions, then another node of the same pool failing after it."""
    for entry in facts.incident.actions:
        if entry.step is not Step.REPLACE:
            continue
        later = [
            node
            for node in facts.failing
            if node.name != entry.node
            and node.onset >= entry.intent_at
            and (entry.pool is None or node.pool == entry.pool)
        ]
        if later:
            kinds = ", ".join(sorted(str(kind) for kind in later[0].kinds))
            return [
                Evidence(
                    f"Step Replace on {entry.subject} at {entry.intent_at.isoformat()} ({entry.key}), then "
                    f"{rank_evidence.listed(n.name for n in later)} failed the same way ({kinds})",
                    at=min(node.onset for node in later),
                    weight=REPLACEMENT_FAILS,
                )
            ]
    return []


def resource_exhaustion(facts: Facts) -> Hypothesis:
    """Memory, disk or PID pressure, DiskFillPredicted, MetricOutlier signals and OOM Events on the nodes."""
    supporting: list[Evidence] = []
    for kind, weight in RESOURCE_KINDS.items():
        records = facts.records(kind)
        nodes = sorted({r.node or r.subject for r in records})
        if records:
            first = records[0]
            text = first.evidence[0] if first.evidence else f"{first.subject}: {first.message}"
            more = f"; also on {rank_evidence.listed(nodes[1:])}" if len(nodes) > 1 else ""
            supporting.append(
                Evidence(f"Signal {kind.value}: {text}{more}", at=first.since,
                         weight=rank_evidence.repeated(weight, len(nodes)))
            )  # fmt: skip
    ooms = [(name, event) for name, event in facts.node_events() if event.reason in OOM_REASONS]
    if ooms:
        name, event = ooms[0]
        more = f" ({len(ooms) - 1} more OOM Events)" if len(ooms) > 1 else ""
        supporting.append(
            Evidence(f"Event {event.reason} on node {name} at {event.time} from {event.reporter}: {event.text}{more}",
                     at=parse_time(event.time), weight=OOM_EVENT)
        )  # fmt: skip
    against: list[Evidence] = []
    if not supporting:
        against.append(Evidence("No pressure condition, OOM Event or metric outlier on these nodes", weight=NO_SIGN))
    seen = [kind.value for kind in RESOURCE_KINDS if facts.records(kind)] + sorted({e.reason or "" for _, e in ooms})
    summary = f"Resource exhaustion: {', '.join(seen)}" if supporting else "No sign of resource exhaustion"
    return rank_evidence.hypothesis(CauseKind.RESOURCE_EXHAUSTION, summary, supporting, against)


def guest_failure(facts: Facts) -> Hypothesis:
    """node-problem-detector conditions and Events, heartbeat lost while ARM says the VM runs, one node alone;
    against: many nodes at once, VMs down."""
    supporting: list[Evidence] = []
    for record in facts.records(SignalKind.NODE_PROBLEM):
        text = record.evidence[0] if record.evidence else f"Node {record.subject} {record.message}"
        supporting.append(Evidence(text, at=record.since, weight=NODE_PROBLEM))
    npd = [(name, event) for name, event in facts.node_events()
           if event.reporter in NPD_SOURCES and event.reason not in OOM_REASONS]  # fmt: skip
    for name, event in npd[: wording.SHOWN]:
        supporting.append(
            Evidence(f"Event {event.reason} on node {name} at {event.time} from {event.reporter}: {event.text}",
                     at=parse_time(event.time), weight=NPD_EVENT)
        )  # fmt: skip
    failing = facts.failing
    vm_silent = [node for node in failing if node.kinds & health.KUBELET_SILENT and node.vm_healthy]
    silent = [node for node in vm_silent if not node.vm_unresponsive]  # the VM agent answers, the kubelet not
    if silent:
        supporting.append(
            Evidence(
                f"Heartbeat lost or NotReady while ARM says PowerState/running, no operation failed and the VM "
                f"agent still answers: {rank_evidence.listed(n.name for n in silent)}",
                at=min(node.onset for node in silent),
                weight=rank_evidence.repeated(KUBELET_SILENT, len(silent)),
            )
        )
    guest_only = rank_platform.available_while_silent(facts)
    if guest_only:
        supporting.append(
            Evidence(
                f"The guest stopped responding; Azure says Available (Resource Health) for "
                f"{rank_evidence.listed(n.name for n in guest_only)}",
                at=min(node.onset for node in guest_only),
                weight=rank_platform.HEALTH_AVAILABLE,
            )
        )
    if supporting and len(failing) == 1:
        supporting.append(Evidence(f"One node alone: {failing[0].name}", weight=SINGLE_NODE))
    against: list[Evidence] = []
    if len(failing) >= 2:
        against.append(
            Evidence(
                f"{len(failing)} nodes failed together: a shared cause is likelier than as many guest failures",
                weight=min(TOGETHER_MAX, TOGETHER_PER_NODE * (len(failing) - 1)),
            )
        )
    down = [node for node in failing if node.power is not None and not node.vm_healthy]
    if down:
        against.append(
            Evidence(
                f"ARM reports the VM down or failed for {rank_evidence.share(len(down), len(failing))} failing "
                f"nodes: {rank_evidence.listed(n.name for n in down)}",
                weight=GUEST_VM_DOWN * len(down) / len(failing),
            )
        )
    host = rank_platform.reported_host_failures(facts)
    if host:
        against.append(Evidence(f"{host[0].text}" + (f" (and {len(host) - 1} more)" if len(host) > 1 else ""),
                                at=host[0].at, weight=GUEST_PLATFORM_DOWN))  # fmt: skip
    gone = [node for node in vm_silent if node.vm_unresponsive]
    if gone:
        against.append(
            Evidence(
                f"The VM agent stopped answering too on {rank_evidence.share(len(gone), len(vm_silent))} silent "
                f"nodes: the whole VM went, not only its kubelet: {rank_evidence.listed(n.name for n in gone)}",
                weight=GUEST_AGENT_DOWN * len(gone) / len(vm_silent),
            )
        )
    problems = {node.name for node in facts.affected if SignalKind.NODE_PROBLEM in node.kinds} | {
        n.name for n in silent
    }
    summary = f"Guest OS or kubelet failure on {rank_evidence.listed(problems)}" if supporting else "No guest fault"
    return rank_evidence.hypothesis(CauseKind.GUEST_FAILURE, summary, supporting, against)


def host_failure(facts: Facts) -> Hypothesis:
    """The VM itself failed: its Lease stopped with no guest-side signal before, ARM says it runs, and its VM
    agent stopped reporting Ready; against: guest-side signals, a VM agent still Ready, many VMs at once."""
    failing = facts.failing
    silent = [node for node in failing if node.kinds & health.KUBELET_SILENT and node.vm_healthy]
    gone = [node for node in silent if node.vm_unresponsive and not node.kinds & GUEST_SIDE]
    supporting: list[Evidence] = []
    if gone:
        supporting.append(
            Evidence(
                f"{rank_evidence.AGENT_LOST}, with no guest-side signal before: "
                f"{rank_evidence.listed(n.name for n in gone)}",
                at=min(node.onset for node in gone),
                weight=rank_evidence.repeated(VM_UNRESPONSIVE, len(gone)),
            )
        )
    supporting += rank_platform.reported_host_failures(facts)
    if supporting and len(failing) == 1:
        supporting.append(Evidence(f"One VM alone: {failing[0].name}", weight=HOST_SINGLE_NODE))
    against: list[Evidence] = []
    guest = [node for node in failing if node.kinds & GUEST_SIDE]
    if guest:
        against.append(
            Evidence(
                f"The guest itself reported a problem on {rank_evidence.share(len(guest), len(failing))} failing "
                f"nodes: {rank_evidence.listed(n.name for n in guest)}",
                weight=HOST_GUEST_SIGNAL * len(guest) / len(failing),
            )
        )
    # Azure's own report of a host failure outweighs an agent status read before the host went (Resource Health)
    reported = rank_platform.platform_failed(facts)
    ready = [
        node for node in silent if node.agent is not None and not node.vm_unresponsive and node.name not in reported
    ]
    if ready:
        against.append(
            Evidence(
                f"The VM agent still reports Ready on {rank_evidence.share(len(ready), len(silent))} silent nodes: "
                f"the VM runs, its kubelet does not: {rank_evidence.listed(n.name for n in ready)}",
                weight=HOST_AGENT_READY * len(ready) / len(silent),
            )
        )
    guest_only = rank_platform.available_while_silent(facts)
    if guest_only:
        against.append(
            Evidence(
                f"Azure says Available (Resource Health) while the kubelet is silent on "
                f"{rank_evidence.listed(n.name for n in guest_only)}: the guest stopped, not the host",
                weight=HOST_AZURE_AVAILABLE,
            )
        )
    if len(failing) >= 2:
        against.append(
            Evidence(
                f"{len(failing)} nodes failed together: a shared cause is likelier than as many VM failures",
                weight=min(HOST_TOGETHER_MAX, HOST_TOGETHER_PER_NODE * (len(failing) - 1)),
            )
        )
    summary = f"The VM itself failed under {rank_evidence.listed(n.name for n in gone)}" if gone else "No VM failure"
    return rank_evidence.hypothesis(CauseKind.HOST_FAILURE, summary, supporting, against)

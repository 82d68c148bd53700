"""Azure Resource Health for the instances that matter: is Azure itself reporting them unavailable, and why?

One `availabilityStatuses/current` GET per instance (azure-mgmt-resourcehealth's `get_by_resource`), and only for
the instances under a node that is not Ready or with no node at all, at most `MOST_PER_CYCLE` a cycle (the ones
never read first, then the ones read longest ago; the others' last statuses are carried). Why not
the resource-group list: whether it lists scale-set VMs is not documented, it returns every resource in the node
resource group (disks, NICs, load balancers) each time, and a healthy fleet needs no answer. Why a cap: the calls
count against ARM's subscription reads (about 12,000 an hour, shared with the scale-set reads); at the observer's
30 s pace, 20 a cycle is at most 2,400 an hour, and in a zone outage the first 20 instances already say "zone".

Documents come back in the REST shape (`properties` nested, `occuredTime` as Azure spells it), so they load like
an exported file (Input.RESOURCE_HEALTH). Sits in observe/: it picks which resources to read from the Snapshot
and translates; it decides nothing about them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from nodewarden.connection import AzureClients
from nodewarden.errors import NodewardenError
from nodewarden.model import aks
from nodewarden.model.azure import AvailabilityStatus
from nodewarden.model.snapshot import Snapshot
from nodewarden.observe.live_azure import azure_call

MOST_PER_CYCLE = 20


def instances_to_read(snapshot: Snapshot) -> list[str]:
    """ARM ids of the instances whose node is not Ready or missing, by instance key."""
    ready_nodes = {node.metadata.name for node in snapshot.nodes if node.ready}
    node_of = {place.instance: name for name, place in snapshot.node_places.items() if place.instance}
    wanted: dict[str, str] = {}
    for instance in snapshot.instances:
        key = aks.key_of_instance(instance)
        if key is None or not instance.id:
            continue
        if node_of.get(key) not in ready_nodes:
            wanted[key] = instance.id
    return [wanted[key] for key in sorted(wanted)]


def next_reads(
    snapshot: Snapshot, carried: Sequence[AvailabilityStatus], *, most: int = MOST_PER_CYCLE
) -> tuple[list[str], tuple[AvailabilityStatus, ...]]:
    """This cycle's reads and what to carry: at most `most` of `instances_to_read`, those never read first, then
    those read longest ago (so a zone of more than `most` instances is covered over a few cycles, not its first
    `most` forever); and the carried statuses of the other instances still wanted."""
    wanted = instances_to_read(snapshot)
    known = {status.resource_id.lower(): status for status in carried}

    def staleness(resource_id: str) -> tuple[bool, str]:
        status = known.get(resource_id.lower())
        return (status is not None, (status.reported_time or "") if status is not None else "")

    reads = sorted(wanted, key=staleness)[: max(0, most)]
    chosen = {resource_id.lower() for resource_id in reads}
    kept = tuple(known[r.lower()] for r in wanted if r.lower() in known and r.lower() not in chosen)
    return reads, kept


def read_availability(azure: AzureClients, resource_ids: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Each resource's current availabilityStatuses document, and a note for each one that could not be read
    (one instance Azure cannot answer for must not blind the cycle)."""
    health = azure.health
    if health is None or not resource_ids:
        return [], []
    documents: list[dict[str, Any]] = []
    notes: list[str] = []
    for resource_id in resource_ids:
        what = f"the Resource Health of {resource_id.rsplit('/virtualMachineScaleSets/', 1)[-1]}"
        try:
            status = azure_call(
                functools.partial(health.availability_statuses.get_by_resource, resource_id.lstrip("/")), what=what
            )
        except NodewardenError as exc:
            notes.append(f"{what} not read: {exc}")
            continue
        documents.append(status.as_dict())
    return documents, notes

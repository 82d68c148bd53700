"""What only the cluster's record has to handle: names Kubernetes accepts, objects a person edited (a conflict
to re-decide, a record that cannot be read), and incidents too large for one object."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from lightkube import Client
from lightkube.types import PatchType

from nodewarden.model.incident import SignalRecord
from nodewarden.model.remediation import EpisodeState, Outcome, Step
from nodewarden.state.cluster import incidents as cluster_incidents
from nodewarden.state.cluster.incidents import ClusterIncidents
from nodewarden.state.cluster.remediations import ClusterSteps
from nodewarden.state.cluster.resources import IncidentResource, NodeRemediation, object_name
from nodewarden.state.journal import HISTORY_LOOKBACK
from tests.incidents.test_store import incident
from tests.state.builders import at, entry, episode

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def test_object_names_are_dns_labels_and_differ_for_ids_that_spell_alike() -> None:
    ids = ["aks-user-1@20261126T080010Z", "scale/user/20261126T080010Z", "Scale/User/20261126T080010Z", "x" * 300]
    names = [object_name(i) for i in ids]
    assert all(DNS_LABEL.match(n) and len(n) <= 63 for n in names), names
    assert len(set(names)) == len(names)
    assert object_name(ids[0]) == object_name(ids[0])


def test_a_person_editing_the_object_between_read_and_write_costs_a_reread_not_a_lost_write(
    kube_of: Callable[[], Client],
) -> None:
    steps = ClusterSteps(kube_of())
    ep = episode()
    steps.open_episode(ep)
    steps.intend(entry(ep, Step.CORDON, when=at(1)))
    name = object_name(ep.id)
    person = kube_of()
    person.patch(NodeRemediation, name, {"metadata": {"annotations": {"team": "sre"}}}, patch_type=PatchType.MERGE)
    steps.record(f"{ep.id}/cordon/1", Outcome.SUCCEEDED, at(2), "cordoned")  # 409 first, then written
    stored = person.get(NodeRemediation, name)
    assert stored.metadata is not None
    assert stored.metadata.annotations == {"team": "sre"}
    assert [(i["step"], i["outcome"]) for i in stored["status"]["intents"]] == [("Cordon", "succeeded")]
    assert stored["status"]["step"] == "Cordon"


def test_a_hand_edited_record_is_reported_once_and_its_node_held(kube_of: Callable[[], Client]) -> None:
    writer = ClusterSteps(kube_of())
    good, bad = episode("node-good"), episode("node-bad")
    for ep in (good, bad):
        writer.open_episode(ep)
        writer.intend(entry(ep, Step.CORDON, when=at(1)))
    patch = {"spec": {"causes": ["HeartbeatStale", "CosmicRay"]}}  # the schema allows any string; nodewarden not
    kube_of().patch(NodeRemediation, object_name(bad.id), patch, patch_type=PatchType.MERGE)
    warnings: list[str] = []
    reader = ClusterSteps(kube_of(), warn=warnings.append)
    reader.resync()
    reader.resync()
    assert warnings == [
        f"NodeRemediation {object_name(bad.id)}: spec.causes[1]: 'CosmicRay' is not a signal nodewarden knows; "
        "node node-bad is held until it is fixed"
    ]
    history = reader.history(at(60), HISTORY_LOOKBACK)
    assert [e.node for e in history.episodes] == ["node-good"]
    assert "cannot be read" in history.unreadable["node-bad"]
    assert [e.step for e in reader.pending()] == [Step.CORDON]  # only the readable episode's intent is resumed


def test_the_printer_columns_show_node_step_and_state(kube_of: Callable[[], Client]) -> None:
    steps = ClusterSteps(kube_of())
    ep = episode()
    steps.open_episode(ep)
    steps.intend(entry(ep, Step.DRAIN, when=at(1)))
    steps.close_episode(ep.id, EpisodeState.RECOVERED, at(2), "Ready")
    stored = kube_of().get(NodeRemediation, object_name(ep.id))
    assert (stored["spec"]["node"], stored["status"]["step"], stored["status"]["state"]) == (
        ep.node, "Drain", "recovered"
    )  # fmt: skip
    assert stored.metadata is not None
    assert stored.metadata.labels is not None
    assert stored.metadata.labels["nodewarden.io/node"] == ep.node


def test_an_incident_too_large_for_one_object_is_cut_and_says_so(kube_of: Callable[[], Client]) -> None:
    base = incident()
    [signal] = base.signals
    many = tuple(
        replace(signal, subject=f"node-{n}", evidence=tuple(f"line {k} " + "x" * 200 for k in range(20)))
        for n in range(2000)
    )  # fmt: skip
    big = replace(base, signals=many)
    store = ClusterIncidents(kube_of())
    store.save(big)
    kept = store.get(big.id)
    assert kept is not None
    assert 20 <= len(kept.signals) < len(many)
    assert all(
        isinstance(s, SignalRecord) and len(s.evidence) <= cluster_incidents.EVIDENCE_KEPT + 1 for s in kept.signals
    )
    assert (kept.signals[0].subject, kept.signals[-1].subject) == ("node-0", "node-1999")  # first and last kept
    stored = kube_of().get(IncidentResource, object_name(big.id))
    assert stored["spec"]["truncated"] is True
    assert kept.title == big.title
    assert kept.actions == big.actions

"""The incident store behaves the same in a state dir and in the cluster (Incident objects)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings

from nodewarden.model.incident import Incident, IncidentState
from nodewarden.state.record import expire_incidents
from tests.incidents.test_store import at, incident, incidents, verdict
from tests.state.conftest import OpenIncidents


def test_an_incident_is_saved_and_read_back_by_id(open_incidents: OpenIncidents) -> None:
    open_incidents().save(incident())
    store = open_incidents()
    assert store.get("inc-20261126T080000Z-apps") == incident()
    assert store.get("inc-nope") is None


def test_saving_again_replaces_the_incident_with_that_id(open_incidents: OpenIncidents) -> None:
    store = open_incidents()
    store.save(incident())
    resolved = replace(incident(), state=IncidentState.RESOLVED, resolved_at=at(931.5))
    store.save(resolved)
    assert open_incidents().list() == [resolved]


def test_the_list_is_newest_impact_first_and_a_merged_incident_can_be_deleted(open_incidents: OpenIncidents) -> None:
    store = open_incidents()
    for id_, start in (("a", 0), ("b", 0.5), ("c", 3600), ("d", 1)):
        store.save(incident(id_, start=start))
    assert [i.id for i in store.list()] == ["c", "d", "b", "a"]
    store.delete("d")
    store.delete("never-there")
    assert [i.id for i in open_incidents().list()] == ["c", "b", "a"]


def test_a_save_without_a_verdict_keeps_the_verdict_a_drill_stored_meanwhile(open_incidents: OpenIncidents) -> None:
    """The controller reads incidents, regroups and saves; a drill in another process saves its verdict on the
    same incident in between. The controller's save must not wipe the verdict (incidents list --drills lost it)."""
    controller, drill = open_incidents(), open_incidents()
    controller.save(incident())
    drill.save(replace(incident(), drill="crash", verdict=verdict("crash")))
    controller.save(replace(incident(), state=IncidentState.RESOLVED, resolved_at=at(931.5)))
    kept = controller.get("inc-20261126T080000Z-apps")
    assert kept is not None
    assert (kept.state, kept.drill, kept.verdict) == (IncidentState.RESOLVED, "crash", verdict("crash"))
    drill.save(replace(incident(), drill="crash-again", verdict=verdict("crash-again")))
    again = controller.get("inc-20261126T080000Z-apps")
    assert again is not None
    assert again.verdict == verdict("crash-again")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(original=incidents)
def test_any_incident_survives_the_store(open_incidents: OpenIncidents, original: Incident) -> None:
    store = open_incidents()
    store.save(original)
    assert store.get(original.id) == original
    store.delete(original.id)


def test_incidents_resolved_longer_ago_than_the_retention_are_forgotten(open_incidents: OpenIncidents) -> None:
    store = open_incidents()
    old = replace(incident("old"), state=IncidentState.RESOLVED, resolved_at=at(3600))
    recent = replace(incident("recent", start=86_400 * 20), state=IncidentState.RESOLVED, resolved_at=at(86_400 * 21))
    still_open = incident("open", start=0)
    for kept in (old, recent, still_open):
        store.save(kept)
    assert expire_incidents(store, at(86_400 * 31) - timedelta(days=30)) == 1
    assert sorted(i.id for i in open_incidents().list()) == ["open", "recent"]

"""The AKS auto-repair emulation: after 5 minutes NotReady, reboot, then reimage, as aks-remediator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nodewarden.twin.service import Twin


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin("small", auto_repair=True) as running:
        yield running


def _ready(twin: Twin, name: str) -> str:
    node = twin.world.store.get("nodes", None, name)
    assert node is not None
    return str(next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"))


def _remediator_operations(twin: Twin) -> list[str]:
    return [
        entry["operationName"]["value"]
        for entry in twin.azure.activity_log()
        if entry.get("caller") == "aks-remediator" and entry["status"]["value"] == "Started"
    ]


def _repair_events(twin: Twin) -> list[str]:
    return [
        e["reason"]
        for e in twin.world.store.items("events")
        if e.get("source", {}).get("component") == "aks-auto-repair"
    ]


def _node(twin: Twin) -> str:
    return str(
        next(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"])
    )


def test_a_node_hung_for_five_minutes_is_rebooted_by_aks_and_comes_back(twin: Twin) -> None:
    victim = _node(twin)
    twin.inject("kubelet-hang", target=victim)
    twin.advance(300)
    assert _remediator_operations(twin) == []  # not yet: the node is NotReady for less than 5 minutes
    twin.advance(90)
    assert len(_remediator_operations(twin)) == 1
    assert "restart" in _remediator_operations(twin)[0].lower()
    assert _repair_events(twin) == ["NodeRebootStart"]
    twin.advance(180)
    assert _ready(twin, victim) == "True"


def test_a_node_that_stays_broken_climbs_the_ladder_to_reimage(twin: Twin) -> None:
    # In a zone outage the reboot fails, the node stays down, and AKS tries the next rung.
    victim = next(
        n["metadata"]["name"]
        for n in twin.world.store.items("nodes")
        if n["metadata"]["labels"]["topology.kubernetes.io/zone"] == "westeurope-1"
    )
    twin.inject("zone-outage", target="1")
    twin.advance(390)
    assert _repair_events(twin).count("NodeRebootStart") >= 1
    twin.advance(330)
    assert _ready(twin, victim) == "Unknown"
    assert "NodeReimageStart" in _repair_events(twin)


def test_auto_repair_is_off_unless_asked_for() -> None:
    with Twin("small") as twin:
        victim = _node(twin)
        twin.inject("kubelet-hang", target=victim)
        twin.advance(900)
        assert _remediator_operations(twin) == []

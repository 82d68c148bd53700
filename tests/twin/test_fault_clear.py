"""Taking a fault out again (`twin.clear`, `nodewarden twin clear`): the world heals as it would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nodewarden.twin import faults
from nodewarden.twin.service import Twin


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin("small") as running:
        yield running


def _ready(twin: Twin, name: str) -> str:
    node = twin.world.store.get("nodes", None, name)
    assert node is not None
    return str(next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"))


def _apps_node(twin: Twin) -> str:
    return str(
        next(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"])
    )


def test_a_cleared_kubelet_hang_brings_the_node_back_ready_once_twin_time_moves(twin: Twin) -> None:
    victim = _apps_node(twin)
    twin.inject("kubelet-hang", target=victim)
    twin.advance(70)
    assert _ready(twin, victim) == "Unknown"
    assert twin.clear("kubelet-hang", victim) == f"the kubelet on {victim} resumes"
    twin.advance(15)
    assert _ready(twin, victim) == "True"
    assert twin.world.active_faults == {}


def test_a_cleared_crash_is_healed_by_the_platform_reboot(twin: Twin) -> None:
    victim = _apps_node(twin)
    twin.inject("instance-crash", target=victim)
    twin.advance(70)
    assert _ready(twin, victim) == "Unknown"
    assert "service healing" in twin.clear("instance-crash", victim)
    twin.advance(300)
    assert _ready(twin, victim) == "True"
    assert twin.clear("instance-crash", victim).startswith("nothing to clear")


def test_clear_all_takes_out_every_fault_still_in_and_forgets_them(twin: Twin) -> None:
    victim = _apps_node(twin)
    twin.inject("disk-pressure", target=victim)
    twin.inject("zone-outage", target="2")
    twin.inject("arm-throttle")
    twin.inject("watch-drop")  # ends on its own: nothing to remember
    assert list(twin.world.active_faults) == [("disk-pressure", victim), ("zone-outage", "2"), ("arm-throttle", "")]
    assert twin.clear_all() == [f"DiskPressure is False on {victim}", "zone 2 restored", "arm-throttle off (rate 0)"]
    assert twin.world.active_faults == {}
    assert twin.clear_all() == []
    assert not twin.azure.draw_throttle()


def test_zone_restore_counts_as_clearing_the_outage(twin: Twin) -> None:
    twin.inject("zone-outage", target="westeurope-1")
    twin.inject("zone-restore", target="1")
    assert twin.world.active_faults == {}


def test_a_fault_that_ends_on_its_own_has_nothing_to_clear(twin: Twin) -> None:
    with pytest.raises(faults.FaultError, match="watch-drop has nothing to clear"):
        twin.clear("watch-drop")
    with pytest.raises(faults.FaultError, match="needs --target"):
        twin.clear("kubelet-hang")


def test_the_clock_mode_names_the_speed(twin: Twin) -> None:
    """`twin serve` prints it: before, "(clock: real time × speed)" without the value."""
    assert twin.clock_mode == "manual"
    for speed, said in ((10.0, "real time × 10"), (2.5, "real time × 2.5")):
        with Twin("small", speed=speed) as fast:
            assert fast.clock_mode == said

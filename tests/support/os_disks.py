"""A built-in scenario whose named pools have managed OS disks, so their instances can be deallocated.

The scenarios' pools have ephemeral OS disks, AKS's default, and Azure refuses to deallocate such instances
(twin/azure/state.py `EPHEMERAL_DEALLOCATE`); the tests that deallocate on purpose use this.
"""

from __future__ import annotations

from nodewarden.twin.scenario import Scenario, load_scenario


def with_managed_os_disks(name: str, *pools: str) -> Scenario:
    """Scenario `name` with `pools` (all when none is named) on managed OS disks."""
    scenario = load_scenario(name)
    changed = [
        pool.model_copy(update={"os_disk_type": "Managed"}) if not pools or pool.name in pools else pool
        for pool in scenario.pools
    ]
    return scenario.model_copy(update={"pools": changed})

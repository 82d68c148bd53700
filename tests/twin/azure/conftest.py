"""A small AKS cluster on the twin's Azure side, on a manual clock, with hooks that record what they hear."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from nodewarden.twin.azure import AzureState, Identity
from nodewarden.twin.clock import Clock
from nodewarden.twin.machines import MachineSpec

SUB = "00000000-0000-0000-0000-00000000c0de"
TENANT = "00000000-0000-0000-0000-0000000a11ce"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "twin-secret"
RG = "rg-twin"
CLUSTER = "aks1"
NODE_RG = "MC_rg-twin_aks1_eastus"
IMAGE = "AKSUbuntu-2204gen2containerd-202611.10.0"


@dataclass
class Heard:
    """What the Kubernetes side would have been told, with twin timestamps."""

    clock: Clock
    events: list[tuple[str, str, float]] = field(default_factory=list)
    health: dict[str, bool] = field(default_factory=dict)

    def boot(self, spec: MachineSpec, healthy: bool) -> None:
        self.events.append(("boot", spec.node_name, self.clock.elapsed()))
        self.health[spec.node_name] = healthy

    def down(self, name: str) -> None:
        self.events.append(("down", name, self.clock.elapsed()))

    def removed(self, name: str) -> None:
        self.events.append(("removed", name, self.clock.elapsed()))

    def about(self, name: str) -> list[tuple[str, float]]:
        return [(kind, at) for kind, node, at in self.events if node == name]


def build_state(clock: Clock, *, system: int = 3, user: int = 6) -> AzureState:
    state = AzureState(clock, subscription_id=SUB, resource_group=RG, cluster_name=CLUSTER, location="eastus")
    state.add_pool(
        "system",
        mode="System",
        vm_size="Standard_D4ds_v5",
        zones=["1", "2", "3"],
        count=system,
        node_image_version=IMAGE,
        taints=["CriticalAddonsOnly=true:NoSchedule"],
    )
    state.add_pool(
        "user",
        mode="User",
        vm_size="Standard_E8s_v5",
        zones=["1", "2", "3"],
        count=user,
        min_count=3,
        max_count=12,
        node_image_version=IMAGE,
        labels={"workload": "web"},
        os_disk_type="Managed",  # an E v5 size has no local disk to hold an ephemeral OS disk: it can deallocate
    )
    return state


def build_identity(clock: Clock, *, enforce_expiry: bool = True, token_lifetime: int = 3599) -> Identity:
    return Identity(
        clock,
        tenant_id=TENANT,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        enforce_expiry=enforce_expiry,
        token_lifetime=token_lifetime,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> AzureState:
    return build_state(clock)


@pytest.fixture
def heard(state: AzureState, clock: Clock) -> Heard:
    heard = Heard(clock)
    state.on_boot(heard.boot, replay=False)
    state.on_down(heard.down)
    state.on_removed(heard.removed)
    return heard

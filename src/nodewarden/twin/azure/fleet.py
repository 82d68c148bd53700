"""The simulated Azure fleet as plain records: agent pools, their scale set, its instances, and timings.

`AzureState` (state.py) owns and mutates these under its lock; `documents.py` renders them as ARM
JSON. Keeping them separate lets the renderer stay a pure function of the records.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from nodewarden.twin.azure.naming import base36

if TYPE_CHECKING:
    from nodewarden.twin.azure.operations import Operation


@dataclass(frozen=True)
class Timings:
    """Virtual seconds each scale-set operation takes (the issue: restart ≈1.5 min, reimage ≈4, redeploy ≈6,
    new instance ≈3).

    For operations that bring a VM up, the time runs until the kubelet is back: ARM reports the VM
    running (and the operation Succeeded) `boot` seconds earlier, while the guest is still booting.
    """

    create: float = 180.0
    restart: float = 90.0
    reimage: float = 240.0
    redeploy: float = 360.0
    start: float = 120.0
    power_off: float = 30.0
    deallocate: float = 60.0
    delete: float = 60.0
    boot: float = 30.0
    noop: float = 1.0  # an action with nothing to do (start on a running VM) still completes asynchronously
    failure: float = 30.0  # how long a doomed operation (zone outage, injected failure) runs before it fails
    cluster_update: float = 120.0


class Guest(enum.Enum):
    """What the instance's operating system is doing, as far as Kubernetes can tell."""

    DOWN = "down"  # off, crashed, or cut off by a zone outage: no kubelet
    BOOTING = "booting"  # ARM says running; the kubelet has not registered yet
    UP = "up"  # the kubelet runs (Ready unless the image is bad)


class Action(enum.StrEnum):
    """Instance actions, named by their per-VM URL segment (azure-mgmt-compute's request builders)."""

    RESTART = "restart"
    START = "start"
    POWER_OFF = "powerOff"
    DEALLOCATE = "deallocate"
    REDEPLOY = "redeploy"
    REIMAGE = "reimage"
    REIMAGE_ALL = "reimageall"
    DELETE = "delete"


@dataclass(frozen=True)
class Origin:
    """Who asked for an operation, as the Activity Log records it."""

    caller: str = "twin-operator"  # a user's UPN or a service principal's object id
    app_id: str | None = None  # the client (application) id the token was issued to
    method: str = "POST"
    client_request_id: str | None = None
    correlation_id: str | None = None


@dataclass(eq=False)
class Instance:
    """One Uniform-VMSS instance. `part` is the in-flight operation working on it, if any."""

    pool: Pool
    instance_id: int
    zone: str | None
    vm_id: str
    created_at: datetime
    image_version: str
    healthy_image: bool
    provisioning: str = "creating"  # creating|updating|succeeded|deleting|failed
    power: str = "starting"  # starting|running|stopping|stopped|deallocating|deallocated
    guest: Guest = Guest.DOWN
    crashed: bool = False
    fresh_disk: bool = True  # the OS disk was (re)created: the next boot starts without old disk state
    zone_down: bool = False
    failure_reason: str | None = None  # suffix of ProvisioningState/failed/<reason>
    status_time: datetime | None = None
    # Who started the instance's current lifecycle, as Resource Health tells it (resource_health.py): "user" (an
    # ARM operation), "platform" (a crash, service healing, an eviction) or "planned" (a Scheduled Event).
    cause: str = "platform"
    epoch: int = 0  # bumped by every new lifecycle: older timers see a stale epoch and do nothing
    part: Operation | None = None

    @property
    def computer_name(self) -> str:
        """The node name: computerNamePrefix + instance id in base 36, 6 digits (see `naming.base36`)."""
        return f"{self.pool.vmss_name}{base36(self.instance_id)}"

    @property
    def vm_name(self) -> str:
        """The ARM name of a Uniform VMSS VM: `<vmss>_<instanceId>`."""
        return f"{self.pool.vmss_name}_{self.instance_id}"

    @property
    def latest_model_applied(self) -> bool:
        return self.image_version == self.pool.node_image_version


@dataclass(eq=False)
class Pool:
    """An AKS agent pool and its one Uniform scale set."""

    name: str
    vmss_name: str
    mode: str  # System|User
    vm_size: str
    zones: tuple[str, ...]
    count: int  # the target count AKS reports
    min_count: int | None
    max_count: int | None
    autoscale: bool
    node_image_version: str
    os_sku: str
    max_pods: int
    taints: tuple[str, ...]
    spot: bool
    labels: dict[str, str]
    kubernetes_version: str
    created_at: datetime
    unique_id: str
    instances: dict[int, Instance] = field(default_factory=dict)
    next_instance_id: int = 0
    bad_image: bool = False
    good_image_version: str | None = None  # restored when a bad-image rollout is switched off
    provisioning: str = "Succeeded"  # Succeeded|Scaling|Failed
    eviction_policy: str = "Delete"  # Spot pools: Delete (the instance goes) or Deallocate (it stays, deallocated)
    os_disk_type: str = "Ephemeral"  # Ephemeral (AKS's default where the size allows) | Managed

    @property
    def ephemeral(self) -> bool:
        """An ephemeral OS disk lives on the host: such instances cannot be deallocated, only deleted."""
        return self.os_disk_type.lower() == "ephemeral"

"""The knobs of detection: heartbeat bounds, how long each problem must last, correlation shares.

Defaults follow Kubernetes and AKS timings: the kubelet renews its node Lease every 10 s, and the node
controller marks a silent node Unknown after node-monitor-grace-period (40 s, 50 s from Kubernetes 1.32).
The remediation policy builds its own `DetectSettings` when it overrides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from types import MappingProxyType

from nodewarden.errors import ConfigError
from nodewarden.model.health import SignalKind

# Seconds a problem must last, counted from its onset (see `health.onset`), before the node is Unhealthy.
# A dead instance or kubelet is acted on 10 s after it is detected: with the kubelet's 10 s lease renewals
# and a 20 s stale bound, a crash is Unhealthy about 30 s after the last renewal, ahead of the node
# controller's 40 s grace period. Pressures come and go with load, so they must persist for 5 minutes.
DEFAULT_UNHEALTHY_AFTER: Mapping[SignalKind, float] = MappingProxyType(
    {
        SignalKind.HEARTBEAT_STALE: 10.0,
        SignalKind.READY_UNKNOWN: 10.0,
        SignalKind.NOT_READY: 10.0,
        SignalKind.INSTANCE_STOPPED: 10.0,
        SignalKind.INSTANCE_DEALLOCATED: 10.0,
        SignalKind.INSTANCE_FAILED: 10.0,
        SignalKind.INSTANCE_MISSING: 10.0,
        SignalKind.MEMORY_PRESSURE: 300.0,
        SignalKind.DISK_PRESSURE: 300.0,
        SignalKind.PID_PRESSURE: 300.0,
        SignalKind.NODE_PROBLEM: 60.0,
        SignalKind.FLAPPING: 0.0,
        SignalKind.NOT_REGISTERED: 0.0,  # the startup timeout (`not_registered_after`) already waited
        SignalKind.SCHEDULED_EVENT: 0.0,  # the platform's deadline does not wait for us
        SignalKind.METRIC_OUTLIER: 600.0,
        SignalKind.DISK_FILL_PREDICTED: 0.0,
    }
)

# node-problem-detector conditions that make a node unfit for pods. Sources:
# - kubernetes/node-problem-detector config/kernel-monitor.json (KernelDeadlock, ReadonlyFilesystem),
#   config/systemd-monitor*.json and config/health-checker-*.json (FrequentKubeletRestart,
#   FrequentDockerRestart, FrequentContainerdRestart, KubeletUnhealthy, ContainerRuntimeUnhealthy);
# - AKS: learn.microsoft.com/azure/aks/node-problem-detector (FilesystemCorruptionProblem, KubeletProblem,
#   ContainerRuntimeProblem, FrequentUnregisterNetDevice, and for GPU pools GPUMissing and
#   NVLinkStatusInactive; see also learn.microsoft.com/azure/aks/gpu-health-monitoring).
# VMEventScheduled is left out on purpose: the Scheduled Event itself is read from IMDS.
DEFAULT_NPD_CONDITIONS: frozenset[str] = frozenset(
    {
        "KernelDeadlock",
        "ReadonlyFilesystem",
        "FilesystemCorruptionProblem",
        "KubeletProblem",
        "ContainerRuntimeProblem",
        "KubeletUnhealthy",
        "ContainerRuntimeUnhealthy",
        "FrequentKubeletRestart",
        "FrequentContainerdRestart",
        "FrequentDockerRestart",
        "FrequentUnregisterNetDevice",
        "GPUMissing",
        "NVLinkStatusInactive",
    }
)


@dataclass(frozen=True)
class DetectSettings:
    """Every threshold detection uses; times are seconds, shares are fractions of 1."""

    lease_interval: float = 10.0  # kubelet renews its node Lease every 10 s
    stale_intervals: float = 2.0  # heartbeat stale after more than this many missed renewals
    unhealthy_after: Mapping[SignalKind, float] = field(default_factory=lambda: DEFAULT_UNHEALTHY_AFTER)
    unlisted_unhealthy_after: float = 60.0  # for a problem kind missing from `unhealthy_after`
    not_registered_after: float = 600.0  # an instance running this long with no node never registered
    flap_transitions: int = 4  # Ready changes within `flap_window` that make a node Flapping
    flap_window: float = 600.0
    zone_share: float = 0.5  # ZoneFailure: at least this share of a zone's nodes failing together
    zone_window: float = 600.0  # … with onsets within this many seconds of each other
    storm_share: float = 0.4  # PoolFailure/Storm: more than this share of a pool (or the cluster) failing
    recovered_stable: float = 300.0  # Recovered becomes Healthy after this long without problems
    auto_repair_window: float = 3600.0  # AKS auto-repair counts as active this long after its last sign
    autoscaler_window: float = 600.0  # a cluster-autoscaler ScaleDown event counts this long
    npd_conditions: frozenset[str] = DEFAULT_NPD_CONDITIONS
    outlier_z: float = 3.5  # robust z-score above which a node is an outlier in its pool
    outlier_min_pool: int = 4  # pools smaller than this have no meaningful median
    disk_fill_horizon: float = 6 * 3600.0  # predict a full disk this far ahead

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"detection setting {f.name}: expected a number ≥ 0, found {value}")
        for kind, seconds in self.unhealthy_after.items():
            if seconds < 0:
                raise ConfigError(f"detection setting unhealthy_after.{kind}: expected seconds ≥ 0, found {seconds}")
        for name in ("zone_share", "storm_share"):
            if getattr(self, name) > 1:
                raise ConfigError(
                    f"detection setting {name}: expected a share between 0 and 1, found {getattr(self, name)}"
                )

    @property
    def stale_after(self) -> timedelta:
        """How old a node Lease may be before the heartbeat is stale."""
        return timedelta(seconds=self.lease_interval * self.stale_intervals)

    def threshold(self, kind: SignalKind) -> timedelta:
        """How long a problem of `kind` must last, from its onset, before the node is Unhealthy."""
        return timedelta(seconds=self.unhealthy_after.get(kind, self.unlisted_unhealthy_after))

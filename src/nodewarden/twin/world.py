"""The world: one scenario made real — Azure state and Kubernetes physics, wired together by hooks.

The Azure side tells the Kubernetes side when an instance boots, goes down or is removed; nothing else
crosses. Faults reach both sides through the catalogue in faults.py.
"""

from __future__ import annotations

from nodewarden.twin import faults
from nodewarden.twin.autorepair import AutoRepair
from nodewarden.twin.azure import AzureState, Instance
from nodewarden.twin.clock import Clock
from nodewarden.twin.kube import storage
from nodewarden.twin.kube.physics import KubeWorld
from nodewarden.twin.kube.store import KubeStore
from nodewarden.twin.machines import MachineSpec
from nodewarden.twin.manifests import scenario_manifests
from nodewarden.twin.scenario import Scenario


class World:
    store: KubeStore
    kube: KubeWorld
    azure: AzureState

    def __init__(self, scenario: Scenario, *, clock: Clock, auto_repair: bool | None = None) -> None:
        cluster = scenario.cluster
        self.scenario = scenario
        self.clock = clock
        self.active_faults: dict[tuple[str, str], None] = {}  # (fault, target) injected and not yet cleared
        self.store = KubeStore(clock)
        self.kube = KubeWorld(self.store, clock)
        self.azure = AzureState(
            clock,
            subscription_id=cluster.subscription_id,
            resource_group=cluster.resource_group,
            cluster_name=cluster.name,
            location=cluster.location,
            kubernetes_version=cluster.kubernetes_version,
            tier=cluster.tier,
            tenant_id=cluster.tenant_id,
        )
        for pool in scenario.pools:
            self.azure.add_pool(
                pool.name,
                mode=pool.mode,
                vm_size=pool.vm_size,
                zones=pool.zones,
                count=pool.count,
                min_count=pool.min_count,
                max_count=pool.max_count,
                autoscale=pool.autoscale,
                node_image_version=pool.node_image_version,
                os_sku=pool.os_sku,
                max_pods=pool.max_pods,
                taints=tuple(pool.taints),
                spot=pool.spot,
                eviction_policy=pool.eviction_policy,
                os_disk_type=pool.os_disk_type,
                labels=dict(pool.labels),
            )
        with self.kube.quiet():  # a cluster that already existed: no creation events
            for storage_class in storage.aks_storage_classes():  # AKS creates them with the cluster
                self.kube.apply(storage_class)
            for manifest in scenario_manifests(scenario):
                self.kube.apply(manifest)
            self.azure.on_boot(self._booted)  # replays the instances already running: their kubelets register
            self.kube.settle()
        self.azure.on_down(self.kube.node_down)
        self.azure.on_removed(self.kube.node_deleted)
        for entry in scenario.schedule:
            self._schedule(entry.at, entry.fault, entry.target, dict(entry.options))
        wanted = scenario.auto_repair if auto_repair is None else auto_repair
        self.auto_repair = AutoRepair(self.kube, self.azure, clock) if wanted else None

    def _booted(self, spec: MachineSpec, healthy: bool) -> None:
        instance = self.azure.instance(spec.node_name)
        self.kube.node_booted(spec, healthy=healthy, fresh_disk=instance.fresh_disk)

    def _schedule(self, at: float, fault: str, target: str | None, options: dict[str, object]) -> None:
        if fault not in faults.BY_NAME:
            raise faults.FaultError(f"scenario schedule: no fault {fault!r}; known: {', '.join(faults.BY_NAME)}")
        self.clock.call_later(at, lambda: faults.inject(self, fault, target, options))

    def stop(self) -> None:
        if self.auto_repair is not None:
            self.auto_repair.stop()
        self.kube.stop()

    # -- resolving fault targets ---------------------------------------------------------------------

    def instance_of(self, target: str | None) -> Instance:
        """The instance under a node (by node name, VM name, ARM id or providerID)."""
        try:
            return self.azure.instance(target or "")
        except (KeyError, LookupError) as exc:
            raise faults.FaultError(f"no node or instance {target!r}") from exc

    def node(self, target: str | None) -> str:
        if target and self.store.peek("nodes", None, target) is not None:
            return target
        return self.instance_of(target).computer_name

    def zone(self, target: str | None) -> str:
        zone = (target or "").rsplit("-", 1)[-1]
        zones = {z for pool in self.azure.pools() for z in pool.zones}
        if zone not in zones:
            raise faults.FaultError(f"no zone {target!r}; the pools span zones {', '.join(sorted(zones)) or 'none'}")
        return zone

    def pool(self, target: str | None) -> str:
        names = [pool.name for pool in self.azure.pools()]
        if target not in names:
            raise faults.FaultError(f"no pool {target!r}; pools: {', '.join(names)}")
        return target

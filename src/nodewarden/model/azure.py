"""Azure resources as nodewarden sees them: the AKS cluster, its agent pools and scale sets.

The loader validates *folded* documents into these classes: every key lower-cased with `_` and `-`
removed and ARM's `properties` envelopes merged into their parent, so one field here accepts the az CLI
spelling (`enableRbac`, `authorizedIpRanges`), the ARM spelling (`enableRBAC`, `authorizedIPRanges`) and
the autoscaler profile's kebab-case keys alike. Field names are snake_case; their folded alias is the
name without underscores. Dict keys that users choose (add-on names, tags) arrive folded too, so look
them up with `fold_key`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict
from pydantic.dataclasses import dataclass


def fold_key(key: str) -> str:
    """The folded form of a key: lower case, without `_` and `-`."""
    return key.lower().replace("_", "").replace("-", "")


def _alias(name: str) -> str:
    return name.replace("_", "")


AZURE = ConfigDict(alias_generator=_alias, extra="ignore", populate_by_name=True, strict=False)


@dataclass(frozen=True, slots=True, config=AZURE)
class PowerState:
    code: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class Addon:
    enabled: bool | None = None
    config: dict[str, Any] | None = None

    def setting(self, key: str) -> Any:
        """A config value by any spelling of its key."""
        return (self.config or {}).get(fold_key(key))


@dataclass(frozen=True, slots=True, config=AZURE)
class UpgradeSettings:
    max_surge: str | None = None
    max_unavailable: str | None = None
    drain_timeout_in_minutes: int | None = None
    node_soak_duration_in_minutes: int | None = None
    undrainable_node_behavior: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class AgentPool:
    """One node pool, from `az aks nodepool list` or `az aks show`'s `agentPoolProfiles[]`."""

    name: str
    id: str | None = None
    count: int | None = None
    vm_size: str | None = None
    os_type: str | None = None
    os_sku: str | None = None
    os_disk_type: str | None = None
    # `type` in `az aks show`; `typePropertiesType` in `az aks nodepool list` (see the loader).
    type_properties_type: str | None = None
    mode: str | None = None
    availability_zones: list[str] | None = None
    enable_auto_scaling: bool | None = None
    min_count: int | None = None
    max_count: int | None = None
    max_pods: int | None = None
    orchestrator_version: str | None = None
    current_orchestrator_version: str | None = None
    node_image_version: str | None = None
    upgrade_settings: UpgradeSettings | None = None
    scale_set_priority: str | None = None
    provisioning_state: str | None = None
    power_state: PowerState | None = None
    node_taints: list[str] | None = None
    node_labels: dict[str, str] | None = None
    vnet_subnet_id: str | None = None
    pod_subnet_id: str | None = None
    enable_node_public_ip: bool | None = None
    enable_encryption_at_host: bool | None = None
    scale_down_mode: str | None = None
    scale_set_eviction_policy: str | None = None

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(self.availability_zones or ())

    @property
    def taints(self) -> tuple[str, ...]:
        return tuple(self.node_taints or ())

    @property
    def is_system(self) -> bool:
        return (self.mode or "").lower() == "system"

    @property
    def is_user(self) -> bool:
        return (self.mode or "").lower() == "user"

    @property
    def is_spot(self) -> bool:
        return (self.scale_set_priority or "").lower() == "spot"

    @property
    def floor(self) -> int | None:
        """`min(p)` of the catalog: `minCount` when autoscaling, else `count`."""
        if self.enable_auto_scaling:
            return self.min_count
        return self.count

    @property
    def ceiling(self) -> int | None:
        """The most nodes the pool can have: `maxCount` when autoscaling, else `count`."""
        if self.enable_auto_scaling:
            return self.max_count
        return self.count


@dataclass(frozen=True, slots=True, config=AZURE)
class Sku:
    name: str | None = None
    tier: str | None = None
    capacity: int | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class AadProfile:
    managed: bool | None = None
    enable_azure_rbac: bool | None = None
    admin_group_object_ids: list[str] | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class AutoUpgradeProfile:
    upgrade_channel: str | None = None
    node_os_upgrade_channel: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class NetworkProfile:
    network_plugin: str | None = None
    network_plugin_mode: str | None = None
    network_policy: str | None = None
    network_dataplane: str | None = None
    load_balancer_sku: str | None = None
    outbound_type: str | None = None
    pod_cidr: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class ApiServerAccessProfile:
    enable_private_cluster: bool | None = None
    authorized_ip_ranges: list[str] | None = None
    enable_private_cluster_public_fqdn: bool | None = None
    private_dns_zone: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class Identity:
    type: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class ServicePrincipalProfile:
    client_id: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class Enabled:
    """The many `{ "enabled": bool }` leaves of AKS profiles."""

    enabled: bool | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class DefenderProfile:
    log_analytics_workspace_resource_id: str | None = None
    security_monitoring: Enabled | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class SecurityProfile:
    defender: DefenderProfile | None = None
    workload_identity: Enabled | None = None
    image_cleaner: Enabled | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class AzureMonitorProfile:
    metrics: Enabled | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class StorageProfile:
    disk_csi_driver: Enabled | None = None
    file_csi_driver: Enabled | None = None
    snapshot_controller: Enabled | None = None
    blob_csi_driver: Enabled | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class NodeResourceGroupProfile:
    restriction_level: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class Cluster:
    """The managed cluster, from `az aks show -o json` (or its ARM form)."""

    name: str
    id: str | None = None
    location: str | None = None
    resource_group: str | None = None
    node_resource_group: str | None = None
    sku: Sku | None = None
    provisioning_state: str | None = None
    power_state: PowerState | None = None
    kubernetes_version: str | None = None
    current_kubernetes_version: str | None = None
    support_plan: str | None = None
    enable_rbac: bool | None = None
    disable_local_accounts: bool | None = None
    aad_profile: AadProfile | None = None
    auto_upgrade_profile: AutoUpgradeProfile | None = None
    network_profile: NetworkProfile | None = None
    api_server_access_profile: ApiServerAccessProfile | None = None
    addon_profiles: dict[str, Addon] | None = None
    azure_monitor_profile: AzureMonitorProfile | None = None
    identity: Identity | None = None
    service_principal_profile: ServicePrincipalProfile | None = None
    security_profile: SecurityProfile | None = None
    oidc_issuer_profile: Enabled | None = None
    storage_profile: StorageProfile | None = None
    auto_scaler_profile: dict[str, Any] | None = None
    node_resource_group_profile: NodeResourceGroupProfile | None = None
    agent_pool_profiles: list[AgentPool] | None = None
    tags: dict[str, Any] | None = None

    def addon(self, name: str) -> Addon | None:
        """An add-on profile by any casing of its key (`omsagent`, `omsAgent`)."""
        return (self.addon_profiles or {}).get(fold_key(name))

    def autoscaler_setting(self, key: str) -> Any:
        """An autoscaler-profile value by camelCase or kebab-case key."""
        return (self.auto_scaler_profile or {}).get(fold_key(key))

    @property
    def tier(self) -> str | None:
        return self.sku.tier if self.sku else None


@dataclass(frozen=True, slots=True, config=AZURE)
class PublicIpConfig:
    name: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class IpConfiguration:
    name: str | None = None
    public_ip_address_configuration: PublicIpConfig | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class NicConfiguration:
    name: str | None = None
    ip_configurations: list[IpConfiguration] | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class NetworkProfileVmss:
    network_interface_configurations: list[NicConfiguration] | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class LinuxConfiguration:
    disable_password_authentication: bool | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class OsProfile:
    computer_name_prefix: str | None = None
    linux_configuration: LinuxConfiguration | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class VmssExtension:
    name: str | None = None
    publisher: str | None = None
    type: str | None = None
    # `az vmss list` prints the handler type as `typePropertiesType` (and `type: null`); ARM nests it
    # as `properties.type`, which the fold turns into `type` (or `typePropertiesType` beside a resource type).
    type_properties_type: str | None = None

    @property
    def handler_type(self) -> str | None:
        """The extension handler type (`CustomScript`), whichever spelling carried it."""
        if self.type_properties_type:
            return self.type_properties_type
        if self.type and "/" not in self.type:
            return self.type
        return None


@dataclass(frozen=True, slots=True, config=AZURE)
class ExtensionProfile:
    extensions: list[VmssExtension] | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class SecurityProfileVm:
    encryption_at_host: bool | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class VirtualMachineProfile:
    os_profile: OsProfile | None = None
    network_profile: NetworkProfileVmss | None = None
    extension_profile: ExtensionProfile | None = None
    security_profile: SecurityProfileVm | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class UpgradePolicy:
    mode: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class AutomaticRepairsPolicy:
    enabled: bool | None = None
    grace_period: str | None = None
    repair_action: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class ScaleSet:
    """A virtual machine scale set, from `az vmss list -g <nodeResourceGroup> -o json`."""

    name: str
    id: str | None = None
    location: str | None = None
    tags: dict[str, Any] | None = None
    sku: Sku | None = None
    zones: list[str] | None = None
    orchestration_mode: str | None = None
    upgrade_policy: UpgradePolicy | None = None
    automatic_repairs_policy: AutomaticRepairsPolicy | None = None
    zone_balance: bool | None = None
    platform_fault_domain_count: int | None = None
    single_placement_group: bool | None = None
    provisioning_state: str | None = None
    virtual_machine_profile: VirtualMachineProfile | None = None

    @property
    def pool_name(self) -> str | None:
        """The AKS pool that owns this scale set (`aks-managed-poolName` tag), if any."""
        value = (self.tags or {}).get(fold_key("aks-managed-poolName"))
        return str(value) if value is not None else None


@dataclass(frozen=True, slots=True, config=AZURE)
class InstanceStatus:
    code: str | None = None
    level: str | None = None
    display_status: str | None = None
    time: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class VmAgent:
    """The Azure VM agent inside the guest, as the instance view reports it: Ready while the guest answers."""

    vm_agent_version: str | None = None
    statuses: list[InstanceStatus] | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class InstanceView:
    computer_name: str | None = None
    platform_fault_domain: int | None = None
    platform_update_domain: int | None = None
    statuses: list[InstanceStatus] | None = None
    vm_agent: VmAgent | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class ScaleSetInstance:
    """One VMSS instance with its instance view (`az vmss list-instances --expand instanceView`)."""

    instance_id: str | None = None
    id: str | None = None
    name: str | None = None
    zones: list[str] | None = None
    provisioning_state: str | None = None
    latest_model_applied: bool | None = None
    instance_view: InstanceView | None = None

    def status(self, prefix: str) -> str | None:
        """The instance-view status code after `prefix/` (`PowerState` → `running`)."""
        for status in (self.instance_view.statuses if self.instance_view else None) or ():
            if status.code and status.code.lower().startswith(prefix.lower() + "/"):
                return status.code.split("/", 1)[1]
        return None

    @property
    def agent_status(self) -> str | None:
        """The VM agent's display status ("Ready", "Not Ready"); None when the view has no agent status."""
        agent = self.instance_view.vm_agent if self.instance_view else None
        return next((s.display_status for s in (agent.statuses if agent else None) or () if s.display_status), None)


@dataclass(frozen=True, slots=True, config=AZURE)
class MaintenanceWindow:
    duration_hours: int | None = None
    utc_offset: str | None = None
    start_time: str | None = None
    schedule: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class MaintenanceConfiguration:
    """One `az aks maintenanceconfiguration list` entry."""

    name: str
    id: str | None = None
    maintenance_window: MaintenanceWindow | None = None
    time_in_week: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class DiagnosticCategory:
    category: str | None = None
    category_group: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class DiagnosticSetting:
    """One `az monitor diagnostic-settings list --resource <aks id>` entry."""

    name: str
    id: str | None = None
    logs: list[DiagnosticCategory] | None = None
    metrics: list[DiagnosticCategory] | None = None
    workspace_id: str | None = None
    storage_account_id: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class ClusterExtension:
    """One `az k8s-extension list --cluster-type managedClusters` entry."""

    name: str
    id: str | None = None
    extension_type: str | None = None
    provisioning_state: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class VersionCapabilities:
    support_plan: list[str] | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class KubernetesVersion:
    version: str
    is_preview: bool | None = None
    is_default: bool | None = None
    capabilities: VersionCapabilities | None = None
    patch_versions: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class KubernetesVersions:
    """`az aks get-versions -l <region> -o json`."""

    values: list[KubernetesVersion] | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class ResourceRef:
    id: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class Subnet:
    """`az network vnet subnet show --ids <vnetSubnetId> -o json`."""

    name: str
    id: str | None = None
    address_prefix: str | None = None
    address_prefixes: list[str] | None = None
    network_security_group: ResourceRef | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class UsageName:
    value: str | None = None
    localized_value: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class Usage:
    """One `az vm list-usage -l <region> -o json` entry (a vCPU quota)."""

    name: UsageName
    current_value: int
    limit: int
    local_name: str | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class ActivityLogEntry:
    """One `az monitor activity-log list` entry; kept for incidents, not audited yet."""

    event_timestamp: str | None = None
    operation_name: dict[str, Any] | None = None
    resource_id: str | None = None
    caller: str | None = None
    status: dict[str, Any] | None = None
    correlation_id: str | None = None
    level: str | None = None
    category: dict[str, Any] | None = None
    resource_group_name: str | None = None

    @property
    def operation(self) -> str:
        return str((self.operation_name or {}).get("value") or "")

    @property
    def outcome(self) -> str:
        return str((self.status or {}).get("value") or "")


@dataclass(frozen=True, slots=True, config=AZURE)
class ScheduledEvent:
    """One IMDS Scheduled Event: the platform's notice of a Reboot, Redeploy, Freeze, Preempt or Terminate."""

    event_id: str
    event_type: str | None = None
    resource_type: str | None = None
    resources: list[str] | None = None  # VM (computer) names the event affects
    event_status: str | None = None  # Scheduled | Started
    not_before: str | None = None  # RFC 1123, empty once Started
    description: str | None = None
    event_source: str | None = None
    duration_in_seconds: int | None = None


@dataclass(frozen=True, slots=True, config=AZURE)
class AvailabilityStatus:
    """Azure Resource Health's current availability of one resource (a scale-set VM): whether Azure itself sees
    it Available, Unavailable, Degraded or Unknown, and why: `reason_type` (Unplanned, Planned, UserInitiated),
    `context` (Platform Initiated, Customer Initiated, Unknown). `occured_time` keeps Azure's spelling."""

    id: str
    availability_state: str | None = None
    title: str | None = None
    summary: str | None = None
    reason_type: str | None = None
    reason_chronicity: str | None = None
    context: str | None = None
    category: str | None = None
    occured_time: str | None = None
    reported_time: str | None = None
    root_cause_attribution_time: str | None = None

    @property
    def resource_id(self) -> str:
        """The resource the status is about: its id without the `/providers/Microsoft.ResourceHealth/…` suffix."""
        head, found, _ = self.id.lower().partition("/providers/microsoft.resourcehealth/")
        return self.id[: len(head)] if found else self.id

    @property
    def platform_initiated(self) -> bool:
        """Azure's platform (not a user) made the resource unavailable or degraded."""
        return (self.context or "").lower() == "platform initiated" or (self.reason_type or "").lower() in (
            "unplanned",
            "planned",
        )

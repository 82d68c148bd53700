"""The kinds of input a snapshot can hold; rules declare which they need."""

from enum import StrEnum


class Input(StrEnum):
    """One kind of exported data. The value is how a user would name it."""

    CLUSTER = "az aks show"
    NODEPOOLS = "az aks nodepool list"
    SCALE_SETS = "az vmss list"
    INSTANCES = "az vmss list-instances --expand instanceView"
    MAINTENANCE = "az aks maintenanceconfiguration list"
    DIAGNOSTICS = "az monitor diagnostic-settings list"
    EXTENSIONS = "az k8s-extension list"
    VERSIONS = "az aks get-versions"
    SUBNETS = "az network vnet subnet show"
    USAGE = "az vm list-usage"
    ACTIVITY_LOG = "az monitor activity-log list"
    WORKLOADS = "kubectl get deployments,statefulsets"
    PODS = "kubectl get pods"
    PDBS = "kubectl get poddisruptionbudgets"
    HPAS = "kubectl get horizontalpodautoscalers"
    NAMESPACES = "kubectl get namespaces"
    RESOURCE_QUOTAS = "kubectl get resourcequotas"
    LIMIT_RANGES = "kubectl get limitranges"
    PRIORITY_CLASSES = "kubectl get priorityclasses"
    NETWORK_POLICIES = "kubectl get networkpolicies"
    STORAGE_CLASSES = "kubectl get storageclasses"
    PVCS = "kubectl get persistentvolumeclaims"
    PERSISTENT_VOLUMES = "kubectl get persistentvolumes"
    VOLUME_ATTACHMENTS = "kubectl get volumeattachments"
    SERVICES = "kubectl get services"
    ENDPOINT_SLICES = "kubectl get endpointslices"
    NODES = "kubectl get nodes"
    VELERO_SCHEDULES = "kubectl get schedules.velero.io"
    DAEMONSETS = "kubectl get daemonsets"
    LEASES = "kubectl get leases -n kube-node-lease"
    EVENTS = "kubectl get events"
    SCHEDULED_EVENTS = "curl -H Metadata:true http://169.254.169.254/metadata/scheduledevents?api-version=2020-07-01"
    RESOURCE_HEALTH = (
        "az rest --method get --url <instance id>/providers/Microsoft.ResourceHealth/availabilityStatuses/current"
        "?api-version=2025-05-01"
    )

    @property
    def command(self) -> str:
        """The export command that produces this input."""
        if self is Input.LEASES:
            return f"{self.value} -o json"
        if self.value.startswith("kubectl"):
            return f"{self.value} -A -o json"
        if self.value.startswith(("curl", "az rest")):
            return self.value
        return f"{self.value} -o json"

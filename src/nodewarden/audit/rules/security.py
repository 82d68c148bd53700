"""SEC rules: network and identity security of the cluster, its node subnets and its namespaces.

Most of these read `az aks show` alone. SEC002 reads NetworkPolicies, SEC008 node subnets and SEC009
node pools plus (optionally) their scale sets. Add-on keys are looked up case-insensitively
(`cluster.addon`), because the az CLI and ARM print them in more than one casing.
"""

from __future__ import annotations

from collections.abc import Iterator

from nodewarden.audit import relations
from nodewarden.audit.catalog import NotEvaluated, Rule, RuleContext, Violation, rule
from nodewarden.model import selectors
from nodewarden.model.azure import Cluster
from nodewarden.model.findings import Category, Profile, Severity, Target
from nodewarden.model.inputs import Input
from nodewarden.model.kube import LabelSelector, target_of
from nodewarden.model.snapshot import Snapshot, azure_target, cluster_target, pool_target, scale_set_target

# `networkPolicy` values that enforce NetworkPolicy objects; "none" (a string, not null) means off.
POLICY_ENGINES = frozenset({"azure", "calico", "cilium"})
MANAGED_IDENTITY_TYPES = frozenset({"systemassigned", "userassigned"})
OPEN_TO_ALL = frozenset({"0.0.0.0/0", "::/0"})
# Inputs from which `Snapshot.namespace_names()` can learn which namespaces exist.
NAMESPACE_SOURCES = (Input.NAMESPACES, Input.WORKLOADS, Input.PODS, Input.PVCS, Input.SERVICES)


def _cluster(snap: Snapshot) -> Cluster:
    assert snap.cluster is not None  # guaranteed by needs=(Input.CLUSTER,)
    return snap.cluster


def _addon_enabled(cluster: Cluster, name: str) -> bool:
    """True when the add-on profile exists (any key casing) and says `enabled: true`."""
    addon = cluster.addon(name)
    return bool(addon and addon.enabled)


@rule(
    id="SEC001",
    title="Network policy engine enabled",
    category=Category.SEC,
    severity=Severity.HIGH,
    rationale="Without a policy engine NetworkPolicy objects are accepted but never enforced, so no pod can be "
    "isolated and one compromised workload can reach every other.",
    fix="az aks update -g <rg> -n <cluster> --network-policy azure  (or calico; with Azure CNI powered by Cilium: "
    "--network-dataplane cilium --network-policy cilium)",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.NetworkPolicy",
        "CKV_AZURE_7",
        "AKS checklist 06.07.05",
        "https://learn.microsoft.com/azure/aks/use-network-policies",
        "https://learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium",
    ),
)
def network_policy_engine(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = _cluster(snap)
    network = cluster.network_profile
    policy = (network.network_policy if network else None) or None
    if (policy or "").lower() in POLICY_ENGINES:
        return
    plugin = (network.network_plugin if network else None) or ""
    if plugin.lower() == "none":
        # Bring-your-own CNI: enforcement is up to the CNI the user installed, which AKS does not describe.
        raise NotEvaluated(
            f"cluster {cluster.name} uses a bring-your-own CNI (networkPlugin none); whether it enforces "
            "NetworkPolicy cannot be read from az aks show"
        )
    shown = "null" if policy is None else f'"{policy}"'
    yield Violation(
        cluster_target(cluster),
        f"cluster {cluster.name} has networkProfile.networkPolicy {shown}; want azure, calico or cilium",
    )


@rule(
    id="SEC002",
    title="Namespaces have NetworkPolicies",
    category=Category.SEC,
    severity=Severity.MEDIUM,
    rationale="A namespace whose pods no NetworkPolicy selects accepts traffic from anywhere in the cluster, "
    "which lets an intruder move laterally; a default-deny policy per namespace is the safe baseline.",
    fix="Add a default-deny policy to each app namespace, then allow what is needed: "
    "kubectl apply -n <ns> -f - with `apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, "
    "metadata: {name: default-deny}, spec: {podSelector: {}, policyTypes: [Ingress]}`",
    needs=(Input.NETWORK_POLICIES,),
    references=(
        "Polaris missingNetworkPolicy",
        "kube-score pod-networkpolicy",
        "Popeye 1204/1205",
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
    ),
    params=("system_namespaces",),
)
def namespaces_have_network_policies(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    """Conditions, per app (non-system) namespace:

    - no NetworkPolicy at all → the namespace is a finding;
    - a policy with an empty podSelector (selects every pod) → covered;
    - only narrower policies → each Deployment/StatefulSet whose pod labels no policy selects is a finding
      (only when workloads were exported; pods of other controllers are not examined).

    `default` counts as an app namespace (CIS Kubernetes 5.3.2 asks for policies in every namespace); list it
    in `system_namespaces` to skip it.
    """
    if not any(kind in snap.inputs for kind in NAMESPACE_SOURCES):
        raise NotEvaluated(
            "no list of namespaces: export kubectl get namespaces -o json (or the workloads, pods or services)"
        )
    namespace_meta = {ns.metadata.name: ns.metadata for ns in snap.namespaces}
    for namespace in snap.namespace_names():
        if relations.is_system_namespace(namespace, ctx.params):
            continue
        # podSelector is required by the API and `{}` selects every pod; treat an absent one the same way.
        pod_selectors = [
            p.spec.pod_selector or LabelSelector() for p in snap.network_policies if p.metadata.namespace == namespace
        ]
        if not pod_selectors:
            meta = namespace_meta.get(namespace)
            target = target_of("Namespace", meta) if meta else Target(kind="Namespace", name=namespace)
            yield Violation(target, f"namespace {namespace} has no NetworkPolicy; want a default-deny policy")
            continue
        if any(selectors.is_empty(s) for s in pod_selectors):
            continue
        for workload in relations.app_workloads(snap, ctx.params):
            if workload.namespace != namespace:
                continue
            if not any(selectors.matches(s, workload.pod_labels) for s in pod_selectors):
                yield Violation(
                    target_of(workload.kind, workload.metadata),
                    f"{workload.kind} {namespace}/{workload.metadata.name}: no NetworkPolicy selects its pods; "
                    "want a default-deny policy (podSelector: {}) or one that selects them",
                )


@rule(
    id="SEC003",
    title="API server not open to the Internet",
    category=Category.SEC,
    severity=Severity.HIGH,
    rationale="A public API server reachable from any address exposes the control plane to credential "
    "stuffing and zero-days; make the cluster private or restrict it to authorized IP ranges.",
    fix="az aks update -g <rg> -n <cluster> --api-server-authorized-ip-ranges <cidr>[,<cidr>…]  "
    "(or create the cluster with --enable-private-cluster)",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.AuthorizedIPs",
        "https://github.com/Azure/PSRule.Rules.Azure/issues/2677",
        "CKV_AZURE_6",
        "CKV_AZURE_115",
        "AKS checklist 06.07.02/03",
        "https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges",
        "https://learn.microsoft.com/azure/aks/private-clusters",
    ),
)
def api_server_restricted(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = _cluster(snap)
    access = cluster.api_server_access_profile
    # A private cluster has no public endpoint, and authorized ranges are not supported with one (PSRule #2677).
    if access and access.enable_private_cluster:
        return
    ranges = [r.strip() for r in (access.authorized_ip_ranges if access else None) or () if r.strip()]
    if not ranges:
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has a public API server with no authorized IP ranges; "
            "want a private cluster or authorizedIpRanges",
        )
    elif open_ranges := [r for r in ranges if r in OPEN_TO_ALL]:
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} authorizes {', '.join(open_ranges)} on its public API server; "
            "want only the ranges that need access",
        )


@rule(
    id="SEC004",
    title="Managed Entra ID integration with Azure RBAC",
    category=Category.SEC,
    severity=Severity.HIGH,
    rationale="Entra ID sign-in with Azure RBAC gives central identities, conditional access and auditable "
    "role assignments instead of per-cluster credentials and bindings.",
    fix="az aks update -g <rg> -n <cluster> --enable-aad --enable-azure-rbac --aad-admin-group-object-ids <group-id>",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.ManagedAAD",
        "PSRule Azure.AKS.AzureRBAC",
        "AKS checklist 05.01.02",
        "https://learn.microsoft.com/azure/aks/manage-azure-rbac",
    ),
)
def managed_entra_and_azure_rbac(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = _cluster(snap)
    aad = cluster.aad_profile
    if aad is None:
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has no aadProfile; want managed Entra ID integration with Azure RBAC",
        )
        return
    wanted = []
    if not aad.managed:
        wanted.append(f"aadProfile.managed true (is {_shown(aad.managed)})")
    if not aad.enable_azure_rbac:
        wanted.append(f"aadProfile.enableAzureRbac true (is {_shown(aad.enable_azure_rbac)})")
    if wanted:
        yield Violation(cluster_target(cluster), f"cluster {cluster.name}: want {' and '.join(wanted)}")


@rule(
    id="SEC005",
    title="Local accounts disabled",
    category=Category.SEC,
    severity=Severity.HIGH,
    rationale="Local accounts (az aks get-credentials --admin) hand out a static admin kubeconfig that bypasses "
    "Entra ID and its audit trail; AKS enables them unless told otherwise.",
    fix="az aks update -g <rg> -n <cluster> --disable-local-accounts  (then rotate the cluster certificates)",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.LocalAccounts",
        "CKV_AZURE_141",
        "APRL ca324d71",
        "AKS checklist 05.01.08",
        "https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad",
    ),
)
def local_accounts_disabled(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = _cluster(snap)
    # Unset means the AKS default, which is local accounts enabled: a fail, not a guess.
    if cluster.disable_local_accounts is not True:
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has disableLocalAccounts {_shown(cluster.disable_local_accounts)}; want true",
        )


@rule(
    id="SEC006",
    title="Kubernetes RBAC enabled",
    category=Category.SEC,
    severity=Severity.CRITICAL,
    rationale="Without Kubernetes RBAC every authenticated identity is effectively cluster-admin, and Entra ID "
    "integration cannot be used.",
    fix="Kubernetes RBAC cannot be turned on in place: create a new cluster (az aks create enables RBAC unless "
    "--disable-rbac is given) and move the workloads to it",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.UseRBAC",
        "CKV_AZURE_5",
        "https://learn.microsoft.com/azure/aks/concepts-identity",
    ),
)
def kubernetes_rbac_enabled(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = _cluster(snap)
    if cluster.enable_rbac is None:
        # az aks show always prints enableRbac; its absence means a partial export. AKS does default RBAC on,
        # but a critical rule does not pass on a default it cannot see.
        raise NotEvaluated(
            f"cluster {cluster.name} has no enableRbac (ARM enableRBAC) field; export the full az aks show -o json"
        )
    if not cluster.enable_rbac:
        yield Violation(cluster_target(cluster), f"cluster {cluster.name} has enableRbac false; want true")


@rule(
    id="SEC007",
    title="Cluster uses a managed identity",
    category=Category.SEC,
    severity=Severity.MEDIUM,
    rationale="A service principal's secret expires, and when it does the cluster can no longer create load "
    "balancers, disks or nodes (a classic outage); managed identities rotate their own credentials.",
    fix="az aks update -g <rg> -n <cluster> --enable-managed-identity",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.ManagedIdentity",
        "AKS checklist 05.01.01",
        "https://learn.microsoft.com/azure/aks/use-managed-identity",
    ),
)
def managed_identity(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = _cluster(snap)
    identity_type = cluster.identity.type if cluster.identity else None
    client_id = cluster.service_principal_profile.client_id if cluster.service_principal_profile else None
    problems = []
    if (identity_type or "").lower() not in MANAGED_IDENTITY_TYPES:
        problems.append(f"identity.type {_shown(identity_type)}")
    if client_id is not None and client_id.lower() != "msi":
        problems.append(f"servicePrincipalProfile.clientId {client_id}")
    if problems:
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has {' and '.join(problems)}; want a SystemAssigned or UserAssigned "
            'managed identity (clientId "msi")',
        )


@rule(
    id="SEC008",
    title="Node subnets have a network security group",
    category=Category.SEC,
    severity=Severity.MEDIUM,
    rationale="A bring-your-own node subnet without an NSG has no subnet-level filtering, so nothing stops "
    "traffic the cluster's own rules do not cover.",
    fix="az network vnet subnet update --ids <vnetSubnetId> --network-security-group <nsg-id>",
    needs=(Input.NODEPOOLS,),
    references=(
        "PSRule Azure.VNET.UseNSGs",
        "https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview",
    ),
)
def node_subnets_have_nsg(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    """Each distinct pool `vnetSubnetId` must resolve to an exported subnet with `networkSecurityGroup.id`.

    Pools without a subnet id use the AKS-managed VNet and pass. Subnets not in the input make the rule
    not evaluated, unless another subnet already fails (a fail is a fail whatever the others say).
    """
    cluster = snap.cluster
    # Resource ids are case-insensitive; key by the lower-cased id, keep the first spelling for messages.
    spelled: dict[str, str] = {}
    pools_by_subnet: dict[str, list[str]] = {}
    for pool in snap.pools:
        if pool.vnet_subnet_id:
            key = pool.vnet_subnet_id.lower()
            spelled.setdefault(key, pool.vnet_subnet_id)
            pools_by_subnet.setdefault(key, []).append(pool.name)
    exported = {subnet.id.lower(): subnet for subnet in snap.subnets if subnet.id}
    missing: list[str] = []
    violations: list[Violation] = []
    for key, pool_names in pools_by_subnet.items():
        subnet = exported.get(key)
        if subnet is None:
            missing.append(spelled[key])
            continue
        if subnet.network_security_group is None or not subnet.network_security_group.id:
            violations.append(
                Violation(
                    azure_target("subnet", subnet.name, subnet.id),
                    f"subnet {subnet.name} (pools {', '.join(pool_names)}) has no network security group; want one",
                )
            )
    if violations:
        yield from violations
        return
    if missing:
        commands = "; ".join(f"az network vnet subnet show --ids {subnet_id} -o json" for subnet_id in missing)
        where = f" of cluster {cluster.name}" if cluster else ""
        raise NotEvaluated(f"node subnet{'s' if len(missing) > 1 else ''}{where} not in the input: {commands}")


@rule(
    id="SEC009",
    title="Nodes have no public IP addresses",
    category=Category.SEC,
    severity=Severity.HIGH,
    rationale="A node with its own public IP is reachable from the Internet directly, past the load balancer "
    "and any egress controls.",
    fix="Node public IPs cannot be removed from a pool: add a replacement pool without --enable-node-public-ip "
    "(az aks nodepool add -g <rg> --cluster-name <cluster> -n <pool>) and delete the old one. A public IP added "
    "to an AKS scale set by hand is drift: remove it, or reconcile with az aks update -g <rg> -n <cluster>",
    needs=(Input.NODEPOOLS,),
    references=(
        "CKV_AZURE_143",
        "PSRule Azure.VMSS.PublicIPAttached",
        "https://learn.microsoft.com/azure/aks/use-node-public-ips",
    ),
)
def no_node_public_ips(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    """Pools with `enableNodePublicIp: true`; then, when scale sets were exported, any scale set whose NIC
    ip configurations carry a `publicIpAddressConfiguration` (skipping those of pools already reported)."""
    flagged: set[str] = set()
    for pool in snap.pools:
        if pool.enable_node_public_ip:
            flagged.add(pool.name.lower())
            yield Violation(
                pool_target(pool, snap.cluster),
                f"pool {pool.name} has enableNodePublicIp true; want false",
            )
    for scale_set in snap.scale_sets:
        if (scale_set.pool_name or "").lower() in flagged:
            continue
        profile = scale_set.virtual_machine_profile
        nics = (
            profile.network_profile.network_interface_configurations if profile and profile.network_profile else None
        ) or ()
        public = [
            f"{nic.name or '?'}/{ip.name or '?'}"
            for nic in nics
            for ip in nic.ip_configurations or ()
            if ip.public_ip_address_configuration is not None
        ]
        if public:
            yield Violation(
                scale_set_target(scale_set),
                f"scale set {scale_set.name} gives its instances public IPs (ip configurations {', '.join(public)}); "
                "want none",
            )


@rule(
    id="SEC010",
    title="Azure Policy add-on enabled",
    category=Category.SEC,
    severity=Severity.MEDIUM,
    rationale="The Azure Policy add-on (and Deployment Safeguards built on it) enforces workload guardrails at "
    "admission, such as resource limits, probes and no privileged pods.",
    fix="az aks enable-addons -g <rg> -n <cluster> --addons azure-policy",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.AzurePolicyAddOn",
        "CKV_AZURE_116",
        "AKS checklist 04.01.01",
        "https://learn.microsoft.com/azure/aks/use-azure-policy",
    ),
)
def azure_policy_addon(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = _cluster(snap)
    if not _addon_enabled(cluster, "azurepolicy"):
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} does not have the azurepolicy add-on enabled; want it enabled",
        )


@rule(
    id="SEC011",
    title="Microsoft Defender for Containers enabled",
    category=Category.SEC,
    severity=Severity.MEDIUM,
    rationale="Defender's security monitoring detects runtime threats on nodes and in the control-plane audit "
    "log that configuration checks cannot see.",
    fix="az aks update -g <rg> -n <cluster> --enable-defender",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.DefenderProfile",
        "https://learn.microsoft.com/azure/defender-for-cloud/defender-for-containers-introduction",
    ),
)
def defender_enabled(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = _cluster(snap)
    security = cluster.security_profile
    defender = security.defender if security else None
    monitoring = defender.security_monitoring if defender else None
    if not (monitoring and monitoring.enabled):
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} does not have securityProfile.defender.securityMonitoring enabled; "
            "want it enabled",
        )


@rule(
    id="SEC012",
    title="HTTP application routing add-on disabled",
    category=Category.SEC,
    severity=Severity.MEDIUM,
    rationale="HTTP application routing was a dev/test-only add-on with a public DNS zone and no TLS, and it is "
    "retired; use the application routing add-on or your own ingress controller.",
    fix="az aks disable-addons -g <rg> -n <cluster> --addons http_application_routing  "
    "(then az aks approuting enable -g <rg> -n <cluster> if you need managed ingress)",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.HttpAppRouting",
        "CKV_AZURE_246",
        "AKS checklist 06.01.02",
        "https://learn.microsoft.com/azure/aks/http-application-routing",
    ),
)
def http_application_routing_disabled(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = _cluster(snap)
    if _addon_enabled(cluster, "httpApplicationRouting"):
        yield Violation(
            cluster_target(cluster),
            f"cluster {cluster.name} has the httpApplicationRouting add-on enabled; want it disabled",
        )


@rule(
    id="SEC013",
    title="Secrets come from Key Vault with rotation and workload identity",
    category=Category.SEC,
    severity=Severity.LOW,
    rationale="The Key Vault secrets provider with rotation, reached through workload identity, keeps static "
    "secrets and credentials out of the cluster and lets them change without redeploying.",
    fix="az aks enable-addons -g <rg> -n <cluster> --addons azure-keyvault-secrets-provider; "
    "az aks update -g <rg> -n <cluster> --enable-secret-rotation --enable-oidc-issuer --enable-workload-identity",
    needs=(Input.CLUSTER,),
    references=(
        "PSRule Azure.AKS.SecretStore",
        "PSRule Azure.AKS.SecretStoreRotation",
        "CKV_AZURE_172",
        "https://learn.microsoft.com/azure/aks/csi-secrets-store-driver",
        "https://learn.microsoft.com/azure/aks/csi-secrets-store-configuration-options",
        "https://learn.microsoft.com/azure/aks/workload-identity-overview",
    ),
    profile=Profile.EXTENDED,
)
def key_vault_secrets_and_workload_identity(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    cluster = _cluster(snap)
    wanted = []
    if not _addon_enabled(cluster, "azureKeyvaultSecretsProvider"):
        wanted.append("the azureKeyvaultSecretsProvider add-on")
    else:
        addon = cluster.addon("azureKeyvaultSecretsProvider")
        rotation = addon.setting("enableSecretRotation") if addon else None
        # The add-on's config values are strings ("true"/"false").
        if str(rotation).lower() != "true":
            wanted.append('enableSecretRotation "true" in the Key Vault add-on\'s config')
    security = cluster.security_profile
    if not (security and security.workload_identity and security.workload_identity.enabled):
        wanted.append("securityProfile.workloadIdentity enabled")
    if not (cluster.oidc_issuer_profile and cluster.oidc_issuer_profile.enabled):
        wanted.append("oidcIssuerProfile enabled")
    if wanted:
        yield Violation(cluster_target(cluster), f"cluster {cluster.name} lacks {', '.join(wanted)}")


def _shown(value: object) -> str:
    """A JSON-ish rendering of an observed value for messages (`null`, `false`, `None`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


RULES: tuple[Rule, ...] = (
    network_policy_engine,
    namespaces_have_network_policies,
    api_server_restricted,
    managed_entra_and_azure_rbac,
    local_accounts_disabled,
    kubernetes_rbac_enabled,
    managed_identity,
    node_subnets_have_nsg,
    no_node_public_ips,
    azure_policy_addon,
    defender_enabled,
    http_application_routing_disabled,
    key_vault_secrets_and_workload_identity,
)

"""The AKS vocabulary: provisioning states, providerIDs, instance keys and node labels (model/aks.py)."""

from __future__ import annotations

import pytest

from nodewarden.model import aks
from nodewarden.model.azure import ScaleSetInstance

PROVIDER_ID = (
    "azure:///subscriptions/sub-1/resourceGroups/MC_rg_aks_eastus/providers/Microsoft.Compute"
    "/virtualMachineScaleSets/aks-apps-84805669-vmss/virtualMachines/3"
)


@pytest.mark.parametrize(
    ("desc", "state", "in_progress"),
    [
        ("no state reported", None, False),
        ("an empty state", "", False),
        ("Succeeded", "Succeeded", False),
        ("Failed is terminal: nothing runs, the next operation may be ours", "Failed", False),
        ("Canceled is terminal", "Canceled", False),
        ("lower case, as instance views write it", "succeeded", False),
        ("an instance view's failed code names its error", "failed/InternalOperationError", False),
        ("Updating", "Updating", True),
        ("Creating", "creating", True),
        ("Deleting", "Deleting", True),
        ("Upgrading a pool", "Upgrading", True),
        ("Scaling a pool", "Scaling", True),
        ("a state ARM adds later is an operation until it settles", "Migrating", True),
    ],
)
def test_only_a_non_terminal_provisioning_state_is_an_operation_in_progress(
    desc: str, state: str | None, in_progress: bool
) -> None:
    assert aks.is_in_progress(state) is in_progress, desc


def test_a_vmss_provider_id_names_subscription_group_scale_set_and_instance() -> None:
    parsed = aks.parse_provider_id(PROVIDER_ID)
    assert parsed == aks.ProviderId("sub-1", "MC_rg_aks_eastus", "aks-apps-84805669-vmss", "3")
    assert parsed is not None
    assert parsed.key == "aks-apps-84805669-vmss/3"
    assert aks.key_from_resource_id(PROVIDER_ID) == parsed.key


@pytest.mark.parametrize(
    "provider_id",
    [None, "", "kind://docker/kind/kind-worker", "azure:///subscriptions/s/resourceGroups/g/providers/"
     "Microsoft.Compute/virtualMachines/aks-vm-1"],
)  # fmt: skip
def test_a_provider_id_that_names_no_scale_set_instance_parses_to_none(provider_id: str | None) -> None:
    assert aks.parse_provider_id(provider_id) is None
    assert aks.key_from_resource_id(provider_id) is None


def test_an_instance_without_a_resource_id_is_keyed_by_its_name() -> None:
    instance = ScaleSetInstance(name="AKS-apps-84805669-vmss_7")
    assert aks.key_of_instance(instance) == "aks-apps-84805669-vmss/7"
    assert aks.vm_name("aks-apps-84805669-vmss/7") == "aks-apps-84805669-vmss_7"


@pytest.mark.parametrize(
    ("desc", "labels", "pool"),
    [
        ("the current label", {aks.POOL_LABEL: "apps", aks.LEGACY_POOL_LABEL: "old"}, "apps"),
        ("the legacy label alone", {aks.LEGACY_POOL_LABEL: "apps"}, "apps"),
        ("no label", {}, None),
    ],
)
def test_a_nodes_pool_comes_from_its_labels(desc: str, labels: dict[str, str], pool: str | None) -> None:
    assert aks.pool_of(labels) == pool, desc


def test_zone_zero_means_a_pool_without_zones() -> None:
    assert aks.zone_of({aks.ZONE_LABEL: "eastus-2"}) == "eastus-2"
    assert aks.zone_of({aks.ZONE_LABEL: aks.NON_ZONAL}) is None
    assert aks.zone_of({}) is None


def test_the_pool_is_read_from_an_aks_scale_set_name_only() -> None:
    assert aks.pool_from_vmss("aks-apps-84805669-vmss") == "apps"
    assert aks.pool_from_vmss("my-own-scale-set") == ""


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("aks-apps-84805669-vmss_7", "aks-apps-84805669-vmss/7"),
        ("AKS-Apps-84805669-VMSS_12", "aks-apps-84805669-vmss/12"),
        ("aks-apps-84805669-vmss000007", None),
        ("aks-apps-84805669-vmss_", None),
        ("aks-apps-84805669-vmss_x1", None),
    ],
)
def test_a_scale_set_vm_name_names_its_instance(name: str, key: str | None) -> None:
    assert aks.key_from_vm_name(name) == key
    if key is not None:
        assert aks.key_from_vm_name(aks.vm_name(key)) == key


def test_aks_names_a_node_after_its_instance_in_base_36() -> None:
    assert aks.node_name_of("aks-apps-84805669-vmss/0") == "aks-apps-84805669-vmss000000"
    assert aks.node_name_of("aks-apps-84805669-vmss/37") == "aks-apps-84805669-vmss000011"
    assert aks.node_name_of("aks-apps-84805669-vmss/46655") == "aks-apps-84805669-vmss000zzz"
    assert aks.node_name_of("aks-apps-84805669-vmss/abc") is None
    assert aks.node_name_of("aks-apps-84805669-vmss/") is None

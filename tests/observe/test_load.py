"""The loader reads real-shaped az and kubectl output, recognising each file by its content."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nodewarden.errors import InputError, NoInputError, SchemaError
from nodewarden.model.findings import Target
from nodewarden.model.inputs import Input
from nodewarden.observe.files import Document
from nodewarden.observe.load import load_documents, load_paths

FIXTURES = Path(__file__).parent / "fixtures"


def _copy(tmp_path: Path, *names: str, rename: dict[str, str] | None = None) -> Path:
    for name in names:
        shutil.copy(FIXTURES / name, tmp_path / (rename or {}).get(name, name))
    return tmp_path


def test_az_aks_show_is_recognised_with_its_cli_spellings() -> None:
    snap = load_paths([FIXTURES / "aks-show-cli.json"]).snapshot
    cluster = snap.cluster
    assert cluster is not None
    assert cluster.name == "aks-prod"
    assert cluster.enable_rbac is True
    assert cluster.auto_upgrade_profile is not None
    assert cluster.auto_upgrade_profile.node_os_upgrade_channel == "NodeImage"
    assert cluster.api_server_access_profile is not None
    assert cluster.api_server_access_profile.authorized_ip_ranges == ["203.0.113.0/24"]
    assert cluster.aad_profile is not None
    assert cluster.aad_profile.enable_azure_rbac is True
    assert cluster.autoscaler_setting("balance-similar-node-groups") == "true"


def test_arm_spellings_and_properties_nesting_give_the_same_model() -> None:
    snap = load_paths([FIXTURES / "aks-arm.json"]).snapshot
    cluster = snap.cluster
    assert cluster is not None
    assert cluster.enable_rbac is True
    assert cluster.auto_upgrade_profile is not None
    assert cluster.auto_upgrade_profile.node_os_upgrade_channel == "SecurityPatch"
    assert cluster.api_server_access_profile is not None
    assert cluster.api_server_access_profile.authorized_ip_ranges == ["198.51.100.0/24"]
    assert cluster.tier == "Paid"
    assert cluster.autoscaler_setting("balanceSimilarNodeGroups") == "false"
    assert snap.pools[0].vnet_subnet_id is not None
    assert snap.pools[0].type_properties_type == "VirtualMachineScaleSets"


@pytest.mark.parametrize("spelling", ["omsagent", "omsAgent", "OMSAGENT"])
def test_add_ons_are_looked_up_case_insensitively(spelling: str) -> None:
    snap = load_paths([FIXTURES / "aks-show-cli.json"]).snapshot
    assert snap.cluster is not None
    addon = snap.cluster.addon(spelling)
    assert addon is not None
    assert addon.enabled is True
    assert str(addon.setting("logAnalyticsWorkspaceResourceID")).endswith("/law-prod")


def test_pools_come_from_the_cluster_when_no_nodepool_list_is_given() -> None:
    snap = load_paths([FIXTURES / "aks-show-cli.json"]).snapshot
    assert Input.NODEPOOLS in snap.inputs
    assert [p.name for p in snap.pools] == ["system"]
    assert snap.pools[0].type_properties_type == "VirtualMachineScaleSets"


def test_nodepool_list_takes_precedence_and_reads_type_properties_type(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "aks-show-cli.json", "nodepool-list.json")
    snap = load_paths([folder]).snapshot
    assert [p.name for p in snap.pools] == ["apps", "spot"]
    assert all(p.type_properties_type == "VirtualMachineScaleSets" for p in snap.pools)
    assert snap.pools[1].is_spot
    assert snap.pools[1].floor == 2
    assert snap.pools[0].floor == 3
    assert snap.pools[0].ceiling == 12


def test_vmss_list_and_instances_are_recognised(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "vmss-list.json", "vmss-instances.json")
    snap = load_paths([folder]).snapshot
    assert {Input.SCALE_SETS, Input.INSTANCES} <= snap.inputs
    assert snap.scale_sets[0].pool_name == "apps"
    assert snap.scale_sets[0].upgrade_policy is not None
    assert snap.scale_sets[0].upgrade_policy.mode == "Manual"
    instance = snap.instances[0]
    assert instance.status("PowerState") == "running"
    assert instance.instance_view is not None
    assert instance.instance_view.computer_name == "aks-apps-31415926-vmss00000a"


def test_per_instance_get_instance_view_is_recognised() -> None:
    view = {
        "computerName": "aks-apps-31415926-vmss00000b",
        "platformFaultDomain": 1,
        "statuses": [{"code": "PowerState/stopped", "level": "Info"}],
        "vmAgent": {"vmAgentVersion": "2.2.53"},
    }
    snap = load_documents([Document("view.json", view)]).snapshot
    assert Input.INSTANCES in snap.inputs


def test_a_mixed_kubectl_list_is_split_by_kind_and_unaudited_kinds_are_noted() -> None:
    loaded = load_paths([FIXTURES / "kubectl-mixed.json"])
    snap = loaded.snapshot
    assert {w.kind for w in snap.workloads} == {"Deployment", "StatefulSet"}
    assert [p.metadata.name for p in snap.pdbs] == ["web"]
    assert {Input.WORKLOADS, Input.PDBS, Input.NAMESPACES} <= snap.inputs
    assert Input.HPAS not in snap.inputs
    assert any("1 ConfigMap" in note for note in loaded.notes)


def test_annotation_waivers_are_parsed_from_kubernetes_objects() -> None:
    snap = load_paths([FIXTURES / "kubectl-mixed.json"]).snapshot
    web = next(w for w in snap.workloads if w.metadata.name == "web")
    waiver = web.metadata.annotation_waiver()
    assert waiver is not None
    assert waiver.rules == {"WL001", "WL009"}
    assert waiver.reason == "canary"


def test_typed_lists_without_item_kinds_are_recognised() -> None:
    node_list = {
        "kind": "NodeList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "1006"},
        "items": [
            {"metadata": {"name": "aks-apps-31415926-vmss00000a", "labels": {"kubernetes.azure.com/mode": "user"}}}
        ],
    }
    snap = load_documents([Document("nodes.json", node_list)]).snapshot
    assert [n.metadata.name for n in snap.nodes] == ["aks-apps-31415926-vmss00000a"]
    assert snap.nodes[0].metadata.namespace is None


def test_an_empty_typed_list_marks_its_kind_observed() -> None:
    snap = load_documents(
        [Document("x.json", {"kind": "PodDisruptionBudgetList", "apiVersion": "policy/v1", "items": []})]
    )
    assert Input.PDBS in snap.snapshot.inputs


def test_an_empty_untyped_list_takes_its_kind_from_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "pdb.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": []}))
    (tmp_path / "mystery.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": []}))
    snap = load_paths([tmp_path]).snapshot
    assert Input.PDBS in snap.inputs
    assert snap.pdbs == ()


def test_yaml_single_objects_and_multi_document_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "objects.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\nspec: {minAvailable: 1}\n"
    )
    snap = load_paths([tmp_path]).snapshot
    assert [ns.metadata.name for ns in snap.namespaces] == ["shop"]
    assert snap.pdbs[0].metadata.namespace == "default"


def test_arm_list_pages_are_opened() -> None:
    page = {
        "value": [
            {
                "name": "aks-diag",
                "type": "Microsoft.Insights/diagnosticSettings",
                "properties": {"logs": [], "metrics": []},
            }
        ]
    }
    snap = load_documents([Document("diag.json", page)]).snapshot
    assert [d.name for d in snap.diagnostic_settings] == ["aks-diag"]


def test_later_copies_of_an_object_replace_earlier_ones(tmp_path: Path) -> None:
    _copy(tmp_path, "kubectl-mixed.json")
    shutil.copy(FIXTURES / "kubectl-mixed.json", tmp_path / "again.json")
    snap = load_paths([tmp_path]).snapshot
    assert len(snap.workloads) == 2


def test_unrecognised_files_are_reported_and_skipped(tmp_path: Path) -> None:
    _copy(tmp_path, "aks-show-cli.json")
    (tmp_path / "package.json").write_text('{"name": "left-pad", "version": "1.3.0"}')
    loaded = load_paths([tmp_path])
    assert loaded.snapshot.cluster is not None
    assert any("package.json: not recognised" in note for note in loaded.notes)


def test_input_with_nothing_recognisable_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "left-pad"}')
    with pytest.raises(NoInputError, match="nothing recognisable"):
        load_paths([tmp_path])


def test_a_folder_without_json_or_yaml_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(NoInputError, match="no JSON or YAML files"):
        load_paths([tmp_path])


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        load_paths([tmp_path / "absent.json"])


def test_a_wrong_type_names_the_file_the_object_and_the_field_in_the_users_spelling(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "aks-show-cli.json").read_text())
    data["agentPoolProfiles"][0]["count"] = "three"
    path = tmp_path / "aks.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SchemaError) as caught:
        load_paths([path])
    message = str(caught.value)
    assert str(path) in message
    assert "agentPoolProfiles[0].count" in message
    assert "'three'" in message


def test_a_wrong_type_in_arm_nesting_shows_the_properties_path(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "aks-arm.json").read_text())
    data["properties"]["enableRBAC"] = "maybe"
    path = tmp_path / "aks.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SchemaError, match=r"properties\.enableRBAC"):
        load_paths([path])


def test_a_wrong_type_in_a_kubernetes_object_names_kind_namespace_and_name(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "kubectl-mixed.json").read_text())
    data["items"][0]["spec"]["replicas"] = "lots"
    path = tmp_path / "k8s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SchemaError, match=r"Deployment shop/web: field spec\.replicas"):
        load_paths([path])


def test_two_different_clusters_are_refused(tmp_path: Path) -> None:
    first = json.loads((FIXTURES / "aks-show-cli.json").read_text())
    second = {**first, "name": "aks-dev", "id": first["id"].replace("aks-prod", "aks-dev")}
    (tmp_path / "a.json").write_text(json.dumps(first))
    (tmp_path / "b.json").write_text(json.dumps(second))
    with pytest.raises(InputError, match="more than one cluster"):
        load_paths([tmp_path])


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("diagnostic-settings.json", Input.DIAGNOSTICS),
        ("extensions.json", Input.EXTENSIONS),
        ("maintenance.json", Input.MAINTENANCE),
        ("vmss-instances-aks-apps-vmss.json", Input.INSTANCES),
        ("vmss.json", Input.SCALE_SETS),
    ],
)
def test_an_empty_az_list_takes_its_kind_from_the_file_name(tmp_path: Path, name: str, kind: Input) -> None:
    (tmp_path / name).write_text("[]")
    (tmp_path / "aks.json").write_text((FIXTURES / "aks-show-cli.json").read_text())
    assert kind in load_paths([tmp_path]).snapshot.inputs


def test_an_empty_az_list_with_an_uninformative_name_observes_nothing(tmp_path: Path) -> None:
    (tmp_path / "out.json").write_text('{"value": []}')
    (tmp_path / "aks.json").write_text((FIXTURES / "aks-show-cli.json").read_text())
    assert load_paths([tmp_path]).snapshot.inputs == {Input.CLUSTER, Input.NODEPOOLS}


def test_every_object_remembers_the_file_it_came_from(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "aks-show-cli.json", "nodepool-list.json", "kubectl-mixed.json")
    snap = load_paths([folder]).snapshot
    assert snap.origin_of(Target(kind="Deployment", name="web", namespace="shop")) == str(folder / "kubectl-mixed.json")
    assert snap.origin_of(Target(kind="agentPool", name="apps", resource_id="x")) == str(folder / "nodepool-list.json")
    assert snap.origin_of(Target(kind="managedCluster", name="aks-prod", resource_id="x")) == str(
        folder / "aks-show-cli.json"
    )
    # a namespace known only from the objects in it points at the first file of that kind
    assert snap.origin_of(Target(kind="Namespace", name="payments")) == str(folder / "kubectl-mixed.json")

"""Custom resources on the twin, as the apiextensions apiserver serves them: CRUD, generation, optimistic
concurrency, the status subresource, schema pruning and validation, selectors, watches and tables; through
the API handler, the official client's CustomObjectsApi and lightkube's generic resources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException
from lightkube import ApiError, Client, KubeConfig
from lightkube.generic_resource import create_global_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.types import PatchType

from .conftest import READER_TOKEN, Kube, payload
from .crdkit import NREMS, TABLE, bare_served, crd_kube, install, remediation, status_of, stream_events

__all__ = ["bare_served", "crd_kube"]  # fixtures used below

MERGE = "application/merge-patch+json"
STORE_KEY = "noderemediations.nodewarden.io"


def _create(kube: Kube, name: str, **labels: str) -> dict[str, Any]:
    response = kube.call("POST", NREMS, remediation(name, **labels))
    assert response.status == 201, response.body
    return dict(payload(response))


def test_generation_moves_with_the_spec_only(crd_kube: Kube) -> None:
    created = _create(crd_kube, "ep-1")
    assert created["metadata"]["generation"] == 1
    labelled = payload(
        crd_kube.call("PATCH", f"{NREMS}/ep-1", {"metadata": {"labels": {"a": "b"}}}, content_type=MERGE)
    )
    assert labelled["metadata"]["generation"] == 1
    assert int(labelled["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    status = payload(crd_kube.call("PATCH", f"{NREMS}/ep-1/status", {"status": {"state": "open"}}, content_type=MERGE))
    assert status["metadata"]["generation"] == 1
    changed = payload(crd_kube.call("PATCH", f"{NREMS}/ep-1", {"spec": {"pool": "apps"}}, content_type=MERGE))
    assert changed["metadata"]["generation"] == 2


def test_a_put_with_a_stale_resource_version_is_a_409_conflict(crd_kube: Kube) -> None:
    first = _create(crd_kube, "ep-1")
    crd_kube.call("PATCH", f"{NREMS}/ep-1", {"spec": {"pool": "apps"}}, content_type=MERGE)
    first["spec"]["zone"] = "westeurope-1"
    response = crd_kube.call("PUT", f"{NREMS}/ep-1", first)
    error = status_of(response)
    assert (response.status, error["reason"]) == (409, "Conflict")
    assert error["message"] == (
        'Operation cannot be fulfilled on noderemediations.nodewarden.io "ep-1": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert error["details"] == {"name": "ep-1", "group": "nodewarden.io", "kind": "noderemediations"}
    assert "zone" not in crd_kube.store.get(STORE_KEY, None, "ep-1")["spec"]


@pytest.mark.parametrize(
    ("desc", "change", "field", "reason", "message"),
    [
        ("missing required", {"spec": {"node": None}}, "spec.node", "FieldValueRequired", "Required value"),
        (
            "wrong type",
            {"spec": {"node": 7}},
            "spec.node",
            "FieldValueTypeInvalid",
            'Invalid value: "integer": spec.node in body must be of type string: "integer"',
        ),
        (
            "wrong type in a list",
            {"spec": {"causes": ["ok", True]}},
            "spec.causes[1]",
            "FieldValueTypeInvalid",
            'Invalid value: "boolean": spec.causes[1] in body must be of type string: "boolean"',
        ),
        (
            "not a date-time",
            {"spec": {"openedAt": "yesterday"}},
            "spec.openedAt",
            "FieldValueInvalid",
            'Invalid value: "yesterday": spec.openedAt in body must be of type date-time: "yesterday"',
        ),
    ],
)
def test_an_object_that_breaks_the_schema_is_422_naming_the_field(
    crd_kube: Kube, desc: str, change: dict[str, Any], field: str, reason: str, message: str
) -> None:
    body = remediation("ep-1")
    for key, value in change["spec"].items():
        if value is None:
            del body["spec"][key]
        else:
            body["spec"][key] = value
    response = crd_kube.call("POST", NREMS, body)
    error = status_of(response)
    assert (response.status, error["reason"]) == (422, "Invalid"), desc
    assert error["message"] == f'NodeRemediation.nodewarden.io "ep-1" is invalid: {field}: {message}'
    assert error["details"]["causes"] == [{"reason": reason, "message": message, "field": field}]
    assert error["details"]["kind"] == "NodeRemediation"
    assert crd_kube.store.count(STORE_KEY) == 0


def test_a_bad_enum_in_the_status_is_422_and_leaves_the_object_alone(crd_kube: Kube) -> None:
    _create(crd_kube, "ep-1")
    intent = {"key": "ep-1/Cordon/1", "step": "Fly", "subject": "n", "intentAt": "2026-12-07T10:00:00Z"}
    response = crd_kube.call(
        "PATCH", f"{NREMS}/ep-1/status", {"status": {"state": "lost", "intents": [intent]}}, content_type=MERGE
    )
    error = status_of(response)
    assert response.status == 422
    assert sorted(error["details"]["causes"], key=lambda cause: cause["field"]) == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "status.intents[0].outcome"},
        {
            "reason": "FieldValueNotSupported",
            "message": 'Unsupported value: "Fly": supported values: "Cordon", "Drain", "Restart", "Reimage", '
            '"Redeploy", "Replace", "Uncordon", "Scale", "Escalate", "PowerOff", "Fence", "Unfence"',
            "field": "status.intents[0].step",
        },
        {
            "reason": "FieldValueNotSupported",
            "message": 'Unsupported value: "lost": supported values: "open", "recovered", "failed", "abandoned"',
            "field": "status.state",
        },
    ]
    assert error["message"].startswith('NodeRemediation.nodewarden.io "ep-1" is invalid: [status.')
    assert "status" not in crd_kube.store.get(STORE_KEY, None, "ep-1")


def test_unknown_fields_are_pruned_and_strict_field_validation_refuses_them(crd_kube: Kube) -> None:
    body = remediation("ep-1")
    body["spec"]["colour"] = "red"
    body["extra"] = {"a": 1}
    strict = crd_kube.call("POST", f"{NREMS}?fieldValidation=Strict", body)
    assert strict.status == 400
    assert status_of(strict)["message"] == (
        'NodeRemediation in version "v1alpha1" cannot be handled as a NodeRemediation: strict decoding error: '
        'unknown field "extra", unknown field "spec.colour"'
    )
    created = payload(crd_kube.call("POST", NREMS, body))
    assert "extra" not in created
    assert "colour" not in created["spec"]
    crd_kube.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {})  # refused, changes nothing
    incident = {
        "apiVersion": "nodewarden.io/v1alpha1",
        "kind": "Incident",
        "metadata": {"name": "inc-1"},
        "spec": {
            "id": "inc-1",
            "state": "open",
            "startedAt": "2026-12-07T10:00:00Z",
            "record": {"any": {"thing": [1]}},
        },
    }
    kept = payload(crd_kube.call("POST", "/apis/nodewarden.io/v1alpha1/incidents", incident))
    assert kept["spec"]["record"] == {"any": {"thing": [1]}}  # x-kubernetes-preserve-unknown-fields


def test_status_is_written_through_the_status_subresource_only(crd_kube: Kube) -> None:
    body = remediation("ep-1")
    body["status"] = {"state": "recovered"}
    created = payload(crd_kube.call("POST", NREMS, body))
    assert "status" not in created  # create drops status when the subresource is enabled
    with_status = payload(
        crd_kube.call("PUT", f"{NREMS}/ep-1/status", {**created, "status": {"state": "open", "step": "Cordon"}})
    )
    assert with_status["status"] == {"state": "open", "step": "Cordon"}
    sneaky = {**with_status, "spec": {**with_status["spec"], "pool": "apps"}, "status": {"state": "failed"}}
    main = payload(crd_kube.call("PUT", f"{NREMS}/ep-1", sneaky))
    assert main["status"] == {"state": "open", "step": "Cordon"}  # the main endpoint ignores status
    assert main["spec"]["pool"] == "apps"
    via_status = payload(
        crd_kube.call(
            "PATCH",
            f"{NREMS}/ep-1/status",
            {"spec": {"pool": "x"}, "status": {"state": "recovered"}},
            content_type=MERGE,
        )
    )
    assert via_status["spec"]["pool"] == "apps"  # /status ignores the spec
    assert via_status["status"] == {"state": "recovered", "step": "Cordon"}
    assert via_status["metadata"]["generation"] == 2


def test_merge_and_json_patches_apply_and_a_strategic_merge_patch_is_415(crd_kube: Kube) -> None:
    _create(crd_kube, "ep-1")
    merged = payload(crd_kube.call("PATCH", f"{NREMS}/ep-1", {"spec": {"causes": ["NotReady"]}}, content_type=MERGE))
    assert merged["spec"]["causes"] == ["NotReady"]
    ops = [
        {"op": "add", "path": "/spec/causes/-", "value": "LeaseStale"},
        {"op": "replace", "path": "/spec/zone", "value": "z"},
    ]
    broken = crd_kube.call("PATCH", f"{NREMS}/ep-1", ops, content_type="application/json-patch+json")
    assert broken.status == 422  # /spec/zone does not exist to replace
    ops[1]["op"] = "add"
    patched = payload(crd_kube.call("PATCH", f"{NREMS}/ep-1", ops, content_type="application/json-patch+json"))
    assert (patched["spec"]["causes"], patched["spec"]["zone"]) == (["NotReady", "LeaseStale"], "z")
    strategic = crd_kube.call(
        "PATCH", f"{NREMS}/ep-1", {"spec": {"zone": "y"}}, content_type="application/strategic-merge-patch+json"
    )
    assert (strategic.status, status_of(strategic)["reason"]) == (415, "UnsupportedMediaType")
    wrong = crd_kube.call("PATCH", f"{NREMS}/ep-1", {"spec": {"node": 1}}, content_type=MERGE)
    assert wrong.status == 422


def test_lists_and_deletecollection_take_label_selectors(crd_kube: Kube) -> None:
    _create(crd_kube, "ep-1", pool="apps")
    _create(crd_kube, "ep-2", pool="system")
    _create(crd_kube, "ep-3", pool="apps")
    listed = payload(crd_kube.call("GET", f"{NREMS}?labelSelector=pool%3Dapps"))
    assert listed["kind"] == "NodeRemediationList"
    assert listed["apiVersion"] == "nodewarden.io/v1alpha1"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["ep-1", "ep-3"]
    assert [
        i["metadata"]["name"] for i in payload(crd_kube.call("GET", f"{NREMS}?labelSelector=pool!%3Dapps"))["items"]
    ] == ["ep-2"]
    page = payload(crd_kube.call("GET", f"{NREMS}?limit=2"))
    assert page["metadata"]["remainingItemCount"] == 1
    assert crd_kube.call("DELETE", f"{NREMS}?labelSelector=pool%3Dapps").status == 200
    assert [o["metadata"]["name"] for o in crd_kube.store.list(STORE_KEY).items] == ["ep-2"]


def test_a_watch_sees_added_modified_and_deleted_with_resource_versions(crd_kube: Kube) -> None:
    _create(crd_kube, "ep-0", pool="system")
    rv = payload(crd_kube.call("GET", NREMS))["metadata"]["resourceVersion"]
    created = _create(crd_kube, "ep-1", pool="apps")
    modified = payload(
        crd_kube.call("PATCH", f"{NREMS}/ep-1/status", {"status": {"state": "open"}}, content_type=MERGE)
    )
    _create(crd_kube, "ep-2", pool="system")
    deleted = payload(crd_kube.call("DELETE", f"{NREMS}/ep-1"))
    watch = crd_kube.call("GET", f"{NREMS}?watch=true&resourceVersion={rv}&labelSelector=pool%3Dapps&timeoutSeconds=5")
    events = stream_events(watch, 3)
    assert [(e["type"], e["object"]["metadata"]["resourceVersion"]) for e in events] == [
        ("ADDED", created["metadata"]["resourceVersion"]),
        ("MODIFIED", modified["metadata"]["resourceVersion"]),
        ("DELETED", deleted["metadata"]["resourceVersion"]),
    ]
    assert {e["object"]["kind"] for e in events} == {"NodeRemediation"}


def test_tables_show_name_then_the_printer_columns_with_dates_as_ages(crd_kube: Kube) -> None:
    _create(crd_kube, "ep-1")
    _create(crd_kube, "ep-2")
    crd_kube.call("PATCH", f"{NREMS}/ep-1/status", {"status": {"state": "open", "step": "Drain"}}, content_type=MERGE)
    crd_kube.clock.advance(seconds=3 * 3600)
    table = payload(crd_kube.call("GET", NREMS, accept=TABLE))
    assert table["kind"] == "Table"
    assert [(c["name"], c["type"]) for c in table["columnDefinitions"]] == [
        ("Name", "string"),
        ("Node", "string"),
        ("Step", "string"),
        ("State", "string"),
        ("Age", "date"),
    ]
    assert [row["cells"] for row in table["rows"]] == [
        ["ep-1", "aks-apps-12345678-vmss000001", "Drain", "open", "3h"],
        ["ep-2", "aks-apps-12345678-vmss000001", None, None, "3h"],
    ]
    one = payload(crd_kube.call("GET", f"{NREMS}/ep-2", accept=TABLE))
    assert one["rows"][0]["object"]["metadata"]["name"] == "ep-2"


def test_a_read_only_token_reads_custom_resources_but_may_not_write_their_status(crd_kube: Kube) -> None:
    _create(crd_kube, "ep-1")
    assert crd_kube.call("GET", f"{NREMS}/ep-1", token=READER_TOKEN).status == 200
    response = crd_kube.call("PATCH", f"{NREMS}/ep-1/status", {"status": {}}, token=READER_TOKEN, content_type=MERGE)
    error = status_of(response)
    assert response.status == 403
    assert error["message"] == (
        'noderemediations "ep-1" is forbidden: User "read-only" cannot patch resource "noderemediations/status" '
        'in API group "nodewarden.io" at the cluster scope'
    )
    assert crd_kube.call("POST", NREMS, remediation("ep-2"), token=READER_TOKEN).status == 403


# -- real clients over HTTPS ---------------------------------------------------------------------------


def _custom_objects(kubeconfig: Path) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(k8s_config.new_client_from_config(config_file=str(kubeconfig)))  # type: ignore[no-untyped-call]


GROUP, VERSION, PLURAL = "nodewarden.io", "v1alpha1", "noderemediations"
NodeRemediation = create_global_resource(GROUP, VERSION, "NodeRemediation", PLURAL)


def test_the_official_client_drives_a_noderemediation_through_its_life(bare_served: tuple[Kube, Path]) -> None:
    kube, kubeconfig = bare_served
    install(kube)
    api = _custom_objects(kubeconfig)
    created: Any = api.create_cluster_custom_object(GROUP, VERSION, PLURAL, remediation("ep-1", pool="apps"))
    got: Any = api.get_cluster_custom_object(GROUP, VERSION, PLURAL, "ep-1")
    assert got["spec"] == created["spec"]
    listing: Any = api.list_cluster_custom_object(GROUP, VERSION, PLURAL, label_selector="pool=apps")
    assert [i["metadata"]["name"] for i in listing["items"]] == ["ep-1"]
    patched: Any = api.patch_cluster_custom_object(GROUP, VERSION, PLURAL, "ep-1", {"spec": {"zone": "westeurope-2"}})
    assert patched["metadata"]["generation"] == 2
    with_status: Any = api.replace_cluster_custom_object_status(
        GROUP, VERSION, PLURAL, "ep-1", {**patched, "status": {"state": "open", "step": "Cordon"}}
    )
    assert with_status["status"] == {"state": "open", "step": "Cordon"}
    with pytest.raises(ApiException) as stale:
        api.replace_cluster_custom_object(GROUP, VERSION, PLURAL, "ep-1", created)
    assert stale.value.status == 409
    with pytest.raises(ApiException) as bad:
        api.create_cluster_custom_object(GROUP, VERSION, PLURAL, {**remediation("ep-2"), "spec": {"node": 3}})
    assert bad.value.status == 422
    causes = json.loads(bad.value.body or "{}")["details"]["causes"]
    assert {(c["field"], c["reason"]) for c in causes} == {
        ("spec.node", "FieldValueTypeInvalid"),
        ("spec.episode", "FieldValueRequired"),
        ("spec.openedAt", "FieldValueRequired"),
    }
    rv = listing["metadata"]["resourceVersion"]
    api.delete_cluster_custom_object(GROUP, VERSION, PLURAL, "ep-1")
    events: list[tuple[str, str]] = []
    event: Any
    for event in k8s_watch.Watch().stream(  # type: ignore[no-untyped-call]
        api.list_cluster_custom_object, GROUP, VERSION, PLURAL, resource_version=rv, timeout_seconds=5
    ):
        events.append((event["type"], event["object"]["metadata"]["name"]))
        if len(events) == 3:
            break
    assert events == [("MODIFIED", "ep-1"), ("MODIFIED", "ep-1"), ("DELETED", "ep-1")]


def test_lightkube_generic_resources_create_patch_write_status_and_delete(bare_served: tuple[Kube, Path]) -> None:
    kube, kubeconfig = bare_served
    install(kube)
    client = Client(config=KubeConfig.from_file(kubeconfig))
    created = client.create(NodeRemediation.from_dict(remediation("ep-1", pool="apps")))
    assert created.metadata is not None
    assert created.metadata.generation == 1
    assert [o.metadata.name for o in client.list(NodeRemediation, labels={"pool": "apps"})] == ["ep-1"]  # type: ignore[union-attr]
    patched = client.patch(NodeRemediation, "ep-1", {"spec": {"zone": "z"}}, patch_type=PatchType.MERGE)
    assert patched["spec"]["zone"] == "z"
    with pytest.raises(ApiError) as strategic:
        client.patch(NodeRemediation, "ep-1", {"spec": {"zone": "y"}})  # lightkube's default patch type
    assert strategic.value.status.code == 415
    status = NodeRemediation.Status.from_dict(
        {"metadata": ObjectMeta(name="ep-1").to_dict(), "status": {"state": "open", "step": "Restart"}}
    )
    written = client.replace(status)
    assert written["status"] == {"state": "open", "step": "Restart"}
    assert written["spec"]["zone"] == "z"
    client.delete(NodeRemediation, "ep-1")
    assert kube.store.count(STORE_KEY) == 0


def test_pruning_reaches_into_list_items_and_stops_at_preserved_fields(crd_kube: Kube) -> None:
    _create(crd_kube, "ep-1")
    intent = {
        "key": "ep-1/Cordon/1",
        "step": "Cordon",
        "subject": "n",
        "intentAt": "2026-12-07T10:00:00Z",
        "outcome": "pending",
        "retries": 3,
    }
    written = payload(
        crd_kube.call("PATCH", f"{NREMS}/ep-1/status", {"status": {"intents": [intent]}}, content_type=MERGE)
    )
    assert "retries" not in written["status"]["intents"][0]
    assert written["status"]["intents"][0]["outcome"] == "pending"

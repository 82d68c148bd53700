"""CustomResourceDefinitions on the twin: established on create, in discovery while they exist, their objects
deleted with them; through the API handler, the official client and kubectl."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from nodewarden.twin.service import Twin
from tests.tools import kubectl_120

from .conftest import Kube, payload
from .crdkit import (
    CRD_DIR,
    CRDS,
    NREMS,
    bare_served,
    crd_kube,
    install,
    remediation,
    shipped_crd,
    status_of,
    stream_events,
)

__all__ = ["bare_served", "crd_kube"]  # fixtures used below


def _namespaced_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
                        }
                    },
                }
            ],
        },
    }


def test_a_created_crd_is_established_with_its_names_accepted(kube: Kube) -> None:
    created = payload(kube.call("POST", CRDS, shipped_crd("noderemediations")))
    crd = payload(kube.call("GET", f"{CRDS}/noderemediations.nodewarden.io"))
    assert crd["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    conditions = {c["type"]: (c["status"], c["reason"]) for c in crd["status"]["conditions"]}
    assert conditions == {"NamesAccepted": ("True", "NoConflicts"), "Established": ("True", "InitialNamesAccepted")}
    assert crd["status"]["acceptedNames"] == {
        "plural": "noderemediations",
        "singular": "noderemediation",
        "shortNames": ["nrem"],
        "kind": "NodeRemediation",
        "listKind": "NodeRemediationList",
        "categories": ["nodewarden"],
    }
    assert crd["status"]["storedVersions"] == ["v1alpha1"]
    listed = payload(kube.call("GET", CRDS))
    assert [item["metadata"]["name"] for item in listed["items"]] == ["noderemediations.nodewarden.io"]


def test_discovery_shows_a_crd_from_its_creation_until_its_deletion(kube: Kube) -> None:
    def groups() -> list[str]:
        return [g["name"] for g in payload(kube.call("GET", "/apis"))["groups"]]

    assert "nodewarden.io" not in groups()
    assert kube.call("GET", "/apis/nodewarden.io").status == 404
    assert kube.call("GET", NREMS).status == 404
    install(kube)
    assert "nodewarden.io" in groups()
    group = payload(kube.call("GET", "/apis/nodewarden.io"))
    assert group["preferredVersion"] == {"groupVersion": "nodewarden.io/v1alpha1", "version": "v1alpha1"}
    resources = {r["name"]: r for r in payload(kube.call("GET", "/apis/nodewarden.io/v1alpha1"))["resources"]}
    assert set(resources) == {"noderemediations", "noderemediations/status", "incidents"}
    assert resources["noderemediations"]["shortNames"] == ["nrem"]
    assert resources["noderemediations"]["categories"] == ["nodewarden"]
    assert resources["noderemediations"]["namespaced"] is False
    assert resources["noderemediations"]["kind"] == "NodeRemediation"
    assert set(resources["noderemediations"]["verbs"]) >= {"create", "get", "list", "watch", "patch", "update"}
    assert resources["noderemediations/status"]["verbs"] == ["get", "patch", "update"]
    assert resources["incidents"]["shortNames"] == ["nwinc"]
    openapi = payload(kube.call("GET", "/openapi/v3"))["paths"]
    assert openapi["apis/nodewarden.io/v1alpha1"] == {"serverRelativeURL": "/openapi/v3/apis/nodewarden.io/v1alpha1"}

    assert kube.call("DELETE", f"{CRDS}/noderemediations.nodewarden.io").status == 200
    resources_after = [r["name"] for r in payload(kube.call("GET", "/apis/nodewarden.io/v1alpha1"))["resources"]]
    assert resources_after == ["incidents"]
    assert kube.call("GET", NREMS).status == 404
    assert kube.call("DELETE", f"{CRDS}/incidents.nodewarden.io").status == 200
    assert "nodewarden.io" not in groups()
    assert kube.call("GET", "/apis/nodewarden.io/v1alpha1").status == 404


def test_deleting_a_crd_deletes_its_objects_and_ends_their_watches(crd_kube: Kube) -> None:
    kube = crd_kube
    for name in ("ep-1", "ep-2"):
        assert kube.call("POST", NREMS, remediation(name)).status == 201
    rv = payload(kube.call("GET", NREMS))["metadata"]["resourceVersion"]
    watch = kube.call("GET", f"{NREMS}?watch=1&resourceVersion={rv}&timeoutSeconds=5")
    assert kube.call("DELETE", f"{CRDS}/noderemediations.nodewarden.io").status == 200
    events = stream_events(watch, 3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("DELETED", "ep-1"), ("DELETED", "ep-2")]
    install(kube, "noderemediations")
    assert payload(kube.call("GET", NREMS))["items"] == []


def test_a_crd_the_apiserver_would_refuse_is_422_with_causes(kube: Kube) -> None:
    crd = shipped_crd("noderemediations")
    crd["metadata"]["name"] = "remediations.nodewarden.io"
    crd["spec"]["scope"] = "Global"
    error = status_of(kube.call("POST", CRDS, crd))
    assert error["code"] == 422
    assert error["reason"] == "Invalid"
    assert error["message"].startswith(
        'CustomResourceDefinition.apiextensions.k8s.io "remediations.nodewarden.io" is invalid: ['
    )
    causes = {(c["field"], c["reason"]) for c in error["details"]["causes"]}
    assert causes == {("spec.scope", "FieldValueNotSupported"), ("metadata.name", "FieldValueInvalid")}
    assert "nodewarden.io" not in str(payload(kube.call("GET", "/apis")))


def test_a_namespaced_crd_serves_its_objects_per_namespace(kube: Kube) -> None:
    assert kube.call("POST", CRDS, _namespaced_crd()).status == 201
    kube.call("POST", "/api/v1/namespaces", {"metadata": {"name": "shop"}})
    for namespace, name in (("default", "a"), ("shop", "b")):
        body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": 1}}
        assert kube.call("POST", f"/apis/example.com/v1/namespaces/{namespace}/widgets", body).status == 201
    shop = payload(kube.call("GET", "/apis/example.com/v1/namespaces/shop/widgets"))
    assert shop["kind"] == "WidgetList"
    assert [(w["metadata"]["namespace"], w["metadata"]["name"]) for w in shop["items"]] == [("shop", "b")]
    everywhere = payload(kube.call("GET", "/apis/example.com/v1/widgets"))
    assert [w["metadata"]["name"] for w in everywhere["items"]] == ["a", "b"]
    assert payload(kube.call("GET", "/apis/example.com/v1/namespaces/shop/widgets/b"))["spec"] == {"size": 1}
    assert kube.call("GET", "/apis/example.com/v1/namespaces/default/widgets/b").status == 404
    columns = payload(kube.call("GET", "/apis/example.com/v1/namespaces/shop/widgets", accept=TABLE_ACCEPT))
    assert [c["name"] for c in columns["columnDefinitions"]] == ["Name", "Age"]


TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def test_the_official_client_creates_lists_and_deletes_crds(bare_served: tuple[Kube, Path]) -> None:
    kube, kubeconfig = bare_served
    api = k8s.ApiextensionsV1Api(k8s_config.new_client_from_config(config_file=str(kubeconfig)))  # type: ignore[no-untyped-call]
    body: Any = shipped_crd("noderemediations")  # the client sends a dict as it is
    api.create_custom_resource_definition(body)
    crd: Any = api.read_custom_resource_definition("noderemediations.nodewarden.io")
    assert crd.spec.names.short_names == ["nrem"]
    assert {c.type: c.status for c in crd.status.conditions} == {"NamesAccepted": "True", "Established": "True"}
    names = [c.metadata.name for c in api.list_custom_resource_definition().items if c.metadata]
    assert names == ["noderemediations.nodewarden.io"]
    api.delete_custom_resource_definition("noderemediations.nodewarden.io")
    assert api.list_custom_resource_definition().items == []
    assert kube.store.count("customresourcedefinitions") == 0


@pytest.fixture
def kubectl(bare_served: tuple[Kube, Path], tmp_path: Path) -> Any:
    """Run Debian's kubectl 1.20 against the served twin: `kubectl("get", "nrem")` → (returncode, stdout, stderr)."""
    binary = str(kubectl_120())
    _, kubeconfig = bare_served
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path)}

    def run(*args: str) -> tuple[int, str, str]:
        done = subprocess.run(
            [binary, "--cache-dir", str(tmp_path / "kube-cache"), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        return done.returncode, done.stdout, done.stderr

    return run


def test_kubectl_applies_the_shipped_crds_and_lists_noderemediations(
    bare_served: tuple[Kube, Path], kubectl: Any, tmp_path: Path
) -> None:
    kube, _ = bare_served
    code, out, err = kubectl("apply", "-k", str(CRD_DIR))
    assert code == 0, err
    assert "customresourcedefinition.apiextensions.k8s.io/noderemediations.nodewarden.io created" in out
    manifest = tmp_path / "nrem.yaml"
    manifest.write_text(
        "apiVersion: nodewarden.io/v1alpha1\nkind: NodeRemediation\nmetadata:\n  name: ep-1\n"
        "spec:\n  episode: ep-1\n  node: aks-apps-12345678-vmss000001\n  openedAt: '2026-12-07T10:00:00Z'\n"
    )
    code, out, err = kubectl("apply", "-f", str(manifest))
    assert code == 0, err
    kube.store.patch(
        "noderemediations.nodewarden.io",
        None,
        "ep-1",
        {"status": {"state": "open", "step": "Cordon"}},
        "application/merge-patch+json",
        subresource="status",
    )
    kube.clock.advance(seconds=300)
    code, out, err = kubectl("get", "noderemediations")
    assert code == 0, err
    assert out.split() == [
        "NAME",
        "NODE",
        "STEP",
        "STATE",
        "AGE",
        "ep-1",
        "aks-apps-12345678-vmss000001",
        "Cordon",
        "open",
        "5m",
    ]
    code, short, err = kubectl("get", "nrem")
    assert (code, short) == (0, out)
    code, out, err = kubectl("apply", "-f", str(manifest))  # unchanged: a merge patch, no new generation
    assert code == 0, err
    assert "noderemediation.nodewarden.io/ep-1 unchanged" in out
    code, out, err = kubectl("delete", "nrem", "ep-1")
    assert code == 0, err
    assert 'noderemediation.nodewarden.io "ep-1" deleted' in out
    assert kube.store.count("noderemediations.nodewarden.io") == 0
    code, out, err = kubectl("delete", "-k", str(CRD_DIR))
    assert code == 0, err
    assert kube.store.count("customresourcedefinitions") == 0


def test_updating_a_crd_changes_what_discovery_and_its_status_show(crd_kube: Kube) -> None:
    name = f"{CRDS}/noderemediations.nodewarden.io"
    before = payload(crd_kube.call("GET", name))
    patch = {"spec": {"names": {"shortNames": ["nrem", "nr"]}}}
    after = payload(crd_kube.call("PATCH", name, patch, content_type="application/merge-patch+json"))
    assert after["status"]["acceptedNames"]["shortNames"] == ["nrem", "nr"]
    assert after["status"]["conditions"] == before["status"]["conditions"]
    resources = {r["name"]: r for r in payload(crd_kube.call("GET", "/apis/nodewarden.io/v1alpha1"))["resources"]}
    assert resources["noderemediations"]["shortNames"] == ["nrem", "nr"]


def test_a_twin_service_can_start_with_the_crds_installed() -> None:
    with Twin("small", manifests=sorted(p for p in CRD_DIR.glob("*.yaml") if p.name != "kustomization.yaml")) as twin:
        names = [c["metadata"]["name"] for c in twin.world.store.list("customresourcedefinitions").items]
        assert names == ["incidents.nodewarden.io", "noderemediations.nodewarden.io"]
        assert twin.world.store.resources.lookup("nodewarden.io", "v1alpha1", "noderemediations") is not None
    with Twin("small") as plain:
        assert plain.world.store.count("customresourcedefinitions") == 0  # not by default


@pytest.mark.parametrize("path", ["/openapi/v3/apis/nodewarden.io", "/openapi/v3/apis/nope.io/v1", "/openapi/v3/api"])
def test_openapi_documents_exist_only_for_served_group_versions(crd_kube: Kube, path: str) -> None:
    assert crd_kube.call("GET", path).status == 404
    document = payload(crd_kube.call("GET", "/openapi/v3/apis/nodewarden.io/v1alpha1"))
    patch = document["paths"]["/apis/nodewarden.io/v1alpha1/noderemediations/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "nodewarden.io",
        "version": "v1alpha1",
        "kind": "NodeRemediation",
    }
    assert {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}} in patch["parameters"]

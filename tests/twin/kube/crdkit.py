"""Shared by the CRD and custom-resource tests: the shipped CRDs, NodeRemediation bodies, a served bare twin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nodewarden.twin.http import Response

from .conftest import Kube, payload, serving

CRD_DIR = Path(__file__).resolve().parents[3] / "deploy" / "crds"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
NREMS = "/apis/nodewarden.io/v1alpha1/noderemediations"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def shipped_crd(name: str) -> dict[str, Any]:
    """deploy/crds/<name>.yaml, as nodewarden installs it."""
    document = yaml.safe_load((CRD_DIR / f"{name}.yaml").read_text())
    assert isinstance(document, dict)
    return document


def remediation(name: str, *, node: str = "aks-apps-12345678-vmss000001", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "nodewarden.io/v1alpha1",
        "kind": "NodeRemediation",
        "metadata": {"name": name, "labels": labels},
        "spec": {"episode": name, "node": node, "openedAt": "2026-12-07T10:00:00Z"},
    }


def install(kube: Kube, *names: str) -> None:
    for name in names or ("noderemediations", "incidents"):
        response = kube.call("POST", CRDS, shipped_crd(name))
        assert response.status == 201, response.body


def stream_events(response: Response, count: int) -> list[dict[str, Any]]:
    """The first `count` watch events of a streamed response (the stream ends by its timeoutSeconds)."""
    assert response.stream is not None
    events: list[dict[str, Any]] = []
    for chunk in response.stream:
        events += [json.loads(line) for line in chunk.splitlines() if line]
        if len(events) >= count:
            break
    return events


def status_of(response: Response) -> dict[str, Any]:
    body = payload(response)
    assert body["kind"] == "Status", body
    return dict(body)


@pytest.fixture
def crd_kube(kube: Kube) -> Kube:
    """A twin with nodewarden's two CRDs installed through the API."""
    install(kube)
    return kube


@pytest.fixture
def bare_served(kube: Kube, tmp_path: Path) -> Iterator[tuple[Kube, Path]]:
    """A twin without nodes behind the real HTTPS server, with an admin kubeconfig for it."""
    with serving(kube, tmp_path) as pair:
        yield pair

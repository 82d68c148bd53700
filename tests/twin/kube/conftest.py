"""A Kubernetes twin on the manual clock: store, world, API handler, and a few nodes and workloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response
from nodewarden.twin.kube.api import KubeApi
from nodewarden.twin.kube.physics import KubeWorld
from nodewarden.twin.kube.store import KubeStore
from nodewarden.twin.machines import MachineSpec
from nodewarden.twin.server import HttpsServer

ADMIN_TOKEN = "admin-token"
READER_TOKEN = "reader-token"
POOL_PREFIX = "aks-apps-12345678-vmss"


def machine(index: int, *, zone: int | None = None, pool: str = "apps", cpu_millis: int = 4000) -> MachineSpec:
    zone_number = zone if zone is not None else index % 3 + 1
    return MachineSpec(
        node_name=f"aks-{pool}-12345678-vmss{index:06d}",
        provider_id=(
            "azure:///subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/mc_rg-twin_aks-twin_westeurope"
            f"/providers/Microsoft.Compute/virtualMachineScaleSets/aks-{pool}-12345678-vmss/virtualMachines/{index}"
        ),
        pool=pool,
        mode="User",
        region="westeurope",
        zone=f"westeurope-{zone_number}",
        vm_size="Standard_D4ds_v5",
        image_version="AKSUbuntu-2204gen2containerd-202611.10.0",
        os_sku="Ubuntu",
        cpu_millis=cpu_millis,
        memory_mib=16384,
        max_pods=110,
        kubelet_version="1.33.7",
    )


def deployment(name: str, *, replicas: int, namespace: str = "shop", cpu: str = "250m") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "image": "registry.example/app:1",
                            "resources": {"requests": {"cpu": cpu, "memory": "128Mi"}},
                        }
                    ],
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": labels},
                        }
                    ],
                },
            },
        },
    }


def pdb(name: str, *, namespace: str = "shop", **budget: Any) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"app": name}}, **budget},
    }


class Kube:
    """The Kubernetes side of a twin, driven by hand."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.store = KubeStore(self.clock)
        self.world = KubeWorld(self.store, self.clock)
        self.api = KubeApi(
            self.store, self.clock, {ADMIN_TOKEN: "admin", READER_TOKEN: "read-only"}, bookmark_interval=0.2
        )
        self.requests: list[Request] = []

    def route(self, request: Request) -> Response:
        """The server's router: remembers what the client sent."""
        self.requests.append(request)
        return self.api.handle(request)

    def boot(self, count: int, **kwargs: Any) -> list[str]:
        names = []
        for index in range(count):
            spec = machine(index, **kwargs)
            self.world.node_booted(spec)
            names.append(spec.node_name)
        return names

    def apply(self, *manifests: dict[str, Any]) -> None:
        for manifest in manifests:
            self.world.apply(manifest)
        self.world.settle()

    def pods(self, namespace: str = "shop") -> list[dict[str, Any]]:
        return self.store.list("pods", namespace).items

    def call(
        self,
        method: str,
        target: str,
        body: Any = None,
        *,
        token: str | None = ADMIN_TOKEN,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Response:
        headers = {"Content-Type": content_type, "Accept": accept}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
        return self.api.handle(Request.build(method, target, headers, raw, "https://127.0.0.1:6443"))


def payload(response: Response) -> Any:
    return json.loads(response.body)


@pytest.fixture
def kube() -> Kube:
    return Kube()


@pytest.fixture
def shop(kube: Kube) -> Kube:
    """Six nodes over three zones; shop/web (6 replicas, maxUnavailable 1) and shop/api (2 replicas, minAvailable 2)."""
    kube.boot(6)
    kube.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        deployment("web", replicas=6),
        pdb("web", maxUnavailable=1),
        deployment("api", replicas=2),
        pdb("api", minAvailable=2),
    )
    return kube


def write_kubeconfig(path: Path, server: str, ca_path: Path, token: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "twin", "cluster": {"server": server, "certificate-authority": str(ca_path)}}],
        "users": [{"name": "twin", "user": {"token": token}}],
        "contexts": [{"name": "twin", "context": {"cluster": "twin", "user": "twin", "namespace": "default"}}],
        "current-context": "twin",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def serving(kube: Kube, tmp_path: Path) -> Iterator[tuple[Kube, Path]]:
    """`kube` behind the real HTTPS server, with an admin kubeconfig for it."""
    server = HttpsServer(kube.route, clock=kube.clock, cert_dir=tmp_path / "certs").start()
    try:
        yield kube, write_kubeconfig(tmp_path / "kubeconfig", server.base_url, server.ca_path, ADMIN_TOKEN)
    finally:
        kube.api.close()
        server.stop()


@pytest.fixture
def served(shop: Kube, tmp_path: Path) -> Iterator[tuple[Kube, Path]]:
    """The shop twin behind the real HTTPS server, with a kubeconfig for it."""
    with serving(shop, tmp_path) as pair:
        yield pair

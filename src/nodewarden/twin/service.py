"""A running twin: world, clock, HTTPS server, state directory and an admin endpoint, in one object.

    with Twin(scenario="small") as twin:          # random port, manual clock
        twin.inject("instance-crash", target=node)
        twin.advance(60)

`nodewarden twin serve` runs the same thing until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from nodewarden.twin import faults
from nodewarden.twin.azure import ArmApi, AzureState, Identity
from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response, parse_bool
from nodewarden.twin.kube.api import KubeApi
from nodewarden.twin.kube.physics import KubeWorld
from nodewarden.twin.scenario import Scenario, load_scenario
from nodewarden.twin.server import HttpsServer
from nodewarden.twin.world import World

ADMIN_FILE = "twin.json"
CLIENT_ID = "00000000-0000-0000-0000-0000000c1e47"


class TwinService:
    """The twin as a service on 127.0.0.1; a manual clock unless `speed` is given."""

    def __init__(
        self,
        scenario: str | Path | Scenario = "small",
        *,
        speed: float | None = None,
        port: int = 0,
        state_dir: Path | None = None,
        advance_on_poll: float = 0.0,
        auto_repair: bool | None = None,
        start: datetime | None = None,
        manifests: Sequence[Path] = (),
    ) -> None:
        """`manifests`: YAML files applied before the twin serves, as `kubectl apply -f` (deploy/crds/*.yaml: a
        cluster nodewarden's CRDs are installed in)."""
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.clock = Clock(speed=speed) if start is None else Clock(start=start, speed=speed)
        self.world = World(self.scenario, clock=self.clock, auto_repair=auto_repair)
        for path in manifests:
            for document in yaml.safe_load_all(path.read_text("utf-8")):
                if document:
                    self.world.kube.apply(document)
        self.admin_token = secrets.token_urlsafe(24)
        self.read_only_token = secrets.token_urlsafe(24)
        self._twin_token = secrets.token_urlsafe(24)
        self.client_secret = secrets.token_urlsafe(24)
        cluster = self.scenario.cluster
        self.identity = Identity(
            self.clock,
            tenant_id=cluster.tenant_id,
            client_id=CLIENT_ID,
            client_secret=self.client_secret,
            enforce_expiry=False,  # SDKs cache tokens in real time; twin time may run far ahead of it
        )
        self.kube_api = KubeApi(
            self.world.store,
            self.clock,
            {self.admin_token: "admin", self.read_only_token: "read-only"},
            kubernetes_version=cluster.kubernetes_version,
        )
        self.arm_api = ArmApi(self.world.azure, self.clock, self.identity, advance_on_poll=advance_on_poll)
        self._server = HttpsServer(self.route, clock=self.clock, port=port, cert_dir=state_dir)
        self.state_dir = self._server.cert_dir
        # Every (method, path, is-a-watch) clients sent, for least-privilege tests; off unless turned on.
        self.record_requests = False
        self.requests: list[tuple[str, str, bool]] = []

    # -- what tests and the CLI use ------------------------------------------------------------------

    @property
    def kube(self) -> KubeWorld:
        return self.world.kube

    @property
    def azure(self) -> AzureState:
        return self.world.azure

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def ca_path(self) -> Path:
        return self._server.ca_path

    @property
    def kubeconfig_path(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def clock_mode(self) -> str:
        """How twin time moves: "manual", or "real time × 10" (the speed, as `twin serve --speed` set it)."""
        speed = self.clock.speed
        return "manual" if speed is None else f"real time × {speed:g}"

    def azure_config(self) -> dict[str, str]:
        """Everything the Azure SDK and azure-identity need to reach the twin."""
        cluster = self.scenario.cluster
        return {
            "subscriptionId": cluster.subscription_id,
            "resourceGroup": cluster.resource_group,
            "clusterName": cluster.name,
            "nodeResourceGroup": self.azure.scope.node_resource_group,
            "location": cluster.location,
            "armEndpoint": self.base_url,
            "authority": self.base_url.removeprefix("https://"),
            "tenantId": cluster.tenant_id,
            "clientId": CLIENT_ID,
            "clientSecret": self.client_secret,
            "caBundle": str(self.ca_path.resolve()),
            "imdsEndpoint": self.base_url,
        }

    def inject(self, fault: str, target: str | None = None, **options: Any) -> None:
        faults.inject(self.world, fault, target, options)

    def clear(self, fault: str, target: str | None = None) -> str:
        """Take a fault out again (faults.clear); a sentence saying what happened."""
        return faults.clear(self.world, fault, target)

    def clear_all(self) -> list[str]:
        """Take out every fault still in (faults.clear_all)."""
        return faults.clear_all(self.world)

    def now(self) -> datetime:
        """Twin time."""
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        if not self.clock.manual:
            raise RuntimeError("this twin's clock runs in real time; only a manual clock can be advanced")
        self.clock.advance(seconds)

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self, *, listen: bool = True) -> TwinService:
        """`listen=False` opens no socket: tests call `route` in-process (tests/support/twin_transport.py)."""
        self._server.start(listen=listen)
        self.clock.start()
        self._write_state()
        return self

    def stop(self) -> None:
        self.kube_api.close()
        self._server.stop()
        self.clock.stop()
        self.world.stop()
        (self.state_dir / ADMIN_FILE).unlink(missing_ok=True)

    def __enter__(self) -> TwinService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write_state(self) -> None:
        ca = str(self.ca_path.resolve())
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "twin", "cluster": {"server": self.base_url, "certificate-authority": ca}}],
            "users": [
                {"name": "twin-admin", "user": {"token": self.admin_token}},
                {"name": "twin-read-only", "user": {"token": self.read_only_token}},
            ],
            "contexts": [
                {"name": "twin", "context": {"cluster": "twin", "user": "twin-admin"}},
                {"name": "twin-read-only", "context": {"cluster": "twin", "user": "twin-read-only"}},
            ],
            "current-context": "twin",
        }
        _write_private(self.kubeconfig_path, yaml.safe_dump(kubeconfig, sort_keys=False))
        _write_private(self.state_dir / "azure.json", json.dumps(self.azure_config(), indent=2) + "\n")
        admin = {"url": self.base_url, "token": self._twin_token, "caBundle": ca}
        _write_private(self.state_dir / ADMIN_FILE, json.dumps(admin, indent=2) + "\n")

    # -- routing -------------------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        if self.record_requests:
            self.requests.append((request.method, request.path, parse_bool(request.arg("watch"))))
        if request.path.startswith("/twin/"):
            return self._admin(request)
        if request.path.rstrip("/") == "/metadata/scheduledevents":
            return self._scheduled_events(request)
        if self.arm_api.handles(request.path):
            return self.arm_api.handle(request)
        return self.kube_api.handle(request)

    def _scheduled_events(self, request: Request) -> Response:
        """IMDS Scheduled Events (learn.microsoft.com/azure/virtual-machines/linux/scheduled-events).

        Real IMDS answers each VM for itself at 169.254.169.254; the twin serves every node from one
        address, so `?vm=<node name>` picks the VM (without it: every event). IMDS insists on the
        `Metadata: true` header and rejects a request that carries `X-Forwarded-For`.
        """
        if request.headers.get("metadata", "").lower() != "true" or "x-forwarded-for" in request.headers:
            return Response.json(400, {"error": "Bad request. Required metadata header not specified"})
        vm = request.arg("vm")
        try:
            if request.method == "POST":
                for start in (request.json() or {}).get("StartRequests", []):
                    self.azure.approve_event(str(start.get("EventId")))
                return Response.empty(200)
            return Response.json(200, self.azure.scheduled_events(vm) if vm else self.azure.scheduled_events())
        except (KeyError, LookupError, ValueError) as exc:
            return Response.json(404, {"error": str(exc)})

    def _admin(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self._twin_token}":
            return Response.json(401, {"message": "the twin admin token is in twin.json in the state directory"})
        try:
            if request.path == "/twin/faults" and request.method == "GET":
                catalogue = [
                    {"name": f.name, "target": f.target, "description": f.description} for f in faults.CATALOGUE
                ]
                return Response.json(200, {"faults": catalogue})
            if request.path == "/twin/faults" and request.method == "POST":
                body = request.json() or {}
                self.inject(str(body.get("fault")), body.get("target"), **dict(body.get("options") or {}))
                return Response.json(200, {"injected": body.get("fault"), "now": self.clock.now().isoformat()})
            if request.path == "/twin/faults/clear" and request.method == "POST":
                body = request.json() or {}
                if body.get("all"):
                    cleared = self.clear_all()
                else:
                    cleared = [self.clear(str(body.get("fault")), body.get("target"))]
                return Response.json(200, {"cleared": cleared, "now": self.clock.now().isoformat()})
            if request.path == "/twin/clock" and request.method == "POST":
                self.advance(float((request.json() or {}).get("advance", 0)))
                return Response.json(200, {"now": self.clock.now().isoformat()})
            if request.path == "/twin/clock" and request.method == "GET":
                return Response.json(200, {"now": self.clock.now().isoformat(), "mode": self.clock_mode})
        except (faults.FaultError, RuntimeError, ValueError, TypeError) as exc:
            return Response.json(400, {"message": str(exc)})
        return Response.json(404, {"message": f"no admin endpoint {request.method} {request.path}"})


Twin = TwinService


def _write_private(path: Path, text: str) -> None:
    """Secrets (tokens, the client secret) go into files only their owner can read."""
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    temporary.replace(path)

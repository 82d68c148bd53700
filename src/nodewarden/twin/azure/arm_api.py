"""Azure Resource Manager over HTTP: translates ARM requests into AzureState calls and back.

Covers the AKS paths (managedClusters, agentPools, deleteMachines, machines), the Compute paths
(scale sets, their VMs, per-instance and batch actions, simulateEviction), long-running operations
(ARM's Azure-AsyncOperation protocol), the Activity Log, 429 throttling and bearer-token auth. Any
api-version is accepted, but one must be present, as ARM insists. Decisions live in the state; this
module only speaks the wire.
"""

from __future__ import annotations

import json
import random
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from nodewarden.twin.azure import documents
from nodewarden.twin.azure.activity import parse_filter
from nodewarden.twin.azure.fleet import Action, Origin
from nodewarden.twin.azure.identity import AuthFailure, Identity, Principal
from nodewarden.twin.azure.operations import Operation
from nodewarden.twin.azure.state import AzureState
from nodewarden.twin.azure.wire import ArmError, error_body
from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response

_SUB = r"^/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)"
_AKS = _RG + r"/providers/Microsoft\.ContainerService/managedClusters"
_POOL = _AKS + r"/(?P<cluster>[^/]+)/agentPools/(?P<pool>[^/]+)"
_VMSS = _RG + r"/providers/Microsoft\.Compute/virtualMachineScaleSets"
_VM = _VMSS + r"/(?P<vmss>[^/]+)/virtualMachines/(?P<vm>[^/]+)"
_HEALTH = r"/providers/Microsoft\.ResourceHealth/availabilityStatuses"

# Batch actions on a scale set: the URL segment → action. `poweroff` is lower-case here, unlike the per-VM
# `powerOff` (azure-mgmt-compute's request builders).
_BATCH = {
    "restart": Action.RESTART,
    "start": Action.START,
    "poweroff": Action.POWER_OFF,
    "deallocate": Action.DEALLOCATE,
    "redeploy": Action.REDEPLOY,
    "reimage": Action.REIMAGE,
    "reimageall": Action.REIMAGE_ALL,
    "delete": Action.DELETE,
}
# Per-VM actions: `powerOff` is camel-case on the wire, but ARM matches paths case-insensitively.
_SINGLE = {key: action for key, action in _BATCH.items() if key != "delete"}

# Read-only cluster properties a PUT may echo back but cannot change.
_CLUSTER_READ_ONLY = frozenset(
    {
        "provisioningState",
        "powerState",
        "agentPoolProfiles",
        "fqdn",
        "azurePortalFQDN",
        "nodeResourceGroup",
        "currentKubernetesVersion",
        "maxAgentPools",
    }
)

# Budgets reported in x-ms-ratelimit-remaining-* (ARM's hourly subscription limits, Compute's VMSS GET policies).
_READS_PER_HOUR = 12_000
_WRITES_PER_HOUR = 1_200
_VMSS_GET_3MIN = 1_600
_VMSS_GET_30MIN = 8_000

Handler = Callable[[Request, "re.Match[str]", Principal], Response]


class _Budgets:
    """Counts requests per window to fill the x-ms-ratelimit-remaining-* headers (reported, never enforced)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def take(self, name: str, window: float, limit: int) -> int:
        slot = int(self._clock.elapsed() // window)
        with self._lock:
            used = self._counts.get((name, slot), 0) + 1
            self._counts[(name, slot)] = used
            if len(self._counts) > 64:
                self._counts = {key: value for key, value in self._counts.items() if key[1] >= slot - 1}
        return max(0, limit - used)


class ArmApi:
    """`handle(request) -> Response` for every ARM path the twin serves, plus the token endpoint."""

    def __init__(
        self,
        state: AzureState,
        clock: Clock,
        identity: Identity,
        *,
        page_size: int = 100,
        activity_page_size: int = 200,
        retry_after: int = 1,
        advance_on_poll: float = 0.0,
    ) -> None:
        """`retry_after` is the real-time seconds LRO responses ask clients to wait (never below 1:
        azure-core reads `Retry-After: 0` as absent and waits its 30 s default).
        `advance_on_poll` moves a manual clock forward that many seconds whenever a client polls an
        unfinished operation, so an SDK poller waiting in real time sees progress without a driver."""
        self.state = state
        self.clock = clock
        self.identity = identity
        self.page_size = max(1, page_size)
        self.activity_page_size = max(1, activity_page_size)
        self.retry_after = max(1, retry_after)
        self.advance_on_poll = advance_on_poll
        self._budgets = _Budgets(clock)
        self._errors = random.Random(7)
        scope = state.scope
        routes: list[tuple[str, str, Handler]] = [
            ("GET", _SUB + r"/providers/Microsoft\.Insights/eventtypes/management/values/?$", self._activity_log),
            (
                "GET",
                _SUB + r"/providers/(?P<provider>Microsoft\.Compute|Microsoft\.ContainerService)/locations/[^/]+"
                r"/(?P<kind>operations|operationresults)/(?P<op>[^/]+)/?$",
                self._operation,
            ),
            ("GET", _SUB + r"/providers/Microsoft\.Compute/virtualMachineScaleSets/?$", self._list_all_scale_sets),
            ("GET", _SUB + r"/providers/Microsoft\.ContainerService/managedClusters/?$", self._list_clusters),
            ("GET", _AKS + r"/?$", self._list_clusters),
            ("GET", _AKS + r"/(?P<cluster>[^/]+)/?$", self._get_cluster),
            ("PUT", _AKS + r"/(?P<cluster>[^/]+)/?$", self._put_cluster),
            ("GET", _AKS + r"/(?P<cluster>[^/]+)/agentPools/?$", self._list_pools),
            ("GET", _POOL + r"/?$", self._get_pool),
            ("PUT", _POOL + r"/?$", self._put_pool),
            ("POST", _POOL + r"/deleteMachines/?$", self._delete_machines),
            ("GET", _POOL + r"/machines/?$", self._list_machines),
            ("GET", _POOL + r"/machines/(?P<machine>[^/]+)/?$", self._get_machine),
            ("GET", _VMSS + r"/?$", self._list_scale_sets),
            ("GET", _VMSS + r"/(?P<vmss>[^/]+)/?$", self._get_scale_set),
            ("POST", _VMSS + r"/(?P<vmss>[^/]+)/(?P<action>[A-Za-z]+)/?$", self._batch_action),
            ("GET", _VMSS + r"/(?P<vmss>[^/]+)/virtualMachines/?$", self._list_vms),
            ("GET", _VM + r"/?$", self._get_vm),
            ("DELETE", _VM + r"/?$", self._delete_vm),
            ("GET", _VM + r"/instanceView/?$", self._get_instance_view),
            ("POST", _VM + r"/simulateEviction/?$", self._simulate_eviction),
            ("GET", _VM + _HEALTH + r"/current/?$", self._get_availability),
            ("GET", _VM + _HEALTH + r"/?$", self._list_instance_availability),
            ("GET", _RG + _HEALTH + r"/?$", self._list_availability),
            ("POST", _VM + r"/(?P<action>[A-Za-z]+)/?$", self._vm_action),
        ]
        self._compiled = [(method, re.compile(pattern, re.IGNORECASE), fn) for method, pattern, fn in routes]
        self._scope = scope

    # -- entry -------------------------------------------------------------------------------------

    def handles(self, path: str) -> bool:
        """True for every path this API answers (ARM under /subscriptions, and the token endpoint)."""
        return path.lower().startswith("/subscriptions/") or self.identity.handles(path)

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        if self.identity.handles(request.path):
            response = self.identity.handle(request)
        else:
            response = self._arm(request)
            response.headers.setdefault(
                "x-ms-correlation-request-id", request.headers.get("x-ms-correlation-request-id", request_id)
            )
            self._rate_headers(request, response)
        response.headers.setdefault("x-ms-request-id", request_id)
        return response

    def _arm(self, request: Request) -> Response:
        failure_or_principal = self.identity.authenticate(request.headers.get("authorization"))
        if isinstance(failure_or_principal, AuthFailure):
            return Response.json(
                401,
                error_body(failure_or_principal.code, failure_or_principal.message),
                {"WWW-Authenticate": self.identity.challenge(failure_or_principal)},
            )
        principal = failure_or_principal
        if self.state.draw_throttle():
            return self._throttled(request)
        if self.state.draw_error():
            status = self._errors.choice((500, 503))
            code = "InternalServerError" if status == 500 else "ServiceUnavailable"
            return Response.json(status, error_body(code, "The server encountered a transient error. Please retry."))
        query = {key.lower(): values for key, values in request.query.items()}
        if not query.get("api-version", [""])[0]:
            return Response.json(
                400,
                error_body(
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                ),
            )
        matched_path = False
        for method, pattern, handler in self._compiled:
            match = pattern.match(request.path)
            if match is None:
                continue
            matched_path = True
            if method != request.method:
                continue
            try:
                self._check_scope(match)
                return handler(request, match, principal)
            except ArmError as exc:
                return Response.json(exc.status, exc.body())
        if matched_path:
            return Response.json(
                405,
                error_body(
                    "MethodNotAllowed", f"The requested resource does not support http method '{request.method}'."
                ),
            )
        return Response.json(
            404, error_body("InvalidResourceType", f"The resource type could not be found for path '{request.path}'.")
        )

    def _check_scope(self, match: re.Match[str]) -> None:
        """ARM's 404s for a subscription, resource group or cluster that is not this twin's."""
        scope = self._scope
        groups = match.groupdict()
        if groups["sub"].lower() != scope.subscription_id.lower():
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{groups['sub']}' could not be found.")
        rg = groups.get("rg")
        if rg is not None and rg.lower() not in (scope.resource_group.lower(), scope.node_resource_group.lower()):
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        cluster = groups.get("cluster")
        if cluster is not None and (
            cluster.lower() != scope.cluster_name.lower() or rg is None or rg.lower() != scope.resource_group.lower()
        ):
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.ContainerService/managedClusters/{cluster}' under resource group '{rg}' "
                "was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            )
        if groups.get("vmss") is not None and rg is not None and rg.lower() != scope.node_resource_group.lower():
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Compute/virtualMachineScaleSets/{groups['vmss']}' under resource group "
                f"'{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            )

    def _throttled(self, request: Request) -> Response:
        """429 with the body and headers Compute sends (Azure docs, "Troubleshooting API throttling errors")."""
        now = self.clock.now()
        retry_after = self.state.throttle_retry_after
        compute = "/microsoft.compute/" in request.path.lower()
        policy = "HighCostGetVMScaleSet30Min" if compute else "SubscriptionReads"
        headers = {"Retry-After": str(retry_after)}
        if compute:
            headers["x-ms-ratelimit-remaining-resource"] = (
                "Microsoft.Compute/HighCostGetVMScaleSet3Min;0,Microsoft.Compute/HighCostGetVMScaleSet30Min;0"
            )
        else:
            kind = "reads" if request.method == "GET" else "writes"
            headers[f"x-ms-ratelimit-remaining-subscription-{kind}"] = "0"
        detail = {
            "operationGroup": policy,
            "startTime": f"{now:%Y-%m-%dT%H:%M:%S}+00:00",
            "endTime": f"{now:%Y-%m-%dT%H:%M:%S}+00:00",
            "allowedRequestCount": 1800,
            "measuredRequestCount": 2208,
        }
        body = error_body(
            "OperationNotAllowed",
            "The server rejected the request because too many requests have been received for this subscription.",
            details=[{"code": "TooManyRequests", "target": policy, "message": json.dumps(detail)}],
            innererror={"internalErrorCode": "TooManyRequestsReceived"},
        )
        return Response.json(429, body, headers)

    def _rate_headers(self, request: Request, response: Response) -> None:
        if response.status == 429:
            return
        if request.method == "GET":
            remaining = self._budgets.take("reads", 3600, _READS_PER_HOUR)
            response.headers.setdefault("x-ms-ratelimit-remaining-subscription-reads", str(remaining))
        else:
            remaining = self._budgets.take("writes", 3600, _WRITES_PER_HOUR)
            response.headers.setdefault("x-ms-ratelimit-remaining-subscription-writes", str(remaining))
        if request.method == "GET" and "/virtualmachinescalesets/" in request.path.lower():
            short = self._budgets.take("vmss3", 180, _VMSS_GET_3MIN)
            long = self._budgets.take("vmss30", 1800, _VMSS_GET_30MIN)
            response.headers.setdefault(
                "x-ms-ratelimit-remaining-resource",
                f"Microsoft.Compute/HighCostGetVMScaleSet3Min;{short},Microsoft.Compute/HighCostGetVMScaleSet30Min;{long}",
            )

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _query(request: Request, name: str) -> str | None:
        for key, values in request.query.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None

    def _origin(self, request: Request, principal: Principal) -> Origin:
        return Origin(
            caller=principal.object_id,
            app_id=principal.client_id,
            method=request.method,
            client_request_id=request.headers.get("x-ms-client-request-id"),
            correlation_id=request.headers.get("x-ms-correlation-request-id"),
        )

    def _page(self, request: Request, items: Sequence[Any], size: int) -> dict[str, Any]:
        return self._paged(request, len(items), size, lambda start, stop: list(items[start:stop]))

    def _paged(
        self, request: Request, total: int, size: int, render: Callable[[int, int], list[Any]]
    ) -> dict[str, Any]:
        """`{"value": [...], "nextLink": absolute URL with $skiptoken}`; the SDK follows the link as is.
        Only the requested page is rendered, so a 5,000-instance scale set stays cheap to page through."""
        token = self._query(request, "$skiptoken") or "0"
        start = int(token) if token.isdigit() else 0
        page: dict[str, Any] = {"value": render(start, start + size)}
        if start + size < total:
            params = [
                (key, value) for key, values in request.query.items() if key.lower() != "$skiptoken" for value in values
            ]
            params.append(("$skiptoken", str(start + size)))
            page["nextLink"] = f"{request.base_url}{request.path}?{_encode(params)}"
        return page

    def _lro_headers(self, request: Request, op: Operation, *, location: bool = True) -> dict[str, str]:
        """Azure-AsyncOperation + Location + Retry-After, on the scheme and host the client used."""
        version = quote(self._query(request, "api-version") or "", safe="")
        sub = self._scope.subscription
        base = f"{request.base_url}{sub}/providers/{op.provider}/locations/{self._scope.location}"
        headers = {"Azure-AsyncOperation": f"{base}/operations/{op.id}?api-version={version}", **self._poll_after()}
        if location:
            if op.provider == "Microsoft.Compute":
                headers["Location"] = f"{base}/operations/{op.id}?monitor=true&api-version={version}"
            else:
                headers["Location"] = f"{base}/operationresults/{op.id}?api-version={version}"
        return headers

    def _poll_after(self) -> dict[str, str]:
        """How long a poller should wait: `Retry-After` seconds, as ARM sends; but when polls advance a manual
        clock, waiting in real time shows nothing new, so 10 ms (`retry-after-ms`, which azure-core reads)."""
        if self.advance_on_poll > 0 and self.clock.manual:
            return {"retry-after-ms": "10"}
        return {"Retry-After": str(self.retry_after)}

    def _accepted(self, request: Request, op: Operation) -> Response:
        return Response.empty(202, self._lro_headers(request, op))

    def _body(self, request: Request) -> dict[str, Any]:
        if not request.body.strip():
            return {}
        try:
            body = request.json()
        except ValueError as exc:
            raise ArmError(
                400, "InvalidRequestContent", f"The request content was invalid and could not be deserialized: {exc}."
            ) from exc
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
        return body

    def _expand(self, request: Request) -> bool:
        return (self._query(request, "$expand") or "").lower() == "instanceview"

    # -- operations and activity log ---------------------------------------------------------------

    def _operation(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        op = self.state.operation(match["op"])
        if op is None or op.provider.lower() != match["provider"].lower():
            return Response.json(404, error_body("NotFound", f"The operation '{match['op']}' was not found."))
        if not op.done and self.advance_on_poll > 0 and self.clock.manual:
            self.clock.advance(self.advance_on_poll)  # never under the state lock: timers take it
        with self.state.lock:
            status, document, error = op.status, op.status_document(), op.error
        monitor = (
            match["kind"].lower() == "operationresults" or (self._query(request, "monitor") or "").lower() == "true"
        )
        if not monitor:
            headers = {} if op.done else self._poll_after()
            return Response.json(200, document, headers)
        if status == "InProgress":
            return Response.empty(
                202,
                {"Location": f"{request.base_url}{request.path}?{_raw_query(request)}", **self._poll_after()},
            )
        if status == "Succeeded":
            return Response.empty(204)
        return Response.json(409, {"error": error or {"code": "Canceled", "message": "The operation was canceled."}})

    def _activity_log(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        entries = self.state.activity_log(parse_filter(self._query(request, "$filter")))
        return Response.json(200, self._page(request, entries, self.activity_page_size))

    # -- AKS ---------------------------------------------------------------------------------------

    def _cluster_document(self) -> dict[str, Any]:
        state = self.state
        with state.lock:
            return documents.managed_cluster(
                self._scope,
                state.pools(),
                kubernetes_version=state.kubernetes_version,
                tier=state.tier,
                provisioning=state.cluster_provisioning,
                extra=state.cluster_properties,
                tags=state.cluster_tags,
            )

    def _list_clusters(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        rg = match.groupdict().get("rg")
        items = (
            [] if rg is not None and rg.lower() != self._scope.resource_group.lower() else [self._cluster_document()]
        )
        return Response.json(200, self._page(request, items, self.page_size))

    def _get_cluster(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        return Response.json(200, self._cluster_document())

    def _put_cluster(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        body = self._body(request)
        properties = {k: v for k, v in (body.get("properties") or {}).items() if k not in _CLUSTER_READ_ONLY}
        properties.pop("kubernetesVersion", None)  # upgrades are not modelled
        tags = body.get("tags")
        op = self.state.update_cluster(properties=properties, tags=tags, origin=self._origin(request, principal))
        return Response.json(200, self._cluster_document(), self._lro_headers(request, op, location=False))

    def _pool_document(self, name: str) -> dict[str, Any]:
        with self.state.lock:
            return documents.agent_pool(self._scope, self.state.pool(name))

    def _list_pools(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        with self.state.lock:
            items = [documents.agent_pool(self._scope, pool) for pool in self.state.pools()]
        return Response.json(200, self._page(request, items, self.page_size))

    def _get_pool(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        return Response.json(200, self._pool_document(match["pool"]))

    def _put_pool(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        """A pool PUT is how AKS scales (agentPools, not the scale set): 200 + `Scaling` + an LRO, then a final GET."""
        body = self._body(request)
        try:
            pool = self.state.pool(match["pool"])
        except ArmError as exc:
            raise ArmError(
                400, "NotSupported", f"The twin does not create agent pools: '{match['pool']}' does not exist."
            ) from exc
        props = body.get("properties") or {}
        count = int(props.get("count", pool.count))
        autoscale = bool(props.get("enableAutoScaling", pool.autoscale))
        min_count = props.get("minCount", pool.min_count)
        max_count = props.get("maxCount", pool.max_count)
        if pool.autoscale and autoscale and count != pool.count:
            raise ArmError(
                400,
                "InvalidParameter",
                f"Cannot change the node count of agent pool '{pool.name}' while the cluster autoscaler is enabled.",
            )
        if (
            autoscale
            and min_count is not None
            and max_count is not None
            and not int(min_count) <= count <= int(max_count)
        ):
            raise ArmError(
                400,
                "InvalidParameter",
                f"The count {count} of agent pool '{pool.name}' must lie between minCount {min_count} "
                f"and maxCount {max_count}.",
            )
        op = self.state.scale_pool(
            pool.name,
            count,
            origin=self._origin(request, principal),
            autoscale=autoscale,
            min_count=None if min_count is None else int(min_count),
            max_count=None if max_count is None else int(max_count),
        )
        return Response.json(200, self._pool_document(pool.name), self._lro_headers(request, op, location=False))

    def _delete_machines(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        names = self._body(request).get("machineNames")
        if not isinstance(names, list) or not names:
            raise ArmError(400, "InvalidParameter", "Required parameter 'machineNames' is missing or empty.")
        op = self.state.delete_machines(
            match["pool"], [str(name) for name in names], origin=self._origin(request, principal)
        )
        return self._accepted(request, op)

    def _list_machines(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        with self.state.lock:
            items = [documents.machine(self._scope, inst) for inst in self.state.instances(match["pool"])]
        return Response.json(200, self._page(request, items, self.page_size))

    def _get_machine(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        with self.state.lock:
            for inst in self.state.instances(match["pool"]):
                if inst.computer_name.lower() == match["machine"].lower():
                    return Response.json(200, documents.machine(self._scope, inst))
        raise ArmError(
            404,
            "NotFound",
            f"Machine '{match['machine']}' was not found in agent pool '{match['pool']}'.",
        )

    # -- Compute -----------------------------------------------------------------------------------

    def _scale_sets(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [documents.scale_set(self._scope, pool) for pool in self.state.pools()]

    def _list_all_scale_sets(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        return Response.json(200, self._page(request, self._scale_sets(), self.page_size))

    def _list_scale_sets(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        items = self._scale_sets() if match["rg"].lower() == self._scope.node_resource_group.lower() else []
        return Response.json(200, self._page(request, items, self.page_size))

    def _get_scale_set(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        with self.state.lock:
            return Response.json(200, documents.scale_set(self._scope, self.state.scale_set(match["vmss"])))

    def _list_vms(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        expand = self._expand(request)
        with self.state.lock:
            pool = self.state.scale_set(match["vmss"])
            ordered = sorted(pool.instances.values(), key=lambda inst: inst.instance_id)

            def render(start: int, stop: int) -> list[Any]:
                return [
                    documents.virtual_machine(self._scope, inst, expand_instance_view=expand)
                    for inst in ordered[start:stop]
                ]

            return Response.json(200, self._paged(request, len(ordered), self.page_size, render))

    def _get_vm(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        with self.state.lock:
            inst = self.state.vm(match["vmss"], match["vm"])
            return Response.json(
                200, documents.virtual_machine(self._scope, inst, expand_instance_view=self._expand(request))
            )

    def _get_instance_view(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        with self.state.lock:
            return Response.json(200, documents.instance_view(self.state.vm(match["vmss"], match["vm"])))

    # -- Resource Health ---------------------------------------------------------------------------------

    def _get_availability(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        """`{vm id}/providers/Microsoft.ResourceHealth/availabilityStatuses/current`: the VM's availability now."""
        with self.state.lock:
            inst = self.state.vm(match["vmss"], match["vm"])
            return Response.json(200, self.state.availability_status(inst))

    def _list_instance_availability(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        """The VM's availability history; the twin keeps none, so only the current status."""
        with self.state.lock:
            inst = self.state.vm(match["vmss"], match["vm"])
            return Response.json(200, self._page(request, [self.state.availability_status(inst)], self.page_size))

    def _list_availability(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        """Every resource's current availability in a resource group: the node resource group's instances
        (whether Azure lists scale-set VMs here is [MEM]; the product reads per instance)."""
        if match["rg"].lower() != self._scope.node_resource_group.lower():
            return Response.json(200, {"value": []})
        with self.state.lock:
            ordered = self.state.instances()

            def render(start: int, stop: int) -> list[Any]:
                return [self.state.availability_status(inst) for inst in ordered[start:stop]]

            return Response.json(200, self._paged(request, len(ordered), self.page_size, render))

    def _vm_action(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        action = _SINGLE.get(match["action"].lower())
        if action is None:
            raise ArmError(404, "InvalidResourceType", f"The resource type '{match['action']}' could not be found.")
        op = self.state.instance_action(action, match["vmss"], match["vm"], origin=self._origin(request, principal))
        return self._accepted(request, op)

    def _simulate_eviction(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        """Not a long-running operation: 204 No Content, and the eviction follows a Preempt Scheduled Event."""
        self.state.simulate_eviction(match["vmss"], match["vm"], origin=self._origin(request, principal))
        return Response.empty(204)

    def _delete_vm(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        op = self.state.instance_action(
            Action.DELETE, match["vmss"], match["vm"], origin=self._origin(request, principal)
        )
        return self._accepted(request, op)

    def _batch_action(self, request: Request, match: re.Match[str], principal: Principal) -> Response:
        action = _BATCH.get(match["action"].lower())
        if action is None:
            raise ArmError(404, "InvalidResourceType", f"The resource type '{match['action']}' could not be found.")
        ids = self._body(request).get("instanceIds")
        if ids is not None and not isinstance(ids, list):
            raise ArmError(400, "InvalidParameter", "The value of parameter 'instanceIds' must be a list.")
        instance_ids = None if ids is None else [str(i) for i in ids]
        op = self.state.batch_action(action, match["vmss"], instance_ids, origin=self._origin(request, principal))
        return self._accepted(request, op)


def _encode(params: Sequence[tuple[str, str]]) -> str:
    """A query string as ARM writes it in links: `$` kept literal in names, values percent-encoded."""
    return "&".join(f"{quote(key, safe='$')}={quote(value, safe='')}" for key, value in params)


def _raw_query(request: Request) -> str:
    return _encode([(key, value) for key, values in request.query.items() for value in values])

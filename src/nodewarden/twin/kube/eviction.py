"""The pods/eviction subresource: delete a pod unless its PodDisruptionBudget forbids it.

Follows kubernetes `pkg/registry/core/pod/storage/eviction.go` and the "API-initiated Eviction" docs:
terminal pods bypass budgets; more than one matching budget is a 500; a budget with no disruptions
left is a 429 naming the budget, with `Retry-After: 10`; otherwise the budget's disruptionsAllowed is
decremented (and the pod noted in `disruptedPods`) before the pod is deleted gracefully, so two
quick evictions cannot both spend the same disruption.
"""

from __future__ import annotations

from typing import Any

from nodewarden.twin.clock import Clock
from nodewarden.twin.kube import selectors
from nodewarden.twin.kube.errors import ApiError, not_found, status_body
from nodewarden.twin.kube.meta import Obj, condition, labels_of, rfc3339
from nodewarden.twin.kube.store import KubeStore
from nodewarden.twin.kube.termination import terminate_pod

BLOCKED = "Cannot evict pod as it would violate the pod's disruption budget."
RETRY_AFTER = 10  # eviction.go: errors.NewTooManyRequests(..., 10)


def matching_budgets(store: KubeStore, pod: Obj) -> list[Obj]:
    namespace = pod["metadata"].get("namespace", "")
    labels = labels_of(pod)
    return [
        pdb
        for pdb in store.items("poddisruptionbudgets", namespace)
        if selectors.matches(selectors.from_label_selector(pdb.get("spec", {}).get("selector")), labels)
    ]


def evict(store: KubeStore, clock: Clock, namespace: str, name: str, body: Any, *, dry_run: bool = False) -> Obj:
    """Evict `namespace/name`; returns the 201 Status body or raises the refusal as an ApiError."""
    pod = store.peek("pods", namespace, name)
    if pod is None:
        raise not_found("pods", name)
    options = (body or {}).get("deleteOptions") or {} if isinstance(body, dict) else {}
    grace = options.get("gracePeriodSeconds")
    dry_run = dry_run or bool(options.get("dryRun"))
    done = status_body(201)
    if pod["metadata"].get("deletionTimestamp") or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
        if not dry_run:
            terminate_pod(store, clock, namespace, name, grace=grace)
        return done
    budgets = matching_budgets(store, pod)
    if len(budgets) > 1:
        raise ApiError(
            500, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
        )
    if budgets:
        _spend_disruption(store, clock, budgets[0], pod, dry_run=dry_run)
    if not dry_run:
        terminate_pod(store, clock, namespace, name, grace=grace)
    return done


def _is_ready(pod: Obj) -> bool:
    ready = condition(pod, "Ready")
    return ready is not None and ready.get("status") == "True"


def _spend_disruption(store: KubeStore, clock: Clock, pdb: Obj, pod: Obj, *, dry_run: bool) -> None:
    spec, status = pdb.get("spec", {}), pdb.get("status", {})
    current, desired = int(status.get("currentHealthy", 0)), int(status.get("desiredHealthy", 0))
    # An unready pod does not count as healthy: evicting it costs the budget nothing, if the budget is whole.
    if not _is_ready(pod) and (
        spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow" or (current >= desired and desired > 0)
    ):
        return
    pod_name = pod["metadata"]["name"]
    now = rfc3339(clock.now())

    def spend(obj: Obj) -> None:
        # Checked and spent under the store lock: two concurrent evictions cannot spend one disruption.
        budget_status = obj.setdefault("status", {})
        if int(budget_status.get("disruptionsAllowed", 0)) <= 0:
            raise _blocked(obj)
        if not dry_run:
            budget_status["disruptionsAllowed"] = int(budget_status["disruptionsAllowed"]) - 1
            budget_status.setdefault("disruptedPods", {})[pod_name] = now

    store.mutate(
        "poddisruptionbudgets", pdb["metadata"]["namespace"], pdb["metadata"]["name"], spend, touches=("status",)
    )


def _blocked(pdb: Obj) -> ApiError:
    status = pdb.get("status", {})
    current, desired = int(status.get("currentHealthy", 0)), int(status.get("desiredHealthy", 0))
    message = (
        f"The disruption budget {pdb['metadata']['name']} needs {desired} healthy pods and has {current} currently"
    )
    return ApiError(
        429,
        BLOCKED,
        details={"causes": [{"reason": "DisruptionBudget", "message": message}], "retryAfterSeconds": RETRY_AFTER},
        retry_after=RETRY_AFTER,
    )

"""The disruption controller: PodDisruptionBudget status, which eviction reads (`eviction`).

expectedPods comes from the selected pods' controllers (a Deployment's, ReplicaSet's or
StatefulSet's replicas, a DaemonSet's desired count), falling back to the pod count for bare pods.
currentHealthy counts Ready pods that are not being deleted and not recently evicted
(`disruptedPods`, forgotten after 2 minutes). disruptionsAllowed = currentHealthy − desiredHealthy,
never negative, 0 when nothing is expected (pkg/controller/disruption/disruption.go).
"""

from __future__ import annotations

import math
from datetime import timedelta

from nodewarden.twin.clock import Clock
from nodewarden.twin.kube import selectors
from nodewarden.twin.kube.meta import Obj, condition, controller_of, labels_of, parse_time, rfc3339
from nodewarden.twin.kube.store import KubeStore

DELETION_TIMEOUT = timedelta(minutes=2)  # disruption.go DeletionTimeout


def _scaled(value: int | str, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent with roundUp=true."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


class DisruptionController:
    def __init__(self, store: KubeStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def budgets_for(self, pod: Obj) -> list[tuple[str, str]]:
        """The budgets in the pod's namespace whose selector matches its labels."""
        namespace = pod["metadata"].get("namespace", "")
        labels = labels_of(pod)
        return [
            (namespace, pdb["metadata"]["name"])
            for pdb in self._store.items("poddisruptionbudgets", namespace)
            if selectors.matches(selectors.from_label_selector(pdb.get("spec", {}).get("selector")), labels)
        ]

    def _scale_of(self, pod: Obj, seen: dict[str, int]) -> tuple[str, int] | None:
        """(controller uid, its scale) for the pod's controller, following a ReplicaSet up to its Deployment."""
        owner = controller_of(pod)
        if owner is None:
            return None
        namespace = pod["metadata"]["namespace"]
        kind, name = owner.get("kind"), owner.get("name", "")
        if kind == "ReplicaSet":
            replica_set = self._store.peek("replicasets", namespace, name)
            if replica_set is None:
                return None
            parent = controller_of(replica_set)
            if parent is not None and parent.get("kind") == "Deployment":
                deployment = self._store.peek("deployments", namespace, parent.get("name", ""))
                if deployment is not None:
                    return parent["uid"], int(deployment.get("spec", {}).get("replicas", 1))
            return owner["uid"], int(replica_set.get("spec", {}).get("replicas", 1))
        if kind == "StatefulSet":
            stateful_set = self._store.peek("statefulsets", namespace, name)
            return (
                None if stateful_set is None else (owner["uid"], int(stateful_set.get("spec", {}).get("replicas", 1)))
            )
        if kind == "DaemonSet":
            daemon_set = self._store.peek("daemonsets", namespace, name)
            if daemon_set is None:
                return None
            return owner["uid"], int(daemon_set.get("status", {}).get("desiredNumberScheduled", 0))
        return None

    def sync_namespace(self, namespace: str) -> list[tuple[str, str]]:
        """Recompute every budget in a namespace; returns those to recheck later (see `sync`)."""
        pods = self._store.items("pods", namespace)
        index = selectors.label_index(pods)
        recheck = []
        for pdb in self._store.items("poddisruptionbudgets", namespace):
            if self.sync(namespace, pdb["metadata"]["name"], pods=pods, index=index):
                recheck.append((namespace, pdb["metadata"]["name"]))
        return recheck

    def sync(
        self, namespace: str, name: str, *, pods: list[Obj] | None = None, index: selectors.LabelIndex | None = None
    ) -> bool:
        """Recompute one budget's status; True while it remembers recently disrupted pods (recheck later)."""
        pdb = self._store.peek("poddisruptionbudgets", namespace, name)
        if pdb is None:
            return False
        spec = pdb.get("spec", {})
        selector = selectors.from_label_selector(spec.get("selector"))
        if pods is None or index is None:
            pods = self._store.items("pods", namespace)
            index = selectors.label_index(pods)
        pods = selectors.select(selector, pods, index)
        now = self._clock.now()
        live = {p["metadata"]["name"]: p for p in pods}
        disrupted = {
            pod: when
            for pod, when in (pdb.get("status", {}).get("disruptedPods") or {}).items()
            if pod in live
            and not live[pod]["metadata"].get("deletionTimestamp")
            and parse_time(when) + DELETION_TIMEOUT > now
        }
        scales: dict[str, int] = {}
        bare = 0
        for pod in pods:
            found = self._scale_of(pod, scales)
            if found is None:
                bare += 1
            else:
                scales[found[0]] = found[1]
        expected = sum(scales.values()) + bare
        healthy = sum(
            1
            for pod in pods
            if not pod["metadata"].get("deletionTimestamp")
            and pod["metadata"]["name"] not in disrupted
            and (condition(pod, "Ready") or {}).get("status") == "True"
        )
        if spec.get("maxUnavailable") is not None:
            desired = max(0, expected - _scaled(spec["maxUnavailable"], expected))
        elif spec.get("minAvailable") is not None:
            desired = _scaled(spec["minAvailable"], expected)
        else:
            desired = 0
        allowed = healthy - desired
        if expected <= 0 or allowed <= 0:
            allowed = 0
        stamp = rfc3339(now)
        generation = pdb["metadata"].get("generation", 1)

        def update(obj: Obj) -> None:
            status = obj.setdefault("status", {})
            status.update(
                currentHealthy=healthy,
                desiredHealthy=desired,
                expectedPods=expected,
                disruptionsAllowed=allowed,
                observedGeneration=generation,
            )
            if disrupted:
                status["disruptedPods"] = disrupted
            else:
                status.pop("disruptedPods", None)
            reason, message, value = (
                ("SufficientPods", "", "True") if allowed > 0 else ("InsufficientPods", "", "False")
            )
            entry = condition(obj, "DisruptionAllowed")
            if entry is None:
                status.setdefault("conditions", []).append(
                    {
                        "type": "DisruptionAllowed",
                        "status": value,
                        "reason": reason,
                        "message": message,
                        "lastTransitionTime": stamp,
                        "observedGeneration": generation,
                    }
                )
            elif entry.get("status") != value or entry.get("reason") != reason:
                entry.update(
                    status=value,
                    reason=reason,
                    message=message,
                    lastTransitionTime=stamp,
                    observedGeneration=generation,
                )

        self._store.mutate("poddisruptionbudgets", namespace, name, update, touches=("status",))
        return bool(disrupted)

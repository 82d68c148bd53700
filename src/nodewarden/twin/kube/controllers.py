"""Workload controllers and the garbage collector: keep replica counts, own what they create.

Deployment → ReplicaSet (named by the pod-template-hash) → Pods; StatefulSet → ordinal Pods
(`<name>-0`, `<name>-1` … created in parallel; a Terminating pod holds its ordinal, so a StatefulSet
pod stuck on a dead node is not replaced, as on a real cluster) and, before each pod, the claims of
its volumeClaimTemplates (`<template>-<name>-<ordinal>`, kept when the pod or the StatefulSet goes);
DaemonSet → one Pod per eligible node, bound directly. Each keeps the status fields clients read. A
rollout is a recreate: a new template hash scales the old ReplicaSets to zero at once. Deleting an
owner deletes its dependents (background propagation).
"""

from __future__ import annotations

import hashlib
import json

from nodewarden.twin.clock import Clock
from nodewarden.twin.kube import selectors
from nodewarden.twin.kube import taints as taint_rules
from nodewarden.twin.kube.errors import ApiError
from nodewarden.twin.kube.meta import Obj, clone, condition, controller_of, owner_reference, rfc3339
from nodewarden.twin.kube.recorder import Recorder
from nodewarden.twin.kube.scheduler import matches_node_affinity
from nodewarden.twin.kube.store import KubeStore
from nodewarden.twin.kube.termination import terminate_pod

HASH_LABEL = "pod-template-hash"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery SafeEncodeString
# What the DaemonSet controller adds to its pods (pkg/controller/daemon/util AddOrUpdateDaemonPodTolerations).
DAEMON_TOLERATIONS = (
    {"key": taint_rules.NOT_READY, "operator": "Exists", "effect": "NoExecute"},
    {"key": taint_rules.UNREACHABLE, "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": taint_rules.UNSCHEDULABLE, "operator": "Exists", "effect": "NoSchedule"},
)


def template_hash(template: Obj) -> str:
    digest = int(hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest(), 16)
    chars = []
    for _ in range(10):
        digest, index = divmod(digest, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return "".join(chars)


def _active(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and pod.get("status", {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )


def _ready(pod: Obj) -> bool:
    return (condition(pod, "Ready") or {}).get("status") == "True"


class Controllers:
    def __init__(self, store: KubeStore, clock: Clock, recorder: Recorder) -> None:
        self._store = store
        self._clock = clock
        self._recorder = recorder

    def _owned(self, resource: str, uid: str) -> list[Obj]:
        return self._store.by_index(resource, "owner", uid, copy=False)

    def _pod_from(
        self, owner: Obj, template: Obj, *, name: str | None = None, extra_labels: dict[str, str] | None = None
    ) -> Obj:
        metadata = clone(template.get("metadata") or {})
        metadata.pop("name", None)
        metadata["labels"] = {**(metadata.get("labels") or {}), **(extra_labels or {})}
        metadata["namespace"] = owner["metadata"]["namespace"]
        metadata["ownerReferences"] = [owner_reference(owner)]
        if name:
            metadata["name"] = name
        else:
            metadata["generateName"] = f"{owner['metadata']['name']}-"
        return {"metadata": metadata, "spec": clone(template.get("spec") or {})}

    def _create_pod(self, owner: Obj, pod: Obj, component: str) -> None:
        try:
            created = self._store.create("pods", pod, copy=False)
        except ApiError as error:
            self._recorder.record(
                owner, "FailedCreate", f"Error creating: {error.message}", component=component, kind="Warning"
            )
            return
        self._recorder.record(
            owner, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", component=component
        )

    def _delete_pod(self, owner: Obj, pod: Obj, component: str) -> None:
        metadata = pod["metadata"]
        try:
            terminate_pod(self._store, self._clock, metadata["namespace"], metadata["name"])
        except ApiError:
            return
        self._recorder.record(owner, "SuccessfulDelete", f"Deleted pod: {metadata['name']}", component=component)

    def _set_status(self, resource: str, obj: Obj, fields: Obj) -> None:
        generation = obj["metadata"].get("generation", 1)

        def update(current: Obj) -> None:
            current.setdefault("status", {}).update(fields, observedGeneration=generation)

        self._store.mutate(resource, obj["metadata"]["namespace"], obj["metadata"]["name"], update, touches=("status",))

    # -- Deployment ----------------------------------------------------------------------------------

    def sync_deployment(self, namespace: str, name: str) -> None:
        deployment = self._store.peek("deployments", namespace, name)
        if deployment is None or deployment["metadata"].get("deletionTimestamp"):
            return
        spec = deployment.get("spec", {})
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        pod_hash = template_hash(template)
        owned = [
            rs
            for rs in self._owned("replicasets", deployment["metadata"]["uid"])
            if not rs["metadata"].get("deletionTimestamp")
        ]
        current = next((rs for rs in owned if rs["metadata"].get("labels", {}).get(HASH_LABEL) == pod_hash), None)
        component = "deployment-controller"
        if current is None:
            revision = 1 + max(
                (
                    int(rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", 0))
                    for rs in owned
                ),
                default=0,
            )
            labels = {**(template.get("metadata", {}).get("labels") or {}), HASH_LABEL: pod_hash}
            selector = clone(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
            rs_template = clone(template)
            rs_template.setdefault("metadata", {})["labels"] = labels
            replica_set = {
                "metadata": {
                    "name": f"{name}-{pod_hash}",
                    "namespace": namespace,
                    "labels": labels,
                    "annotations": {
                        "deployment.kubernetes.io/revision": str(revision),
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                    },
                    "ownerReferences": [owner_reference(deployment)],
                },
                "spec": {"replicas": replicas, "selector": selector, "template": rs_template},
            }
            try:
                current = self._store.create("replicasets", replica_set)
            except ApiError:
                return
            self._recorder.record(
                deployment,
                "ScalingReplicaSet",
                f"Scaled up replica set {current['metadata']['name']} from 0 to {replicas}",
                component=component,
            )
        elif int(current.get("spec", {}).get("replicas", 0)) != replicas:
            before = int(current["spec"].get("replicas", 0))
            self._scale("replicasets", current, replicas)
            direction = "up" if replicas > before else "down"
            self._recorder.record(
                deployment,
                "ScalingReplicaSet",
                f"Scaled {direction} replica set {current['metadata']['name']} from {before} to {replicas}",
                component=component,
            )
        for old in owned:
            if (
                old["metadata"]["name"] != current["metadata"]["name"]
                and int(old.get("spec", {}).get("replicas", 0)) > 0
            ):
                before = int(old["spec"]["replicas"])
                self._scale("replicasets", old, 0)
                self._recorder.record(
                    deployment,
                    "ScalingReplicaSet",
                    f"Scaled down replica set {old['metadata']['name']} from {before} to 0",
                    component=component,
                )
        sets = self._owned("replicasets", deployment["metadata"]["uid"])
        total = sum(int(rs.get("status", {}).get("replicas", 0)) for rs in sets)
        ready = sum(int(rs.get("status", {}).get("readyReplicas", 0)) for rs in sets)
        available = sum(int(rs.get("status", {}).get("availableReplicas", 0)) for rs in sets)
        updated = int(
            (self._store.peek("replicasets", namespace, current["metadata"]["name"]) or {})
            .get("status", {})
            .get("replicas", 0)
        )
        max_unavailable = spec.get("strategy", {}).get("rollingUpdate", {}).get("maxUnavailable", "25%")
        allowed_down = (
            int(int(max_unavailable[:-1]) * replicas / 100)
            if isinstance(max_unavailable, str) and max_unavailable.endswith("%")
            else int(max_unavailable)
        )
        is_available = available >= replicas - allowed_down
        stamp = rfc3339(self._clock.now())
        conditions = [
            {
                "type": "Available",
                "status": "True" if is_available else "False",
                "reason": "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if is_available
                else "Deployment does not have minimum availability.",
                "lastUpdateTime": stamp,
                "lastTransitionTime": stamp,
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{current["metadata"]["name"]}" has successfully progressed.',
                "lastUpdateTime": stamp,
                "lastTransitionTime": stamp,
            },
        ]
        previous = {c["type"]: c for c in deployment.get("status", {}).get("conditions") or []}
        for entry in conditions:
            old_entry = previous.get(entry["type"])
            if (
                old_entry is not None
                and old_entry.get("status") == entry["status"]
                and old_entry.get("reason") == entry["reason"]
            ):
                entry["lastUpdateTime"], entry["lastTransitionTime"] = (
                    old_entry.get("lastUpdateTime"),
                    old_entry.get("lastTransitionTime"),
                )
        fields: Obj = {
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "unavailableReplicas": max(0, replicas - available),
            "conditions": conditions,
        }
        self._set_status("deployments", deployment, fields)

    def _scale(self, resource: str, obj: Obj, replicas: int) -> None:
        def scale(current: Obj) -> None:
            current["spec"]["replicas"] = replicas

        self._store.mutate(resource, obj["metadata"]["namespace"], obj["metadata"]["name"], scale, touches=("spec",))

    # -- ReplicaSet ----------------------------------------------------------------------------------

    def sync_replicaset(self, namespace: str, name: str) -> None:
        replica_set = self._store.peek("replicasets", namespace, name)
        if replica_set is None or replica_set["metadata"].get("deletionTimestamp"):
            return
        component = "replicaset-controller"
        spec = replica_set.get("spec", {})
        wanted = int(spec.get("replicas", 1))
        pods = [p for p in self._owned("pods", replica_set["metadata"]["uid"]) if _active(p)]
        if len(pods) < wanted:
            template = spec.get("template") or {}
            for _ in range(wanted - len(pods)):
                self._create_pod(replica_set, self._pod_from(replica_set, template), component)
        elif len(pods) > wanted:
            # controller.ActivePods ordering: unscheduled, then pending, then not ready, then the newest first.
            newest_first = sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)
            doomed = sorted(
                newest_first,
                key=lambda p: (
                    bool(p.get("spec", {}).get("nodeName")),
                    p.get("status", {}).get("phase") != "Pending",
                    _ready(p),
                ),
            )
            for pod in doomed[: len(pods) - wanted]:
                self._delete_pod(replica_set, pod, component)
        pods = [p for p in self._owned("pods", replica_set["metadata"]["uid"]) if _active(p)]
        selector = selectors.from_label_selector(spec.get("selector"))
        ready = sum(1 for p in pods if _ready(p))
        fields = {
            "replicas": len(pods),
            "fullyLabeledReplicas": sum(1 for p in pods if selectors.matches(selector, p["metadata"].get("labels"))),
            "readyReplicas": ready,
            "availableReplicas": ready,
        }
        self._set_status("replicasets", replica_set, fields)

    # -- StatefulSet ---------------------------------------------------------------------------------

    def sync_statefulset(self, namespace: str, name: str) -> None:
        stateful_set = self._store.peek("statefulsets", namespace, name)
        if stateful_set is None or stateful_set["metadata"].get("deletionTimestamp"):
            return
        component = "statefulset-controller"
        spec = stateful_set.get("spec", {})
        wanted = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        revision = f"{name}-{template_hash(template)}"
        existing = {p["metadata"]["name"]: p for p in self._owned("pods", stateful_set["metadata"]["uid"])}
        for ordinal in range(wanted):
            pod_name = f"{name}-{ordinal}"
            if pod_name in existing or self._store.peek("pods", namespace, pod_name) is not None:
                continue  # a Terminating pod keeps its ordinal until its kubelet confirms the deletion
            pod = self._pod_from(
                stateful_set,
                template,
                name=pod_name,
                extra_labels={
                    "statefulset.kubernetes.io/pod-name": pod_name,
                    "apps.kubernetes.io/pod-index": str(ordinal),
                    "controller-revision-hash": revision,
                },
            )
            pod["spec"].setdefault("hostname", pod_name)
            if spec.get("serviceName"):
                pod["spec"].setdefault("subdomain", spec["serviceName"])
            if not self._claim_volumes(stateful_set, pod, component):
                continue
            self._create_pod(stateful_set, pod, component)
        for pod_name, pod in sorted(existing.items(), reverse=True):
            ordinal = pod_name.rsplit("-", 1)[-1]
            if ordinal.isdigit() and int(ordinal) >= wanted and _active(pod):
                self._delete_pod(stateful_set, pod, component)
        pods = [p for p in self._owned("pods", stateful_set["metadata"]["uid"]) if _active(p)]
        ready = sum(1 for p in pods if _ready(p))
        fields = {
            "replicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "currentReplicas": len(pods),
            "updatedReplicas": len(pods),
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        self._set_status("statefulsets", stateful_set, fields)

    def _claim_volumes(self, stateful_set: Obj, pod: Obj, component: str) -> bool:
        """Create the pod's claims from the volumeClaimTemplates (if missing) and mount them; False if one failed."""
        metadata = stateful_set["metadata"]
        labels = (stateful_set.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
        volumes = list(pod["spec"].get("volumes") or [])
        for template in stateful_set.get("spec", {}).get("volumeClaimTemplates") or []:
            template_name = template.get("metadata", {}).get("name", "")
            claim = f"{template_name}-{pod['metadata']['name']}"
            if self._store.peek("persistentvolumeclaims", metadata["namespace"], claim) is None:
                body = {
                    "metadata": {
                        "name": claim,
                        "namespace": metadata["namespace"],
                        "labels": {**(template.get("metadata", {}).get("labels") or {}), **labels},
                    },
                    "spec": clone(template.get("spec") or {}),
                }
                try:
                    self._store.create("persistentvolumeclaims", body, copy=False)
                except ApiError as error:
                    self._recorder.record(
                        stateful_set,
                        "FailedCreate",
                        f"create Claim {claim} for Pod {pod['metadata']['name']} in StatefulSet {metadata['name']} "
                        f"failed error: {error.message}",
                        component=component,
                        kind="Warning",
                    )
                    return False
                self._recorder.record(
                    stateful_set,
                    "SuccessfulCreate",
                    f"create Claim {claim} Pod {pod['metadata']['name']} in StatefulSet {metadata['name']} success",
                    component=component,
                )
            volumes = [v for v in volumes if v.get("name") != template_name]
            volumes.append({"name": template_name, "persistentVolumeClaim": {"claimName": claim}})
        if volumes:
            pod["spec"]["volumes"] = volumes
        return True

    # -- DaemonSet -----------------------------------------------------------------------------------

    def sync_daemonset(self, namespace: str, name: str) -> None:
        daemon_set = self._store.peek("daemonsets", namespace, name)
        if daemon_set is None or daemon_set["metadata"].get("deletionTimestamp"):
            return
        component = "daemonset-controller"
        template = daemon_set.get("spec", {}).get("template") or {}
        tolerations = [*(template.get("spec", {}).get("tolerations") or []), *DAEMON_TOLERATIONS]
        probe = {"spec": {**(template.get("spec") or {}), "tolerations": tolerations}}
        eligible = set()
        for node in self._store.items("nodes"):
            node_name = node["metadata"]["name"]
            labels = node["metadata"].get("labels") or {}
            taints = node.get("spec", {}).get("taints") or []
            if (
                matches_node_affinity(probe, node_name, labels)
                and taint_rules.untolerated(tolerations, taints, ("NoSchedule", "NoExecute")) is None
            ):
                eligible.add(node_name)
        pods = [p for p in self._owned("pods", daemon_set["metadata"]["uid"]) if _active(p)]
        by_node: dict[str, Obj] = {}
        for pod in pods:
            node_name = pod.get("spec", {}).get("nodeName", "")
            if node_name not in eligible or node_name in by_node:
                self._delete_pod(daemon_set, pod, component)
            else:
                by_node[node_name] = pod
        for node_name in sorted(eligible - set(by_node)):
            pod = self._pod_from(daemon_set, template)
            pod["spec"]["tolerations"] = clone(tolerations)
            pod["spec"]["nodeName"] = node_name  # bound by the controller: the scheduler has nothing to decide
            pod["spec"]["affinity"] = {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
                        ]
                    }
                }
            }
            self._create_pod(daemon_set, pod, component)
        pods = [p for p in self._owned("pods", daemon_set["metadata"]["uid"]) if _active(p)]
        ready = sum(1 for p in pods if _ready(p))
        scheduled = sum(1 for p in pods if p.get("spec", {}).get("nodeName") in eligible)
        fields = {
            "desiredNumberScheduled": len(eligible),
            "currentNumberScheduled": scheduled,
            "updatedNumberScheduled": scheduled,
            "numberMisscheduled": len(pods) - scheduled,
            "numberReady": ready,
            "numberAvailable": ready,
            "numberUnavailable": max(0, len(eligible) - ready),
        }
        self._set_status("daemonsets", daemon_set, fields)

    # -- garbage collection --------------------------------------------------------------------------

    def collect(self, owner: Obj) -> None:
        """The owner is gone: delete what it owned (background propagation)."""
        uid = owner["metadata"]["uid"]
        for replica_set in self._owned("replicasets", uid):
            try:
                self._store.delete("replicasets", replica_set["metadata"]["namespace"], replica_set["metadata"]["name"])
            except ApiError:
                continue
        for pod in self._owned("pods", uid):
            try:
                terminate_pod(self._store, self._clock, pod["metadata"]["namespace"], pod["metadata"]["name"])
            except ApiError:
                continue


def owner_uid(obj: Obj) -> list[str]:
    """Index function: the uid of the object's controller."""
    owner = controller_of(obj)
    return [owner["uid"]] if owner and owner.get("uid") else []

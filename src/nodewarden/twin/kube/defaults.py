"""What the apiserver fills in on create: the defaulting functions of k8s.io/api, for the fields clients read."""

from __future__ import annotations

from nodewarden.twin.kube.meta import Obj, name_of


def apply_defaults(resource: str, obj: Obj) -> None:
    """Default `obj` in place, as the apiserver does before admission."""
    spec = obj.setdefault("spec", {}) if resource in _WITH_SPEC else None
    if resource == "pods" and spec is not None:
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("securityContext", {})
        spec.setdefault("containers", [])
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Pending")
        status.setdefault("qosClass", _qos_class(spec))
    elif resource == "namespaces" and spec is not None:
        spec.setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
        labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        labels.setdefault("kubernetes.io/metadata.name", name_of(obj))
    elif resource == "deployments" and spec is not None:
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault(
            "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
        )
    elif resource == "replicasets" and spec is not None:
        spec.setdefault("replicas", 1)
    elif resource == "statefulsets" and spec is not None:
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    elif resource == "daemonsets" and spec is not None:
        spec.setdefault(
            "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
        )
    elif resource == "nodes" and spec is not None:
        obj.setdefault("status", {})


_WITH_SPEC = frozenset({"pods", "namespaces", "deployments", "replicasets", "statefulsets", "daemonsets", "nodes"})


def _qos_class(spec: Obj) -> str:
    containers = spec.get("containers") or []
    requests = [c.get("resources", {}).get("requests") or {} for c in containers]
    limits = [c.get("resources", {}).get("limits") or {} for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    guaranteed = all(
        limit.get("cpu")
        and limit.get("memory")
        and request.get("cpu", limit["cpu"]) == limit["cpu"]
        and request.get("memory", limit["memory"]) == limit["memory"]
        for request, limit in zip(requests, limits, strict=True)
    )
    return "Guaranteed" if containers and guaranteed else "Burstable"

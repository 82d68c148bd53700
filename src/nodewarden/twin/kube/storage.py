"""Zonal storage: AKS's StorageClasses, CSI provisioning, and the attach-detach controller.

What a pod with a PersistentVolumeClaim meets on AKS, as the scheduler, the kubelet and the
controllers see it:

- **Provisioning** (the PV controller and the CSI external-provisioner): a claim of a
  `WaitForFirstConsumer` class binds when the scheduler places its first pod, to a new PV in the
  zone of that pod's node; an `Immediate` class (Azure Files) binds at once. An Azure Disk PV of an
  LRS SKU carries a required node affinity on `topology.disk.csi.azure.com/zone`; ZRS disks and
  Files shares carry none, so they attach or mount in every zone.
- **Scheduling** (kube-scheduler's VolumeBinding filter): a pod goes only to nodes its bound PVs'
  node affinity admits (`requirements`; scheduler.py applies it).
- **Attaching** (the attach-detach controller and the CSI external-attacher): each Azure Disk a pod
  on a node needs gets a `VolumeAttachment`, attached after `ATTACH_SECONDS`; the kubelet starts the
  pod only once every disk is attached (`volumes_ready`; until then it is ContainerCreating). A
  single-attach disk is attached to one node at a time: a pod elsewhere waits (a Multi-Attach event)
  until the old attachment is gone.
- **Detaching**: an attachment no pod wants any more is detached (`DETACH_SECONDS`) once its node's
  kubelet has unmounted it, that is when the kubelet is live. On a dead node it stays until the
  reconciler's force detach, `MAX_WAIT_FOR_UNMOUNT` after it became unwanted on an unhealthy node, or
  at once when the node carries the out-of-service taint (Kubernetes
  pkg/controller/volume/attachdetach/reconciler). A pod Terminating on a dead node still wants its
  volumes (its containers never stopped), so its disk stays attached until the pod is force-deleted.

The twin shares none of this with the product's model; it reads and writes the raw objects.
"""

from __future__ import annotations

import contextlib
import hashlib

from nodewarden.twin.clock import Clock
from nodewarden.twin.kube import taints as taint_rules
from nodewarden.twin.kube.errors import ApiError
from nodewarden.twin.kube.kubelet import DISK_ZONE, Kubelets
from nodewarden.twin.kube.meta import Obj, condition, labels_of
from nodewarden.twin.kube.recorder import WARNING, Recorder
from nodewarden.twin.kube.store import KubeStore

DISK_DRIVER = "disk.csi.azure.com"
FILE_DRIVER = "file.csi.azure.com"
ZONE = "topology.kubernetes.io/zone"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
ATTACH_SECONDS = 15.0  # an Azure Disk attach: tens of seconds
DETACH_SECONDS = 5.0
MAX_WAIT_FOR_UNMOUNT = 360.0  # attach-detach controller maxWaitForUnmountDuration (6 minutes)
SHARED_MODES = frozenset({"ReadWriteMany", "ReadOnlyMany"})  # a shared disk (maxShares) attaches to several nodes
ATTACHER_FINALIZER = "external-attacher/disk-csi-azure-com"
COMPONENT = "attachdetach-controller"
_ADDON_LABELS = {"addonmanager.kubernetes.io/mode": "EnsureExists", "kubernetes.io/cluster-service": "true"}


def _storage_class(name: str, provisioner: str, sku: str, *, default: bool = False) -> Obj:
    disk = provisioner == DISK_DRIVER
    metadata: Obj = {"name": name, "labels": dict(_ADDON_LABELS)}
    if default:
        metadata["annotations"] = {DEFAULT_CLASS: "true"}
    body: Obj = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": metadata,
        "provisioner": provisioner,
        "parameters": {"skuName": sku},
        "reclaimPolicy": "Delete",
        "allowVolumeExpansion": True,
        "volumeBindingMode": WAIT_FOR_FIRST_CONSUMER if disk else "Immediate",
    }
    if not disk:
        body["mountOptions"] = ["mfsymlinks", "actimeo=30", "nosharesock"]
    return body


def aks_storage_classes() -> list[Obj]:
    """The classes an AKS cluster has (managed-csi is the default), plus a zone-redundant premium disk class."""
    return [
        _storage_class("managed-csi", DISK_DRIVER, "StandardSSD_LRS", default=True),
        _storage_class("managed-csi-premium", DISK_DRIVER, "Premium_LRS"),
        _storage_class("managed-csi-premium-zrs", DISK_DRIVER, "Premium_ZRS"),
        _storage_class("azurefile-csi", FILE_DRIVER, "Standard_LRS"),
    ]


def claims_of(pod: Obj) -> list[str]:
    """The names of the PersistentVolumeClaims the pod mounts."""
    return [
        volume["persistentVolumeClaim"]["claimName"]
        for volume in pod.get("spec", {}).get("volumes") or []
        if (volume.get("persistentVolumeClaim") or {}).get("claimName")
    ]


def claim_keys(pod: Obj) -> list[str]:
    """Index function: `<namespace>/<claim>` for each claim the pod mounts."""
    namespace = pod.get("metadata", {}).get("namespace", "")
    return [f"{namespace}/{claim}" for claim in claims_of(pod)]


def attachment_name(volume: str, node: str) -> str:
    """The external-attacher's name for a VolumeAttachment: csi-<sha256(volume + attacher + node)>."""
    return "csi-" + hashlib.sha256(f"{volume}{DISK_DRIVER}{node}".encode()).hexdigest()


def has_out_of_service_taint(node: Obj | None) -> bool:
    return node is not None and any(
        taint.get("key") == taint_rules.OUT_OF_SERVICE and taint.get("effect") == taint_rules.NO_EXECUTE
        for taint in node.get("spec", {}).get("taints") or []
    )


def _is_disk(volume: Obj) -> bool:
    return (volume.get("spec", {}).get("csi") or {}).get("driver") == DISK_DRIVER


def _single_attach(volume: Obj) -> bool:
    return not SHARED_MODES & set(volume.get("spec", {}).get("accessModes") or [])


def _is_zone_redundant(sku: str) -> bool:
    return sku.lower().endswith("_zrs")


def _resource_group_scope(node: Obj | None) -> str:
    """`/subscriptions/<id>/resourceGroups/<node resource group>` from the node's providerID."""
    provider = str((node or {}).get("spec", {}).get("providerID", ""))
    return provider.removeprefix("azure://").split("/providers/")[0]


class Storage:
    """The PV controller, the CSI provisioner and attacher, and the attach-detach controller, in one pass."""

    def __init__(self, store: KubeStore, clock: Clock, recorder: Recorder, kubelets: Kubelets) -> None:
        self._store = store
        self._clock = clock
        self._recorder = recorder
        self._kubelets = kubelets
        self._attach_due: dict[str, float] = {}  # VolumeAttachment uid → when the attach completes
        self._detach_due: dict[str, float] = {}  # VolumeAttachment uid → when the detach completes
        self._unwanted_since: dict[str, float] = {}  # VolumeAttachment uid → when no pod wanted it any more
        self._blocked: set[tuple[str, str, str]] = set()  # (pod uid, volume, node) told about a Multi-Attach
        store.add_index("pods", "claim", claim_keys)
        store.add_index(
            "volumeattachments",
            "volume",
            lambda va: [va.get("spec", {}).get("source", {}).get("persistentVolumeName") or ""],
        )
        store.add_admission(self._default_class)
        kubelets.volumes_ready = self.volumes_ready

    # -- what the scheduler asks -------------------------------------------------------------------

    def requirements(self, pod: Obj) -> tuple[list[Obj], str | None]:
        """The node selectors the pod's bound volumes require (all must hold), or why it cannot schedule yet."""
        namespace = pod["metadata"]["namespace"]
        required: list[Obj] = []
        for claim in claims_of(pod):
            pvc = self._store.peek("persistentvolumeclaims", namespace, claim)
            if pvc is None:
                return [], f'persistentvolumeclaim "{claim}" not found'
            if pvc["metadata"].get("deletionTimestamp"):
                return [], f'persistentvolumeclaim "{claim}" is being deleted'
            volume_name = pvc.get("spec", {}).get("volumeName")
            if not volume_name:
                continue  # bound when the pod is placed (provision)
            volume = self._store.peek("persistentvolumes", None, volume_name)
            if volume is None:
                return [], f'persistentvolume "{volume_name}" not found'
            selector = (volume.get("spec", {}).get("nodeAffinity") or {}).get("required")
            if selector:
                required.append(selector)
        return required, None

    def provision(self, pod: Obj, node_name: str) -> None:
        """The pod is placed on `node_name`: bind its unbound claims to new volumes made for that node."""
        node = self._store.peek("nodes", None, node_name)
        namespace = pod["metadata"]["namespace"]
        for claim in claims_of(pod):
            pvc = self._store.peek("persistentvolumeclaims", namespace, claim)
            if pvc is not None and not pvc.get("spec", {}).get("volumeName"):
                self._provision_claim(pvc, node)

    # -- what the kubelet asks ---------------------------------------------------------------------

    def volumes_ready(self, pod: Obj, node_name: str) -> bool:
        """Every claim bound, and every Azure Disk among them attached to `node_name`."""
        namespace = pod.get("metadata", {}).get("namespace", "")
        for claim in claims_of(pod):
            pvc = self._store.peek("persistentvolumeclaims", namespace, claim)
            volume_name = (pvc or {}).get("spec", {}).get("volumeName")
            volume = self._store.peek("persistentvolumes", None, volume_name) if volume_name else None
            if volume is None:
                return False
            if not _is_disk(volume):
                continue
            attachment = self._store.peek("volumeattachments", None, attachment_name(volume_name or "", node_name))
            if attachment is None or not attachment.get("status", {}).get("attached"):
                return False
        return True

    # -- the pass ----------------------------------------------------------------------------------

    def sync(self) -> None:
        """Bind Immediate claims, then attach what pods want and detach what they no longer want."""
        if not self._store.count("persistentvolumeclaims") and not self._store.count("volumeattachments"):
            return
        for pvc in self._store.items("persistentvolumeclaims"):
            if not pvc.get("spec", {}).get("volumeName") and not self._waits_for_consumer(pvc):
                self._provision_claim(pvc, None)
        wanted = self._wanted()
        current: dict[str, list[Obj]] = {}
        for attachment in self._store.items("volumeattachments"):
            current.setdefault(attachment["spec"]["source"].get("persistentVolumeName", ""), []).append(attachment)
        for attachments in current.values():
            for attachment in attachments:
                self._reconcile(attachment, wanted)
        for (volume_name, node_name), pods in sorted(wanted.items()):
            if attachment_name(volume_name, node_name) in {a["metadata"]["name"] for a in current.get(volume_name, [])}:
                continue
            self._attach(volume_name, node_name, pods, current.get(volume_name, []))

    def settle(self) -> None:
        """Attach at once what pods want (a cluster loaded as it already ran), then start those pods."""
        self.sync()
        now = self._clock.elapsed()
        self._attach_due = dict.fromkeys(self._attach_due, now)
        self.sync()

    def _wanted(self) -> dict[tuple[str, str], list[Obj]]:
        """(volume, node) → the pods there that need that Azure Disk attached."""
        wanted: dict[tuple[str, str], list[Obj]] = {}
        for pvc in self._store.items("persistentvolumeclaims"):
            volume_name = pvc.get("spec", {}).get("volumeName")
            volume = self._store.peek("persistentvolumes", None, volume_name) if volume_name else None
            if volume is None or not _is_disk(volume):
                continue
            key = f"{pvc['metadata']['namespace']}/{pvc['metadata']['name']}"
            for pod in self._store.by_index("pods", "claim", key, copy=False):
                node_name = pod.get("spec", {}).get("nodeName")
                if node_name and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
                    wanted.setdefault((volume["metadata"]["name"], node_name), []).append(pod)
        return wanted

    def _reconcile(self, attachment: Obj, wanted: dict[tuple[str, str], list[Obj]]) -> None:
        metadata, now = attachment["metadata"], self._clock.elapsed()
        uid, node_name = metadata["uid"], attachment["spec"]["nodeName"]
        volume_name = attachment["spec"]["source"].get("persistentVolumeName", "")
        if metadata.get("deletionTimestamp"):
            if self._detach_due.setdefault(uid, now + DETACH_SECONDS) <= now:
                self._detached(attachment)
            return
        pods = wanted.get((volume_name, node_name))
        if pods:
            self._unwanted_since.pop(uid, None)
            if not attachment.get("status", {}).get("attached") and self._attach_due.setdefault(uid, now) <= now:
                self._attached(attachment, pods)
            return
        since = self._unwanted_since.setdefault(uid, now)
        node = self._store.peek("nodes", None, node_name)
        mounted = not self._kubelets.is_live(node_name)  # a dead kubelet never reports the volume unmounted
        healthy = node is not None and (condition(node, "Ready") or {}).get("status") == "True"
        forced = not healthy and now - since >= MAX_WAIT_FOR_UNMOUNT
        if mounted and not forced and not has_out_of_service_taint(node):
            return
        self._detach_due[uid] = now + DETACH_SECONDS
        with contextlib.suppress(ApiError):
            self._store.delete("volumeattachments", None, metadata["name"])  # the finalizer keeps it while detaching

    def _attached(self, attachment: Obj, pods: list[Obj]) -> None:
        def attach(obj: Obj) -> None:
            obj["status"] = {"attached": True, "attachmentMetadata": {"LUN": "0", "cachingMode": "ReadOnly"}}

        self._store.mutate("volumeattachments", None, attachment["metadata"]["name"], attach, touches=("status",))
        self._attach_due.pop(attachment["metadata"]["uid"], None)
        for pod in pods:
            metadata = pod["metadata"]
            self._kubelets.start_pod(metadata["namespace"], metadata["name"], attachment["spec"]["nodeName"])

    def _detached(self, attachment: Obj) -> None:
        uid = attachment["metadata"]["uid"]
        for timers in (self._detach_due, self._unwanted_since, self._attach_due):
            timers.pop(uid, None)

        def release(obj: Obj) -> None:
            obj["metadata"]["finalizers"] = [
                f for f in obj["metadata"].get("finalizers") or [] if f != ATTACHER_FINALIZER
            ]

        self._store.mutate("volumeattachments", None, attachment["metadata"]["name"], release)

    def _attach(self, volume_name: str, node_name: str, pods: list[Obj], others: list[Obj]) -> None:
        volume = self._store.peek("persistentvolumes", None, volume_name)
        if volume is None:
            return
        if others and _single_attach(volume):
            elsewhere = sorted({other["spec"]["nodeName"] for other in others})
            for pod in pods:
                key = (pod["metadata"]["uid"], volume_name, node_name)
                if key not in self._blocked:
                    self._blocked.add(key)
                    self._recorder.record(
                        pod,
                        "FailedAttachVolume",
                        f'Multi-Attach error for volume "{volume_name}" Volume is already exclusively attached to '
                        f"one node ({', '.join(elsewhere)}) and can't be attached to another",
                        component=COMPONENT,
                        kind=WARNING,
                    )
            return
        body: Obj = {
            "metadata": {
                "name": attachment_name(volume_name, node_name),
                "annotations": {"csi.alpha.kubernetes.io/node-id": node_name},
                "finalizers": [ATTACHER_FINALIZER],
            },
            "spec": {"attacher": DISK_DRIVER, "nodeName": node_name, "source": {"persistentVolumeName": volume_name}},
            "status": {"attached": False},
        }
        try:
            created = self._store.create("volumeattachments", body, copy=False)
        except ApiError:
            return
        self._attach_due[created["metadata"]["uid"]] = self._clock.elapsed() + ATTACH_SECONDS
        for pod in pods:
            self._blocked.discard((pod["metadata"]["uid"], volume_name, node_name))

    # -- provisioning ------------------------------------------------------------------------------

    def _class_of(self, pvc: Obj) -> Obj | None:
        name = pvc.get("spec", {}).get("storageClassName")
        return self._store.peek("storageclasses", None, name) if name else None

    def _waits_for_consumer(self, pvc: Obj) -> bool:
        storage_class = self._class_of(pvc)
        return storage_class is None or storage_class.get("volumeBindingMode") == WAIT_FOR_FIRST_CONSUMER

    def _provision_claim(self, pvc: Obj, node: Obj | None) -> None:
        """The CSI provisioner makes a volume (in `node`'s zone for an LRS disk); the PV controller binds the claim."""
        storage_class = self._class_of(pvc)
        if storage_class is None or storage_class.get("provisioner") not in (DISK_DRIVER, FILE_DRIVER):
            return  # no class, or one the twin has no driver for: the claim stays Pending
        metadata, spec = pvc["metadata"], pvc.get("spec", {})
        namespace, claim = metadata["namespace"], metadata["name"]
        name = f"pvc-{metadata['uid']}"
        driver = storage_class["provisioner"]
        sku = str((storage_class.get("parameters") or {}).get("skuName", "StandardSSD_LRS"))
        size = str(spec.get("resources", {}).get("requests", {}).get("storage", "8Gi"))
        access_modes = list(spec.get("accessModes") or ["ReadWriteOnce"])
        if node is None:
            node = next(iter(self._store.items("nodes")), None)
        scope = _resource_group_scope(node)
        attributes = {
            "csi.storage.k8s.io/pv/name": name,
            "csi.storage.k8s.io/pvc/name": claim,
            "csi.storage.k8s.io/pvc/namespace": namespace,
            "skuname": sku,
        }
        if driver == DISK_DRIVER:
            handle = f"{scope}/providers/Microsoft.Compute/disks/{name}"
        else:
            group = scope.rsplit("/", 1)[-1]
            account = "f" + hashlib.sha256(scope.encode()).hexdigest()[:23]
            handle = f"{group}#{account}#{name}###{namespace}"
        volume: Obj = {
            "metadata": {
                "name": name,
                "annotations": {"pv.kubernetes.io/provisioned-by": driver},
            },
            "spec": {
                "accessModes": access_modes,
                "capacity": {"storage": size},
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": namespace,
                    "name": claim,
                    "uid": metadata["uid"],
                },
                "csi": {"driver": driver, "volumeHandle": handle, "volumeAttributes": attributes},
                "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
                "storageClassName": storage_class["metadata"]["name"],
                "volumeMode": spec.get("volumeMode", "Filesystem"),
            },
            "status": {"phase": "Bound"},
        }
        if driver == DISK_DRIVER and not _is_zone_redundant(sku) and node is not None:
            zone = labels_of(node).get(DISK_ZONE, labels_of(node).get(ZONE, ""))
            volume["spec"]["nodeAffinity"] = {
                "required": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": DISK_ZONE, "operator": "In", "values": [zone]}]}
                    ]
                }
            }
        try:
            self._store.create("persistentvolumes", volume, copy=False)
        except ApiError:
            return
        annotations = {
            "pv.kubernetes.io/bind-completed": "yes",
            "pv.kubernetes.io/bound-by-controller": "yes",
            "volume.beta.kubernetes.io/storage-provisioner": driver,
            "volume.kubernetes.io/storage-provisioner": driver,
        }
        if self._waits_for_consumer(pvc) and node is not None:
            annotations[SELECTED_NODE] = node["metadata"]["name"]

        def bind(obj: Obj) -> None:
            obj["metadata"].setdefault("annotations", {}).update(annotations)
            obj["spec"]["volumeName"] = name
            obj["status"] = {"phase": "Bound", "accessModes": access_modes, "capacity": {"storage": size}}

        bound = self._store.mutate("persistentvolumeclaims", namespace, claim, bind)
        if bound is not None:
            self._recorder.record(
                bound,
                "ProvisioningSucceeded",
                f"Successfully provisioned volume {name}",
                component=f"{driver}_csi-provisioner",
            )

    def _default_class(self, resource: str, obj: Obj) -> None:
        """The DefaultStorageClass admission plugin: a claim that names no class gets the default one."""
        if resource != "persistentvolumeclaims":
            return
        spec = obj.setdefault("spec", {})
        obj.setdefault("status", {}).setdefault("phase", "Pending")
        if "storageClassName" in spec:
            return
        default = next(
            (
                sc["metadata"]["name"]
                for sc in self._store.items("storageclasses")
                if (sc["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"
            ),
            None,
        )
        if default is not None:
            spec["storageClassName"] = default

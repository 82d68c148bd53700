"""An emulation of AKS node auto-repair, switched on per scenario (`autoRepair: true`).

AKS acts on a node that has been NotReady (or Unknown) for 5 minutes: it reboots the instance, and if
the node is still not Ready it reimages, then redeploys, as the `aks-remediator` identity, recording
Kubernetes events from `aks-auto-repair` (learn.microsoft.com/azure/aks/node-auto-repair). A product
that remediates must not fight it; this lets tests see both at work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nodewarden.twin.azure import Action, AzureState, Origin
from nodewarden.twin.clock import Clock
from nodewarden.twin.kube.physics import KubeWorld

NOT_READY_FOR = 300.0  # AKS: "nodes that are NotReady or Unknown for five minutes"
CHECK_EVERY = 30.0
LADDER = (Action.RESTART, Action.REIMAGE, Action.REDEPLOY)
REMEDIATOR = Origin(caller="aks-remediator")
COMPONENT = "aks-auto-repair"


@dataclass
class _Repair:
    unhealthy_since: float
    step: int = 0
    last_action_at: float | None = None


class AutoRepair:
    def __init__(self, kube: KubeWorld, azure: AzureState, clock: Clock) -> None:
        self._kube = kube
        self._azure = azure
        self._clock = clock
        self._repairs: dict[str, _Repair] = {}
        self._timer = clock.call_every(CHECK_EVERY, self.check)

    def stop(self) -> None:
        self._timer.cancel()

    def check(self) -> None:
        now = self._clock.elapsed()
        for node in self._kube.store.items("nodes"):
            name = node["metadata"]["name"]
            if _ready(node):
                self._repairs.pop(name, None)
                continue
            repair = self._repairs.setdefault(name, _Repair(unhealthy_since=now))
            waited_from = repair.last_action_at if repair.last_action_at is not None else repair.unhealthy_since
            if now - waited_from < NOT_READY_FOR or repair.step >= len(LADDER):
                continue
            self._act(node, repair, now)

    def _act(self, node: dict[str, Any], repair: _Repair, now: float) -> None:
        name = str(node["metadata"]["name"])
        action = LADDER[repair.step]
        try:
            instance = self._azure.instance(name)
        except (KeyError, LookupError):
            return  # not a scale-set node (or already deleted): nothing AKS could repair
        if instance.part is not None:
            return  # an operation is already working on it (ours or someone else's): wait
        reason = {"restart": "NodeRebootStart", "reimage": "NodeReimageStart", "redeploy": "NodeRedeployStart"}[action]
        self._kube.recorder.record(
            node,
            reason,
            f"Node auto-repair is initiating a {action} of {name} (NotReady for over 5 minutes).",
            component=COMPONENT,
            kind="Warning",
        )
        self._azure.act(action, instance, origin=REMEDIATOR)
        repair.step += 1
        repair.last_action_at = now


def _ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

"""Changes the world: Kubernetes node actions (cordon, taint, annotate, drain) and Azure instance and
pool actions (restart, reimage, redeploy, deallocate, start, replace), each reported as an Event on
the Node. Adapters only: callers decide what to do; these modules do it and say what happened.
"""

from nodewarden.act import azure_actions, events, kube_actions
from nodewarden.act.results import ActionResult, Blocker, DrainResult, EventReason, NodeAction, PodRef

__all__ = [
    "ActionResult",
    "Blocker",
    "DrainResult",
    "EventReason",
    "NodeAction",
    "PodRef",
    "azure_actions",
    "events",
    "kube_actions",
]

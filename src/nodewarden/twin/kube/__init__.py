"""The Kubernetes side of the twin: an API server's store and HTTP surface, and the physics around it.

`KubeStore` keeps objects with Kubernetes semantics (resourceVersions, watches, 410); `KubeApi`
serves it over the wire protocol real clients speak; `KubeWorld` runs kubelets, the node controller,
the scheduler and the workload controllers on the twin's clock. The Azure side talks to `KubeWorld`
only through booted machines (`nodewarden.twin.machines.MachineSpec`).
"""

from nodewarden.twin.kube.api import KubeApi
from nodewarden.twin.kube.errors import ApiError
from nodewarden.twin.kube.physics import KubeWorld
from nodewarden.twin.kube.store import KubeStore, Page, Watch

__all__ = ["ApiError", "KubeApi", "KubeStore", "KubeWorld", "Page", "Watch"]

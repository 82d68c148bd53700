"""The Azure side of the twin: an AKS cluster's ARM resources, its scale sets' instances, and Entra ID.

`AzureState` holds the simulated world and its faults; `ArmApi` serves it over the ARM wire protocol;
`Identity` is the token endpoint and the bearer check. The Kubernetes side hears about instances only
through `AzureState.on_boot` / `on_down` / `on_removed` hooks.
"""

from nodewarden.twin.azure.activity import ActivityFilter
from nodewarden.twin.azure.arm_api import ArmApi
from nodewarden.twin.azure.fleet import Action, Guest, Instance, Origin, Pool, Timings
from nodewarden.twin.azure.identity import Identity
from nodewarden.twin.azure.operations import Operation
from nodewarden.twin.azure.state import AzureState

__all__ = [
    "Action",
    "ActivityFilter",
    "ArmApi",
    "AzureState",
    "Guest",
    "Identity",
    "Instance",
    "Operation",
    "Origin",
    "Pool",
    "Timings",
]

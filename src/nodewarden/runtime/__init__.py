"""Around the loop: leader election, the metrics and health endpoint, and logging setup.

The controller loop itself (`nodewarden run`) drives these; none of them decides anything.
"""

from nodewarden.runtime import leader, logs, metrics
from nodewarden.runtime.leader import LeaderElector
from nodewarden.runtime.logs import configure_logging
from nodewarden.runtime.metrics import ControllerMetrics, MetricsServer, parse_listen

__all__ = [
    "ControllerMetrics",
    "LeaderElector",
    "MetricsServer",
    "configure_logging",
    "leader",
    "logs",
    "metrics",
    "parse_listen",
]

"""Notification sinks: tell people when an incident opens, needs a human, and resolves.

Slack (Block Kit), Microsoft Teams (Workflows webhook, Adaptive Card), PagerDuty (Events API v2) and a
generic HMAC-signed JSON webhook, configured in a `kind: NotificationConfig` YAML file. Sits after
`incidents` in the flow: the incident side builds a `NotificationEvent`, the `Notifier` delivers it.
"""

from nodewarden.notify.config import NotifyConfig, NotifyConfigError, SinkType, load_notify_config
from nodewarden.notify.events import EventKind, NotificationEvent
from nodewarden.notify.notifier import Delivery, Notifier, Outcome
from nodewarden.notify.transport import Outbound, Reply, SendError

__all__ = [
    "Delivery",
    "EventKind",
    "NotificationEvent",
    "Notifier",
    "NotifyConfig",
    "NotifyConfigError",
    "Outbound",
    "Outcome",
    "Reply",
    "SendError",
    "SinkType",
    "load_notify_config",
]

"""The two reference pages: the remediation policy (docs/policy.md) and the notification config
(docs/notifications.md), each its model plus the prose and the example `render/reference.py` puts around it.

The examples are whole files; tests/cli/test_reference_docs.py loads each with the real loader
(`policy check`, `load_notify_config`), so a page never shows a file nodewarden would refuse.
"""

from __future__ import annotations

from nodewarden.heal import policy as remediation_policy
from nodewarden.model.remediation import RUNGS
from nodewarden.notify import config as notify_config
from nodewarden.render.reference import Page, render_reference

POLICY_EXAMPLE = """\
apiVersion: nodewarden.io/v1
kind: RemediationPolicy
metadata:
  name: production
spec:
  mode: dry-run                         # deploy/overlays/enforce adds --apply; enforce here acts in every tree
  maxDataAge: 60s
  stableFor: 2m
  autoRepair: defer
  triggers:
    - name: node-down
      signals: [HeartbeatStale, ReadyUnknown, NotReady, InstanceStopped, InstanceDeallocated, InstanceFailed]
      ladder: [restart, reimage, replace]
    - name: gpu-problem
      conditions: [GPUProblem]          # a node-problem-detector condition
      after: 5m
      ladder: [reimage, replace]
    - name: scheduled-maintenance
      signals: [ScheduledEvent]
      ladder: []                        # cordon and drain before the deadline, then wait for the platform
  stepTimeouts: {restart: 10m, reimage: 20m, redeploy: 20m, replace: 45m}
  drain: {timeout: 10m, gracePeriodSeconds: null, onTimeout: hold, force: false}
  guards:
    maxInFlight: 2
    maxUnhealthy: 30%
    zoneBreaker: {share: 50%, window: 10m}
    ratePerHour: {pool: 4, cluster: 12}
  compensation: {enabled: true, maxExtraNodes: 2}
  exclusionLabel: nodewarden.io/exclude
  pools:
    system:
      paused: true                      # never touch the system pool
    batch:
      drain: {timeout: 30m}             # only the timeout changes; the rest of spec.drain applies
      guards: {maxInFlight: 5}
"""

NOTIFICATIONS_EXAMPLE = """\
apiVersion: nodewarden.io/v1
kind: NotificationConfig
metadata:
  name: production
spec:
  sinks:
    - name: ops-channel
      type: slack
      url: {valueFrom: {env: SLACK_WEBHOOK_URL}}
      events: [opened, escalated, resolved]
    - name: platform-team
      type: teams
      url: {valueFrom: {file: teams-url}}
      events: [escalated]
    - name: on-call
      type: pagerduty
      routingKey: {valueFrom: {file: pagerduty-routing-key}}
      severity: error
      source: aks-prod-westeurope
      events: [opened, escalated, resolved]
      ratePerMinute: 5
    - name: itsm
      type: webhook
      url: https://itsm.example.com/hooks/nodewarden
      hmacKey: {valueFrom: {env: ITSM_HMAC_KEY}}
  retry: {attempts: 4, initialDelay: 1.0, maxDelay: 30.0}
"""

POLICY_PAGE = Page(
    title="Remediation policy reference",
    command="nodewarden policy schema",
    intro=f"""
The remediation policy (`kind: RemediationPolicy`) says which signals lead to which ladder of repairs and
which guards hold them back. `nodewarden run --policy FILE` and `nodewarden plan --policy FILE` read it;
`nodewarden policy check FILE` validates it; `nodewarden policy show` prints the built-in one with its
comments. In the cluster it is the `nodewarden-policy` ConfigMap (see [operations.md](operations.md)).

Every key has a default, so a file needs only what it changes. Keys are camelCase; an unknown key is an
error naming the file and the field, with the nearest known key. Durations are written like `30s`, `10m`,
`1h30m` or whole seconds; shares like `40%` or `0.4`. Under `spec.pools.<name>` only the keys written
replace the cluster-wide ones for that pool. Rungs, mildest first: {", ".join(s.value.lower() for s in RUNGS)}.
""",
    model=remediation_policy.Policy,
    example=POLICY_EXAMPLE,
    named=(
        (remediation_policy.Duration, "duration"),
        (remediation_policy.Limit, "duration"),
        (remediation_policy.Share, "share, from 0% to 100%"),
        (remediation_policy.Rung, "rung: " + ", ".join(f"`{s.value.lower()}`" for s in RUNGS)),
    ),
)

NOTIFICATIONS_PAGE = Page(
    title="Notification config reference",
    command="nodewarden notify schema",
    intro="""
The notification config (`kind: NotificationConfig`) says which sinks (Slack, Microsoft Teams, PagerDuty, a
signed webhook) are told when an incident opens, is escalated to a human, or resolves.
`nodewarden run --notify-config FILE` reads it; `nodewarden notify check FILE` validates it and reads its
secrets. In the cluster it is the `notify.yaml` key of the `nodewarden-notify` Secret (see
[operations.md](operations.md)).

Keys are camelCase; an unknown key is an error naming the file and the field. A secret (a webhook URL, a
routing key, an HMAC key) is written as a string, as `{value: …}`, or, to keep it out of the file, as
`{valueFrom: {env: NAME}}` or `{valueFrom: {file: PATH}}` (a path relative to the config file). Secrets are
read once, at load; no log line, error or report shows them. Each delivery is retried on 429, 5xx and
network errors (any other 4xx fails at once), and one that still fails counts in the
`nodewarden_notifications_total{outcome="failed"}` metric, which the `NodewardenNotificationsFailing` alert
watches (deploy/monitoring/).
""",
    model=notify_config.NotifyConfig,
    example=NOTIFICATIONS_EXAMPLE,
    named=(
        (notify_config.SecretUrl, "secret http(s) URL, no user:password@"),
        (notify_config.Secret, "secret"),
    ),
)


def render_policy_reference() -> str:
    """docs/policy.md."""
    return render_reference(POLICY_PAGE)


def render_notifications_reference() -> str:
    """docs/notifications.md."""
    return render_reference(NOTIFICATIONS_PAGE)

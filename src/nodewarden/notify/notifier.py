"""Sends each incident event to every sink that wants it: rate limited, retried, and reported back.

`Notifier.notify` is called by the incident side on open, on escalation to a human, and on resolve. Per
sink it spends a token (or drops the message, logs a warning and counts it), renders the sink's request,
and sends it, retrying 429, 5xx and network errors with exponential backoff (honouring Retry-After) and
giving up at once on any other 4xx. The wait goes through `clock.sleep`, so on the twin's clock a retry
costs no real time. It returns one `Delivery` per sink; one sink failing never stops the next.

Logs carry the sink's name and type, never its URL, key or the request body.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from nodewarden.notify import pagerduty, retries, slack, teams, transport, webhook
from nodewarden.notify.config import NotifyConfig, PagerDutySink, Sink, SlackSink, TeamsSink, WebhookSink
from nodewarden.notify.events import NotificationEvent
from nodewarden.notify.throttle import TokenBucket

log = logging.getLogger(__name__)


class Clock(Protocol):
    """`runtime.clock.Clock`'s shape: the twin's `DrivenClock` in tests, the system clock in production."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # a non-retryable answer, or retries used up
    DROPPED = "dropped"  # over the sink's rate limit; not sent at all


@dataclass(frozen=True)
class Delivery:
    """What happened to one event at one sink. Holds no secret: safe to log, journal or render."""

    sink: str
    sink_type: str
    event: str
    incident: str
    outcome: Outcome
    attempts: int = 0
    status: int | None = None  # the last HTTP status, None if none came back
    detail: str = ""  # "HTTP 400", "ConnectionRefusedError", "rate limit 10/min" …


class Notifier:
    def __init__(self, config: NotifyConfig, *, clock: Clock, send: transport.Send = transport.post) -> None:
        self.config = config
        self.clock = clock
        self._send = send
        self._buckets = {sink.name: TokenBucket(per_minute=sink.rate_per_minute) for sink in config.spec.sinks}
        self.dropped: Counter[str] = Counter()  # per sink name, for metrics

    def notify(self, event: NotificationEvent) -> list[Delivery]:
        """Send `event` to each sink subscribed to its kind, in config order."""
        return [self._deliver(sink, event) for sink in self.config.spec.sinks if event.kind in sink.events]

    def _deliver(self, sink: Sink, event: NotificationEvent) -> Delivery:
        def delivery(outcome: Outcome, *, attempts: int = 0, status: int | None = None, detail: str = "") -> Delivery:
            return Delivery(
                sink.name, sink.type.value, event.kind.value, event.incident.id, outcome, attempts, status, detail
            )

        fields = {
            "sink": sink.name,
            "sink_type": sink.type.value,
            "event": event.kind.value,
            "incident": event.incident.id,
        }
        if not self._buckets[sink.name].take(now=self.clock.now()):
            self.dropped[sink.name] += 1
            log.warning("notify.dropped", extra={**fields, "limit_per_minute": sink.rate_per_minute})
            return delivery(Outcome.DROPPED, detail=f"rate limit {sink.rate_per_minute}/min")
        outbound = render(sink, event, now=self.clock.now())
        retry = self.config.spec.retry
        for attempt in range(1, retry.attempts + 1):
            try:
                reply = self._send(outbound)
            except transport.SendError as exc:
                status, detail, retry_after = None, str(exc) or "network error", None
            else:
                if 200 <= reply.status <= 299:
                    log.info("notify.sent", extra={**fields, "attempt": attempt, "status": reply.status})
                    return delivery(Outcome.SENT, attempts=attempt, status=reply.status)
                status, detail, retry_after = reply.status, f"HTTP {reply.status}", reply.retry_after
                if not retries.is_retryable(reply.status):
                    log.error("notify.failed", extra={**fields, "attempt": attempt, "status": status, "error": detail})
                    return delivery(Outcome.FAILED, attempts=attempt, status=status, detail=detail)
            if attempt == retry.attempts:
                break
            delay = retries.backoff_delay(attempt, initial=retry.initial_delay, cap=retry.max_delay)
            asked = retries.parse_retry_after(retry_after, now=self.clock.now())
            if asked is not None and asked > retry.max_delay:
                detail = f"{detail}; Retry-After {asked:.0f}s exceeds {retry.max_delay:.0f}s"
                break
            delay = max(delay, asked or 0.0)
            log.warning(
                "notify.retry", extra={**fields, "attempt": attempt, "status": status, "error": detail, "delay": delay}
            )
            self.clock.sleep(delay)
        log.error("notify.failed", extra={**fields, "attempt": attempt, "status": status, "error": detail})
        return delivery(Outcome.FAILED, attempts=attempt, status=status, detail=detail)


def render(sink: Sink, event: NotificationEvent, *, now: datetime) -> transport.Outbound:
    """The request `sink` sends for `event`."""
    match sink:
        case SlackSink():
            return slack.render(sink, event, now=now)
        case TeamsSink():
            return teams.render(sink, event, now=now)
        case PagerDutySink():
            return pagerduty.render(sink, event, now=now)
        case WebhookSink():
            return webhook.render(sink, event, now=now)

"""Delivering: retries with backoff on 429, 5xx and network errors, none on other 4xx, a per-sink rate
limit that drops and counts, and no secret in any log record, error or repr."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from nodewarden.notify import EventKind, NotificationEvent, Notifier, Outcome, load_notify_config
from nodewarden.notify.notifier import render
from tests.notify.receivers import T0, FakeClock, Receiver, incident, receiving

SLACK_TOKEN = "xoxb-SLACKSECRET123"
ROUTING_KEY = "PDROUTINGKEY0123456789abcdef0123"
HMAC_KEY = "HMACSECRETKEY"
EVENT = NotificationEvent(EventKind.OPENED, incident(), "4 nodes NotReady", "")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def notifier_for(tmp_path: Path, *sinks: str, retry: str = "{}") -> tuple[Notifier, FakeClock]:
    path = tmp_path / "notify.yaml"
    listed = "".join(f"\n    - {sink}" for sink in sinks)
    path.write_text(f"kind: NotificationConfig\nspec:\n  retry: {retry}\n  sinks:{listed}\n", encoding="utf-8")
    clock = FakeClock(T0)
    return Notifier(load_notify_config(path), clock=clock), clock


def test_a_500_is_retried_with_exponential_backoff_until_it_succeeds(tmp_path: Path, receiver: Receiver) -> None:
    notifier, clock = notifier_for(tmp_path, f"{{name: ops, type: slack, url: '{receiver.url}/s'}}")
    receiver.answer(500, 503)
    [delivery] = notifier.notify(EVENT)
    assert (delivery.outcome, delivery.attempts, delivery.status) == (Outcome.SENT, 3, 200)
    assert clock.slept == [1.0, 2.0]
    assert len({r.body for r in receiver.requests}) == 1  # the same request each time


def test_a_400_is_not_retried(tmp_path: Path, receiver: Receiver) -> None:
    notifier, clock = notifier_for(tmp_path, f"{{name: ops, type: slack, url: '{receiver.url}/s'}}")
    receiver.answer(400)
    [delivery] = notifier.notify(EVENT)
    assert (delivery.outcome, delivery.attempts, delivery.status, delivery.detail) == (
        Outcome.FAILED,
        1,
        400,
        "HTTP 400",
    )
    assert clock.slept == []
    assert len(receiver.requests) == 1


def test_a_429_waits_as_long_as_retry_after_asks(tmp_path: Path, receiver: Receiver) -> None:
    notifier, clock = notifier_for(tmp_path, f"{{name: ops, type: slack, url: '{receiver.url}/s'}}")
    receiver.answer(429, headers={"Retry-After": "7"})
    [delivery] = notifier.notify(EVENT)
    assert (delivery.outcome, delivery.attempts) == (Outcome.SENT, 2)
    assert clock.slept == [7.0]


def test_a_retry_after_longer_than_the_longest_wait_gives_up_rather_than_stall(
    tmp_path: Path, receiver: Receiver
) -> None:
    notifier, clock = notifier_for(tmp_path, f"{{name: ops, type: slack, url: '{receiver.url}/s'}}")
    receiver.answer(429, headers={"Retry-After": "3600"})
    [delivery] = notifier.notify(EVENT)
    assert (delivery.outcome, delivery.attempts, delivery.status) == (Outcome.FAILED, 1, 429)
    assert "Retry-After 3600s exceeds 30s" in delivery.detail
    assert clock.slept == []


def test_retries_stop_after_the_configured_attempts(tmp_path: Path, receiver: Receiver) -> None:
    retry = "{attempts: 3, initialDelay: 10, maxDelay: 15}"
    notifier, clock = notifier_for(tmp_path, f"{{name: ops, type: teams, url: '{receiver.url}/t'}}", retry=retry)
    receiver.answer(502, 502, 502, 502)
    [delivery] = notifier.notify(EVENT)
    assert (delivery.outcome, delivery.attempts, delivery.status) == (Outcome.FAILED, 3, 502)
    assert clock.slept == [10.0, 15.0]


def test_a_refused_connection_is_retried_and_reported_without_the_url(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    notifier, clock = notifier_for(
        tmp_path,
        f"{{name: ops, type: slack, url: 'http://127.0.0.1:{port}/services/{SLACK_TOKEN}'}}",
        retry="{attempts: 2}",
    )
    [delivery] = notifier.notify(EVENT)
    assert (delivery.outcome, delivery.attempts, delivery.status) == (Outcome.FAILED, 2, None)
    assert delivery.detail == "ConnectionRefusedError"
    assert clock.slept == [1.0]


def test_a_sink_over_its_rate_limit_drops_counts_and_warns(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    notifier, clock = notifier_for(
        tmp_path,
        f"{{name: ops, type: slack, url: '{receiver.url}/s', ratePerMinute: 2}}",
        f"{{name: hook, type: webhook, url: '{receiver.url}/w', hmacKey: k}}",
    )
    with caplog.at_level(logging.WARNING, logger="nodewarden.notify"):
        outcomes = [[d.outcome for d in notifier.notify(EVENT)] for _ in range(3)]
    assert outcomes == [[Outcome.SENT, Outcome.SENT]] * 2 + [[Outcome.DROPPED, Outcome.SENT]]
    assert notifier.dropped == {"ops": 1}
    [warning] = [r for r in caplog.records if r.getMessage() == "notify.dropped"]
    assert (warning.levelno, warning.__dict__["sink"], warning.__dict__["limit_per_minute"]) == (
        logging.WARNING,
        "ops",
        2,
    )
    clock.moment += timedelta(seconds=30)  # 2 a minute: one token back after 30 s
    assert [d.outcome for d in notifier.notify(EVENT)] == [Outcome.SENT, Outcome.SENT]
    assert [d.outcome for d in notifier.notify(EVENT)] == [Outcome.DROPPED, Outcome.SENT]


def test_no_secret_reaches_a_log_record_a_delivery_or_a_repr(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    notifier, _ = notifier_for(
        tmp_path,
        f"{{name: ops, type: slack, url: '{receiver.url}/services/{SLACK_TOKEN}'}}",
        f"{{name: pager, type: pagerduty, routingKey: {ROUTING_KEY}, url: '{receiver.url}/v2/enqueue'}}",
        f"{{name: hook, type: webhook, url: '{receiver.url}/w?token={SLACK_TOKEN}', hmacKey: {HMAC_KEY}}}",
        retry="{attempts: 2}",
    )
    receiver.answer(500, 500, 500, 404, 200, 403)
    with caplog.at_level(logging.DEBUG):
        deliveries = notifier.notify(EVENT) + notifier.notify(EVENT)
    assert {d.outcome for d in deliveries} == {Outcome.SENT, Outcome.FAILED}
    assert {r.getMessage() for r in caplog.records} >= {"notify.retry", "notify.failed", "notify.sent"}
    seen = [caplog.text, repr(deliveries), repr(notifier.config)]
    seen += [repr(render(sink, EVENT, now=T0)) for sink in notifier.config.spec.sinks]
    seen += [str(record.__dict__) for record in caplog.records]
    for secret in (SLACK_TOKEN, ROUTING_KEY, HMAC_KEY):
        assert not any(secret in text for text in seen), secret

"""Loading `kind: NotificationConfig`: sinks, secrets from value, env or file, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodewarden.errors import InputError
from nodewarden.notify import EventKind, NotifyConfigError, SinkType, load_notify_config
from nodewarden.notify.config import PAGERDUTY_EVENTS_URL, PagerDutySink, Severity, SlackSink, WebhookSink

SECRET = "T0KEN-s3cr3t-value"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_secrets_come_from_the_value_the_environment_or_a_file_beside_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_URL", f"https://hooks.slack.com/services/T1/B2/{SECRET}")
    (tmp_path / "pd-key").write_text(f"{SECRET}\n", encoding="utf-8")
    path = write(
        tmp_path,
        f"""
apiVersion: nodewarden.io/v1
kind: NotificationConfig
spec:
  retry: {{attempts: 3, initialDelay: 2}}
  sinks:
    - {{name: ops, type: slack, url: {{valueFrom: {{env: SLACK_URL}}}}}}
    - {{name: pager, type: pagerduty, routingKey: {{valueFrom: {{file: pd-key}}}}, events: [escalated, resolved]}}
    - {{name: hook, type: webhook, url: "https://example.com/hook", hmacKey: {{value: {SECRET}}}, ratePerMinute: 3}}
""",
    )
    config = load_notify_config(path)
    slack, pager, hook = config.spec.sinks
    assert isinstance(slack, SlackSink)
    assert slack.url.get_secret_value().endswith(SECRET)
    assert isinstance(pager, PagerDutySink)
    assert pager.routing_key.get_secret_value() == SECRET  # the file's trailing newline is not part of the key
    assert pager.events == (EventKind.ESCALATED, EventKind.RESOLVED)
    assert (pager.url.get_secret_value(), pager.severity) == (PAGERDUTY_EVENTS_URL, Severity.ERROR)
    assert isinstance(hook, WebhookSink)
    assert (hook.type, hook.rate_per_minute, hook.hmac_key.get_secret_value()) == (SinkType.WEBHOOK, 3, SECRET)
    assert (config.spec.retry.attempts, config.spec.retry.initial_delay) == (3, 2.0)
    assert SECRET not in repr(config)
    assert SECRET not in str(config)


@pytest.mark.parametrize(
    ("desc", "spec", "message"),
    [
        (
            "typo in a sink",
            "sinks: [{name: a, type: slack, urll: x}]",
            "spec.sinks[0].urll: unknown field (did you mean url?)",
        ),
        ("typo in spec", "retri: {}", "spec.retri: unknown field (did you mean retry?)"),
        ("unknown sink type", "sinks: [{name: a, type: email}]", "spec.sinks[0].type: expected one of slack, teams"),
        ("missing secret", "sinks: [{name: a, type: teams}]", "spec.sinks[0].url: required field is missing"),
        (
            "unset variable",
            "sinks: [{name: a, type: teams, url: {valueFrom: {env: NW_TEST_UNSET}}}]",
            "spec.sinks[0].url: valueFrom.env: environment variable NW_TEST_UNSET is not set",
        ),
        (
            "missing file",
            "sinks: [{name: a, type: pagerduty, routingKey: {valueFrom: {file: nope}}}]",
            "spec.sinks[0].routingKey: valueFrom.file:",
        ),
        (
            "two sources",
            "sinks: [{name: a, type: teams, url: {valueFrom: {env: A, file: b}}}]",
            "spec.sinks[0].url: valueFrom: expected exactly one of env: NAME or file: PATH",
        ),
        ("bad event", "sinks: [{name: a, type: teams, url: 'http://x/y', events: [open]}]", "(found 'open')"),
        (
            "bad severity",
            "sinks: [{name: a, type: pagerduty, routingKey: k, severity: sev1}]",
            "spec.sinks[0].severity: Input should be 'critical', 'error', 'warning' or 'info' (found 'sev1')",
        ),
        (
            "twice the same name",
            "sinks: [{name: a, type: teams, url: 'http://x/y'}, {name: a, type: teams, url: 'http://x/y'}]",
            "a appears more than once",
        ),
        (
            "no retries at all",
            "retry: {attempts: 0}",
            "spec.retry.attempts: Input should be greater than or equal to 1",
        ),
    ],
)
def test_a_bad_config_names_the_file_and_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, desc: str, spec: str, message: str
) -> None:
    monkeypatch.delenv("NW_TEST_UNSET", raising=False)
    path = write(tmp_path, f"kind: NotificationConfig\nspec: {{{spec}}}\n")
    with pytest.raises(NotifyConfigError) as raised:
        load_notify_config(path)
    assert isinstance(raised.value, InputError)
    assert str(raised.value).startswith(f"{path}: "), desc
    assert message in str(raised.value), desc


@pytest.mark.parametrize(
    ("desc", "sink"),
    [
        ("not a URL", f"{{name: a, type: slack, url: 'ftp://hooks/{SECRET}'}}"),
        (
            "whole sink echoed by a list-level error",
            f"{{name: a, type: slack, url: 'https://x/{SECRET}'}}, {{name: a, type: teams, url: 'https://x/{SECRET}'}}",
        ),
        ("wrong type", f"{{name: a, type: webhook, url: 'https://x/', hmacKey: [{SECRET}]}}"),
    ],
)
def test_an_error_about_a_secret_never_repeats_it(tmp_path: Path, desc: str, sink: str) -> None:
    path = write(tmp_path, f"kind: NotificationConfig\nspec: {{sinks: [{sink}]}}\n")
    with pytest.raises(NotifyConfigError) as raised:
        load_notify_config(path)
    assert SECRET not in str(raised.value), desc
    assert raised.value.__cause__ is None, desc  # pydantic's error repeats the input: not chained
    assert raised.value.__suppress_context__, desc


def test_a_missing_file_and_a_missing_kind_are_errors(tmp_path: Path) -> None:
    with pytest.raises(NotifyConfigError, match="no such file"):
        load_notify_config(tmp_path / "absent.yaml")
    with pytest.raises(NotifyConfigError, match="kind: required field is missing"):
        load_notify_config(write(tmp_path, "spec: {}\n"))
    with pytest.raises(NotifyConfigError, match="expected a NotificationConfig mapping"):
        load_notify_config(write(tmp_path, "- a\n"))

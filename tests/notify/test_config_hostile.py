"""Hostile notification configs: credentials in a webhook URL are refused when the file is read, never echoed,
logged or looked up; retries and delays have ranges.

Issue 17: a webhook URL with `user:password@` was accepted, then failed delivery on every retry.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from nodewarden.notify import NotifyConfigError, load_notify_config

USER, PASSWORD = "alice", "hunter2-s3cr3t"


def write(tmp_path: Path, spec: str) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(f"kind: NotificationConfig\nspec: {spec}\n", encoding="utf-8")
    return path


@pytest.fixture
def no_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the config must never resolve a host: fail the test if anything tries."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a name was looked up while reading the config: {args[:1]}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)


@pytest.mark.parametrize(
    ("desc", "sink"),
    [
        ("user and password", f"{{name: a, type: webhook, url: 'https://{USER}:{PASSWORD}@hooks.example.com/x', "
                              "hmacKey: k}"),
        ("password only", f"{{name: a, type: slack, url: 'https://:{PASSWORD}@hooks.slack.com/services/T/B/C'}}"),
        ("a token as the user", f"{{name: a, type: teams, url: 'http://{PASSWORD}@teams.example.com/hook'}}"),
        ("on PagerDuty's URL", f"{{name: a, type: pagerduty, routingKey: k, "
                               f"url: 'https://{USER}:{PASSWORD}@events.pagerduty.com/v2/enqueue'}}"),
    ],
)  # fmt: skip
def test_credentials_in_a_url_are_refused_at_read_and_never_repeated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, no_lookups: None, desc: str, sink: str
) -> None:
    path = write(tmp_path, f"{{sinks: [{sink}]}}")
    with caplog.at_level(logging.DEBUG), pytest.raises(NotifyConfigError) as raised:
        load_notify_config(path)
    message = str(raised.value)
    assert message == (
        f"{path}: spec.sinks[0].url: expected no user name or password in the URL (user:password@ is refused)"
    ), desc
    assert PASSWORD not in message
    assert USER not in message
    assert raised.value.__cause__ is None  # pydantic's error repeats the input: not chained
    assert raised.value.__suppress_context__
    assert PASSWORD not in caplog.text


def test_credentials_from_the_environment_are_refused_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_lookups: None
) -> None:
    monkeypatch.setenv("NW_TEST_HOOK", f"https://{USER}:{PASSWORD}@hooks.example.com/x")
    path = write(tmp_path, "{sinks: [{name: a, type: teams, url: {valueFrom: {env: NW_TEST_HOOK}}}]}")
    with pytest.raises(NotifyConfigError, match=r"spec.sinks\[0\].url: expected no user name or password") as raised:
        load_notify_config(path)
    assert PASSWORD not in str(raised.value)


@pytest.mark.parametrize(
    ("desc", "url"),
    [
        ("port out of range", f"https://hooks.example.com:99999/{PASSWORD}"),
        ("port zero", f"https://hooks.example.com:0/{PASSWORD}"),
        ("a space", f"https://hooks.example.com/{PASSWORD} x"),
        ("a control character", f"https://hooks.example.com/{PASSWORD}\\x1b[31m"),
        ("no host", f"https:///{PASSWORD}"),
    ],
)
def test_a_url_no_delivery_could_use_is_refused_without_repeating_it(
    tmp_path: Path, no_lookups: None, desc: str, url: str
) -> None:
    path = write(tmp_path, f'{{sinks: [{{name: a, type: slack, url: "{url}"}}]}}')
    with pytest.raises(NotifyConfigError, match=r"spec.sinks\[0\].url: expected an http\(s\) URL") as raised:
        load_notify_config(path)
    assert PASSWORD not in str(raised.value), desc


@pytest.mark.parametrize(
    ("retry", "field"),
    [
        ("{attempts: 11}", "spec.retry.attempts"),
        ("{attempts: 99999999999999999999}", "spec.retry.attempts"),
        ("{initialDelay: 0}", "spec.retry.initialDelay"),
        ("{initialDelay: 1e300}", "spec.retry.initialDelay"),
        ("{maxDelay: 3601}", "spec.retry.maxDelay"),
        ("{maxDelay: -5}", "spec.retry.maxDelay"),
    ],
)
def test_retries_and_delays_out_of_range_are_refused_naming_the_field(tmp_path: Path, retry: str, field: str) -> None:
    path = write(tmp_path, f"{{retry: {retry}}}")
    with pytest.raises(NotifyConfigError) as raised:
        load_notify_config(path)
    assert str(raised.value).startswith(f"{path}: {field}: ")


def test_the_rate_per_sink_has_a_range(tmp_path: Path) -> None:
    path = write(tmp_path, "{sinks: [{name: a, type: teams, url: 'https://x.example/h', ratePerMinute: 100000}]}")
    with pytest.raises(NotifyConfigError, match=r"spec.sinks\[0\].ratePerMinute: Input should be less than or equal"):
        load_notify_config(path)


def test_a_plain_url_with_an_at_sign_in_its_path_is_still_accepted(tmp_path: Path, no_lookups: None) -> None:
    path = write(tmp_path, "{sinks: [{name: a, type: teams, url: 'https://x.example/hooks/team@contoso'}]}")
    (sink,) = load_notify_config(path).spec.sinks
    assert sink.url.get_secret_value() == "https://x.example/hooks/team@contoso"

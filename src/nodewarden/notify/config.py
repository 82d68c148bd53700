"""The notification config (`kind: NotificationConfig`): which sinks get which incident events.

A YAML file validated by pydantic, camelCase keys, unknown keys are errors naming the file and field.
Secrets (webhook URLs carry tokens, PagerDuty routing keys, HMAC keys) are given by value or, to keep
them out of the file, as `valueFrom: {env: NAME}` or `valueFrom: {file: PATH}` (relative to the config
file). They are read once, at load, into `SecretStr`s, so no repr, error or log line shows them; an error
about a secret field never repeats what was found.

    apiVersion: nodewarden.io/v1
    kind: NotificationConfig
    spec:
      sinks:
        - {name: ops, type: slack, url: {valueFrom: {env: SLACK_WEBHOOK_URL}}}
        - {name: pager, type: pagerduty, routingKey: {valueFrom: {file: pd-key}}, events: [escalated, resolved]}
"""

from __future__ import annotations

import difflib
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from nodewarden import bounded_yaml
from nodewarden.config import read_config_text
from nodewarden.errors import ConfigError
from nodewarden.notify.events import EventKind

API_VERSION: Literal["nodewarden.io/v1"] = "nodewarden.io/v1"
KIND: Literal["NotificationConfig"] = "NotificationConfig"
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"  # Events API v2 (EU: events.eu.pagerduty.com)
SECRET_FIELDS = frozenset({"url", "routingKey", "hmacKey"})  # errors about these never show the input
# Seconds between two tries of one delivery: an incident notice that waits longer than an hour is no longer news,
# and the notifier's retries block only its own sink's queue (notify/notifier.py).
LONGEST_DELAY = 3600.0


class NotifyConfigError(ConfigError):
    """A notification config file is malformed, has a typo or names a secret that cannot be read."""


class SinkType(StrEnum):
    SLACK = "slack"  # incoming webhook, Block Kit message
    TEAMS = "teams"  # Teams Workflows webhook, Adaptive Card
    PAGERDUTY = "pagerduty"  # Events API v2
    WEBHOOK = "webhook"  # generic JSON, HMAC-SHA256 signed


class Severity(StrEnum):
    """PagerDuty's `payload.severity` vocabulary."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


def _read_secret(value: object, info: ValidationInfo) -> str:
    """A secret given as a string, `{value: …}`, `{valueFrom: {env: NAME}}` or `{valueFrom: {file: PATH}}`."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict) and set(value) == {"value"} and isinstance(value["value"], str):
        text = value["value"]
    elif isinstance(value, dict) and set(value) == {"valueFrom"}:
        text = _read_source(value["valueFrom"], info)
    else:
        raise ValueError("expected a string, {value: …} or {valueFrom: {env: NAME}} / {valueFrom: {file: PATH}}")
    if not text.strip():
        raise ValueError("the secret is empty")
    return text.strip()


def _read_source(source: object, info: ValidationInfo) -> str:
    if not (isinstance(source, dict) and len(source) == 1 and next(iter(source)) in ("env", "file")):
        raise ValueError("valueFrom: expected exactly one of env: NAME or file: PATH")
    ((where, name),) = source.items()
    if not isinstance(name, str) or not name:
        raise ValueError(f"valueFrom.{where}: expected a non-empty string")
    if where == "env":
        if name not in os.environ:
            raise ValueError(f"valueFrom.env: environment variable {name} is not set")
        return os.environ[name]
    base = info.context.get("base") if isinstance(info.context, dict) else None
    path = Path(name) if Path(name).is_absolute() or base is None else Path(base) / name
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"valueFrom.file: {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"valueFrom.file: {path}: cannot read ({type(exc).__name__})") from None


def _is_http_url(value: SecretStr) -> SecretStr:
    """An http(s) URL with a host and no user info; the message never repeats any of it (it may be a credential).

    `user:password@` is refused rather than sent as Basic auth: every sink authenticates by the URL's own token
    or a header, so such a URL is a mistake, and a credential that would reach logs, proxies and error pages."""
    text = value.get_secret_value()
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in text):
        raise ValueError("expected an http(s) URL without spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port  # ValueError when out of range: refused here rather than at the first delivery
    except ValueError:
        raise ValueError("expected an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ValueError("expected an http(s) URL")
    if "@" in parts.netloc:
        raise ValueError("expected no user name or password in the URL (user:password@ is refused)")
    return value


Secret = Annotated[SecretStr, BeforeValidator(_read_secret)]
SecretUrl = Annotated[SecretStr, BeforeValidator(_read_secret), AfterValidator(_is_http_url)]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel)


class _Sink(_Schema):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Names the sink in logs and deliveries.")
    events: tuple[EventKind, ...] = Field(tuple(EventKind), min_length=1, description="Which events it gets.")
    rate_per_minute: int = Field(10, ge=1, le=600, description="Token bucket: refill and burst; excess is dropped.")


class SlackSink(_Sink):
    """A Slack incoming webhook; the message is Block Kit."""

    type: Literal[SinkType.SLACK] = Field(description="Picks the sink's kind.")
    url: SecretUrl = Field(description="The incoming webhook's URL (it is the credential).")


class TeamsSink(_Sink):
    """A Microsoft Teams Workflows webhook; the message is an Adaptive Card."""

    type: Literal[SinkType.TEAMS] = Field(description="Picks the sink's kind.")
    url: SecretUrl = Field(description="The workflow's HTTP trigger URL (it carries its signature).")


class PagerDutySink(_Sink):
    """PagerDuty Events API v2: opened and escalated trigger an alert, resolved resolves it (one per incident)."""

    type: Literal[SinkType.PAGERDUTY] = Field(description="Picks the sink's kind.")
    routing_key: Secret = Field(description="The integration's routing key.")
    url: SecretUrl = Field(
        default_factory=lambda: SecretStr(PAGERDUTY_EVENTS_URL),
        description="The Events API endpoint (EU accounts: https://events.eu.pagerduty.com/v2/enqueue).",
    )
    severity: Severity = Field(Severity.ERROR, description="For opened; escalated is always critical.")
    source: str = Field("nodewarden", min_length=1, description="payload.source: the cluster, for example.")


class WebhookSink(_Sink):
    """Any HTTP endpoint: the event as JSON, signed with HMAC-SHA256 in the X-Nodewarden-Signature header."""

    type: Literal[SinkType.WEBHOOK] = Field(description="Picks the sink's kind.")
    url: SecretUrl = Field(description="Where the JSON is POSTed.")
    hmac_key: Secret = Field(description="The key the body is signed with (`sha256=<hex>`).")


Sink = Annotated[SlackSink | TeamsSink | PagerDutySink | WebhookSink, Field(discriminator="type")]


class Retry(_Schema):
    """Retries of 429, 5xx and network errors (any other 4xx fails at once), for every sink."""

    attempts: int = Field(4, ge=1, le=10, description="Tries per delivery, the first included.")
    initial_delay: float = Field(
        1.0, gt=0, le=LONGEST_DELAY, allow_inf_nan=False,
        description="Seconds before the first retry; doubles each time.",
    )  # fmt: skip
    max_delay: float = Field(
        30.0, gt=0, le=LONGEST_DELAY, allow_inf_nan=False,
        description="Longest wait; a longer Retry-After gives up instead.",
    )  # fmt: skip


class Metadata(_Schema):
    name: str = Field("default", description="Names the config.")


class Spec(_Schema):
    sinks: tuple[Sink, ...] = Field((), description="Where incident events go; names must be unique.")
    retry: Retry = Field(default_factory=Retry, description="How deliveries are retried.")

    @field_validator("sinks")
    @classmethod
    def _unique_names(cls, sinks: tuple[Sink, ...]) -> tuple[Sink, ...]:
        names = [sink.name for sink in sinks]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"sink names must be unique: {', '.join(twice)} appears more than once")
        return sinks


class NotifyConfig(_Schema):
    api_version: Literal["nodewarden.io/v1"] = Field(API_VERSION, description="The schema version.")
    kind: Literal["NotificationConfig"] = Field(description="What this file is.")
    metadata: Metadata = Field(default_factory=Metadata, description="The config's name.")
    spec: Spec = Field(default_factory=Spec, description="The sinks and how deliveries are retried.")


def load_notify_config(path: Path) -> NotifyConfig:
    """Read and validate a notification config and its secrets; every problem raises NotifyConfigError."""
    text = read_config_text(path, NotifyConfigError)
    try:
        data = bounded_yaml.load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise NotifyConfigError(f"{where}: invalid YAML: {exc.problem}") from exc
    if not isinstance(data, dict):
        raise NotifyConfigError(f"{path}: expected a {KIND} mapping at the top level, found {type(data).__name__}")
    try:
        return NotifyConfig.model_validate(data, context={"base": path.parent})
    except ValidationError as exc:
        # Not chained: pydantic's own message repeats the input, which may be a secret.
        raise NotifyConfigError(_message(str(path), _first(exc.errors(include_url=False)))) from None


def _first(errors: list[Any]) -> Any:
    """A typo explains the rest (a misspelt `url` is also a missing one), so an unknown field comes first."""
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def _message(source: str, error: Any) -> str:
    loc = _user_loc(tuple(error["loc"]))
    field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    if error["type"] == "extra_forbidden":
        known = _fields_at(tuple(error["loc"])[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(known))})"
        return f"{source}: {field}: unknown field{hint}"
    if error["type"] == "missing":
        return f"{source}: {field}: required field is missing"
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        found = error.get("input", {}).get("type") if isinstance(error.get("input"), dict) else None
        return f"{source}: {field}.type: expected one of {', '.join(SinkType)} (found {found!r})"
    message = str(error["msg"]).removeprefix("Value error, ").rstrip(".")
    found = error.get("input")
    # Our own messages say what they found; a secret field, or a whole mapping that may hold one, is never echoed.
    if error["type"] == "value_error" or SECRET_FIELDS & {str(p) for p in loc} or not _is_scalar(found):
        return f"{source}: {field}: {message}"
    return f"{source}: {field}: {message} (found {found!r})"


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _user_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The path as the user wrote it: without the union tag pydantic puts after a sink's index."""
    return tuple(p for i, p in enumerate(loc) if not (i and isinstance(loc[i - 1], int) and p in set(SinkType)))


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The camelCase keys a user may write at `loc`, for suggestions."""
    models: dict[str, type[BaseModel]] = {
        SinkType.SLACK: SlackSink,
        SinkType.TEAMS: TeamsSink,
        SinkType.PAGERDUTY: PagerDutySink,
        SinkType.WEBHOOK: WebhookSink,
    }
    current: type[BaseModel] | None = NotifyConfig
    for step in loc:
        if isinstance(step, int):
            continue
        if step in models:
            current = models[step]
            continue
        info = next((f for n, f in current.model_fields.items() if (f.alias or n) == step), None) if current else None
        annotation = info.annotation if info else None
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return [f.alias or n for n, f in current.model_fields.items()] if current else []

"""Logging setup for the long-running commands: plain text or JSON lines, with secrets masked.

Library code only calls `logging.getLogger(__name__)` and logs an event name with `extra={...}` fields
(node, pool, step, reason, episode, key …); `cli/` calls `configure_logging` once. Both formats carry
the same fields. A redaction filter on the handler masks bearer tokens, secret-named keys and URL
signatures in messages and fields alike, whichever logger (ours or a library's) wrote the record.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any, Literal

from nodewarden.errors import InputError
from nodewarden.render import terminal_text

MASK = "***"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Field names whose values are secrets, whatever they hold (compared lower-case, '-' as '_').
SECRET_KEYS = frozenset(
    {
        "authorization",
        "password",
        "passwd",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "bearer",
        "client_secret",
        "secret",
        "api_key",
        "apikey",
        "sig",
        "signature",
        "account_key",
        "sas",
        "routing_key",
        "routingkey",
        "hmac_key",
        "webhook_url",
    }
)
_SECRET_KEY_PATTERN = "|".join(sorted((re.escape(k) for k in SECRET_KEYS), key=len, reverse=True))
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # incoming-webhook URLs are their own secret (Slack, Teams/Power Automate workflow signatures)
    (re.compile(r"(?i)(hooks\.slack\.com/services/)\S+"), rf"\1{MASK}"),
    # "Authorization: Bearer eyJ…", "bearer abc.def"
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*"), rf"\1 {MASK}"),
    # URL query signatures (SAS tokens: ?sv=…&sig=…) and other secret query parameters
    (re.compile(rf"(?i)([?&;](?:{_SECRET_KEY_PATTERN})=)[^&\s\"'#]+"), rf"\1{MASK}"),
    # key=value, key: value, "key": "value" in free text
    (
        re.compile(
            rf"(?i)([\"']?\b(?:{_SECRET_KEY_PATTERN})[\"']?\s*[:=]\s*[\"']?)(?!{re.escape(MASK)}|(?:bearer|basic)\s)[^\s\"',;&}}]+"
        ),
        rf"\1{MASK}",
    ),
)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    """Mask secrets in free text."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def one_line(text: str, *, limit: int = 1000) -> str:
    """Text a client or the cluster wrote, fit for a log field: secrets masked, one line, control characters
    replaced (`render/terminal_text.py`), at most `limit` characters."""
    line = terminal_text.printable(redact(" ".join(text.split())))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def redact_value(key: str, value: Any) -> Any:
    """Mask a field: all of it when its name says secret, else the secrets inside it."""
    if key.lower().replace("-", "_") in SECRET_KEYS:
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each record in place: message (with its arguments applied) and extra fields masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: log both rather than raise
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        for key in fields_of(record):
            setattr(record, key, redact_value(key, record.__dict__[key]))
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def fields_of(record: logging.LogRecord) -> list[str]:
    """The names of the `extra=` fields on a record, in the order they were given."""
    return [key for key in record.__dict__ if key not in _STANDARD and not key.startswith("_")]


def timestamp(record: logging.LogRecord) -> str:
    """RFC 3339 in UTC with milliseconds: "2026-11-26T08:00:10.123Z"."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, then the extra fields (and exc, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in fields_of(record):
            line.setdefault(key, record.__dict__[key])
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`ts level logger msg key=value …`: the same fields as JSON, for people."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [timestamp(record), f"{record.levelname:<7}", record.name, record.getMessage()]
        for key in fields_of(record):
            value = record.__dict__[key]
            text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
            parts.append(f"{key}={json.dumps(text) if not text or ' ' in text or '=' in text else text}")
        line = " ".join(parts)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return f"{line}\n{record.exc_text}" if record.exc_text else line


class _Handler(logging.StreamHandler[IO[str]]):
    """Marks the handler nodewarden installed, so configuring again replaces it instead of adding another.
    Without a stream of its own it writes to whatever `sys.stderr` is at the time (as `logging.lastResort`
    does), so a replaced or closed stderr never breaks logging."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr  # not setStream: it would flush the old, perhaps closed, stream
        super().emit(record)


CHATTY_LIBRARIES = ("azure", "httpx2", "httpx", "httpcore", "msal", "urllib3")


def configure_logging(fmt: Literal["text", "json"], level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Send every logger's records to `stream` (stderr by default) in `fmt`, secrets masked."""
    if fmt not in ("text", "json"):
        raise InputError(f"--log-format {fmt!r}: expected text or json")
    name = level.upper()
    if name not in LEVELS:
        raise InputError(f"--log-level {level!r}: expected one of {', '.join(LEVELS)}")
    handler = _Handler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(name)
    for library in CHATTY_LIBRARIES:  # one line per HTTP request (and the SDK's headers) drowns the story
        logging.getLogger(library).setLevel(max(logging.WARNING, logging.getLevelName(name)))


@contextmanager
def logging_configured(fmt: Literal["text", "json"], level: str = "INFO") -> Iterator[None]:
    """`configure_logging` for the length of a command; the previous logging setup comes back afterwards."""
    root = logging.getLogger()
    handlers, root_level = list(root.handlers), root.level
    library_levels = {name: logging.getLogger(name).level for name in CHATTY_LIBRARIES}
    configure_logging(fmt, level)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        for name, library_level in library_levels.items():
            logging.getLogger(name).setLevel(library_level)

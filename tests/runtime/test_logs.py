"""Log lines: JSON that parses, the same fields in text, and secrets that never reach the stream."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from nodewarden.errors import InputError
from nodewarden.runtime.logs import configure_logging

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJub2Rld2FyZGVuIn0.c2lnbmF0dXJl"
SECRET = "s3cr3t-Value~42"


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def configured(fmt: str, level: str = "INFO") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(fmt, level, stream=stream)  # type: ignore[arg-type]
    return stream


def test_json_lines_parse_and_carry_the_extra_fields() -> None:
    stream = configured("json")
    logging.getLogger("nodewarden.runtime.controller").info(
        "action.intended", extra={"node": "aks-user-1", "pool": "user", "step": "Restart", "key": "e/restart/1"}
    )
    line = json.loads(stream.getvalue())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line.pop("ts"))
    assert line == {
        "level": "INFO",
        "logger": "nodewarden.runtime.controller",
        "msg": "action.intended",
        "node": "aks-user-1",
        "pool": "user",
        "step": "Restart",
        "key": "e/restart/1",
    }


def test_text_lines_carry_the_same_fields() -> None:
    stream = configured("text")
    logging.getLogger("nodewarden.x").warning("hold.new", extra={"reason": "StormBreaker", "detail": "9 of 20"})
    line = stream.getvalue().strip()
    assert re.fullmatch(r'\S+Z WARNING nodewarden\.x hold\.new reason=StormBreaker detail="9 of 20"', line), line


def test_the_level_filters_and_reconfiguring_replaces_the_handler() -> None:
    first = configured("json", "WARNING")
    logging.getLogger("nodewarden").info("quiet")
    second = configured("json", "debug")
    logging.getLogger("nodewarden").debug("loud")
    assert first.getvalue() == ""
    assert [json.loads(line)["msg"] for line in second.getvalue().splitlines()] == ["loud"]


def test_exceptions_are_one_json_line_with_the_traceback() -> None:
    stream = configured("json")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("nodewarden").exception("cycle.failed")
    (line,) = stream.getvalue().splitlines()
    assert "RuntimeError: boom" in json.loads(line)["exc"]


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize(
    ("message", "args", "extra"),
    [
        pytest.param("request headers: Authorization: Bearer %s", (TOKEN,), {}, id="bearer-in-message"),
        pytest.param("GET https://acct.blob.core.windows.net/c/b?sv=2024&sig=%s&se=1", (SECRET,), {}, id="sas-sig"),
        pytest.param("token request", (), {"client_secret": SECRET}, id="secret-key-field"),
        pytest.param("login", (), {"password": SECRET, "user": "me"}, id="password-field"),
        pytest.param("config", (), {"settings": {"token": TOKEN, "tenant": "t"}}, id="nested-token"),
        pytest.param("body %s", (json.dumps({"client_secret": SECRET}),), {}, id="json-text"),
        pytest.param("retry", (), {"url": f"https://x/y?sig={SECRET}"}, id="sig-in-a-field"),
        pytest.param("env password=%s token: %s", (SECRET, TOKEN), {}, id="key-value-text"),
        pytest.param("call", (), {"headers": [f"Authorization: Bearer {TOKEN}"]}, id="list-field"),
    ],
)
def test_a_secret_never_reaches_the_stream(
    fmt: str, message: str, args: tuple[str, ...], extra: dict[str, object]
) -> None:
    stream = configured(fmt)
    logging.getLogger("azure.identity").warning(message, *args, extra=extra)
    text = stream.getvalue()
    assert text
    assert SECRET not in text
    assert TOKEN not in text
    assert "***" in text


def test_redaction_leaves_ordinary_words_alone() -> None:
    stream = configured("json")
    logging.getLogger("nodewarden").info("tokens=5 signal=HeartbeatStale passwordless=true", extra={"node": "n1"})
    assert json.loads(stream.getvalue())["msg"] == "tokens=5 signal=HeartbeatStale passwordless=true"


def test_bad_format_or_level_names_the_flag() -> None:
    with pytest.raises(InputError, match="--log-format 'yaml': expected text or json"):
        configure_logging("yaml")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="--log-level 'LOUD': expected one of DEBUG, INFO"):
        configure_logging("json", "LOUD")


def test_a_message_whose_arguments_do_not_fit_is_logged_not_raised() -> None:
    logging.getLogger().handlers.clear()  # pytest's own capture handler would raise first
    stream = configured("json")
    logging.getLogger("nodewarden").info("two %s %s", f"password={SECRET}")
    line = json.loads(stream.getvalue())["msg"]
    assert line.startswith("two %s %s")
    assert SECRET not in line

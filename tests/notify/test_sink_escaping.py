"""What reaches people through a sink is escaped there (issue 17): Slack's fallback `text` like its blocks (no
`<!channel>`, no forged link), and no control characters in Slack, Teams or PagerDuty text."""

from __future__ import annotations

import json

from nodewarden.notify import EventKind, NotificationEvent, pagerduty, slack, teams, webhook
from nodewarden.notify.config import PagerDutySink
from tests.notify.receivers import T0, incident

HOSTILE = "4 nodes NotReady <!channel> <https://evil.example|click here> & \x1b[2J\x1b]0;pwned\x07"


def event() -> NotificationEvent:
    return NotificationEvent(EventKind.OPENED, incident(), HOSTILE, "https://nodewarden.example/incidents/1")


def test_the_slack_fallback_text_is_escaped_like_the_blocks() -> None:
    # The story: the blocks were escaped, but `text` (what a phone notification shows, read as mrkdwn) was not.
    body = slack.message(event())
    assert "<!channel>" not in body["text"]
    assert "<https://" not in body["text"]
    assert body["text"].endswith(
        "4 nodes NotReady &lt;!channel&gt; &lt;https://evil.example|click here&gt; &amp; \ufffd[2J\ufffd]0;pwned\ufffd"
    )
    assert "\x1b" not in json.dumps(body, ensure_ascii=False)


def test_no_slack_mrkdwn_holds_a_mention_a_link_or_a_control_character() -> None:
    def strings(value: object) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict) and value.get("type") == "plain_text":
            return []  # Slack shows plain_text as written: a `<` there is no link
        if isinstance(value, dict):
            return [s for key, item in value.items() if key != "url" for s in strings(item)]
        if isinstance(value, list):
            return [s for item in value for s in strings(item)]
        return []

    for text in strings(slack.message(event())):
        assert not {"<", ">"} & set(text), text
        assert not any(ord(c) < 32 and c != "\n" for c in text), repr(text)


def test_teams_text_runs_hold_no_control_characters() -> None:
    body = json.dumps(teams.card(event()), ensure_ascii=False)
    assert "\x1b" not in body
    assert "\x07" not in body
    assert "\ufffd[2J" in body


def test_the_pagerduty_summary_holds_no_control_characters() -> None:
    sink = PagerDutySink.model_validate({"name": "pager", "type": "pagerduty", "routingKey": "r" * 32})
    summary = pagerduty.event_body(sink, event())["payload"]["summary"]
    assert summary.endswith("& \ufffd[2J\ufffd]0;pwned\ufffd"), "plain text in PagerDuty: only the controls go"


def test_the_webhook_carries_the_text_as_data_for_its_receiver() -> None:
    # A signed machine-readable body: the receiver gets what happened byte for byte (JSON escapes the controls).
    body = webhook.event_body(event(), now=T0)
    assert body["text"] == HOSTILE

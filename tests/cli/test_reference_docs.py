"""docs/policy.md and docs/notifications.md are generated from the schemas nodewarden reads the files with
(`nodewarden policy schema`, `nodewarden notify schema`), show examples the real loaders accept, and
`nodewarden notify check` validates a notification config as `run` would read it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from nodewarden.heal.policy import parse_policy
from nodewarden.notify import load_notify_config
from nodewarden.render import reference_pages
from nodewarden.render.reference import Page, render_reference
from tests.conftest import Invoke

DOCS = Path(__file__).parents[2] / "docs"


@pytest.mark.parametrize(
    ("command", "page"), [(("policy", "schema"), "policy.md"), (("notify", "schema"), "notifications.md")]
)
def test_the_reference_pages_are_current(invoke: Invoke, command: tuple[str, ...], page: str) -> None:
    result = invoke(*command)
    assert result.code == 0, result.err
    assert (DOCS / page).read_text(encoding="utf-8") == result.out, f"docs/{page} is stale: run `make docs`"


def test_the_policy_page_states_each_keys_type_range_and_default() -> None:
    page = reference_pages.render_policy_reference()
    assert "| `maxUnhealthy` | share, from 0% to 100% | `40%` |" in page
    assert "| `maxDataAge` | duration, from 1s to 168h | `1m` |" in page
    assert "| `maxInFlight` | integer, at least 1, at most 5000, or null | `null` |" in page
    assert "| `ladder` | list of rung: `restart`, `reimage`, `redeploy`, `replace` | `[]` |" in page
    assert '<a id="spec-pools-name"></a>' in page
    assert "[spec.guards](#spec-guards)" in page


def test_the_notifications_page_shows_each_sink_type_and_keeps_defaults_that_are_not_secrets() -> None:
    page = reference_pages.render_notifications_reference()
    for sink in ("slack", "teams", "pagerduty", "webhook"):
        assert f'<a id="spec-sinks-type-{sink}"></a>' in page
    assert "| `url` | secret http(s) URL, no user:password@ | `https://events.pagerduty.com/v2/enqueue` |" in page
    assert "| `kind` | `NotificationConfig` | required |" in page


def test_the_policy_example_passes_policy_check(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(reference_pages.POLICY_EXAMPLE, encoding="utf-8")
    result = invoke("policy", "check", str(path))
    assert result.code == 0, result.err
    policy = parse_policy(reference_pages.POLICY_EXAMPLE, source="example")
    assert policy.for_pool("batch").drain.timeout.total_seconds() == 1800
    assert policy.for_pool("batch").drain.on_timeout.value == "hold"  # the rest of spec.drain still applies


def test_the_notifications_example_loads_with_its_secrets(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/secret")
    monkeypatch.setenv("ITSM_HMAC_KEY", "hmac-secret")
    (tmp_path / "teams-url").write_text("https://example.webhook.office.com/workflows/abc", encoding="utf-8")
    (tmp_path / "pagerduty-routing-key").write_text("R0UTINGKEY", encoding="utf-8")
    path = tmp_path / "notify.yaml"
    path.write_text(reference_pages.NOTIFICATIONS_EXAMPLE, encoding="utf-8")
    config = load_notify_config(path)
    assert [sink.type.value for sink in config.spec.sinks] == ["slack", "teams", "pagerduty", "webhook"]
    result = invoke("notify", "check", str(path))
    assert result.code == 0, result.err
    assert "OK (NotificationConfig production, sinks: ops-channel (slack), platform-team (teams)" in result.out
    assert "secret" not in result.out
    assert "R0UTINGKEY" not in result.out


def test_notify_check_names_a_secret_it_cannot_read(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        "kind: NotificationConfig\nspec:\n  sinks:\n"
        "    - {name: ops, type: slack, url: {valueFrom: {env: NODEWARDEN_TEST_UNSET_URL}}}\n",
        encoding="utf-8",
    )
    result = invoke("notify", "check", str(path))
    assert result.code == 2
    assert "spec.sinks[0].url: valueFrom.env: environment variable NODEWARDEN_TEST_UNSET_URL is not set" in result.err


def test_a_field_without_a_description_is_an_error_not_a_blank_cell() -> None:
    class Undocumented(BaseModel):
        named: str = Field("x", description="Has one.")
        bare: int = 1

    page = Page(title="t", command="c", intro="i", model=Undocumented, example="named: x")
    with pytest.raises(ValueError, match=r"Undocumented\.bare: no description"):
        render_reference(page)

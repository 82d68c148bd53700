"""The policy file: defaults, per-pool overrides, rendering, and errors that name the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from nodewarden.cli.policy_command import policy_check, policy_show
from nodewarden.errors import InputError
from nodewarden.heal import policy as remediation_policy
from nodewarden.heal.policy import OnTimeout, Policy, PolicyError, default_policy, load_policy, render_policy
from nodewarden.model.remediation import Step

HEADER = "apiVersion: nodewarden.io/v1\nkind: RemediationPolicy\n"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_the_packaged_default_equals_the_schema_defaults() -> None:
    assert default_policy() == Policy()


def test_a_minimal_policy_keeps_every_default(tmp_path: Path) -> None:
    assert load_policy(write(tmp_path, "spec: {}\n")) == default_policy()


def test_the_default_ladders() -> None:
    spec = default_policy().spec
    assert [(t.name, t.ladder) for t in spec.triggers] == [
        ("node-down", (Step.RESTART, Step.REIMAGE, Step.REDEPLOY, Step.REPLACE)),
        ("os-disk-full", (Step.REIMAGE, Step.REPLACE)),
        ("node-problem", (Step.RESTART, Step.REIMAGE, Step.REDEPLOY, Step.REPLACE)),
        ("scheduled-maintenance", ()),
    ]
    assert spec.max_data_age == timedelta(seconds=60)
    assert spec.guards.max_unhealthy == 0.4


def test_pool_overrides_replace_only_what_they_write(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "spec:\n  guards: {maxUnhealthy: 30%}\n  pools:\n    gpu:\n"
        "      guards: {maxInFlight: 1, zoneBreaker: {window: 5m}}\n"
        "      drain: {onTimeout: proceed}\n",
    )
    policy = load_policy(path)
    gpu, other = policy.for_pool("GPU"), policy.for_pool("nodepool1")
    assert gpu.guards.max_in_flight == 1
    assert gpu.guards.max_unhealthy == 0.3
    assert gpu.guards.zone_breaker.window == timedelta(minutes=5)
    assert gpu.guards.zone_breaker.share == 0.5
    assert gpu.drain.on_timeout is OnTimeout.PROCEED
    assert gpu.drain.timeout == timedelta(minutes=5)
    assert other.guards.max_in_flight is None
    assert other.drain.on_timeout is OnTimeout.HOLD


@pytest.mark.parametrize(("size", "limit"), [(1, 1), (19, 1), (20, 2), (35, 3), (100, 10)])
def test_the_automatic_in_flight_limit(size: int, limit: int) -> None:
    assert default_policy().spec.guards.in_flight_limit(size) == limit


def test_rendering_round_trips(tmp_path: Path) -> None:
    path = write(tmp_path, "spec:\n  mode: enforce\n  pools:\n    gpu: {guards: {maxInFlight: 1}, paused: true}\n")
    policy = load_policy(path)
    text = render_policy(policy)
    assert "maxDataAge: 1m" in text
    assert "gpu:\n      guards:\n        maxInFlight: 1\n      paused: true\n" in text
    again = tmp_path / "again.yaml"
    again.write_text(text, encoding="utf-8")
    assert load_policy(again) == policy
    assert load_policy(again).for_pool("gpu") == policy.for_pool("gpu")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "spec:\n  maxDataAg: 30s\n", "spec.maxDataAg: unknown field (did you mean maxDataAge?)", id="typo"
        ),
        pytest.param(
            "spec:\n  guards: {maxInFlite: 2}\n",
            "spec.guards.maxInFlite: unknown field (did you mean maxInFlight?)",
            id="nested-typo",
        ),
        pytest.param(
            "spec:\n  pools:\n    gpu: {drain: {timeot: 1m}}\n",
            "spec.pools.gpu.drain.timeot: unknown field (did you mean timeout?)",
            id="pool-typo",
        ),
        pytest.param(
            "spec:\n  triggers: [{name: x, signals: [NotReady], ladder: [reboot]}]\n",
            "spec.triggers[0].ladder[0]: expected one of restart, reimage, redeploy, replace, found 'reboot'",
            id="bad-rung",
        ),
        pytest.param(
            "spec:\n  stepTimeouts: {restart: 10 minutes}\n",
            "spec.stepTimeouts.restart: expected a duration like 30s, 10m, 1h30m or whole seconds, found '10 minutes'",
            id="bad-duration",
        ),
        pytest.param("spec:\n  mode: yolo\n", "spec.mode: Input should be 'dry-run' or 'enforce'", id="bad-enum"),
        pytest.param(
            "spec:\n  guards: {maxUnhealthy: 140%}\n", "spec.guards.maxUnhealthy: expected a share", id="share"
        ),
        pytest.param(
            "spec:\n  triggers: [{name: x, signals: [Sad]}]\n", "spec.triggers[0].signals[0]: Input", id="signal"
        ),
    ],
)
def test_errors_name_the_file_and_the_field(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert str(raised.value).startswith(f"{path}: {expected}")
    assert isinstance(raised.value, InputError)


def test_a_wrong_kind_is_named(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("apiVersion: nodewarden.io/v1\nkind: Policy\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="kind: Input should be 'RemediationPolicy'"):
        load_policy(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a: [1", "invalid YAML"), ("- 1\n", "expected a RemediationPolicy mapping at the top level, found list")],
)
def test_files_that_are_not_policies(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=expected):
        load_policy(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such file"):
        load_policy(tmp_path / "nope.yaml")


def test_policy_show_prints_the_packaged_file_or_the_users_policy(tmp_path: Path) -> None:
    shipped = policy_show(None)
    assert "kind: RemediationPolicy" in shipped
    assert "# cordon + drain before the deadline" in shipped
    assert remediation_policy.parse_policy(shipped, source="shown") == default_policy()
    assert "mode: enforce" in policy_show(write(tmp_path, "spec: {mode: enforce}\n"))


def test_policy_check_says_ok(tmp_path: Path) -> None:
    path = write(tmp_path, "spec:\n  pools: {gpu: {paused: true}}\n")
    assert policy_check(path) == f"{path}: OK (RemediationPolicy default, mode dry-run, pool overrides: gpu)\n"

"""The policy's triggers and breakers tune detection."""

from __future__ import annotations

from nodewarden.detect.settings import DetectSettings
from nodewarden.heal.detection import detect_settings
from nodewarden.heal.policy import default_policy, parse_policy
from nodewarden.model.health import SignalKind


def test_the_default_policy_keeps_detections_waits_and_sets_the_breakers() -> None:
    settings = detect_settings(default_policy())
    assert settings.unhealthy_after == DetectSettings().unhealthy_after
    assert settings.storm_share == 0.4
    assert (settings.zone_share, settings.zone_window) == (0.5, 600.0)


def test_a_triggers_after_sets_how_long_its_signals_must_last() -> None:
    policy = parse_policy(
        "spec:\n  triggers:\n    - {name: slow-down, signals: [NotReady, DiskPressure], after: 2m, ladder: [restart]}\n"
        "    - {name: later, signals: [NotReady], after: 9m, ladder: [reimage]}\n",
        source="policy.yaml",
    )
    waits = detect_settings(policy).unhealthy_after
    assert waits[SignalKind.NOT_READY] == 120.0, "the first trigger naming a signal wins"
    assert waits[SignalKind.DISK_PRESSURE] == 120.0
    assert waits[SignalKind.HEARTBEAT_STALE] == DetectSettings().unhealthy_after[SignalKind.HEARTBEAT_STALE]

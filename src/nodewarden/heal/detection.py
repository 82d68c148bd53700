"""The detection thresholds a policy implies: its breakers' shares and windows, its triggers' waits."""

from __future__ import annotations

from dataclasses import replace

from nodewarden.detect.settings import DetectSettings
from nodewarden.heal.policy import Policy


def detect_settings(policy: Policy, base: DetectSettings | None = None) -> DetectSettings:
    """Detection tuned to `policy`: correlation signals fire where its breakers trip."""
    spec = policy.spec
    guards = spec.guards
    settings = base or DetectSettings()
    return replace(
        settings,
        zone_share=guards.zone_breaker.share,
        zone_window=guards.zone_breaker.window.total_seconds(),
        storm_share=guards.max_unhealthy,
    )

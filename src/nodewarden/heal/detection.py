"""The detection thresholds a policy implies: its breakers' shares and windows, its triggers' waits
(`after`: how long a trigger's signals must last before a node is Unhealthy and the ladder starts), and
what the journal tells detection (which nodes are being remediated, which were handed to a human)."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from nodewarden.detect.settings import DetectSettings
from nodewarden.heal.policy import Policy
from nodewarden.model.remediation import EpisodeState, History
from nodewarden.model.snapshot import Snapshot


def detect_settings(policy: Policy, base: DetectSettings | None = None) -> DetectSettings:
    """Detection tuned to `policy`: correlation signals fire where its breakers trip."""
    spec = policy.spec
    guards = spec.guards
    settings = base or DetectSettings()
    waits = dict(settings.unhealthy_after)
    for trigger in reversed(spec.triggers):  # the first trigger naming a signal wins, as in planning
        if trigger.after is not None:
            waits.update({kind: trigger.after.total_seconds() for kind in trigger.signals})
    return replace(
        settings,
        unhealthy_after=MappingProxyType(waits),
        zone_share=guards.zone_breaker.share,
        zone_window=guards.zone_breaker.window.total_seconds(),
        storm_share=guards.max_unhealthy,
    )


def journal_states(snapshot: Snapshot, history: History) -> tuple[frozenset[str], frozenset[str]]:
    """The nodes of `snapshot` with an open episode (Remediating) and those whose remediation failed (Failed),
    for `detect`: `run` and `plan` read the same journal the same way."""
    present = {node.metadata.name for node in snapshot.nodes}
    remediating = frozenset(e.node for e in history.open if e.node in present)
    failed = frozenset(e.node for e in history.episodes if e.state is EpisodeState.FAILED and e.node in present)
    return remediating, failed

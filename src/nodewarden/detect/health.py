"""The per-node health state machine: last cycle's NodeHealth and this cycle's problems in, new NodeHealth out.

    Healthy ──problem──► Suspect ──lasted ≥ unhealthy_after──► Unhealthy
       ▲                    │ problem gone                        │ problem gone (nothing done)
       └────────────────────┴─────────────────────────────────────┘
    any ──node ∈ remediating──► Remediating ──done, no problem──► Recovered ──stable──► Healthy
    any ──node ∈ failed──► Failed (a human's turn)

Failed wins over Remediating. Remediating that ends with the problem still there goes back to
Suspect/Unhealthy; a problem during Recovered does too. Unhealthy stays Unhealthy while any problem of the
same bout remains, even if the long-lasting one cleared and a fresh one took its place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from nodewarden.detect.inventory import NodeFacts
from nodewarden.detect.settings import DetectSettings
from nodewarden.model.health import HealthState, NodeHealth, Signal, SignalKind


def lasted(signal: Signal, *, now: datetime, settings: DetectSettings) -> timedelta:
    """How long a problem has lasted since it became detectable (its onset).

    A signal's `since` is when the condition began; for HeartbeatStale that is the last renewal, and
    the heartbeat only counts as missing once the stale bound has passed, so that bound is taken off.
    """
    elapsed = now - signal.since
    if signal.kind is SignalKind.HEARTBEAT_STALE:
        elapsed -= settings.stale_after
    return elapsed


def is_unhealthy(signals: Sequence[Signal], *, now: datetime, settings: DetectSettings) -> bool:
    """Some problem has lasted at least its `unhealthy_after`."""
    return any(s.is_problem and lasted(s, now=now, settings=settings) >= settings.threshold(s.kind) for s in signals)


def record_flips(
    previous: NodeHealth | None, ready: bool | None, *, now: datetime, settings: DetectSettings
) -> tuple[datetime, ...]:
    """Ready transitions within the flap window, adding one now if Ready changed since last cycle."""
    flips = previous.ready_flips if previous else ()
    if previous is not None and previous.ready is not None and ready is not None and previous.ready != ready:
        flips = (*flips, now)
    if not flips:
        return ()
    window = timedelta(seconds=settings.flap_window)
    return tuple(flip for flip in flips if timedelta(0) <= now - flip <= window)


def next_state(
    previous: NodeHealth | None,
    problems: Sequence[Signal],
    *,
    now: datetime,
    remediating: bool,
    failed: bool,
    settings: DetectSettings,
) -> HealthState:
    """The node's state this cycle (see the module docstring for the transitions)."""
    before = previous.state if previous else HealthState.HEALTHY
    if failed:
        return HealthState.FAILED
    if remediating:
        return HealthState.REMEDIATING
    if not problems:
        if before is HealthState.REMEDIATING:
            return HealthState.RECOVERED
        if before is HealthState.RECOVERED and previous is not None:
            stable = now - previous.since >= timedelta(seconds=settings.recovered_stable)
            return HealthState.HEALTHY if stable else HealthState.RECOVERED
        return HealthState.HEALTHY
    if before is HealthState.UNHEALTHY or is_unhealthy(problems, now=now, settings=settings):
        return HealthState.UNHEALTHY
    return HealthState.SUSPECT


def next_health(
    node: NodeFacts,
    flips: tuple[datetime, ...],
    problems: Sequence[Signal],
    *,
    now: datetime,
    remediating: bool,
    failed: bool,
    settings: DetectSettings,
    evidence: Sequence[Signal] = (),
) -> NodeHealth:
    """The node's new health: this cycle's identity, `ready` and Ready `flips`, with the state, the time it
    was entered, the problems and the bout's start worked out from last cycle's (`node.previous`)."""
    previous = node.previous
    state = next_state(previous, problems, now=now, remediating=remediating, failed=failed, settings=settings)
    entered = previous.since if previous is not None and state is previous.state else now
    problem_since: datetime | None = None
    if problems:
        problem_since = min(signal.since for signal in problems)
        if previous is not None and previous.problem_since is not None:
            problem_since = min(previous.problem_since, problem_since)
    clear_since: datetime | None = None
    if not problems:
        # carried from the last cycle; on first sight, from when the node became Ready
        clear_since = min(node.ready_since or now, now) if previous is None else (previous.clear_since or now)
    return NodeHealth(
        node=node.name,
        state=state,
        since=entered,
        pool=node.place.pool,
        zone=node.place.zone,
        image=node.place.image,
        instance=node.place.instance,
        signals=tuple(problems),
        evidence=tuple(evidence),
        problem_since=problem_since,
        clear_since=clear_since,
        ready=node.ready,
        ready_flips=flips,
    )

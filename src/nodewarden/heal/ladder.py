"""The escalation ladder: what an open episode does next, read from its journal entries.

cordon → drain → the trigger's rungs (restart → reimage → redeploy → replace by default) → escalate.
Each rung is verified: after it succeeds the node has `stepTimeouts[rung]` to come back (Ready, no
problem signal) before the next rung; a failed rung climbs at once. A healthy node is uncordoned.
Guards are not applied here; the planner passes the chosen step through `guards.CycleBudgets.admit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodewarden.heal.policy import OnTimeout, PoolPolicy
from nodewarden.model.remediation import Episode, HoldReason, JournalEntry, Outcome, Step

DONE = frozenset({Outcome.SUCCEEDED, Outcome.SKIPPED})


@dataclass(frozen=True)
class Next:
    """The episode's next step (None: nothing now) and, when something holds it back, the hold."""

    step: Step | None
    reason: str
    hold: HoldReason | None = None


def attempt(episode: Episode, step: Step) -> int:
    """1 + the number of earlier entries of `step` in the episode (the idempotency key's last part)."""
    return 1 + sum(1 for entry in episode.entries if entry.step is step)


def is_done(episode: Episode, step: Step) -> bool:
    return any(entry.step is step and entry.outcome in DONE for entry in episode.entries)


def next_step(
    episode: Episode,
    *,
    healthy: bool,
    ladder: tuple[Step, ...],
    policy: PoolPolicy,
    now: datetime,
    clear_since: datetime | None = None,
    ready_pods_left: bool = True,
) -> Next:
    """What to do next for an open episode (guards aside).

    - an entry without outcome → nothing (OperationInFlight);
    - escalated → nothing (a human's turn), or retry a failed escalation;
    - uncordoned → nothing (heal/lifecycle.py closes the episode), or retry a failed uncordon;
    - node healthy (continuously since `clear_since`) for `stableFor` after the last step → UNCORDON;
    - not cordoned → CORDON; not drained → DRAIN (a failed drain: hold naming the blocker and retry, or
      go on to the rungs with `drain.onTimeout: proceed`, or when no ready pod is left on the node);
    - no rung yet → the ladder's first; a rung done and within its verify time → wait; done and past
      it, or failed → the next rung; none left → ESCALATE (LadderExhausted).
    """
    pending = next((e for e in episode.entries if e.outcome is Outcome.PENDING), None)
    if pending is not None:
        return Next(
            None, f"{pending.step.value.lower()} {pending.key} has no outcome yet", HoldReason.OPERATION_IN_FLIGHT
        )
    last = episode.last
    if last is not None and last.step is Step.ESCALATE:
        if last.outcome in DONE:
            return Next(None, "escalated: a human's turn", HoldReason.LADDER_EXHAUSTED)
        return Next(Step.ESCALATE, f"retry escalation ({last.outcome.value}: {last.detail or 'no detail'})")
    if last is not None and last.step is Step.UNCORDON:
        if last.outcome in DONE:
            return Next(None, "uncordoned; waiting for the episode to close", HoldReason.WAITING)
        return Next(Step.UNCORDON, f"retry uncordon ({last.outcome.value}: {last.detail or 'no detail'})")
    if healthy:
        settled = max((e.outcome_at for e in episode.entries if e.outcome_at is not None), default=episode.opened_at)
        settled = max(settled, clear_since or now)  # healthy without a break since then
        if now - settled < policy.stable_for:
            until = settled + policy.stable_for
            return Next(None, f"node is back; verifying it stays healthy until {until:%H:%M:%SZ}", HoldReason.WAITING)
        return Next(Step.UNCORDON, f"node Ready with no problem signal for {policy.stable_for} since the last step")
    if not is_done(episode, Step.CORDON):
        return Next(Step.CORDON, "episode open, node not cordoned yet")
    drained = _drain(episode, policy, now, ready_pods_left=ready_pods_left)
    if drained is not None:
        return drained
    if not ladder:
        return Next(None, "drained; no rung for this trigger: waiting for the platform or the node", HoldReason.WAITING)
    return _climb(episode, ladder, policy, now)


def _drain(episode: Episode, policy: PoolPolicy, now: datetime, *, ready_pods_left: bool) -> Next | None:
    """The drain step while the node is not drained; None once drained (or proceeding past a failed drain)."""
    drains = [entry for entry in episode.entries if entry.step is Step.DRAIN]
    if not drains:
        return Next(Step.DRAIN, "cordoned; evict pods before repairing the instance")
    last = drains[-1]
    if last.outcome in DONE or policy.drain.on_timeout is OnTimeout.PROCEED:
        return None
    if not ready_pods_left:
        # what would not leave is already down (its kubelet is gone): a budget protects available pods,
        # and these are not, so waiting for their eviction protects nothing
        return None
    blocker = last.detail or "no detail journaled"
    retry_at = (last.outcome_at or last.intent_at) + policy.drain.timeout  # back off as long as a drain may take
    if now < retry_at:
        return Next(None, f"drain {last.outcome.value} ({blocker}); retrying at {retry_at:%H:%M:%SZ}", HoldReason.PDB)
    return Next(Step.DRAIN, f"drain {last.outcome.value} ({blocker}); retrying", HoldReason.PDB)


def _climb(episode: Episode, ladder: tuple[Step, ...], policy: PoolPolicy, now: datetime) -> Next:
    tried = [entry for entry in episode.entries if entry.step.is_rung]
    if not tried:
        return Next(ladder[0], f"drained; first rung of the ladder ({_spell(ladder)})")
    last = tried[-1]
    rung = last.step.value.lower()
    if last.outcome in DONE:
        verify = policy.step_timeouts.of(last.step)
        deadline = (last.outcome_at or last.intent_at) + verify
        if now < deadline:
            return Next(None, f"{rung} done; verifying the node until {deadline:%H:%M:%SZ}", HoldReason.WAITING)
        why = f"{rung} did not bring the node back within {verify}"
    else:
        why = f"{rung} {last.outcome.value} ({last.detail or 'no detail'})"
    following = _after(ladder, last, tried)
    if following is None:
        return Next(Step.ESCALATE, f"{why}; ladder exhausted ({_spell(ladder)})", HoldReason.LADDER_EXHAUSTED)
    return Next(following, f"{why}; next rung {following.value.lower()}")


def _after(ladder: tuple[Step, ...], last: JournalEntry, tried: list[JournalEntry]) -> Step | None:
    """The rung after `last` on the ladder (or, if the ladder changed, the first one not tried yet)."""
    if last.step in ladder:
        rest = ladder[ladder.index(last.step) + 1 :]
        return rest[0] if rest else None
    steps = {entry.step for entry in tried}
    return next((step for step in ladder if step not in steps), None)


def _spell(ladder: tuple[Step, ...]) -> str:
    return " → ".join(step.value.lower() for step in ladder)

"""When an episode ends, and how: heal is the one author of every closure; the runtime only journals them.

The planner opens an episode (its first CORDON, or an ESCALATE of a quarantined fingerprint). It ends:
- RECOVERED when its UNCORDON succeeds (the ladder uncordons only a node healthy for `stableFor`);
- FAILED when its ESCALATE succeeds (quarantined and handed to a human);
- for a node that is gone from the cluster:
  - RECOVERED once its pool again has as many Ready nodes as before the REPLACE that removed it;
  - FAILED when the replacement has not come within `stepTimeouts.replace` of that REPLACE;
  - ABANDONED when it went without a REPLACE of ours (autoscaler, a person), once no step is pending.
A zone compensation episode ("scale/<pool>/…", see heal/compensation.py) follows no node: it closes once
its scale-out settles, and whether the pool was scaled back is read from its SCALE entries
(state/steps.py `outstanding_scale`), not from its state.

`closure_after` is asked by the executor the moment a step settles, so the episode closes in the cycle
that ended it (the incident figures and the next cycle's detection read that). `plan_closures` is asked
by the planner for every open episode, from the snapshot, the detection, the history and `now`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from nodewarden.heal.policy import Policy
from nodewarden.model.health import Detection
from nodewarden.model.remediation import (
    SCALE_EPISODE_PREFIX,
    Closure,
    Episode,
    EpisodeState,
    History,
    JournalEntry,
    Outcome,
    Step,
    attempt_of,
)
from nodewarden.model.snapshot import Snapshot

UNCORDONED = "node healthy and uncordoned"
NODE_GONE = "the node went away"


def closure_after(entry: JournalEntry) -> Closure | None:
    """The closure a settled step brings about, else None:
    - a succeeded UNCORDON → RECOVERED; a succeeded ESCALATE → FAILED, noting what was done;
    - the settled scale-out (first SCALE) of a zone compensation → ABANDONED (it follows no node)."""
    if entry.step is Step.UNCORDON and entry.outcome is Outcome.SUCCEEDED:
        return Closure(entry.episode, EpisodeState.RECOVERED, UNCORDONED)
    if entry.step is Step.ESCALATE and entry.outcome is Outcome.SUCCEEDED:
        return Closure(entry.episode, EpisodeState.FAILED, entry.detail)
    if (
        entry.step is Step.SCALE
        and entry.episode.startswith(SCALE_EPISODE_PREFIX)
        and attempt_of(entry.key) == 1
        and entry.outcome is not Outcome.PENDING
    ):
        return Closure(entry.episode, EpisodeState.ABANDONED, NODE_GONE)
    return None


def plan_closures(
    snapshot: Snapshot, detection: Detection, history: History, policy: Policy, *, now: datetime
) -> tuple[Closure, ...]:
    """Every open episode that ends now (see the module docstring), in the history's order."""
    return tuple(_closures(snapshot, detection, history, policy, now=now))


def _closures(
    snapshot: Snapshot, detection: Detection, history: History, policy: Policy, *, now: datetime
) -> Iterator[Closure]:
    present = snapshot.nodes_by_name
    for episode in history.open:
        ended = closure_after(episode.last) if episode.last is not None else None
        if ended is not None:
            # its last step ended it, but the process stopped before journaling the closure
            yield ended
        elif episode.node not in present:
            gone = _node_gone(episode, snapshot, detection, policy, now=now)
            if gone is not None:
                yield gone


def _node_gone(
    episode: Episode, snapshot: Snapshot, detection: Detection, policy: Policy, *, now: datetime
) -> Closure | None:
    """An episode whose node is no longer in the cluster: replaced (once the pool is whole again) or removed."""
    replaced = next((e for e in episode.entries if e.step is Step.REPLACE and e.outcome is Outcome.SUCCEEDED), None)
    if replaced is None:
        if any(e.outcome is Outcome.PENDING for e in episode.entries):
            return None  # the step may still change it: settle that first
        return Closure(episode.id, EpisodeState.ABANDONED, NODE_GONE)
    pool = snapshot.pool(episode.pool or "")
    ready = [h for h in detection.health.values() if episode.pool and h.pool == episode.pool and h.ready]
    # the count before the replace (the planner journals it); an autoscaled pool's count shrinks
    wanted = replaced.count if replaced.count is not None else (pool.count if pool is not None else None)
    if wanted is not None and len(ready) >= wanted:
        return Closure(episode.id, EpisodeState.RECOVERED, f"replaced; pool {episode.pool} has {len(ready)} Ready")
    limit = policy.for_pool(episode.pool).step_timeouts.of(Step.REPLACE).total_seconds()
    if replaced.outcome_at is not None and (now - replaced.outcome_at).total_seconds() > limit:
        return Closure(
            episode.id,
            EpisodeState.FAILED,
            f"replacement did not become Ready within {limit:g}s; pool {episode.pool} short of nodes",
        )
    return None

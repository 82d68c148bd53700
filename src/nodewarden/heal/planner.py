"""The planner: snapshot, detection, journal history, policy and `now` in; actions, holds and closures out.

Pure: no clock, network or disk. At most one action per node (and per instance) per cycle; every
node that needs remediation and gets no action gets a Hold saying why. The controller decides whether
to execute (policy `mode`, `--apply`); the planner does not look at it.

Order of decisions:
1. global holds — caches not synced, stale data, policy or kube-system paused: nothing at all;
2. per node — excluded, paused (node annotation or pool override), a person acting on it (the live mark
   of `nodewarden node …`), autoscaler deleting it, AKS auto-repair working it (autoRepair: defer), an
   operation already pending on the node or instance;
3. a new episode (node Unhealthy, none open) — quarantine of a known-bad fingerprint, escalation of a
   replacement that failed the same way, pool busy or storm → hold; else CORDON;
4. an open episode — the ladder (`ladder.next_step`), each destructive step through the guards;
   before the ladder, fencing (`fencing.decide`): its FENCE, UNFENCE or POWER_OFF is the node's one action this
   cycle (FENCE and POWER_OFF through `CycleBudgets.fencing_blocker`), and a coming POWER_OFF holds the first rung;
5. zone compensation (`compensation.plan_compensation`);
6. the episodes that end now (`lifecycle.plan_closures`): the runtime journals them and decides nothing.
Cordoning is allowed past the zone breaker (it takes no capacity away) but not in a storm: when much
of a pool fails at once the cause is not the nodes, and cordoning them all would strand its pods.
Caches not synced or stale data close no episode either: a node missing from them may not be gone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from nodewarden.heal import compensation, durations, fencing, ladder, lifecycle
from nodewarden.heal.guards import CycleBudgets, has_pending, operator_action, pool_key, read_budgets, ready_pods_on
from nodewarden.heal.nodes import NodeTarget, is_paused_namespace, read_targets
from nodewarden.heal.policy import AutoRepairMode, Policy, PoolPolicy
from nodewarden.model.health import Detection, HealthState, SignalKind
from nodewarden.model.remediation import (
    RUNGS,
    Episode,
    EpisodeState,
    History,
    Hold,
    HoldReason,
    Outcome,
    Plan,
    PlannedAction,
    Step,
)
from nodewarden.model.snapshot import Snapshot

QUARANTINE_WINDOW = timedelta(hours=24)  # a failed fingerprint (pool, image, cause) holds new episodes this long
# Global holds under which the snapshot may not describe the cluster: a node missing from it is not gone.
UNTRUSTED = frozenset({HoldReason.NOT_SYNCED, HoldReason.STALE_DATA})


def plan(
    snapshot: Snapshot,
    detection: Detection,
    history: History,
    policy: Policy,
    now: datetime,
    *,
    synced: bool = True,
    observed_at: datetime | None = None,
) -> Plan:
    """This cycle's actions and closures, and a hold for everything declined (see the module docstring)."""
    nodes = read_targets(snapshot, detection)
    attention = _needing_attention(nodes, history)
    stop = _global_hold(snapshot, policy, now, synced=synced, observed_at=observed_at)
    trusted = stop is None or stop[0] not in UNTRUSTED
    closures = lifecycle.plan_closures(snapshot, detection, history, policy, now=now) if trusted else ()
    if stop is not None:
        reason, message = stop
        holds = [Hold(reason, "cluster", message)]
        holds += [Hold(reason, f.name, message, node=f.name, pool=f.place.pool, zone=f.place.zone) for f in attention]
        return Plan(now=now, holds=tuple(holds), closures=closures)
    budgets = read_budgets(snapshot, detection, history, policy, nodes, now)
    view = fencing.read_view(snapshot, zones_failing=budgets.zone_failures)
    cycle = _Cycle(
        snapshot, history, policy, budgets, now, view, fencing.zone_confirmed(attention, policy, view, now=now)
    )
    for target in attention:
        cycle.decide(target)
    extra = compensation.plan_compensation(detection, history, policy, budgets, now)
    return Plan(
        now=now, actions=(*cycle.actions, *extra.actions), holds=(*cycle.holds, *extra.holds), closures=closures
    )


def _needing_attention(nodes: dict[str, NodeTarget], history: History) -> list[NodeTarget]:
    """Nodes with an open episode (oldest first: they hold the budgets), then Unhealthy ones and those whose record
    cannot be read (they get a hold that says so), by name."""
    open_nodes = {episode.node: episode for episode in history.open}
    ongoing = sorted((f for f in nodes.values() if f.name in open_nodes), key=lambda f: open_nodes[f.name].opened_at)
    new = [
        f
        for f in nodes.values()
        if f.name not in open_nodes and (f.state is HealthState.UNHEALTHY or f.name in history.unreadable)
    ]
    return ongoing + new


def _global_hold(
    snapshot: Snapshot, policy: Policy, now: datetime, *, synced: bool, observed_at: datetime | None
) -> tuple[HoldReason, str] | None:
    if not synced:
        return HoldReason.NOT_SYNCED, "the caches have not synced yet"
    if observed_at is not None and now - observed_at > policy.spec.max_data_age:
        return HoldReason.STALE_DATA, f"observation is {now - observed_at} old (maxDataAge {policy.spec.max_data_age})"
    if policy.spec.paused:
        return HoldReason.PAUSED, "policy spec.paused is true"
    if is_paused_namespace(snapshot):
        return HoldReason.PAUSED, "namespace kube-system is annotated nodewarden.io/pause=true"
    return None


class _Cycle:
    """One planning cycle's working state: what was decided so far (lives inside one `plan` call)."""

    def __init__(
        self,
        snapshot: Snapshot,
        history: History,
        policy: Policy,
        budgets: CycleBudgets,
        now: datetime,
        view: fencing.View,
        zone_confirmed: frozenset[str],
    ) -> None:
        self.snapshot, self.history, self.policy, self.budgets, self.now = snapshot, history, policy, budgets, now
        self.view, self.zone_confirmed = view, zone_confirmed
        self.actions: list[PlannedAction] = []
        self.holds: list[Hold] = []
        self.used_instances: set[str] = set()

    def hold(self, target: NodeTarget, reason: HoldReason, message: str, step: Step | None) -> None:
        self.holds.append(target.hold(reason, message, step))

    def decide(self, target: NodeTarget) -> None:
        episode = self.history.open_for(target.name)
        pool_policy = self.policy.for_pool(target.place.pool or (episode.pool if episode else None))
        blocked = self._node_hold(target, episode, pool_policy)
        if blocked is not None:
            self.hold(target, *blocked, step=None if episode else Step.CORDON)
        elif episode is None:
            self._open(target, pool_policy)
        else:
            self._continue(target, episode, pool_policy)

    def _node_hold(
        self, target: NodeTarget, episode: Episode | None, pool_policy: PoolPolicy
    ) -> tuple[HoldReason, str] | None:
        unreadable = self.history.unreadable.get(target.name)
        if unreadable is not None:
            return HoldReason.UNREADABLE_RECORD, unreadable
        label = self.policy.spec.exclusion_label
        if target.place.is_labelled(label):
            return HoldReason.EXCLUDED, f"node is labelled {label}=true"
        if target.place.paused:
            return HoldReason.PAUSED, "node is annotated nodewarden.io/pause=true"
        if pool_policy.paused:
            return HoldReason.PAUSED, f"policy pauses pool {target.place.pool}"
        person = operator_action(target, stable_for=pool_policy.stable_for, now=self.now)
        if person is not None:
            return HoldReason.OPERATOR_ACTION, person
        kinds = {signal.kind for signal in target.signals}
        if SignalKind.AUTOSCALER_DELETING in kinds:
            return HoldReason.AUTOSCALER, "the cluster autoscaler is deleting this node"
        if SignalKind.AUTO_REPAIR in kinds and self.policy.spec.auto_repair is AutoRepairMode.DEFER:
            return HoldReason.AUTO_REPAIR, "AKS auto-repair is working on this node (autoRepair: defer)"
        others = [e for e in self.history.open if e.node != target.name and has_pending(e)]
        if any(
            e.node == target.name or (target.place.instance and e.instance == target.place.instance) for e in others
        ):
            return HoldReason.OPERATION_IN_FLIGHT, "another episode has an operation pending on this node or instance"
        return None

    def _open(self, target: NodeTarget, pool_policy: PoolPolicy) -> None:
        trigger = pool_policy.trigger_for(target.problems)
        kinds = sorted({signal.kind for signal in target.problems}, key=lambda k: k.value)
        if trigger is None:
            found = ", ".join(kinds) or "no problem signal"
            self.hold(target, HoldReason.WAITING, f"no trigger matches ({found})", Step.CORDON)
            return
        causes = tuple(kinds)
        failed = self._quarantined(target, causes)
        if failed is not None:
            place = target.place
            message = f"episode {failed.id} failed on pool {place.pool}, image {place.image} with {_spell(causes)}"
            self.hold(target, HoldReason.QUARANTINED, message + " within 24h: a human's turn", Step.CORDON)
            return
        replaced = self._replaced(target, causes, pool_policy)
        if replaced is not None:
            message = f"replacement failed the same way ({_spell(causes)}) after {replaced.id} replaced a node"
            self.hold(target, HoldReason.QUARANTINED, message + ": bad image?", Step.ESCALATE)
            self._act(target, Step.ESCALATE, message, _episode_id(target, self.now), causes, attempt=1)
            return
        busy = self.budgets.busy_pools.get(pool_key(target.place.pool))
        if busy:
            self.hold(target, HoldReason.POOL_BUSY, f"pool {target.place.pool} is {busy}", Step.CORDON)
            return
        storm = self.budgets.storm(target.place.pool, pool_policy)
        if storm:
            self.hold(target, HoldReason.STORM, f"storm breaker: {storm}; not opening episodes", Step.CORDON)
            return
        reason = f"trigger {trigger.name}: {_spell(causes)}"
        self._act(target, Step.CORDON, reason, _episode_id(target, self.now), causes, attempt=1)

    def _continue(self, target: NodeTarget, episode: Episode, pool_policy: PoolPolicy) -> None:
        fence = fencing.decide(target, episode, settings=pool_policy.fencing, view=self.view, now=self.now)
        if fence.hold is not None:
            self.hold(target, fence.hold, fence.reason, fence.step)
        elif fence.step is not None:
            blocked = self.budgets.fencing_blocker(fence.step, target, pool_policy, zone_confirmed=self.zone_confirmed)
            if blocked is None:
                attempt = ladder.attempt(episode, fence.step)
                self._act(target, fence.step, fence.reason, episode.id, episode.causes, attempt=attempt)
                return
            self.holds.append(blocked)
        rungs = _ladder(episode, target, pool_policy)
        decision = ladder.next_step(
            episode,
            healthy=target.is_healthy,
            ladder=rungs,
            policy=pool_policy,
            now=self.now,
            clear_since=target.health.clear_since if target.health else None,
            ready_pods_left=ready_pods_on(self.snapshot, target.name),
        )
        if decision.hold is not None:
            self.hold(target, decision.hold, decision.reason, decision.step)
        step = decision.step
        if step is None:
            return
        if fence.gate and step.is_rung and not episode.rungs_tried:
            after = durations.format_duration(pool_policy.fencing.after)
            message = f"fencing powers the node off before its first rung ({step.value.lower()}), once down {after}"
            self.hold(target, HoldReason.WAITING, message, step)
            return
        if step.destructive:
            blocked = self.budgets.admit(step, target, episode.id, pool_policy, attempt=ladder.attempt(episode, step))
            if blocked is not None:
                self.holds.append(blocked)
                return
        self._act(target, step, decision.reason, episode.id, episode.causes, attempt=ladder.attempt(episode, step))

    def _act(
        self, target: NodeTarget, step: Step, reason: str, episode: str, causes: tuple[SignalKind, ...], *, attempt: int
    ) -> None:
        if target.place.instance is not None and target.place.instance in self.used_instances:
            self.hold(
                target, HoldReason.OPERATION_IN_FLIGHT, f"instance {target.place.instance} already has an action", step
            )
            return
        if target.place.instance is not None:
            self.used_instances.add(target.place.instance)
        pool_policy = self.policy.for_pool(target.place.pool)
        timeout = pool_policy.drain.timeout if step is Step.DRAIN else pool_policy.step_timeouts.of(step)
        self.actions.append(
            PlannedAction(
                step=step,
                subject=target.name,
                reason=reason,
                key=f"{episode}/{step.value.lower()}/{attempt}",
                episode=episode,
                node=target.name,
                pool=target.place.pool,
                zone=target.place.zone,
                instance=target.place.instance,
                causes=causes,
                image=target.place.image,
                timeout=timeout.total_seconds(),
                force=pool_policy.drain.force if step is Step.DRAIN else False,
                taint=fencing.TAINT if step in (Step.FENCE, Step.UNFENCE) else None,
                count=self._pool_count(target.place.pool) if step is Step.REPLACE else None,  # capacity to get back
            )
        )

    def _pool_count(self, pool: str | None) -> int | None:
        found = self.snapshot.pool(pool) if pool else None
        return found.count if found is not None else None

    def _quarantined(self, target: NodeTarget, causes: tuple[SignalKind, ...]) -> Episode | None:
        """A FAILED episode within 24 h with this node's fingerprint: same pool, image and a shared cause."""
        since = self.now - QUARANTINE_WINDOW
        return next(
            (
                e
                for e in self.history.episodes
                if e.state is EpisodeState.FAILED
                and (e.closed_at or e.opened_at) >= since
                and _same_fingerprint(e, target, causes, self.policy.for_pool(target.place.pool))
            ),
            None,
        )

    def _replaced(self, target: NodeTarget, causes: tuple[SignalKind, ...], pool_policy: PoolPolicy) -> Episode | None:
        """An episode that replaced a node of this fingerprint less than stepTimeouts.replace ago."""
        since = self.now - pool_policy.step_timeouts.replace
        for episode in self.history.episodes:
            if episode.node == target.name or not _same_fingerprint(episode, target, causes, pool_policy):
                continue
            for entry in episode.entries:
                done_at = entry.outcome_at or entry.intent_at
                if entry.step is Step.REPLACE and entry.outcome is Outcome.SUCCEEDED and done_at >= since:
                    return episode
        return None


def _ladder(episode: Episode, target: NodeTarget, pool_policy: PoolPolicy) -> tuple[Step, ...]:
    """The episode's trigger's ladder: matched by its causes, else by the node's signals, else every rung."""
    by_cause = next((t for t in pool_policy.triggers if set(t.signals) & set(episode.causes)), None)
    trigger = by_cause or pool_policy.trigger_for(target.problems)
    return tuple(trigger.ladder) if trigger is not None else RUNGS


def _same_fingerprint(
    episode: Episode, target: NodeTarget, causes: tuple[SignalKind, ...], pool_policy: PoolPolicy
) -> bool:
    """Same pool, same node image, and the same failure: a shared cause, or causes of the same trigger
    (a node seen going down as HeartbeatStale and its replacement seen as NotReady fail the same way)."""
    if pool_key(episode.pool) != pool_key(target.place.pool) or episode.image != target.place.image:
        return False
    if set(episode.causes) & set(causes):
        return True
    before, now = _trigger_name(pool_policy, episode.causes), _trigger_name(pool_policy, causes)
    return before is not None and before == now


def _trigger_name(pool_policy: PoolPolicy, causes: tuple[SignalKind, ...]) -> str | None:
    return next((t.name for t in pool_policy.triggers if set(t.signals) & set(causes)), None)


def _episode_id(target: NodeTarget, now: datetime) -> str:
    return f"{target.name}@{now:%Y%m%dT%H%M%SZ}"


def _spell(causes: tuple[SignalKind, ...]) -> str:
    return ", ".join(causes) or "no cause"

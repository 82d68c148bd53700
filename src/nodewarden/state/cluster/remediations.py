"""Episodes and their intents as NodeRemediation objects (deploy/crds/noderemediations.yaml).

One object per episode: `spec` is the episode as it opened, `status` its intents (each journaled before its
call and settled after), its latest step and how it ended. The leader is the only writer (its client is
fenced: `connection.fenced`), so it keeps what it wrote in memory and reads the objects again only when it
starts to lead (`resync`): a follower's memory may be old, the leader's is what the cluster holds. Every write
carries the resourceVersion it read; a 409 means someone else changed the object (a person with kubectl, a
former leader's last write), so the object is read again and the change decided again on what is there now.

An object that cannot be read (a hand edit with a wrong type or an unknown step) is reported once per version,
with its name and field, and its node is listed in `History.unreadable`: the planner holds that node rather
than act on a record it cannot read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from lightkube import Client

from nodewarden.errors import InputError, SchemaError
from nodewarden.incidents.codec import Reader, entry_from_dict, entry_to_dict, time_text
from nodewarden.model.health import SignalKind
from nodewarden.model.remediation import Episode, EpisodeState, History, JournalEntry, Outcome, Step
from nodewarden.state.cluster import resources
from nodewarden.state.cluster.resources import NODE_LABEL, ConflictError, NodeRemediation
from nodewarden.state.record import RecordWriteError
from nodewarden.state.steps import correlation_id_for, outstanding_scale

KIND = "NodeRemediation"
PLURAL = "noderemediations"
DETAIL_LIMIT = 1024  # characters of an intent's detail kept: a drain summary can name hundreds of pods
WRITE_ATTEMPTS = 5  # re-reads after a 409 before giving up on a write


@dataclass(frozen=True)
class Kept:
    """One object as this process last read or wrote it."""

    name: str
    resource_version: str
    episode: Episode


class ClusterSteps:
    """The steps' record (episodes, intents, outcomes) in NodeRemediation objects; thread-safe."""

    def __init__(self, kube: Client, *, warn: Callable[[str], None] | None = None) -> None:
        self._objects = resources.Objects(kube, NodeRemediation, PLURAL)
        self._unreadable_report = resources.UnreadableReport(warn)
        self._lock = threading.RLock()
        self._kept: dict[str, Kept] = {}  # by episode id
        self._unreadable: dict[str, str] = {}  # node → why its object cannot be read

    # -- reading --------------------------------------------------------------------------------------

    def resync(self) -> None:
        """Read every NodeRemediation again: on becoming the leader, and for a follower's view."""
        objects = self._objects.list()
        kept: dict[str, Kept] = {}
        unreadable: dict[str, str] = {}
        for obj in objects:
            try:
                found = from_object(obj)
            except SchemaError as exc:
                self._report(obj, str(exc), unreadable)
                continue
            kept[found.episode.id] = found
        with self._lock:
            self._kept = kept
            self._unreadable = unreadable

    def history(self, now: datetime, lookback: timedelta) -> History:
        """Open episodes and those closed within `lookback`, the zone compensations still outstanding, and the
        nodes whose record cannot be read."""
        with self._lock:
            episodes = sorted(
                (k.episode for k in self._kept.values() if _recent(k.episode, now - lookback)),
                key=lambda e: (e.opened_at, e.id),
            )
            scale = [entry for entry in self._ordered_entries() if entry.step is Step.SCALE]
            return History(
                episodes=tuple(episodes), scale_entries=outstanding_scale(scale), unreadable=dict(self._unreadable)
            )

    def entries(self, since: datetime | None = None) -> list[JournalEntry]:
        with self._lock:
            return [entry for entry in self._ordered_entries() if since is None or entry.intent_at >= since]

    def pending(self) -> tuple[JournalEntry, ...]:
        with self._lock:
            return tuple(entry for entry in self._ordered_entries() if entry.outcome is Outcome.PENDING)

    def backlog(self) -> int:
        return len(self.pending())

    def _ordered_entries(self) -> list[JournalEntry]:
        """Every entry in journal order: by intent time, then by episode and place within it."""
        numbered = [
            (entry.intent_at, k.episode.opened_at, k.episode.id, n, entry)
            for k in self._kept.values()
            for n, entry in enumerate(k.episode.entries)
        ]
        return [item[-1] for item in sorted(numbered, key=lambda item: item[:4])]

    # -- writing --------------------------------------------------------------------------------------

    def open_episode(self, episode: Episode) -> None:
        """Create the episode's object; one that exists (this or another replica made it) changes nothing."""
        with self._lock:
            if episode.id in self._kept:
                return
            name = resources.object_name(episode.id)
            body = to_object(replace(episode, entries=()), name)
            body["metadata"].pop("resourceVersion", None)
            try:
                created = self._objects.create(body)
            except ConflictError:  # AlreadyExists
                self._reread(name)
                return
            except InputError as exc:
                raise RecordWriteError(f"{KIND} {name}: not created: {exc}") from exc
            self._keep(created)

    def intend(self, entry: JournalEntry) -> JournalEntry:
        """Journal a step before it is sent; a key already there returns what is there (`steps.intend`)."""
        fresh = replace(
            entry, correlation_id=entry.correlation_id or correlation_id_for(entry.key), detail=_cut(entry.detail)
        )

        def add(episode: Episode) -> Episode | None:
            if any(e.key == entry.key for e in episode.entries):
                return None
            return replace(episode, entries=(*episode.entries, fresh))

        with self._lock:
            kept = self._update(entry.episode, add)
            return next(e for e in kept.episode.entries if e.key == entry.key)

    def record(self, key: str, outcome: Outcome, at: datetime, detail: str = "") -> bool:
        """Settle an intent (its detail is kept, `detail` added); False when no intent has `key`."""
        with self._lock:
            episode_id = next(
                (k.episode.id for k in self._kept.values() if any(e.key == key for e in k.episode.entries)), None
            )
            if episode_id is None:
                return False

            def settle(episode: Episode) -> Episode | None:
                entries = tuple(
                    replace(
                        e, outcome=outcome, outcome_at=at, detail=_cut("; ".join(p for p in (e.detail, detail) if p))
                    )
                    if e.key == key
                    else e
                    for e in episode.entries
                )
                return replace(episode, entries=entries)

            self._update(episode_id, settle)
            return True

    def close_episode(self, episode_id: str, state: EpisodeState, at: datetime, note: str) -> bool:
        """Close an episode; False when there is no such episode."""
        with self._lock:
            if episode_id not in self._kept:
                return False
            self._update(episode_id, lambda episode: replace(episode, state=state, closed_at=at, note=note))
            return True

    def expire(self, now: datetime, retention: timedelta) -> int:
        """Delete the objects of episodes closed more than `retention` ago; how many went."""
        with self._lock:
            old = [
                k
                for k in self._kept.values()
                if k.episode.closed_at is not None and k.episode.closed_at < now - retention
            ]
            for k in old:
                self._objects.delete(k.name)
                del self._kept[k.episode.id]
            return len(old)

    def _update(self, episode_id: str, change: Callable[[Episode], Episode | None]) -> Kept:
        """Write `change(episode)` to the object's status with the resourceVersion read; on 409 read the object
        again and decide again. `change` returning None means nothing to write."""
        kept = self._kept.get(episode_id)
        if kept is None:
            raise LookupError(f"{KIND} for episode {episode_id!r}: not in the cluster's record")
        for _ in range(WRITE_ATTEMPTS):
            changed = change(kept.episode)
            if changed is None:
                return kept
            body = to_object(changed, kept.name, kept.resource_version)
            try:
                written = self._objects.replace_status(body)
            except ConflictError:
                kept = self._reread(kept.name)
                continue
            except InputError as exc:  # the API server failing: nothing written, so nothing may be sent
                raise RecordWriteError(f"{KIND} {kept.name}: not written: {exc}") from exc
            return self._keep(written)
        raise RecordWriteError(
            f"{KIND} {kept.name}: still changing after {WRITE_ATTEMPTS} attempts; next cycle decides again"
        )

    def _reread(self, name: str) -> Kept:
        """The object as it is now; one that cannot be read any more is dropped, reported, and its node held."""
        try:
            obj = self._objects.get(name)
        except InputError as exc:
            raise RecordWriteError(f"{KIND} {name}: not read again after a conflict: {exc}") from exc
        try:
            return self._keep(obj)
        except SchemaError as exc:
            gone = next((k for k in self._kept.values() if k.name == name), None)
            if gone is not None:
                del self._kept[gone.episode.id]
            self._report(obj, str(exc), self._unreadable)
            raise RecordWriteError(f"{exc}; nothing sent for it") from exc

    def _keep(self, obj: Mapping[str, Any]) -> Kept:
        kept = from_object(obj)
        self._kept[kept.episode.id] = kept
        return kept

    def _report(self, obj: Mapping[str, Any], message: str, unreadable: dict[str, str]) -> None:
        """`message` names the object and the field (`from_object`); the node, if any can be told, is held."""
        labels = _mapping(_mapping(obj.get("metadata")).get("labels"))
        spec = _mapping(obj.get("spec"))
        node = spec.get("node") if isinstance(spec.get("node"), str) else labels.get(NODE_LABEL)
        if isinstance(node, str) and node:
            unreadable[node] = f"its record cannot be read ({message}); fix or delete the object"
        self._unreadable_report(obj, message + (f"; node {node} is held until it is fixed" if node else ""))


# -- the object's shape ---------------------------------------------------------------------------------


def to_object(episode: Episode, name: str, resource_version: str = "") -> dict[str, Any]:
    """The NodeRemediation for an episode (None values left out: the API server prunes them)."""
    metadata: dict[str, Any] = {"name": name, "labels": {**resources.MANAGED_BY, **_node_label(episode.node)}}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    spec = {
        "episode": episode.id,
        "node": episode.node,
        "openedAt": time_text(episode.opened_at),
        "pool": episode.pool,
        "zone": episode.zone,
        "instance": episode.instance,
        "image": episode.image,
        "causes": [cause.value for cause in episode.causes],
    }
    last = episode.last
    status = {
        "state": episode.state.value,
        "step": last.step.value if last else None,
        "closedAt": time_text(episode.closed_at) if episode.closed_at else None,
        "note": episode.note,
        "intents": [_present(entry_to_dict(entry)) for entry in episode.entries],
    }
    return {
        "apiVersion": resources.API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": _present(spec),
        "status": _present(status),
    }


def from_object(obj: Mapping[str, Any]) -> Kept:
    """The episode an object holds; SchemaError names the object and the field that is wrong."""
    meta = Reader(obj.get("metadata"), f"{KIND} (no name)")
    name = meta.text("name")
    where = f"{KIND} {name}:"
    spec = Reader(obj.get("spec"), f"{where} spec")
    status_document = obj.get("status") or {}
    status = Reader(status_document, f"{where} status")
    intents = (status_document.get("intents") or []) if isinstance(status_document, Mapping) else []
    if not isinstance(intents, list):
        raise SchemaError(f"{where} status.intents: expected a list of objects, found {intents!r}")
    episode_id = spec.text("episode")
    entries = tuple(entry_from_dict(item, f"{where} status.intents[{n}]") for n, item in enumerate(intents))
    stray = next((e for e in entries if e.episode != episode_id), None)
    if stray is not None:
        raise SchemaError(
            f"{where} status.intents: {stray.key!r} belongs to episode {stray.episode!r}, not {episode_id!r}"
        )
    state_text = status.maybe_text("state")
    episode = Episode(
        id=episode_id,
        node=spec.text("node"),
        opened_at=spec.time("openedAt"),
        pool=spec.maybe_text("pool"),
        zone=spec.maybe_text("zone"),
        instance=spec.maybe_text("instance"),
        image=spec.maybe_text("image"),
        causes=_causes(spec, where),
        state=status.enum("state", EpisodeState) if state_text is not None else EpisodeState.OPEN,
        closed_at=status.maybe_time("closedAt"),
        note=status.maybe_text("note") or "",
        entries=entries,
    )
    return Kept(name=name, resource_version=meta.maybe_text("resourceVersion") or "", episode=episode)


def _causes(spec: Reader, where: str) -> tuple[SignalKind, ...]:
    texts = spec.texts("causes") if "causes" in spec.document else ()
    causes: list[SignalKind] = []
    for n, text in enumerate(texts):
        try:
            causes.append(SignalKind(text))
        except ValueError:
            raise SchemaError(f"{where} spec.causes[{n}]: {text!r} is not a signal nodewarden knows") from None
    return tuple(causes)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _recent(episode: Episode, since: datetime) -> bool:
    return episode.state is EpisodeState.OPEN or (episode.closed_at is not None and episode.closed_at >= since)


def _present(document: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if value is not None}


def _node_label(node: str) -> dict[str, str]:
    """The node as a label value, when it is one (at most 63 characters of [A-Za-z0-9._-])."""
    valid = len(node) <= 63 and all(c.isalnum() or c in "._-" for c in node) and node[:1].isalnum()
    return {NODE_LABEL: node} if valid and node[-1:].isalnum() else {}


def _cut(detail: str) -> str:
    return detail if len(detail) <= DETAIL_LIMIT else detail[: DETAIL_LIMIT - 1] + "…"

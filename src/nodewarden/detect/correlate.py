"""Correlated failures: when many nodes fail together the cause is not the nodes.

From this cycle's node problems, signals for a zone (ZoneFailure), a pool (PoolFailure and a pool-scoped
Storm), a node image (ImageFailure) and the whole cluster (a cluster-scoped Storm). The planner's zone
and storm breakers read them. Forecasts (Scheduled Events, metric outliers, disk-fill predictions) are
not failures and are left out, and one failing node is never a correlation: each needs ≥ 2 nodes failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta

from nodewarden.detect.inventory import NodeFacts
from nodewarden.detect.settings import DetectSettings
from nodewarden.model.health import PROBLEMS, Scope, Signal, SignalKind

FORECASTS = frozenset({SignalKind.SCHEDULED_EVENT, SignalKind.METRIC_OUTLIER, SignalKind.DISK_FILL_PREDICTED})
FAILURES = PROBLEMS - FORECASTS
MIN_FAILING = 2


def failure_onsets(signals: Mapping[str, Sequence[Signal]]) -> dict[str, datetime]:
    """For each failing node, when its earliest failure signal began."""
    onsets: dict[str, datetime] = {}
    for node, node_signals in signals.items():
        if not node_signals:
            continue
        times = [signal.since for signal in node_signals if signal.kind in FAILURES]
        if times:
            onsets[node] = min(times)
    return onsets


def correlated_signals(
    facts: Mapping[str, NodeFacts],
    onsets: Mapping[str, datetime],
    *,
    cluster: str,
    settings: DetectSettings,
) -> Iterator[Signal]:
    """ZoneFailure per zone, PoolFailure and Storm per pool, ImageFailure per image, Storm for the cluster."""
    yield from _zones(facts, onsets, settings=settings)
    for pool, members in _group(facts, lambda node: node.place.pool).items():
        failing = [name for name in members if name in onsets]
        if _storm(len(failing), len(members), settings):
            for kind in (SignalKind.POOL_FAILURE, SignalKind.STORM):
                yield _group_signal(kind, Scope.POOL, pool, failing, len(members), onsets, pool=pool)
    yield from _images(facts, onsets)
    failing = sorted(onsets)
    if _storm(len(failing), len(facts), settings):
        yield _group_signal(SignalKind.STORM, Scope.CLUSTER, cluster, failing, len(facts), onsets)


def _storm(failing: int, total: int, settings: DetectSettings) -> bool:
    return failing >= MIN_FAILING and failing / total > settings.storm_share


def _zones(
    facts: Mapping[str, NodeFacts], onsets: Mapping[str, datetime], *, settings: DetectSettings
) -> Iterator[Signal]:
    window = timedelta(seconds=settings.zone_window)
    for zone, members in _group(facts, lambda node: node.place.zone).items():
        together = _clustered_in_time(sorted((onsets[n], n) for n in members if n in onsets), window)
        if len(together) >= MIN_FAILING and len(together) >= settings.zone_share * len(members):
            yield _group_signal(SignalKind.ZONE_FAILURE, Scope.ZONE, zone, together, len(members), onsets, zone=zone)


def _clustered_in_time(timed: list[tuple[datetime, str]], window: timedelta) -> list[str]:
    """The largest set of nodes whose onsets all fall within `window` of each other (earliest such set)."""
    best: list[str] = []
    start = 0
    for end in range(len(timed)):
        while timed[end][0] - timed[start][0] > window:
            start += 1
        if end - start + 1 > len(best):
            best = [name for _, name in timed[start : end + 1]]
    return best


def _images(facts: Mapping[str, NodeFacts], onsets: Mapping[str, datetime]) -> Iterator[Signal]:
    """ImageFailure: ≥ 2 nodes of one image fail while nodes on every other image are fine."""
    by_image = _group(facts, lambda node: node.place.image)
    failing_images = {image for image, members in by_image.items() if any(n in onsets for n in members)}
    if len(by_image) < 2 or len(failing_images) != 1:
        return
    image = next(iter(failing_images))
    members = by_image[image]
    failing = [name for name in members if name in onsets]
    if len(failing) >= MIN_FAILING:
        yield _group_signal(SignalKind.IMAGE_FAILURE, Scope.IMAGE, image, failing, len(members), onsets, image=image)


def _group(facts: Mapping[str, NodeFacts], key: Callable[[NodeFacts], str | None]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for node in facts.values():
        value = key(node)
        if value:
            groups.setdefault(value, []).append(node.name)
    return groups


def _group_signal(
    kind: SignalKind,
    scope: Scope,
    subject: str,
    failing: list[str],
    total: int,
    onsets: Mapping[str, datetime],
    *,
    pool: str | None = None,
    zone: str | None = None,
    image: str | None = None,
) -> Signal:
    share = len(failing) / total
    return Signal(
        kind=kind,
        scope=scope,
        subject=subject,
        since=min(onsets[name] for name in failing),
        message=f"{len(failing)} of {total} nodes of {scope.value} {subject} are failing ({share:.0%})",
        evidence=tuple(f"Node {name} failing since {onsets[name].isoformat()}" for name in sorted(failing)),
        pool=pool,
        zone=zone,
        image=image,
        value=share,
    )

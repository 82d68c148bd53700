"""Metric signals (with `--prometheus`): nodes far from their pool's median, and disks about to fill.

- MetricOutlier: the robust z-score 0.6745·(x − median)/MAD (Iglewicz and Hoaglin) of a node's current
  value against its pool's; only high values (a node busier than its peers), only in pools of
  `outlier_min_pool` nodes or more, and never when MAD is 0 (the pool agrees, so nothing stands out).
- DiskFillPredicted: a least-squares line through the disk-used samples reaches 1.0 (full) within
  `disk_fill_horizon`; `value` is the seconds until then, counted from now.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from nodewarden.detect.inventory import NodeFacts
from nodewarden.detect.settings import DetectSettings
from nodewarden.model.health import Signal, SignalKind

CONSISTENCY = 0.6745  # makes MAD comparable to a standard deviation for normal data


class Metric(StrEnum):
    """A node series, each a used share between 0 and 1."""

    CPU = "cpu"
    MEMORY = "memory"
    DISK = "disk"


@dataclass(frozen=True)
class NodeMetrics:
    """What the Prometheus adapter read for this cycle: current values, and disk-used history."""

    current: Mapping[Metric, Mapping[str, float]] = field(default_factory=dict)  # metric → node → value
    disk_used: Mapping[str, Sequence[tuple[datetime, float]]] = field(default_factory=dict)  # node → samples


def median_and_mad(population: Sequence[float]) -> tuple[float, float]:
    """The median of a non-empty population and its median absolute deviation."""
    median = statistics.median(population)
    return median, statistics.median(abs(x - median) for x in population)


def robust_z(value: float, population: Sequence[float]) -> float | None:
    """The robust z-score of `value` in `population`; None when MAD is 0 or the population is empty."""
    if not population:
        return None
    median, mad = median_and_mad(population)
    return _z(value, median, mad)


def _z(value: float, median: float, mad: float) -> float | None:
    return None if mad == 0 else CONSISTENCY * (value - median) / mad


def fit_line(samples: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares (intercept, slope) of y over x; None with fewer than two distinct x."""
    n = len(samples)
    if n < 2:
        return None
    mean_x = sum(x for x, _ in samples) / n
    mean_y = sum(y for _, y in samples) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in samples)
    if sxx == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in samples) / sxx
    return mean_y - slope * mean_x, slope


def seconds_to_full(samples: Sequence[tuple[datetime, float]], *, now: datetime) -> float | None:
    """Seconds from `now` until the fitted disk-used line reaches 1.0; None if it is not rising."""
    points = [((at - now).total_seconds(), used) for at, used in samples if math.isfinite(used)]
    line = fit_line(points)
    if line is None:
        return None
    intercept, slope = line  # intercept: the fitted share now (x = 0 is now)
    if intercept >= 1.0:
        return 0.0
    if slope <= 0:
        return None
    return (1.0 - intercept) / slope


def metric_signals(
    metrics: NodeMetrics, facts: Mapping[str, NodeFacts], *, now: datetime, settings: DetectSettings
) -> Iterator[Signal]:
    yield from _outliers(metrics, facts, now=now, settings=settings)
    for name, samples in metrics.disk_used.items():
        node = facts.get(name)
        if node is None:
            continue
        seconds = seconds_to_full(samples, now=now)
        if seconds is None or seconds > settings.disk_fill_horizon:
            continue
        last = max(samples)
        yield node.signal(
            SignalKind.DISK_FILL_PREDICTED,
            since=node.seen_since(SignalKind.DISK_FILL_PREDICTED, Metric.DISK.value, now=now),
            message=f"disk predicted full in {seconds / 3600:.1f}h",
            evidence=(f"{len(samples)} disk-used samples, last {last[1]:.1%} at {last[0].isoformat()}",),
            condition=Metric.DISK.value,
            value=seconds,
        )


def _outliers(
    metrics: NodeMetrics, facts: Mapping[str, NodeFacts], *, now: datetime, settings: DetectSettings
) -> Iterator[Signal]:
    for metric, values in metrics.current.items():
        pools: dict[str, dict[str, float]] = {}
        for name, value in values.items():
            node = facts.get(name)
            if node is not None and node.place.pool and math.isfinite(value):
                pools.setdefault(node.place.pool, {})[name] = value
        for pool, members in pools.items():
            if len(members) < settings.outlier_min_pool:
                continue
            median, mad = median_and_mad(list(members.values()))
            for name, value in members.items():
                z = _z(value, median, mad)
                if z is None or z <= settings.outlier_z:
                    continue
                node = facts[name]
                yield node.signal(
                    SignalKind.METRIC_OUTLIER,
                    since=node.seen_since(SignalKind.METRIC_OUTLIER, metric.value, now=now),
                    message=f"{metric.value} {value:.1%} is far above pool {pool}'s median {median:.1%} (z={z:.1f})",
                    evidence=(f"{metric.value} of {len(members)} nodes in pool {pool}: median {median:.3f}",),
                    condition=metric.value,
                    value=z,
                )

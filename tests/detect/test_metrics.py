"""Metric signals: pool-relative outliers and disk-fill predictions."""

from __future__ import annotations

from datetime import timedelta

from nodewarden.detect import DetectSettings, Metric, NodeMetrics, detect
from nodewarden.model.health import SignalKind
from nodewarden.model.snapshot import Snapshot
from tests.detect.builders import T0, at, node, node_name

SETTINGS = DetectSettings()


def pool(size: int) -> Snapshot:
    return Snapshot(nodes=tuple(node("user", i) for i in range(size)))


def test_a_node_far_above_its_pool_median_is_an_outlier() -> None:
    values = {node_name("user", i): v for i, v in enumerate([0.30, 0.32, 0.31, 0.29, 0.33, 0.95])}
    detection = detect(pool(6), {}, T0, SETTINGS, metrics=NodeMetrics(current={Metric.MEMORY: values}))
    [signal] = detection.of_kind(SignalKind.METRIC_OUTLIER)
    assert signal.node == node_name("user", 5)
    assert signal.condition == "memory"
    assert signal.value is not None
    assert signal.value > SETTINGS.outlier_z


def test_small_pools_and_pools_that_agree_have_no_outliers() -> None:
    small = {node_name("user", i): v for i, v in enumerate([0.3, 0.3, 0.95])}
    same = {node_name("user", i): v for i, v in enumerate([0.3, 0.3, 0.3, 0.3, 0.9])}  # MAD 0
    for values, size in ((small, 3), (same, 5)):
        metrics = NodeMetrics(current={Metric.CPU: values})
        assert not detect(pool(size), {}, T0, SETTINGS, metrics=metrics).of_kind(SignalKind.METRIC_OUTLIER)


def test_a_disk_filling_fast_is_predicted_full() -> None:
    # 1 % a minute, now at 80 %: full in 20 minutes
    samples = [(at(-60 * k), 0.80 - 0.01 * k) for k in range(10)]
    metrics = NodeMetrics(disk_used={node_name("user", 0): samples})
    [signal] = detect(pool(1), {}, T0, SETTINGS, metrics=metrics).of_kind(SignalKind.DISK_FILL_PREDICTED)
    assert signal.value is not None
    assert abs(signal.value - timedelta(minutes=20).total_seconds()) < 1


def test_a_flat_or_slow_disk_is_not_predicted_full() -> None:
    flat = [(at(-60 * k), 0.5) for k in range(10)]
    slow = [(at(-3600 * k), 0.5 - 0.01 * k) for k in range(10)]  # 1 % an hour: 50 h to full
    for samples in (flat, slow):
        metrics = NodeMetrics(disk_used={node_name("user", 0): samples})
        assert not detect(pool(1), {}, T0, SETTINGS, metrics=metrics).of_kind(SignalKind.DISK_FILL_PREDICTED)

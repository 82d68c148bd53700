"""Correlated failures: a zone, a pool, a node image, the whole cluster."""

from __future__ import annotations

from nodewarden.detect import DetectSettings, detect
from nodewarden.model.health import Scope, SignalKind
from nodewarden.model.kube import Node
from nodewarden.model.snapshot import Snapshot
from tests.detect.builders import T0, at, node

SETTINGS = DetectSettings()
OLD = "AKSUbuntu-2204gen2containerd-202610.01.0"
NEW = "AKSUbuntu-2204gen2containerd-202611.01.0"


def nodes(pool: str, zones: list[str], failing: set[int], *, image: str = NEW, failed_at: float = -60) -> list[Node]:
    return [
        node(pool, i, zone=zone, image=image, ready="False" if i in failing else "True", ready_since=at(failed_at))
        for i, zone in enumerate(zones)
    ]


def test_half_of_a_zone_failing_together_is_a_zone_failure() -> None:
    cluster = nodes("user", ["eastus-1", "eastus-1", "eastus-2", "eastus-2", "eastus-3", "eastus-3"], {0, 1})
    [signal] = detect(Snapshot(nodes=tuple(cluster)), {}, T0, SETTINGS).of_kind(SignalKind.ZONE_FAILURE)
    assert (signal.scope, signal.subject, signal.zone) == (Scope.ZONE, "eastus-1", "eastus-1")
    assert signal.value == 1.0
    assert len(signal.evidence) == 2


def test_one_of_three_nodes_in_a_zone_failing_is_no_zone_failure() -> None:
    cluster = nodes("user", ["eastus-1"] * 3 + ["eastus-2"] * 3, {0})
    assert not detect(Snapshot(nodes=tuple(cluster)), {}, T0, SETTINGS).of_kind(SignalKind.ZONE_FAILURE)


def test_failures_far_apart_in_time_are_no_zone_failure() -> None:
    early = nodes("user", ["eastus-1"], {0}, failed_at=-3600)
    late = [node("user", 1, zone="eastus-1", ready="False", ready_since=at(-60)), node("user", 2, zone="eastus-1")]
    late.append(node("user", 3, zone="eastus-1"))
    assert not detect(Snapshot(nodes=(*early, *late)), {}, T0, SETTINGS).of_kind(SignalKind.ZONE_FAILURE)


def test_half_a_pool_failing_is_a_pool_failure_and_a_storm() -> None:
    cluster = nodes("user", ["eastus-1", "eastus-2", "eastus-3", "eastus-1"], {0, 1})
    cluster += nodes("system", ["eastus-1", "eastus-2", "eastus-3", "eastus-1", "eastus-2", "eastus-3"], set())
    detection = detect(Snapshot(nodes=tuple(cluster)), {}, T0, SETTINGS)
    [pool] = detection.of_kind(SignalKind.POOL_FAILURE)
    assert (pool.subject, pool.value) == ("user", 0.5)
    [storm] = detection.of_kind(SignalKind.STORM)
    assert storm.scope is Scope.POOL
    assert storm.pool == "user"


def test_a_few_failures_in_a_pool_are_no_storm() -> None:
    cluster = nodes("user", ["eastus-1", "eastus-2", "eastus-3"] * 2, {0})
    detection = detect(Snapshot(nodes=tuple(cluster)), {}, T0, SETTINGS)
    assert not detection.of_kind(SignalKind.POOL_FAILURE)
    assert not detection.of_kind(SignalKind.STORM)


def test_most_of_the_cluster_failing_is_a_cluster_storm() -> None:
    cluster = nodes("user", ["eastus-1", "eastus-2", "eastus-3"], {0, 1}) + nodes("sys", ["eastus-1"] * 2, {0})
    storms = detect(Snapshot(nodes=tuple(cluster)), {}, T0, SETTINGS).of_kind(SignalKind.STORM)
    assert Scope.CLUSTER in {s.scope for s in storms}


def test_failures_on_one_image_while_the_other_image_is_fine_is_an_image_failure() -> None:
    cluster = nodes("user", ["eastus-1", "eastus-2", "eastus-3"], {0, 1}, image=NEW)
    cluster += [node("user", i, zone="eastus-1", image=OLD) for i in range(3, 9)]
    [signal] = detect(Snapshot(nodes=tuple(cluster)), {}, T0, SETTINGS).of_kind(SignalKind.IMAGE_FAILURE)
    assert (signal.scope, signal.subject, signal.image) == (Scope.IMAGE, NEW, NEW)


def test_failures_on_both_images_are_no_image_failure() -> None:
    cluster = nodes("user", ["eastus-1", "eastus-2"], {0, 1}, image=NEW)
    cluster += [node("user", 5, image=OLD, ready="False", ready_since=at(-5)), node("user", 6, image=OLD)]
    assert not detect(Snapshot(nodes=tuple(cluster)), {}, T0, SETTINGS).of_kind(SignalKind.IMAGE_FAILURE)


def test_one_image_everywhere_is_no_image_failure() -> None:
    cluster = nodes("user", ["eastus-1", "eastus-2", "eastus-3"] * 2, {0, 1})
    assert not detect(Snapshot(nodes=tuple(cluster)), {}, T0, SETTINGS).of_kind(SignalKind.IMAGE_FAILURE)

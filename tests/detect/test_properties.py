"""Properties: detection never fails on odd clusters, and its arithmetic matches brute-force references."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from nodewarden.detect import DetectSettings, Metric, NodeMetrics, detect
from nodewarden.detect.metrics import fit_line, robust_z, seconds_to_full
from nodewarden.model.azure import ScaleSetInstance
from nodewarden.model.health import HealthState
from nodewarden.model.kube import Lease, Node
from nodewarden.model.snapshot import Snapshot
from nodewarden.model.timestamps import parse_time
from tests.detect.builders import T0, iso, vm_id

SETTINGS = DetectSettings()
NAMES = [f"aks-user-1-vmss{i:06d}" for i in range(8)]
CONDITION_TYPES = ["Ready", "MemoryPressure", "DiskPressure", "KernelDeadlock", "NetworkUnavailable", "Other"]

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
near = st.integers(min_value=-7200, max_value=7200).map(lambda s: iso(T0 + timedelta(seconds=s)))
times = st.one_of(st.none(), near, instants.map(iso), st.text(max_size=12))


@st.composite
def nodes(draw: st.DrawFn, name: str) -> Node:
    conditions = [
        {
            "type": draw(st.sampled_from(CONDITION_TYPES)),
            "status": draw(st.sampled_from(["True", "False", "Unknown", None])),
            "lastTransitionTime": draw(times),
        }
        for _ in range(draw(st.integers(0, 4)))
    ]
    labels = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "kubernetes.azure.com/agentpool": st.sampled_from(["user", "system"]),
                "topology.kubernetes.io/zone": st.sampled_from(["eastus-1", "eastus-2", "0"]),
                "kubernetes.azure.com/node-image-version": st.sampled_from(["img-a", "img-b"]),
            },
        )
    )
    spec: dict[str, Any] = {}
    if draw(st.booleans()):
        spec["providerID"] = "azure://" + vm_id("aks-user-1-vmss", draw(st.integers(0, 9)))
    if draw(st.booleans()):
        spec["taints"] = [{"key": "ToBeDeletedByClusterAutoscaler", "value": draw(times) or ""}]
    status = {"conditions": conditions} if draw(st.booleans()) else None
    return TypeAdapter(Node).validate_python(
        {"metadata": {"name": name, "labels": labels}, "spec": spec, "status": status}
    )


@st.composite
def clusters(draw: st.DrawFn) -> Snapshot:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=8))
    leases = [
        TypeAdapter(Lease).validate_python(
            {"metadata": {"name": n, "namespace": "kube-node-lease"}, "spec": {"renewTime": draw(times)}}
        )
        for n in names
        if draw(st.booleans())
    ]
    instances = [
        TypeAdapter(ScaleSetInstance).validate_python(
            {
                "instance_id": str(i),
                "id": vm_id("aks-user-1-vmss", i),
                "instance_view": {
                    "computer_name": draw(st.sampled_from([*NAMES, None])),
                    "statuses": [
                        {"code": draw(st.sampled_from(["PowerState/running", "PowerState/stopped", "Bogus"]))},
                        {
                            "code": draw(
                                st.sampled_from(["ProvisioningState/succeeded", "ProvisioningState/failed/X"])
                            ),
                            "time": draw(times),
                        },
                    ],
                },
            }
        )
        for i in draw(st.lists(st.integers(0, 9), unique=True, max_size=6))
    ]
    return Snapshot(nodes=tuple(draw(nodes(n)) for n in names), leases=tuple(leases), instances=tuple(instances))


@settings(max_examples=150, deadline=None)
@given(
    snapshot=clusters(),
    later=clusters(),
    now=st.integers(-3600, 3600).map(lambda s: T0 + timedelta(seconds=s)),
    remediating=st.frozensets(st.sampled_from(NAMES)),
    failed=st.frozensets(st.sampled_from(NAMES)),
)
def test_detect_never_raises_and_every_node_has_health(
    snapshot: Snapshot, later: Snapshot, now: datetime, remediating: frozenset[str], failed: frozenset[str]
) -> None:
    first = detect(snapshot, {}, now, SETTINGS, remediating=remediating, failed=failed)
    second = detect(later, first.health, now + timedelta(seconds=30), SETTINGS, remediating=remediating)
    for snap, detection in ((snapshot, first), (later, second)):
        assert set(detection.health) == {n.metadata.name for n in snap.nodes}
        for health in detection.health.values():
            problems = tuple(s for s in detection.node_signals(health.node) if s.is_problem)
            assert health.signals == problems
            if not problems:
                assert health.state is not HealthState.UNHEALTHY


@given(values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30), pick=st.integers(0, 29))
def test_robust_z_matches_a_sorting_reference(values: list[float], pick: int) -> None:
    def median(xs: list[float]) -> float:
        s = sorted(xs)
        mid = len(s) // 2
        return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2

    x = values[pick % len(values)]
    center = median(values)
    mad = median([abs(v - center) for v in values])
    z = robust_z(x, values)
    if mad == 0:
        assert z is None
    else:
        assert z is not None
        assert abs(z - 0.6745 * (x - center) / mad) <= 1e-9 * max(1.0, abs(z))


@given(points=st.lists(st.tuples(st.integers(-1000, 1000), st.integers(-1000, 1000)), min_size=2, max_size=20))
def test_fit_line_matches_exact_least_squares(points: list[tuple[int, int]]) -> None:
    n = len(points)
    sx, sy = sum(Fraction(x) for x, _ in points), sum(Fraction(y) for _, y in points)
    sxx = sum(Fraction(x) ** 2 for x, _ in points)
    sxy = sum(Fraction(x) * y for x, y in points)
    denominator = n * sxx - sx * sx
    line = fit_line([(float(x), float(y)) for x, y in points])
    if denominator == 0:
        assert line is None
        return
    slope = (n * sxy - sx * sy) / denominator
    intercept = (sy - slope * sx) / n
    assert line is not None
    assert abs(line[1] - float(slope)) <= 1e-6 * max(1.0, abs(float(slope)))
    assert abs(line[0] - float(intercept)) <= 1e-6 * max(1.0, abs(float(intercept)))


@given(rate=st.floats(1e-6, 1e-2), level=st.floats(0.0, 0.99))
def test_seconds_to_full_on_an_exact_line(rate: float, level: float) -> None:
    samples = [(T0 - timedelta(seconds=60 * k), level - rate * 60 * k) for k in range(5)]
    seconds = seconds_to_full(samples, now=T0)
    assert seconds is not None
    assert abs(seconds - (1.0 - level) / rate) <= 1e-6 * max(1.0, (1.0 - level) / rate)


@given(moment=instants.map(lambda d: d.replace(microsecond=0)))
def test_parse_time_reads_rfc3339_rfc1123_and_unix_seconds(moment: datetime) -> None:
    assert parse_time(iso(moment)) == moment
    assert parse_time(moment.strftime("%a, %d %b %Y %H:%M:%S GMT")) == moment
    assert parse_time(str(int(moment.timestamp()))) == moment


@given(text=st.text(max_size=40))
def test_parse_time_never_raises(text: str) -> None:
    parsed = parse_time(text)
    assert parsed is None or parsed.tzinfo is not None


def test_metrics_for_unknown_nodes_are_ignored() -> None:
    metrics = NodeMetrics(current={Metric.CPU: {"ghost": 1.0}}, disk_used={"ghost": [(T0, 0.99)]})
    assert detect(Snapshot(), {}, T0, SETTINGS, metrics=metrics).signals == ()

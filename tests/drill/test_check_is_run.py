"""`drill check` refuses what `drill run` refuses, with the same one line naming the file and the field.

Issue 17: `drill check` accepted a target pool outside `scope.pools`, a zone fault without `scope.zones`, a missing
target and an unknown option, which `drill run` then refused; `rate: lots` passed both and failed only at
injection; a huge `abort.after` made `drill check` exit 3. Both commands now go through `drill/spec.py` (shape and
ranges) and `faults.check` (catalogue, options, target and scope) before anything starts.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from nodewarden.drill import faults
from nodewarden.drill.spec import DrillError, DrillSpec, parse_drill
from nodewarden.model.snapshot import Snapshot
from nodewarden.twin.azure import scheduled_events
from tests.conftest import Invoke
from tests.strategies import HOSTILE_SCALARS

CRASH: dict[str, Any] = {
    "apiVersion": "nodewarden.io/v1",
    "kind": "Drill",
    "metadata": {"name": "crash"},
    "spec": {"scope": {"pools": ["apps"]}, "fault": {"type": "instance-crash", "target": {"pool": "apps"}}},
}


def drill(**spec: Any) -> dict[str, Any]:
    """The crash drill with `spec` keys replaced (None removes one)."""
    document: dict[str, Any] = yaml.safe_load(yaml.safe_dump(CRASH))
    for key, value in spec.items():
        if value is None:
            document["spec"].pop(key)
        else:
            document["spec"][key] = value
    return document


BAD = [
    pytest.param(drill(fault={"type": "instance-crash", "target": {"pool": "data"}}), "spec.fault.target.pool",
                 id="target-pool-outside-the-scope"),
    pytest.param(drill(fault={"type": "zone-outage", "target": {"zone": "1"}}), "spec.scope.zones",
                 id="zone-fault-without-scope-zones"),
    pytest.param(drill(scope={"pools": ["apps"], "zones": ["2"]},
                       fault={"type": "zone-outage", "target": {"zone": "1"}}),
                 "spec.fault.target.zone", id="zone-outside-the-scope"),
    pytest.param(drill(scope={"pools": ["apps"], "zones": ["2"]},
                       fault={"type": "kubelet-hang", "target": {"pool": "apps", "zone": "3"}}),
                 "spec.fault.target.zone", id="node-fault-zone-outside-the-scope"),
    pytest.param(drill(fault={"type": "instance-crash"}), "spec.fault.target", id="missing-target"),
    pytest.param(drill(fault={"type": "arm-errors", "target": {"pool": "apps"}}), "spec.fault.target",
                 id="target-for-a-cluster-fault"),
    pytest.param(drill(fault={"type": "bad-image", "target": {"pool": "apps", "zone": "1"}}),
                 "spec.fault.target.zone", id="pool-fault-with-a-zone"),
    pytest.param(drill(fault={"type": "instance-crash", "target": {"pool": "apps"}, "options": {"force": True}}),
                 "spec.fault.options.force", id="unknown-option"),
    pytest.param(drill(fault={"type": "arm-errors", "options": {"rate": "lots"}}), "spec.fault.options.rate",
                 id="rate-lots"),
    pytest.param(drill(fault={"type": "kube-errors", "options": {"rate": 2}}), "spec.fault.options.rate",
                 id="rate-above-one"),
    pytest.param(drill(fault={"type": "arm-throttle", "options": {"rate": True}}), "spec.fault.options.rate",
                 id="rate-boolean"),
    pytest.param(drill(fault={"type": "planned-maintenance", "target": {"pool": "apps"},
                              "options": {"event_type": "Explode"}}),
                 "spec.fault.options.event_type", id="event-type"),
    pytest.param(drill(fault={"type": "planned-maintenance", "target": {"pool": "apps"},
                              "options": {"not_before_seconds": 10**30}}),
                 "spec.fault.options.not_before_seconds", id="not-before-huge"),
    pytest.param(drill(fault={"type": "planned-maintenance", "target": {"pool": "apps"},
                              "options": {"not_before_seconds": 1.5}}),
                 "spec.fault.options.not_before_seconds", id="not-before-fraction"),
    pytest.param(drill(fault={"type": "disk-pressure", "target": {"pool": "apps"}, "options": {"status": "maybe"}}),
                 "spec.fault.options.status", id="status"),
    pytest.param(drill(fault={"type": "bad-image", "target": {"pool": "apps"}, "options": {"on": "sometimes"}}),
                 "spec.fault.options.on", id="on"),
    pytest.param(drill(fault={"type": "node-drain", "target": {"pool": "apps"},
                              "options": {"timeout_seconds": 1e300}}),
                 "spec.fault.options.timeout_seconds", id="timeout-huge"),
    pytest.param(drill(abort={"after": 99999999999999999}), "spec.abort.after", id="abort-after-past-timedelta"),
    pytest.param(drill(abort={"after": "999999h"}), "spec.abort.after", id="abort-after-hours"),
    pytest.param(drill(settle=90000), "spec.settle", id="settle-over-a-day"),
    pytest.param(drill(fault={"type": "instance-crash", "target": {"pool": "apps"}, "duration": "25h"}),
                 "spec.fault.duration", id="fault-duration"),
    pytest.param(drill(expect={"timeToDetect": 10**20}), "spec.expect.timeToDetect", id="time-to-detect"),
    pytest.param(drill(expect={"maxPodsDisrupted": 10**12}), "spec.expect.maxPodsDisrupted", id="pods-disrupted"),
    pytest.param(drill(abort={"minReadyNodes": 10**400}), "spec.abort.minReadyNodes", id="share-huge-int"),
]  # fmt: skip


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(("document", "field"), BAD)
def test_check_and_a_dry_run_refuse_the_same_drill_with_the_same_line(
    invoke: Invoke, tmp_path: Path, document: dict[str, Any], field: str
) -> None:
    path = write(tmp_path, document)
    checked = invoke("drill", "check", str(path))
    ran = invoke("drill", "run", str(path), "--dry-run", "--on-twin", "small", "--state-dir", str(tmp_path / "s"))
    assert (checked.code, ran.code) == (2, 2), (checked.err, ran.err)
    line = one_line(checked.err)
    assert line.startswith(f"nodewarden: {path}: {field}"), line
    assert len(line) < 400, line  # a 400-digit value is not repeated whole
    assert one_line(ran.err) == line
    assert not (tmp_path / "s").exists()  # refused before the twin, the journal or anything else started


def test_a_good_drill_passes_both(invoke: Invoke, tmp_path: Path) -> None:
    document = drill(fault={"type": "arm-errors", "options": {"rate": 0.5}}, abort={"after": "24h"})
    path = write(tmp_path, document)
    checked = invoke("drill", "check", str(path))
    ran = invoke("drill", "run", str(path), "--dry-run", "--on-twin", "small", "--state-dir", str(tmp_path / "s"))
    assert (checked.code, ran.code) == (0, 0), (checked.err, ran.err)
    assert "dry run: would inject arm-errors on the whole cluster" in ran.out


def test_the_runner_refuses_what_check_refuses_even_when_called_directly() -> None:
    """`faults.resolve` (what `run_drill` calls) runs `faults.check` first: no path around it."""
    spec = DrillSpec.model_validate({"scope": {"pools": ["apps"]}, "fault": {"type": "arm-errors",
                                                                             "options": {"rate": "lots"}}})  # fmt: skip
    with pytest.raises(DrillError, match=r"spec\.fault\.options\.rate: expected a share of calls from 0 to 1"):
        faults.check(spec)
    with pytest.raises(DrillError, match=r"spec\.fault\.options\.rate"):
        faults.resolve(spec, Snapshot())


@pytest.mark.parametrize(
    ("options", "fault"),
    [
        ({"status": False}, "disk-pressure"),  # YAML reads `status: False` as a boolean; the twin writes "False"
        ({"status": "Unknown"}, "kernel-deadlock"),
        ({"on": False}, "bad-image"),
        ({"on": "off"}, "bad-image"),
        ({"on": 1}, "bad-image"),
        ({"rate": 0}, "arm-throttle"),
        ({"rate": 1.0}, "kube-errors"),
        ({"event_type": "Redeploy", "not_before_seconds": 600}, "planned-maintenance"),
        ({"timeout_seconds": 86400, "grace_period_seconds": 0}, "node-drain"),
    ],
)
def test_options_the_twin_and_the_injectors_take_are_accepted(options: dict[str, Any], fault: str) -> None:
    kind = faults.fault_kind(fault)
    target = None if kind.target == "none" else {kind.target if kind.target != "node" else "pool": "1"}
    scope = {"pools": ["1"], "zones": ["1"]}
    document = {**CRASH, "spec": {"scope": scope, "fault": {"type": fault, "options": options, "target": target}}}
    if target is None:
        del document["spec"]["fault"]["target"]
    assert faults.check(parse_drill(yaml.safe_dump(document), source="d.yaml").spec) is kind


def test_every_option_in_the_catalogue_has_a_check() -> None:
    assert {name for kind in faults.CATALOGUE for name in kind.options} <= set(faults.OPTION_CHECKS)


def test_the_event_types_are_the_twins() -> None:
    assert faults.EVENT_TYPES == scheduled_events.EVENT_TYPES


PLACES = (
    ("abort", "after"), ("abort", "minReadyNodes"), ("settle",), ("expect", "timeToDetect"),
    ("expect", "maxPodsDisrupted"), ("steadyState", "minReplicaShare"), ("fault", "duration"),
)  # fmt: skip
OPTIONS = (
    ("arm-errors", "rate"), ("bad-image", "on"), ("disk-pressure", "status"), ("planned-maintenance", "event_type"),
    ("planned-maintenance", "not_before_seconds"), ("node-drain", "timeout_seconds"),
    ("node-drain", "grace_period_seconds"),
)  # fmt: skip


@given(place=st.sampled_from(PLACES), value=HOSTILE_SCALARS)
def test_any_value_in_any_field_is_a_drill_or_a_field_error(place: tuple[str, ...], value: object) -> None:
    fault: dict[str, Any] = {"type": "instance-crash", "target": {"pool": "apps"}}
    document: dict[str, Any] = {"scope": {"pools": ["apps"]}, "fault": fault}
    where = document
    for key in place[:-1]:
        where = where.setdefault(key, {})
    where[place[-1]] = value
    with contextlib.suppress(ValidationError, DrillError):  # a field error is fine; anything else is not
        faults.check(DrillSpec.model_validate(document))


@given(option=st.sampled_from(OPTIONS), value=HOSTILE_SCALARS)
def test_any_option_value_is_accepted_or_refused_naming_the_option(option: tuple[str, str], value: object) -> None:
    fault, name = option
    kind = faults.fault_kind(fault)
    body: dict[str, Any] = {"type": fault, "options": {name: value}}
    if kind.target != "none":
        body["target"] = {"pool": "apps"}
    spec = DrillSpec.model_validate({"scope": {"pools": ["apps"]}, "fault": body})
    problem = faults.OPTION_CHECKS[name](value)
    if problem is None:
        assert faults.check(spec) is kind
        return
    with pytest.raises(DrillError) as raised:
        faults.check(spec)
    assert str(raised.value) == f"spec.fault.options.{name}: {problem}"
    assert len(problem) < 300

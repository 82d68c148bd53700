"""`nodewarden policy`, `plan`, `watch` and `run` as a user runs them (in-process, against the twin)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from nodewarden.model.remediation import Episode, HoldReason
from nodewarden.state import Journal
from nodewarden.twin.service import Twin
from tests.conftest import Invoke
from tests.state.conftest import CRD_FILES


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin("small", advance_on_poll=30) as running:
        yield running


def _crash_one(twin: Twin) -> str:
    node = str(min(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"]))
    twin.inject("instance-crash", target=node)
    twin.advance(35)
    return node


def test_policy_show_prints_the_built_in_policy(invoke: Invoke) -> None:
    shown = invoke("policy", "show")
    assert shown.code == 0
    document = yaml.safe_load(shown.out)
    assert document["kind"] == "RemediationPolicy"
    assert document["spec"]["mode"] == "dry-run"


def test_policy_check_names_the_misspelt_field(invoke: Invoke, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("apiVersion: nodewarden.io/v1\nkind: RemediationPolicy\nspec:\n  guards: {maxInflight: 2}\n")
    checked = invoke("policy", "check", str(policy))
    assert checked.code == 2
    assert "maxInflight" in checked.err
    assert "maxInFlight" in checked.err, "suggests the right spelling"
    assert "Traceback" not in checked.err


def test_plan_on_the_twin_proposes_a_cordon_and_changes_nothing(invoke: Invoke, twin: Twin) -> None:
    node = _crash_one(twin)
    planned = invoke("plan", "--twin", str(twin.state_dir), "-o", "json")
    assert planned.code == 0, planned.err
    decided = json.loads(planned.out)
    assert [(a["step"], a["subject"]) for a in decided["actions"]] == [("Cordon", node)]
    assert not twin.world.store.get("nodes", None, node).get("spec", {}).get("unschedulable")


def test_plan_shows_the_episodes_it_would_close(invoke: Invoke, twin: Twin, tmp_path: Path) -> None:
    """An open episode whose node left the cluster with no step of ours pending ends now (heal/lifecycle.py):
    `plan` shows that closure, as `run` would journal it."""
    with Journal.open(tmp_path) as journal:
        journal.open_episode(
            Episode(id="ep-gone", node="aks-apps-gone-vmss000009", opened_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
    planned = invoke("plan", "--twin", str(twin.state_dir), "--state-dir", str(tmp_path), "-o", "json")
    assert planned.code == 0, planned.err
    assert json.loads(planned.out)["closures"] == [
        {"episode": "ep-gone", "state": "abandoned", "note": "the node went away"}
    ]
    table = invoke("plan", "--twin", str(twin.state_dir), "--state-dir", str(tmp_path)).out
    [row] = [line.split("│") for line in table.splitlines() if "ep-gone" in line]
    assert [cell.strip() for cell in row][1:4] == ["ep-gone", "abandoned", "the node went away"]


def test_plan_reads_exported_files(invoke: Invoke) -> None:
    planned = invoke("plan", "examples/cluster", "--now", "2026-11-26T12:00:00Z", "-o", "json")
    assert planned.code == 0, planned.err
    decided = json.loads(planned.out)
    assert decided["now"] == "2026-11-26T12:00:00Z"
    assert {h["node"] for h in decided["health"]} == _example_nodes(), "every exported node is judged"


def _example_nodes() -> set[str]:
    listed = json.loads(Path("examples/cluster/k8s-nodes.json").read_text())
    return {item["metadata"]["name"] for item in listed["items"]}


def test_watch_once_streams_signals_as_json_lines(invoke: Invoke, twin: Twin) -> None:
    node = _crash_one(twin)
    watched = invoke("watch", "--twin", str(twin.state_dir), "--once", "-o", "json")
    assert watched.code == 0, watched.err
    signals = [json.loads(line) for line in watched.out.splitlines()]
    assert {"kind": "HeartbeatStale", "node": node} in [{"kind": s["kind"], "node": s.get("node")} for s in signals]


def test_run_without_apply_journals_what_it_would_do_and_changes_nothing(
    invoke: Invoke, twin: Twin, tmp_path: Path
) -> None:
    node = _crash_one(twin)
    state = tmp_path / "state"
    ran = invoke("run", "--twin", str(twin.state_dir), "--once", "--state-dir", str(state), "--listen", "127.0.0.1:0")
    assert ran.code == 0, ran.err
    assert not twin.world.store.get("nodes", None, node).get("spec", {}).get("unschedulable"), "dry run: no cordon"
    with Journal.open(state) as journal:
        holds = journal.holds()
        assert journal.entries() == []
    assert [(h.reason, h.node, h.step.value if h.step else None) for _, h in holds] == [
        (HoldReason.DRY_RUN, node, "Cordon")
    ]


def test_run_rejects_a_bad_listen_address(invoke: Invoke, twin: Twin, tmp_path: Path) -> None:
    ran = invoke("run", "--twin", str(twin.state_dir), "--once", "--state-dir", str(tmp_path), "--listen", "nowhere")
    assert ran.code == 2
    assert "--listen" in ran.err


def test_run_with_the_state_in_a_cluster_without_the_crds_says_to_install_them(
    invoke: Invoke, twin: Twin, tmp_path: Path
) -> None:
    ran = invoke("run", "--twin", str(twin.state_dir), "--once", "--state", "cluster", "--state-dir", str(tmp_path),
                 "--listen", "127.0.0.1:0")  # fmt: skip
    assert ran.code == 2
    assert "kubectl apply -k deploy/crds" in ran.err
    assert "Traceback" not in ran.err
    wrong = invoke("run", "--twin", str(twin.state_dir), "--once", "--state", "etcd", "--listen", "127.0.0.1:0")
    assert wrong.code == 2
    assert "--state: expected one of auto, cluster, dir, found 'etcd'" in wrong.err


def test_run_in_a_cluster_keeps_its_episodes_in_noderemediations_and_incidents_lists_them(
    invoke: Invoke, tmp_path: Path
) -> None:
    with Twin("small", advance_on_poll=30, manifests=CRD_FILES) as twin:
        node = _crash_one(twin)
        twin.advance(60)
        target = ("--twin", str(twin.state_dir))
        for _ in range(3):
            ran = invoke("run", *target, "--once", "--apply", "--state", "cluster", "--state-dir",
                         str(tmp_path / "local"), "--listen", "127.0.0.1:0")  # fmt: skip
            assert ran.code == 0, ran.err
            twin.advance(10)
        [remediation] = twin.world.store.items("noderemediations.nodewarden.io")
        assert remediation["spec"]["node"] == node
        assert remediation["status"]["intents"][0]["step"] == "Cordon"
        listed = invoke("incidents", "list", *target, "-o", "json")
        assert listed.code == 0, listed.err
        assert [node] in [incident["nodes"] for incident in json.loads(listed.out)]
        with Journal.open_readonly(tmp_path / "local") as local:  # the steps went to the cluster, not the file
            assert local.entries() == []
            assert local.signal_records(), "the signal log stays local"


def test_watch_shows_who_is_acting_on_a_node_through_a_node_command(invoke: Invoke, twin: Twin) -> None:
    """Issue 12, "people are invisible": a node an operator restarts with `nodewarden node restart` carries a mark
    the controller holds for (OperatorAction); `watch` shows it with the actor, step and reason."""
    node = str(min(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"]))
    restarted = invoke(
        "node",
        "restart",
        node,
        "--force",
        "--twin",
        str(twin.state_dir),
        "--actor",
        "alice@laptop",
        "--reason",
        "kernel patch",
    )
    assert restarted.code == 0, restarted.err
    table = invoke("watch", "--twin", str(twin.state_dir), "--once").out
    assert "operator actions (run holds these nodes: OperatorAction)" in table
    [row] = [line.split("│") for line in table.splitlines() if "alice@laptop" in line]
    assert [cell.strip() for cell in row][1:4] == [node, "Restart", "alice@laptop"]
    assert "kernel patch" in row[-2]
    streamed = invoke("watch", "--twin", str(twin.state_dir), "--once", "-o", "json")
    [mark] = [line for line in map(json.loads, streamed.out.splitlines()) if line["kind"] == "OperatorAction"]
    assert (mark["node"], mark["step"], mark["actor"], mark["reason"]) == (
        node,
        "Restart",
        "alice@laptop",
        "kernel patch",
    )

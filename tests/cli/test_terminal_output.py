"""What a new user reads in a terminal, a log or a pipe (issue 25, "Terminal output"): help drawn wide enough
when not on a terminal and without `<bool>` beside flags, one `--format`/`-o` flag everywhere (`--output-format`
kept as a hidden alias), `audit -r` saying which rules it left out, `watch`'s FOR column counting from when the
condition began, and the controller's cycle line counting the nodes that are down."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
import yaml
from typer import _click as click

from nodewarden.cli.main import app
from nodewarden.twin.service import Twin
from tests.conftest import Invoke

EXAMPLES = Path(__file__).parents[2] / "examples"
NOW = "2026-11-26T12:00:00Z"


@pytest.fixture
def not_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Help and tables as in a pipe or a CI log: no COLUMNS, no typer TERMINAL_WIDTH."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every command and group, as the words a user types."""

    def walk(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden:
                yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


@pytest.mark.usefixtures("not_on_a_terminal")
def test_run_help_in_a_pipe_draws_every_option_name_whole(invoke: Invoke) -> None:
    shown = invoke("run", "--help")
    assert shown.code == 0, shown.err
    names = ["--alert-token-file", "--leader-election", "--no-leader-election", "--lease-namespace", "--notify-config",
             "--retention-days", "--resource-group", "--azure-config", "--prometheus", "--state-dir"]  # fmt: skip
    for name in names:
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", shown.out), f"{name} split or cut:\n{shown.out}"


def test_help_honours_columns_when_it_is_set(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)
    shown = invoke("run", "--help")
    assert max(len(line) for line in shown.out.splitlines()) == 100


@pytest.mark.usefixtures("not_on_a_terminal")
def test_no_help_shows_a_bool_type_beside_a_flag(invoke: Invoke) -> None:
    paths = list(command_paths())
    assert {("node", "restart"), ("drill", "run")} <= set(paths), "walks the subcommands too"
    for path in paths:
        shown = invoke(*path, "--help")
        assert shown.code == 0, (path, shown.err)
        assert "<bool>" not in shown.out, " ".join(path)
    assert "<path>" in invoke("run", "--help").out, "options that take a value still show its type"


FORMAT_COMMANDS = [
    ("audit", str(EXAMPLES / "cluster")),
    ("rules",),
    ("incidents", "list"),
    ("incidents", "report", "inc-1"),
    ("watch",),
    ("plan",),
    ("drill", "run", str(EXAMPLES / "drills" / "single-instance-crash.yaml")),
]


@pytest.mark.parametrize("command", FORMAT_COMMANDS, ids=lambda words: " ".join(words[:2]))
@pytest.mark.parametrize("flag", ["--format", "-o", "--output-format"])
def test_every_command_that_prints_a_format_takes_format_o_and_the_old_spelling(
    invoke: Invoke, command: tuple[str, ...], flag: str
) -> None:
    """An unknown format is refused by name, before any cluster or file is read: the flag itself was taken."""
    refused = invoke(*command, flag, "xml")
    assert refused.code == 2, refused.err
    assert "No such option" not in refused.err
    assert "'xml'" in refused.err


@pytest.mark.parametrize("command", FORMAT_COMMANDS, ids=lambda words: " ".join(words[:2]))
def test_help_shows_only_format_and_o(invoke: Invoke, command: tuple[str, ...]) -> None:
    words = command[:2] if command[0] in ("incidents", "drill") else command[:1]
    shown = invoke(*words, "--help").out
    assert re.search(r"--format\s+-o\b", shown), shown
    assert "--output-format" not in shown


def test_the_old_spelling_still_chooses_the_format(invoke: Invoke) -> None:
    assert json.loads(invoke("rules", "--output-format", "json").out) == json.loads(invoke("rules", "-o", "json").out)


def audit_json(invoke: Invoke, *args: str) -> dict[str, dict[str, str]]:
    ran = invoke("audit", str(EXAMPLES / "cluster"), "--now", NOW, "-o", "json", *args)
    assert ran.code in (0, 1), ran.err
    return {rule["id"]: rule for rule in json.loads(ran.out)["rules"]}


def test_rules_that_rule_leaves_out_are_not_selected_not_disabled(invoke: Invoke) -> None:
    rules = audit_json(invoke, "-r", "WL*")
    left_out = [rule for rule_id, rule in rules.items() if not rule_id.startswith("WL")]
    assert left_out
    assert {(rule["outcome"], rule.get("reason")) for rule in left_out} == {("disabled", "not selected (-r)")}
    table = invoke("audit", str(EXAMPLES / "cluster"), "--now", NOW, "-r", "WL*").out
    assert "disabled in the config" not in table
    assert f", {len(left_out)} not selected (-r)." in table
    assert " disabled" not in table.split("Rules:")[1], "none of them is counted as disabled"
    assert "HA001" not in table, "a rule that was not asked for gets no row"


def test_a_rule_disabled_in_the_config_is_counted_apart_from_those_not_selected(invoke: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"audit": {"disable": ["HA001"]}}))
    rules = audit_json(invoke, "-r", "HA*", "--config", str(config))
    assert rules["HA001"]["reason"] == "disabled in the config"
    assert rules["WL001"]["reason"] == "not selected (-r)"
    not_selected = sum(1 for rule_id in rules if not rule_id.startswith("HA"))
    table = invoke("audit", str(EXAMPLES / "cluster"), "--now", NOW, "-r", "HA*", "--config", str(config)).out
    assert f", 1 disabled, {not_selected} not selected (-r)." in table
    assert "disabled in the config" in table


def test_watch_once_counts_for_from_when_the_node_went_down(invoke: Invoke, socketless_twin: Twin) -> None:
    """The FOR column is the cluster's time since the condition began (the lease's last renewal, the condition's
    lastTransitionTime), not since this process first looked: a fresh `watch --once` used to print 0s."""
    twin = socketless_twin
    node = str(min(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"]))
    twin.inject("instance-crash", target=node)
    twin.advance(20 * 60)
    watched = invoke("watch", "--twin", str(twin.state_dir), "--once")
    assert watched.code == 0, watched.err
    [row] = [line.split("│") for line in watched.out.splitlines() if node in line]
    minutes = row[5].strip()
    assert re.fullmatch(r"(20|21)m", minutes), watched.out
    healthy = [line.split("│")[5].strip() for line in watched.out.splitlines() if "Healthy" in line]
    assert healthy
    assert "0s" not in healthy, "a healthy node counts from when it became Ready"


def test_the_cycle_line_counts_the_nodes_a_zone_outage_took_down(
    invoke: Invoke, socketless_twin: Twin, tmp_path: Path
) -> None:
    """Once cordoned, the zone's nodes are Remediating and held by the zone breaker: the line used to say
    unhealthy=0 (it counted only Unhealthy and Failed)."""
    twin = socketless_twin
    zone = "westeurope-1"
    down = {n["metadata"]["name"] for n in twin.world.store.items("nodes")
            if n["metadata"]["labels"]["topology.kubernetes.io/zone"] == zone}  # fmt: skip
    twin.inject("zone-outage", target=zone)
    twin.advance(300)
    lines: list[dict[str, object]] = []
    for _ in range(3):
        ran = invoke("run", "--twin", str(twin.state_dir), "--once", "--apply", "--state-dir", str(tmp_path),
                     "--listen", "127.0.0.1:0", "--log-format", "json")  # fmt: skip
        assert ran.code == 0, ran.err
        lines += [entry for entry in map(json.loads, ran.err.splitlines()) if entry["msg"] == "cycle"]
        twin.advance(30)
    last = lines[-1]
    assert last["unhealthy"] == len(down), lines
    assert last["held"] == len(down), lines

"""A long incident's postmortem reads well (issue 25): literal Markdown, rounded figures, a chart that reaches the
recovery with short labels, folded repeats, and an HTML page whose long tables fold away."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from datetime import datetime

from nodewarden.model.drill import CheckPhase, CheckResult
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import (
    CauseKind,
    ChangeOrigin,
    ChangeRecord,
    Evidence,
    HoldRecord,
    Hypothesis,
    Incident,
    SignalRecord,
)
from nodewarden.model.remediation import Hold, HoldReason, JournalEntry, Outcome, Step
from nodewarden.render import postmortem, postmortem_sections
from tests.render.test_html import parse
from tests.render.test_markdown import rendered, table_widths
from tests.render.test_postmortem import at, gantt_tasks, zone_outage
from tests.render.test_postmortem_drill import drilled, verdict

NODES = tuple(f"aks-apps-97223926-vmss00000{i}" for i in range(7))
GROUP = "MC_rg-prod_aks-prod_westeurope"
INSTANCE = (
    f"/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/{GROUP}/providers/Microsoft.Compute/"
    "virtualMachineScaleSets/aks-apps-97223926-vmss/virtualMachines/1"
)
RESTART = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action"


def agent_down(node: str, cycle: int) -> SignalRecord:
    """The journal keeps this signal once per cycle (its `since` moves with each observation)."""
    return SignalRecord(
        SignalKind.VM_AGENT_UNRESPONSIVE,
        node,
        since=at(20 + 5 * cycle),
        first_seen=at(20 + 5 * cycle),
        last_seen=at(20 + 5 * cycle),
        message=f"instance of {node} runs but its VM agent reports 'Not Ready'",
        node=node,
    )


def long_zone_outage() -> Incident:
    """Seven nodes of a zone down for 12 minutes: cordoned at once, drained one by one, held, uncordoned at once."""
    cordons = [
        JournalEntry(f"{n}/c", n, Step.CORDON, n, at(10), Outcome.SUCCEEDED, at(10), "cordoned", node=n) for n in NODES
    ]
    drains = [
        JournalEntry(f"{n}/d", n, Step.DRAIN, n, at(30 + 20 * i), Outcome.SUCCEEDED, at(40 + 20 * i), node=n)
        for i, n in enumerate(NODES)
    ]
    uncordons = [
        JournalEntry(f"{n}/u", n, Step.UNCORDON, n, at(720), Outcome.SUCCEEDED, at(720), "uncordoned", node=n)
        for n in NODES
    ]
    holds = [
        HoldRecord(at(15 + 600 * r), Hold(HoldReason.ZONE_BREAKER, n, "zone westeurope-1 is reported failing"))
        for n in NODES
        for r in range(2)
    ]
    restart = [
        ChangeRecord(at(-120 + 60 * i), "ops@example.com", RESTART, INSTANCE, status, "corr-1", ChangeOrigin.OTHERS)
        for i, status in enumerate(("Started", "Succeeded"))
    ]
    return dataclasses.replace(
        zone_outage(),
        title="Zone westeurope-1 outage: 7 nodes down",
        nodes=NODES,
        mitigation_started_at=at(10),
        mitigated_at=at(720),
        resolved_at=None,
        signals=tuple(agent_down(n, cycle) for n in NODES for cycle in range(130)),
        actions=(*cordons, *drains, *uncordons),
        holds=tuple(holds),
        changes=tuple(restart),
        hypotheses=(
            Hypothesis(
                CauseKind.ZONE_OUTAGE,
                0.986667,
                "7 of 7 nodes of the zone failing",
                supporting=(Evidence("nodes failing together", at(20), 0.773333),),
            ),
            Hypothesis(CauseKind.BAD_IMAGE, 0.0, "one image only", against=(Evidence("no other image", None, 0.3),)),
            Hypothesis(CauseKind.NETWORK, 0.01, "no network fault"),
        ),
    )


# -- Markdown that reads as text ---------------------------------------------------------------------------


def shown_text(markdown_text: str) -> str:
    """What a reader sees once the Markdown is rendered: the HTML's text, tags dropped, entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered(markdown_text)))


def test_a_resource_group_and_a_guard_read_literally_in_markdown() -> None:
    check = CheckResult(CheckPhase.BEFORE, "workloads at >= 50% of replicas", True, ">= 50% Ready", "28 of 28", 28)
    incident = dataclasses.replace(drilled(verdict()), changes=long_zone_outage().changes)
    text = postmortem.render_markdown(dataclasses.replace(incident, verdict=dataclasses.replace(
        verdict(), checks=(check,))), ())  # fmt: skip
    assert "&gt;" not in text
    assert "\\_" not in text
    assert f"| {INSTANCE} |" in text, "the resource id is written as it is"
    assert "| steady-state before | workloads at >= 50% of replicas | >= 50% Ready | 28 of 28 | pass |" in text
    assert GROUP in shown_text(text)
    assert ">= 50% Ready" in shown_text(text)


def test_hostile_values_cannot_open_a_tag_or_break_a_table_in_markdown() -> None:
    hostile = "<script>alert(1)</script> | <img src=x onerror=alert(1)> *x*"
    incident = dataclasses.replace(
        long_zone_outage(),
        title=hostile,
        changes=(ChangeRecord(at(-60), hostile, hostile, hostile, "Succeeded"),),
    )
    text = postmortem.render_markdown(incident, (hostile,))
    page = rendered(text)
    assert "<script" not in page
    assert "<img" not in page
    assert "<em>" not in page
    assert all(len(counts) == 1 for counts in table_widths(text)), "a value split a table cell"
    assert hostile in shown_text(text), "and it still reads as written"


# -- rounded figures ----------------------------------------------------------------------------------------


def test_weights_and_seconds_are_rounded_in_every_format() -> None:
    incident = dataclasses.replace(long_zone_outage(), mitigated_at=at(2037.073672))
    markdown_text = postmortem.render_markdown(incident, ())
    assert "(weight 0.77)" in markdown_text
    assert "0.773333" not in markdown_text
    assert "(weight 0.77)" in postmortem.render_html(incident, ())
    document = json.loads(postmortem.render_json(incident, ()))["incident"]
    assert document["mttrSeconds"] == 2037.1
    assert document["mttdSeconds"] == 40
    assert document["hypotheses"][0]["score"] == 0.99
    assert document["hypotheses"][0]["supporting"][0]["weight"] == 0.77


def test_seconds_are_whole_when_that_is_all_there_is() -> None:
    assert postmortem_sections.seconds_number(20.04) == 20
    assert postmortem_sections.seconds_number(2037.073672) == 2037.1
    assert postmortem_sections.seconds_number(None) is None


# -- the gantt ----------------------------------------------------------------------------------------------


def mermaid_moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=at(0).tzinfo)


def test_the_gantt_reaches_the_recovery_with_short_labels() -> None:
    incident = long_zone_outage()
    tasks = gantt_tasks(postmortem.render_markdown(incident, ()))
    events = {t["name"]: (mermaid_moment(t["start"]), mermaid_moment(t["end"])) for t in tasks if t["id"][0] == "m"}
    assert events["Cordon 7 nodes"] == (at(10), at(10))
    assert events["Uncordon 7 nodes"] == (at(720), at(720)), "the chart ends with the recovery"
    assert events["Hold ZoneBreaker 7 nodes"] == (at(15), at(615))
    assert events["restart by ops@example.com aks-apps-97223926-vmss/1"] == (at(-120), at(-60))
    assert sum(name.startswith("Drain aks-apps-97223926-vmss") for name in events) == 7, "each drain at its time"
    assert not any("subscriptions" in name or "..." in name for name in events)


def test_a_gantt_with_too_many_moments_gives_each_kind_of_event_one_row() -> None:
    incident = long_zone_outage()
    drains = [
        JournalEntry(f"d{i}", "e", Step.DRAIN, NODES[i % 7], at(30 + 10 * i), Outcome.SUCCEEDED, at(35 + 10 * i))
        for i in range(60)
    ]
    incident = dataclasses.replace(incident, actions=(*incident.actions, *drains))
    tasks = gantt_tasks(postmortem.render_markdown(incident, ()))
    events = {t["name"]: (mermaid_moment(t["start"]), mermaid_moment(t["end"])) for t in tasks if t["id"][0] == "m"}
    assert len(events) <= postmortem_sections.MAX_CHART_ROWS
    assert events["Drain 7 nodes"] == (at(30), at(625))
    assert events["Uncordon 7 nodes"] == (at(720), at(720))


def test_short_names_of_resources_and_operations() -> None:
    assert postmortem_sections.short_resource(INSTANCE) == "aks-apps-97223926-vmss/1"
    assert postmortem_sections.short_resource("/subscriptions/0/resourceGroups/rg/providers/X/y/pool") == "pool"
    assert postmortem_sections.short_operation(RESTART) == "restart"
    assert postmortem_sections.short_operation("Microsoft.Compute/virtualMachineScaleSets/write") == (
        "virtualMachineScaleSets write"
    )


# -- fewer repeated rows ------------------------------------------------------------------------------------


def test_a_signal_kept_every_cycle_and_steps_taken_at_once_are_one_timeline_row_each() -> None:
    entries = postmortem_sections.timeline(long_zone_outage())
    agent = [e for e in entries if "VMAgentUnresponsive" in e.text]
    assert len(agent) == 7, "one row per node, not one per cycle"
    assert "(recorded 130 times, last seen 2026-11-26 08:11:05 UTC)" in agent[0].text
    (cordon,) = [e for e in entries if e.text.startswith("Cordon")]
    assert cordon.text == "Cordon succeeded: cordoned"
    assert cordon.subject == ", ".join(NODES)
    assert len(entries) < 40


def test_the_resolution_tables_fold_the_same_step_and_hold_on_many_nodes() -> None:
    incident = long_zone_outage()
    rows = postmortem_sections.action_rows(incident)
    assert [(r.step, len(r.subjects)) for r in rows] == [(Step.CORDON, 7), *[(Step.DRAIN, 1)] * 7, (Step.UNCORDON, 7)]
    (held,) = postmortem_sections.hold_rows(incident)
    assert (held.reason, held.subject, held.count) == (HoldReason.ZONE_BREAKER, ", ".join(NODES), 2)


# -- the HTML page ------------------------------------------------------------------------------------------


def test_html_folds_long_tables_and_ruled_out_causes_and_shows_times_of_day() -> None:
    text = postmortem.render_html(long_zone_outage(), ())
    page = parse(text)
    assert page.mismatches == []
    summaries = re.findall(r"<summary>(.*?)</summary>", text)
    assert summaries == ["2 causes ruled out: bad-image, network", "30 rows"]  # the timeline; the rest are short
    assert '<time datetime="2026-11-26T08:00:10Z" title="2026-11-26 08:00:10 UTC">08:00:10</time>' in text
    assert f'<td class="long">{INSTANCE}</td>' in text, "an ARM id may wrap anywhere in its cell"

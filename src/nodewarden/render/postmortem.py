"""An incident's postmortem as Markdown (GitHub, Azure DevOps), one self-contained HTML page, or JSON.

Sections, in the usual order: summary, the drill's verdict (when a drill caused the incident), impact,
root cause (ranked hypotheses with evidence for and against), trigger, detection, resolution (what
nodewarden and others did, when), timeline, action items, lessons. The wording comes from
`postmortem_sections`, so the formats tell the same story.

Markdown: every value from the incident goes through `markdown.escape`, and the timeline is a Mermaid
gantt block whose text is reduced to characters Mermaid reads literally (`mermaid_text`): a colon ends a
task name, `#` starts an entity, `;` ends a statement and a backtick could close the fence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from nodewarden import __version__
from nodewarden.incidents import codec
from nodewarden.model.drill import Verdict
from nodewarden.model.incident import Evidence, Hypothesis, Incident
from nodewarden.render import markdown, postmortem_html, postmortem_sections, sections
from nodewarden.render.postmortem_sections import PHASE_LABELS, PhaseKind

escape = markdown.escape
cell = markdown.cell

_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 ._/()\-+=@']+")
_MERMAID_TIME = "%Y-%m-%d %H:%M:%S"


def render_markdown(incident: Incident, items: Sequence[str]) -> str:
    lines = [f"# Postmortem: {escape(incident.title)}", "", _meta_line(incident)]
    lines += ["", "## Summary", "", escape(postmortem_sections.summary(incident))]
    if incident.verdict is not None:
        lines += _verdict(incident.verdict)
    lines += _impact(incident)
    lines += _root_cause(incident)
    lines += ["", "## Trigger", "", *(f"- {escape(line)}" for line in postmortem_sections.trigger(incident))]
    lines += ["", "## Detection", "", *(f"- {escape(line)}" for line in postmortem_sections.detection(incident))]
    lines += _resolution(incident)
    lines += _timeline(incident)
    lines += ["", "## Action items", ""]
    lines += [f"{n}. {escape(item)}" for n, item in enumerate(items, 1)] or ["None."]
    lines += ["", "## Lessons", "", *(f"- {escape(line)}" for line in postmortem_sections.lessons(incident))]
    lines += ["", f"<sub>nodewarden {escape(__version__)} · incident {escape(incident.id)}</sub>"]
    return "\n".join(lines) + "\n"


def render_html(incident: Incident, items: Sequence[str]) -> str:
    return postmortem_html.render(incident, items)


def render_json(incident: Incident, items: Sequence[str]) -> str:
    document: dict[str, Any] = {
        "incident": _rounded(codec.incident_to_dict(incident)),
        "actionItems": list(items),
        "lessons": list(postmortem_sections.lessons(incident)),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _rounded(document: dict[str, Any]) -> dict[str, Any]:
    """The codec's document with its figures as people read them: seconds to a tenth, scores and weights to
    two decimals (the store keeps them exact; a report need not)."""
    for key in ("mttdSeconds", "mttrSeconds"):
        document[key] = postmortem_sections.seconds_number(document[key])
    for hypothesis in document["hypotheses"]:
        hypothesis["score"] = round(hypothesis["score"], 2)
        for evidence in (*hypothesis["supporting"], *hypothesis["against"]):
            evidence["weight"] = round(evidence["weight"], 2)
    return document


def _meta_line(incident: Incident) -> str:
    parts = [f"Incident `{_code(incident.id)}`", f"state **{escape(incident.state.value)}**"]
    if incident.pool:
        parts.append(f"pool {escape(incident.pool)}")
    if incident.zone:
        parts.append(f"zone {escape(incident.zone)}")
    if incident.drill:
        parts.append(f"drill {escape(incident.drill)}")
    return " · ".join(parts)


def _code(text: str) -> str:
    """Inside a code span nothing is markup, but a backtick would end it and a newline the line."""
    return " ".join(text.replace("`", "'").split())


def _verdict(verdict: Verdict) -> list[str]:
    lines = ["", f"## Drill verdict: {postmortem_sections.verdict_result(verdict.passed)}", ""]
    lines += [f"Drill {escape(verdict.drill)}", ""]
    lines += [f"- {name}: {escape(value)}" for name, value in postmortem_sections.verdict_facts(verdict)]
    lines.append("")
    if not verdict.checks:
        return [*lines, "No check was recorded."]
    lines += ["| Phase | Check | Target | Measured | Result |", "|---|---|---|---|---|"]
    for check in verdict.checks:
        *cells, result = (cell(text) for text in postmortem_sections.check_row(check))
        shown = result if check.passed else f"**{result}**"
        lines.append("| " + " | ".join([*cells, shown]) + " |")
    return lines


def _impact(incident: Incident) -> list[str]:
    rows = postmortem_sections.impact_rows(incident, cell)
    return ["", "## Impact", "", "| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]


def _root_cause(incident: Incident) -> list[str]:
    lines = ["", "## Root cause", ""]
    if not incident.hypotheses:
        return [*lines, "No hypothesis was ranked for this incident."]
    for rank, hypothesis in enumerate(incident.hypotheses, 1):
        lines += _hypothesis(rank, hypothesis)
    return lines


def _hypothesis(rank: int, hypothesis: Hypothesis) -> list[str]:
    lines = [
        f"### {rank}. {escape(hypothesis.cause.value)} — score {hypothesis.score:.2f}",
        "",
        escape(hypothesis.summary),
    ]
    for title, evidence in (("Supporting", hypothesis.supporting), ("Against", hypothesis.against)):
        if evidence:
            lines += ["", f"{title}:", "", *(f"- {_evidence(e)}" for e in evidence)]
    return [*lines, ""]


def _evidence(evidence: Evidence) -> str:
    when = f"{escape(postmortem_sections.clock(evidence.at))}: " if evidence.at else ""
    return f"{when}{escape(evidence.text)} (weight {postmortem_sections.weight_text(evidence.weight)})"


def _resolution(incident: Incident) -> list[str]:
    lines = ["", "## Resolution", ""]
    times = [
        ("First action", incident.mitigation_started_at),
        ("Mitigated", incident.mitigated_at),
        ("Resolved", incident.resolved_at),
    ]
    lines += [f"- {name}: {_when(at)}" for name, at in times]
    lines += ["", "### What nodewarden did", ""]
    if incident.actions:
        lines += ["| Started | Step | Subject | Outcome | Finished | Detail |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {_when(a.started)} | {cell(a.step.value)} | {cell(', '.join(a.subjects))} | {cell(a.outcome.value)} "
            f"| {_when(a.finished)} | {cell(a.detail)} |"
            for a in postmortem_sections.action_rows(incident)
        ]
    else:
        lines.append("No action.")
    lines += ["", "### What nodewarden held back, and why", ""]
    groups = postmortem_sections.hold_rows(incident)
    if groups:
        lines += ["| Reason | Subject | First | Last | Times | Message |", "|---|---|---|---|---:|---|"]
        lines += [
            f"| {cell(g.reason.value)} | {cell(g.subject)} | {_when(g.first)} | {_when(g.last)} | {g.count} "
            f"| {cell(g.message)} |"
            for g in groups
        ]
    else:
        lines.append("No hold.")
    operators = postmortem_sections.operator_actions(incident)
    if operators:
        lines += ["", "### Operator actions", ""]
        lines += ["| Time | Actor | Operation | Resource | Status | Until |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {_when(c.at)} | {cell(c.actor or c.caller)} | {cell(c.operation)} | {cell(c.resource)} "
            f"| {cell(c.status)} | {_when(c.until)} |"
            for c in operators
        ]
    lines += ["", "### What others changed", ""]
    others = postmortem_sections.others_changes(incident)
    if others:
        lines += ["| Time | Caller | Operation | Resource | Status |", "|---|---|---|---|---|"]
        lines += [
            f"| {_when(c.at)} | {cell(c.caller)} | {cell(c.operation)} | {cell(c.resource)} | {cell(c.status)} |"
            for c in others
        ]
    else:
        lines.append("The Activity Log records no change by others.")
    return lines


def _when(at: datetime | None) -> str:
    return escape(postmortem_sections.clock(at)) if at is not None else "—"


def _timeline(incident: Incident) -> list[str]:
    entries = postmortem_sections.timeline(incident)
    lines = ["", "## Timeline", "", *gantt(incident), ""]
    lines += ["| Time | Kind | Subject | What |", "|---|---|---|---|"]
    lines += [f"| {_when(e.at)} | {cell(e.kind)} | {cell(e.subject)} | {cell(e.text)} |" for e in entries]
    return lines


def gantt(incident: Incident) -> list[str]:
    """The fenced Mermaid gantt: one bar per phase, then a section per kind of event (`chart_rows`), to the end."""
    lines = [
        "```mermaid",
        "gantt",
        f"    title {mermaid_text(incident.title)}",
        "    dateFormat YYYY-MM-DD HH:mm:ss",
        "    axisFormat %H:%M",
        "    section Incident",
    ]
    for index, phase in enumerate(postmortem_sections.phases(incident), 1):
        tag = "crit, " if phase.kind is PhaseKind.IMPACT else ("active, " if phase.ongoing else "")
        lines.append(
            f"    {mermaid_text(PHASE_LABELS[phase.kind])} :{tag}p{index}, {_mermaid_time(phase.start)}, "
            f"{_mermaid_time(phase.end)}"
        )
    lane = ""
    for index, row in enumerate(postmortem_sections.chart_rows(incident), 1):
        if row.lane != lane:
            lane = row.lane
            lines.append(f"    section {lane}")
        tag = "milestone, " if row.end == row.start else ""
        lines.append(
            f"    {mermaid_text(row.label)} :{tag}m{index}, {_mermaid_time(row.start)}, {_mermaid_time(row.end)}"
        )
    return [*lines, "```"]


def mermaid_text(text: str, *, limit: int = 60) -> str:
    """Text Mermaid reads literally: no colon, `#`, `;`, backtick, angle bracket or newline; at most `limit` long."""
    flat = " ".join(_MERMAID_UNSAFE.sub(" ", text).split())
    if len(flat) > limit:
        flat = flat[: limit - 3].rstrip() + "..."
    return flat or "-"


def _mermaid_time(moment: datetime) -> str:
    return sections.as_utc(moment).strftime(_MERMAID_TIME)

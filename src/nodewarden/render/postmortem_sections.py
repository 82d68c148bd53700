"""How a postmortem words an incident: phases, timeline, hold groups, durations, summary, drill verdict, lessons.

Markdown, HTML and JSON postmortems read the same `Incident` and must tell the same story; the wording
and the arithmetic live here so the three do not drift. Nothing here formats for one medium: escaping
stays with each renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from nodewarden.incidents import figures
from nodewarden.model.drill import CheckResult, Verdict
from nodewarden.model.health import PROBLEMS
from nodewarden.model.incident import (
    ChangeOrigin,
    ChangeRecord,
    Incident,
    IncidentState,
    SignalRecord,
    TimelineEntry,
)
from nodewarden.model.remediation import HoldReason, Outcome, Step
from nodewarden.render import sections

SLOW_DETECTION = timedelta(minutes=5)  # slower than this is a lesson: most node failures show within a minute
MAX_CHART_ROWS = 30  # more rows than this and a chart is unreadable: each kind of event then gets one row


class PhaseKind(StrEnum):
    """The stretches of an incident, in order; the value is the CSS class and Mermaid section."""

    IMPACT = "impact"  # impact began, nobody knew
    DETECTION = "detection"  # detected, nothing done yet
    MITIGATION = "mitigation"  # acting, capacity not back
    RESOLUTION = "resolution"  # capacity back, watching until resolved


PHASE_LABELS = {
    PhaseKind.IMPACT: "Impact before detection",
    PhaseKind.DETECTION: "Detected before the first action",
    PhaseKind.MITIGATION: "Mitigation",
    PhaseKind.RESOLUTION: "Watching until resolved",
}


@dataclass(frozen=True)
class Phase:
    kind: PhaseKind
    start: datetime
    end: datetime
    ongoing: bool  # the phase had not ended when the incident was last recorded


@dataclass(frozen=True)
class HoldGroup:
    """The holds of one reason on one subject: the planner repeats a hold every cycle it lasts."""

    reason: HoldReason
    subject: str
    first: datetime
    last: datetime
    count: int
    message: str  # the latest one


def last_known(incident: Incident) -> datetime:
    """The latest moment the incident's evidence speaks of: where an ongoing phase is drawn to end."""
    moments = [
        incident.impact_start,
        incident.detected_at,
        *(t for t in (incident.mitigation_started_at, incident.mitigated_at, incident.resolved_at) if t),
        *(s.last_seen for s in incident.signals),
        *(a.outcome_at or a.intent_at for a in incident.actions),
        *(h.at for h in incident.holds),
        *(c.at for c in incident.changes),
    ]
    return max(moments)


def phases(incident: Incident) -> tuple[Phase, ...]:
    """Impact → detection → mitigation → resolution, each from one recorded time to the next; empty ones left out."""
    end = last_known(incident)
    acted = incident.mitigation_started_at
    marks: list[tuple[PhaseKind, datetime, datetime | None]] = [
        (PhaseKind.IMPACT, incident.impact_start, incident.detected_at),
        (PhaseKind.DETECTION, incident.detected_at, acted or incident.mitigated_at),
    ]
    if acted is not None:
        marks.append((PhaseKind.MITIGATION, acted, incident.mitigated_at))
    if incident.mitigated_at is not None:
        marks.append((PhaseKind.RESOLUTION, incident.mitigated_at, incident.resolved_at))
    found = [Phase(kind, start, stop or end, stop is None) for kind, start, stop in marks]
    return tuple(phase for phase in found if phase.end > phase.start)


def hold_groups(incident: Incident) -> tuple[HoldGroup, ...]:
    """Holds folded by (reason, subject), in order of first appearance."""
    groups: dict[tuple[HoldReason, str], HoldGroup] = {}
    for record in sorted(incident.holds, key=lambda r: r.at):
        key = (record.hold.reason, record.hold.subject)
        seen = groups.get(key)
        if seen is None:
            groups[key] = HoldGroup(key[0], key[1], record.at, record.at, 1, record.hold.message)
        else:
            groups[key] = HoldGroup(key[0], key[1], seen.first, record.at, seen.count + 1, record.hold.message)
    return tuple(groups.values())


@dataclass(frozen=True)
class ActionRow:
    """Steps that went the same way at the same moments on several subjects: one row naming them all."""

    step: Step
    subjects: tuple[str, ...]
    outcome: Outcome
    started: datetime
    finished: datetime | None
    detail: str


def action_rows(incident: Incident) -> tuple[ActionRow, ...]:
    """The actions as a table shows them: seven nodes cordoned at once are one row, in order of their start."""
    rows: dict[tuple[Step, Outcome, datetime, datetime | None, str], list[str]] = {}
    for a in sorted(incident.actions, key=lambda a: a.intent_at):
        rows.setdefault((a.step, a.outcome, a.intent_at, a.outcome_at, a.detail), []).append(a.subject)
    return tuple(
        ActionRow(step, tuple(dict.fromkeys(subjects)), outcome, started, finished, detail)
        for (step, outcome, started, finished, detail), subjects in rows.items()
    )


def hold_rows(incident: Incident) -> tuple[HoldGroup, ...]:
    """`hold_groups` as a table shows them: the same hold over the same stretch on several subjects is one row."""
    rows: dict[tuple[HoldReason, datetime, datetime, int, str], list[str]] = {}
    for g in hold_groups(incident):
        rows.setdefault((g.reason, g.first, g.last, g.count, g.message), []).append(g.subject)
    return tuple(
        HoldGroup(reason, ", ".join(subjects), first, last, count, message)
        for (reason, first, last, count, message), subjects in rows.items()
    )


def timeline(incident: Incident) -> tuple[TimelineEntry, ...]:
    """Everything that happened, oldest first: the incident's own marks, signals, actions, holds and changes.

    Folded so that a long incident stays readable: a signal the journal kept once per cycle is one entry at its
    start (saying until when it was seen), a step that finished the moment it started is one entry, and the
    same thing at the same moment on several subjects (seven nodes cordoned at once) is one entry naming them.
    """
    entries = [*_marks(incident), *_signal_entries(incident)]
    for action in incident.actions:
        done = action.outcome_at is not None and action.outcome is not Outcome.PENDING
        if not done or action.outcome_at != action.intent_at:
            entries.append(TimelineEntry(action.intent_at, "action", f"{action.step.value} started", action.subject))
        if done and action.outcome_at is not None:
            text = f"{action.step.value} {action.outcome.value}" + (f": {action.detail}" if action.detail else "")
            entries.append(TimelineEntry(action.outcome_at, "action", text, action.subject))
    for group in hold_groups(incident):
        entries.append(TimelineEntry(group.first, "hold", f"{group.reason.value}: {group.message}", group.subject))
    for change in incident.changes:
        text = f"{who(change)}: {change.operation} ({change.status})"
        entries.append(TimelineEntry(change.at, "change", text, change.resource))
    order = {kind: index for index, kind in enumerate(("change", "signal", "alert", "incident", "hold", "action"))}
    return _merge_subjects(sorted(entries, key=lambda e: (e.at, order.get(e.kind, 9))))


def _signal_entries(incident: Incident) -> list[TimelineEntry]:
    """One entry per signal kind, subject and source: at its earliest start, until its latest sighting."""
    runs: dict[tuple[str, str, str], list[SignalRecord]] = {}
    for signal in sorted(incident.signals, key=lambda s: (s.since, s.last_seen)):
        runs.setdefault((signal.kind.value, signal.subject, signal.source), []).append(signal)
    entries = []
    for (kind, subject, source), records in runs.items():
        first, last = records[0], max(records, key=lambda s: s.last_seen)
        text = f"{kind}: {first.message}"
        if len(records) > 1:
            text += f" (recorded {len(records)} times, last seen {clock(last.last_seen)})"
        entries.append(TimelineEntry(first.since, "signal" if source == "detection" else "alert", text, subject))
    return entries


def _merge_subjects(entries: Sequence[TimelineEntry]) -> tuple[TimelineEntry, ...]:
    """Entries that say the same thing at the same moment, folded into one naming every subject."""
    merged: dict[tuple[datetime, str, str], list[str]] = {}
    for entry in entries:
        merged.setdefault((entry.at, entry.kind, entry.text), []).append(entry.subject)
    return tuple(
        TimelineEntry(at, kind, text, subjects[0] if len(subjects) == 1 else ", ".join(dict.fromkeys(subjects)))
        for (at, kind, text), subjects in merged.items()
    )


@dataclass(frozen=True)
class ChartRow:
    """One row of the timeline chart under its phases: one kind of event on its subjects, first to last moment."""

    lane: str  # "Actions", "Holds", "Changes", "Alerts"
    label: str
    start: datetime
    end: datetime  # == start: a moment (a milestone)


def chart_rows(incident: Incident, *, limit: int = MAX_CHART_ROWS) -> tuple[ChartRow, ...]:
    """What the chart draws below the phases, every event of the incident in some row, so it ends where they do.

    Events of one kind at the same moments share a row (seven cordons at once are "Cordon 7 nodes"); when that
    still makes more than `limit` rows, each step, hold reason, operation and alert is one row from its first
    to its last moment.
    """
    rows = _chart_rows(incident, timed=True)
    return rows if len(rows) <= limit else _chart_rows(incident, timed=False)


def _chart_rows(incident: Incident, *, timed: bool) -> tuple[ChartRow, ...]:
    groups: dict[tuple[str, ...], tuple[str, str, list[str], list[datetime]]] = {}

    def add(key: tuple[str, ...], lane: str, name: str, subject: str, *moments: datetime) -> None:
        _, _, subjects, seen = groups.setdefault((lane, *key), (lane, name, [], []))
        subjects.append(subject)
        seen.extend(moments)

    for a in incident.actions:
        end = a.outcome_at or a.intent_at
        name = (
            a.step.value if a.outcome in (Outcome.SUCCEEDED, Outcome.PENDING) else f"{a.step.value} {a.outcome.value}"
        )
        add((name, *_times(timed, a.intent_at, end)), "Actions", name, a.subject, a.intent_at, end)
    for g in hold_groups(incident):
        name = f"Hold {g.reason.value}"
        add((name, *_times(timed, g.first, g.last)), "Holds", name, g.subject, g.first, g.last)
    for c in incident.changes:
        name = short_operation(c.operation) + ("" if c.origin is ChangeOrigin.OURS else f" by {c.actor or c.caller}")
        run = c.correlation_id or f"{c.operation} {c.resource}"
        add((name, run if timed else ""), "Changes", name, short_resource(c.resource), c.at)
    for s in incident.signals:
        if s.source != "detection":
            name = f"Alert {s.kind.value}"
            add((name, *_times(timed, s.since, s.since)), "Alerts", name, s.subject, s.since, s.last_seen)
    rows = [
        ChartRow(lane, f"{name} {_subjects_phrase(incident, subjects)}", min(seen), max(seen))
        for lane, name, subjects, seen in groups.values()
    ]
    lanes = ("Actions", "Holds", "Changes", "Alerts")
    return tuple(sorted(rows, key=lambda r: (lanes.index(r.lane), r.start, r.end, r.label)))


def _times(timed: bool, *moments: datetime) -> tuple[str, ...]:
    return tuple(m.isoformat() for m in moments) if timed else ()


def _subjects_phrase(incident: Incident, subjects: Sequence[str]) -> str:
    """One subject by name; several nodes counted; several other things (pools, resources) named."""
    unique = list(dict.fromkeys(subjects))
    if len(unique) == 1:
        return unique[0]
    if all(subject in incident.nodes for subject in unique):
        return sections.count_label(len(unique), "node")
    return ", ".join(unique)


def short_resource(resource: str) -> str:
    """An ARM id's readable end: `aks-apps-123-vmss/1` for a scale set's instance, else its last name."""
    parts = [part for part in resource.split("/") if part]
    lowered = [part.lower() for part in parts]
    if len(parts) >= 4 and lowered[-2] == "virtualmachines" and lowered[-4] == "virtualmachinescalesets":
        return f"{parts[-3]}/{parts[-1]}"
    return parts[-1] if parts else resource


def short_operation(operation: str) -> str:
    """`restart` for `Microsoft.Compute/…/virtualMachines/restart/action`; `virtualMachineScaleSets write`."""
    parts = [part for part in operation.split("/") if part]
    if len(parts) >= 2 and parts[-1].lower() == "action":
        return parts[-2]
    if len(parts) >= 2:
        return f"{parts[-2]} {parts[-1]}"
    return operation


def weight_text(weight: float) -> str:
    """An evidence weight as people read it: two decimals at most (`0.77`, `0.8`, `1`)."""
    return f"{round(weight, 2):g}"


def seconds_number(seconds: float | None) -> float | int | None:
    """Seconds for a JSON report: to a tenth, and whole when that is all there is (`2037.1`, `20`)."""
    if seconds is None:
        return None
    tenth = round(seconds, 1)
    return int(tenth) if tenth.is_integer() else tenth


def others_changes(incident: Incident) -> tuple[ChangeRecord, ...]:
    """What others changed: neither nodewarden's own steps nor operators' actions (AKS's repairs are listed)."""
    return tuple(c for c in incident.changes if c.origin in (ChangeOrigin.OTHERS, ChangeOrigin.AKS))


def operator_actions(incident: Incident) -> tuple[ChangeRecord, ...]:
    """What people did through `nodewarden node …`: their marks and the ARM operations the marks name."""
    return tuple(c for c in incident.changes if c.origin is ChangeOrigin.OPERATOR)


def who(change: ChangeRecord) -> str:
    """The change's author in words: "operator alice@host", "nodewarden (caller)", "AKS (aks-remediator)"."""
    if change.origin is ChangeOrigin.OPERATOR:
        return f"operator {change.actor or change.caller}"
    if change.origin is ChangeOrigin.OURS:
        return f"nodewarden ({change.caller})"
    if change.origin is ChangeOrigin.AKS:
        return f"AKS ({change.caller})"
    return change.caller


def _marks(incident: Incident) -> list[TimelineEntry]:
    detected = None if incident.undetected else incident.detected_at
    marks = [
        (incident.impact_start, "Impact began"),
        (detected, "nodewarden detected it"),
        (incident.mitigation_started_at, "nodewarden's first action"),
        (incident.mitigated_at, "Capacity back (mitigated)"),
        (incident.resolved_at, "Resolved"),
    ]
    return [TimelineEntry(at, "incident", text) for at, text in marks if at is not None]


def clock(moment: datetime) -> str:
    """`2026-11-26 12:00:05 UTC`: incidents need the seconds."""
    return sections.as_utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """`45 s`, `3 min 20 s`, `2 h 05 min`; `not yet` for None."""
    if seconds is None:
        return "not yet"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest:02d} s"
    hours, rest = divmod(whole // 60, 60)
    return f"{hours} h {rest:02d} min"


def impact_seconds(incident: Incident) -> float:
    """From impact to resolution (or, while open, to the latest evidence)."""
    end = incident.resolved_at or incident.mitigated_at or last_known(incident)
    return max(0.0, (end - incident.impact_start).total_seconds())


def trigger(incident: Incident) -> tuple[str, ...]:
    """The first sign of trouble, and the last change by anyone before it."""
    lines = []
    if incident.verdict is not None and incident.verdict.fault_at is not None:
        lines.append(f"The drill {incident.verdict.drill} injected its fault at {clock(incident.verdict.fault_at)}.")
    # The signal nodewarden saw first, when it saw it, in words true then: its evidence (a renewTime, a
    # condition's transition) holds from that moment on, while its message is the latest cycle's ("for 690s").
    problems = sorted(
        (s for s in incident.signals if s.kind in PROBLEMS), key=lambda s: (s.first_seen, s.since, s.subject)
    )
    if problems:
        first = problems[0]
        said = first.evidence[0] if first.evidence else first.message
        lines.append(
            f"The first sign was {first.kind.value} on {first.subject}, seen at {clock(first.first_seen)}: {said}"
        )
    before = sorted(
        (c for c in incident.changes if c.at <= incident.impact_start and c.origin is not ChangeOrigin.OURS),
        key=lambda c: c.at,
    )  # nodewarden's own steps are consequences of earlier trouble, not its trigger
    if before:
        change = before[-1]
        lines.append(
            f"The last change before it: {who(change)} ran {change.operation} on {change.resource} at "
            f"{clock(change.at)} ({change.status})."
        )
    else:
        lines.append("The Activity Log records no change in the hour before the impact.")
    return tuple(lines)


def detection(incident: Incident) -> tuple[str, ...]:
    """When and from what nodewarden learned of it."""
    if incident.verdict is not None and incident.undetected:
        if incident.verdict.fault_at is None:
            return ("The drill stopped before injecting its fault: there was nothing to detect.",)
        return ("nodewarden never detected the drill's fault: no signal was recorded.",)
    seen = sorted({s.kind.value for s in incident.signals if s.first_seen == incident.detected_at})
    mttd = figures.of_incident(incident).mttd
    lines = [
        f"nodewarden detected it at {clock(incident.detected_at)}, {duration(mttd)} after the impact began"
        + (f", from {', '.join(seen)}." if seen else ".")
    ]
    alerts = sorted({s.source for s in incident.signals if s.source != "detection"})
    if alerts:
        lines.append(f"Alerts taken in: {', '.join(alerts)}.")
    return tuple(lines)


def summary(incident: Incident) -> str:
    verdict = incident.verdict
    if verdict is not None and verdict.fault_at is None:
        return f"{incident.title}. The drill {verdict.drill} injected no fault and {verdict_outcome(verdict)}"
    text = (
        f"{incident.title}. Impact began {clock(incident.impact_start)} and touched "
        f"{sections.count_label(len(incident.nodes), 'node')}; "
    )
    if incident.undetected:
        text += "nodewarden never detected it"
    else:
        text += f"nodewarden detected it after {duration(figures.of_incident(incident).mttd)}"
    if incident.mitigated_at is not None:
        text += f" and capacity was back after {duration(figures.of_incident(incident).mttr)}"
    else:
        text += "; capacity was not back when this report was written"
    text += f". The incident is {incident.state.value}."
    if incident.hypotheses:
        top = incident.hypotheses[0]
        text += f" Most likely cause: {top.cause.value} (score {top.score:.2f}), {top.summary.rstrip('.')}."
    if verdict is not None:
        text += f" It was caused on purpose by the drill {verdict.drill}, which {verdict_outcome(verdict)}"
    elif incident.drill:
        text += f" It was caused on purpose by the drill {incident.drill}."
    return text


def time_to_detect(incident: Incident) -> str:
    """The MTTD as a duration, or `not detected` for a drill nodewarden never saw."""
    mttd = figures.of_incident(incident).mttd
    return "not detected" if mttd is None else duration(mttd)


def verdict_result(passed: bool) -> str:
    return "PASSED" if passed else "FAILED"


def check_result(check: CheckResult) -> str:
    return "pass" if check.passed else "FAIL"


def verdict_outcome(verdict: Verdict) -> str:
    """The end of the summary: `failed: 1 of 3 checks missed its target (time to detect).`, and why it aborted."""
    text = verdict_result(verdict.passed).lower()
    failed = verdict.failed_checks
    checks = sections.count_label(len(verdict.checks), "check")
    if failed:
        names = ", ".join(check.name for check in failed)
        text += f": {len(failed)} of {checks} missed {_their(len(failed))} ({names})"
    elif verdict.checks:
        text += f": {checks} met {_their(len(verdict.checks))}"
    text += "."
    if verdict.aborted:
        text += f" The drill was aborted: {verdict.aborted.rstrip('.')}."
    return text


def _their(count: int) -> str:
    return "its target" if count == 1 else "their targets"


def verdict_facts(verdict: Verdict) -> list[tuple[str, str]]:
    """The drill verdict's lines above its table: the fault, where and when it landed, abort and rollback."""
    return [
        ("Fault", verdict.fault),
        ("Targets", ", ".join(verdict.targets) or "none"),
        ("Fault injected", clock(verdict.fault_at) if verdict.fault_at else "never: the fault was not injected"),
        ("Aborted", f"yes: {verdict.aborted}" if verdict.aborted else "no"),
        ("Rollback", verdict.rollback or "nothing recorded"),
    ]


def check_row(check: CheckResult) -> tuple[str, str, str, str, str]:
    """One row of the verdict's table: phase, check, target, measured, result."""
    return (check.phase.value, check.name, check.target, check.measured, check_result(check))


def lessons(incident: Incident) -> tuple[str, ...]:
    """What went well and what did not, from the recorded facts only."""
    lines = _detection_lessons(incident)
    failed = [a for a in incident.actions if a.outcome in (Outcome.FAILED, Outcome.TIMED_OUT)]
    if failed:
        steps = ", ".join(f"{a.step.value} {a.subject}" for a in failed)
        lines.append(f"{sections.count_label(len(failed), 'action')} did not succeed ({steps}).")
    if any(a.step is Step.ESCALATE for a in incident.actions):
        lines.append("nodewarden handed part of it to a human: the automated ladder was not enough.")
    breakers = sorted({g.reason.value for g in hold_groups(incident) if g.reason in _SAFETY_HOLDS})
    if breakers:
        lines.append(f"Guards held back repairs ({', '.join(breakers)}): check they protected capacity.")
    during = [c for c in incident.changes if c.at > incident.impact_start and c.origin is ChangeOrigin.OTHERS]
    if during:
        callers = ", ".join(sorted({c.caller for c in during}))
        lines.append(f"Others changed the cluster during the incident ({callers}): coordinate with them.")
    people = sorted({c.actor or c.caller for c in operator_actions(incident)})
    if people:
        lines.append(f"Operators acted through nodewarden during the incident ({', '.join(people)}).")
    if incident.verdict is not None:
        lines += [
            f"The drill's check {check.name} missed its target ({check.target}): measured {check.measured}."
            for check in incident.verdict.failed_checks
        ]
    if incident.state is IncidentState.OPEN:
        lines.append("The incident was still open when this report was written; lessons may change.")
    return tuple(lines)


def _detection_lessons(incident: Incident) -> list[str]:
    if incident.verdict is not None and incident.undetected:
        if incident.verdict.fault_at is None:
            return []  # the drill stopped before its fault: there was nothing to detect
        return ["nodewarden never detected the drill's fault: find out which signal should have caught it."]
    mttd = figures.of_incident(incident).mttd or 0.0
    if timedelta(seconds=mttd) > SLOW_DETECTION:
        return [
            f"Detection took {duration(mttd)}: shorten the signal thresholds or take in the platform's "
            "alerts (Resource Health, Scheduled Events)."
        ]
    return [f"Detection was quick ({duration(mttd)})."]


# Holds that mean a guard protected capacity (not "waiting" or "not leader").
_SAFETY_HOLDS = frozenset(
    {
        HoldReason.STORM,
        HoldReason.ZONE_BREAKER,
        HoldReason.MAX_IN_FLIGHT,
        HoldReason.RATE_LIMIT,
        HoldReason.PDB,
        HoldReason.CLUSTER_BUSY,
        HoldReason.POOL_BUSY,
    }
)


def impact_rows(incident: Incident, escape: Callable[[str], str] = str) -> list[tuple[str, str]]:
    """The Impact section's rows; `escape` is applied to each listed name (Markdown needs it per name)."""

    def listed(values: Sequence[str]) -> str:
        return f"{len(values)}: " + ", ".join(escape(v) for v in values) if values else "none recorded"

    return [
        ("Duration", duration(impact_seconds(incident))),
        ("Time to detect (MTTD)", time_to_detect(incident)),
        ("Time to mitigate (MTTR)", duration(figures.of_incident(incident).mttr)),
        ("Nodes", listed(incident.nodes)),
        ("Instances", listed(incident.instances)),
        ("Pods", listed(incident.pods)),
        ("Workloads", listed(incident.workloads)),
    ]

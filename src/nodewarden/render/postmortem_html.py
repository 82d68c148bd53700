"""An incident's postmortem as one self-contained HTML page, with an inline SVG timeline chart.

The page shell, its Content-Security-Policy and the escaping are `render.page`'s, as for the audit report;
every value goes through `_e`, our own wording included. A drill's verdict follows the summary, its result
styled pass or fail. The chart is plain SVG drawn here: one bar per phase, then a lane of marks per kind of
event, each mark with a `<title>` a browser shows on hover.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from nodewarden.model.drill import Verdict
from nodewarden.model.incident import Hypothesis, Incident, TimelineEntry
from nodewarden.render import page, postmortem_sections, sections
from nodewarden.render.postmortem_sections import PHASE_LABELS, Phase

_Scale = Callable[[datetime], float]  # instant → x in the chart
_e = page.escape  # every value on the page goes through it

# The postmortem's own rules, on top of `page`'s base: states, evidence, verdicts and the SVG chart.
_STYLE = """
.state-open { color: #cf222e; } .state-mitigated { color: #9a6700; } .state-resolved { color: #1a7f37; }
.for { color: #1a7f37; } .against { color: #cf222e; }
.pass { color: #1a7f37; font-weight: 600; } .fail { color: #cf222e; font-weight: 600; }
/* an ARM id or a list of nodes wraps inside its cell, not past the page */
td.long { overflow-wrap: anywhere; min-width: 10em; }
th, td time { white-space: nowrap; }  /* a time is read at a glance: on one line */
table.impact th { width: 1%; }
details > summary { cursor: pointer; color: var(--muted); margin: 6px 0; }
details[open] > summary { margin-bottom: 2px; }
svg.chart { width: 100%; height: auto; border: 1px solid var(--line); background: #fff; }
svg.chart text { font: 11px system-ui, sans-serif; fill: var(--fg); }
svg.chart .axis { stroke: var(--line); }
svg.chart .impact { fill: #cf222e; } svg.chart .detection { fill: #bf8700; }
svg.chart .mitigation { fill: #0969da; } svg.chart .resolution { fill: #1a7f37; }
svg.chart .ongoing { fill-opacity: 0.45; }
svg.chart .mark-action { fill: #0969da; } svg.chart .mark-hold { fill: #8250df; }
svg.chart .mark-change { fill: #bf3989; } svg.chart .mark-signal, svg.chart .mark-alert { fill: #cf222e; }
"""

# The chart's geometry, in SVG user units (the image scales to the page width).
_WIDTH = 960
_LABEL = 210  # left column for lane and phase names
_RIGHT = 20
_ROW = 22
_LANES = ("signal", "alert", "hold", "action", "change")
# Columns whose text may be one long word (an ARM id, a list of nodes): they wrap anywhere; the others keep words whole.
_LONG_COLUMNS = frozenset({"Subject", "Resource", "Operation", "Caller", "Actor", "What", "Detail", "Message"})
FOLD_ROWS = 12  # a longer table is folded into <details>: the page stays a page, the rows one click away
UNLIKELY = 0.05  # hypotheses scored below this are folded together: they were ruled out, not candidates


def render(incident: Incident, items: Sequence[str]) -> str:
    body = [
        "<header>",
        f"<h1>Postmortem: {_e(incident.title)}</h1>",
        f'<p class="meta">{_meta(incident)}</p>',
        "</header>",
        "<main>",
        *_section("summary", "Summary", [f"<p>{_e(postmortem_sections.summary(incident))}</p>"]),
        *(_verdict(incident.verdict) if incident.verdict is not None else []),
        *_section("impact", "Impact", _impact(incident)),
        *_section("root-cause", "Root cause", _root_cause(incident)),
        *_section("trigger", "Trigger", _list(postmortem_sections.trigger(incident))),
        *_section("detection", "Detection", _list(postmortem_sections.detection(incident))),
        *_section("resolution", "Resolution", _resolution(incident)),
        *_section("timeline", "Timeline", [*chart(incident), *_timeline_table(incident)]),
        *_section("action-items", "Action items", _list(items, ordered=True) if items else ["<p>None.</p>"]),
        *_section("lessons", "Lessons", _list(postmortem_sections.lessons(incident))),
        "</main>",
    ]
    return page.render_page(
        title=f"Postmortem: {incident.title}", style=_STYLE, body=body, footer_note=f"incident {incident.id}"
    )


def _section(anchor: str, title: str, body: list[str]) -> list[str]:
    return [f'<section id="{_e(anchor)}">', f"<h2>{_e(title)}</h2>", *body, "</section>"]


def _list(values: Sequence[str], *, ordered: bool = False) -> list[str]:
    tag = "ol" if ordered else "ul"
    return [f"<{tag}>", *(f"<li>{_e(value)}</li>" for value in values), f"</{tag}>"]


def _when(at: datetime | None, *, day: date | None = None) -> str:
    """A `<time>`; on `day` (a table's: the day the impact began) only its time of day, the full stamp on hover."""
    if at is None:
        return "—"
    utc = sections.as_utc(at)
    stamp = utc.isoformat().replace("+00:00", "Z")
    full = postmortem_sections.clock(at)
    if utc.date() != day:
        return f'<time datetime="{_e(stamp)}">{_e(full)}</time>'
    return f'<time datetime="{_e(stamp)}" title="{_e(full)}">{_e(utc.strftime("%H:%M:%S"))}</time>'


def _day(incident: Incident) -> date:
    return sections.as_utc(incident.impact_start).date()


def _meta(incident: Incident) -> str:
    parts = [
        f"Incident <code>{_e(incident.id)}</code>",
        f'<span class="badge state-{_e(incident.state.value)}">{_e(incident.state.value)}</span>',
    ]
    for name, value in (("pool", incident.pool), ("zone", incident.zone), ("drill", incident.drill)):
        if value:
            parts.append(f"{_e(name)} {_e(value)}")
    return " · ".join(parts)


def _verdict(verdict: Verdict) -> list[str]:
    rows = []
    for check in verdict.checks:
        *cells, result = postmortem_sections.check_row(check)
        rows.append([*(_e(cell) for cell in cells), _result(result, passed=check.passed)])
    return [
        '<section id="drill-verdict">',
        f"<h2>Drill verdict: {_result(postmortem_sections.verdict_result(verdict.passed), passed=verdict.passed)}</h2>",
        f"<p>Drill <code>{_e(verdict.drill)}</code></p>",
        *_list([f"{name}: {value}" for name, value in postmortem_sections.verdict_facts(verdict)]),
        *_table(("Phase", "Check", "Target", "Measured", "Result"), rows, empty="No check was recorded."),
        "</section>",
    ]


def _result(text: str, *, passed: bool) -> str:
    return f'<span class="{"pass" if passed else "fail"}">{_e(text)}</span>'


def _impact(incident: Incident) -> list[str]:
    rows = postmortem_sections.impact_rows(incident)
    body = "".join(f"<tr><th>{_e(name)}</th><td>{_e(value)}</td></tr>" for name, value in rows)
    return [f'<table class="impact"><tbody>{body}</tbody></table>']


def _root_cause(incident: Incident) -> list[str]:
    if not incident.hypotheses:
        return ["<p>No hypothesis was ranked for this incident.</p>"]
    parts: list[str] = []
    ranked = list(enumerate(incident.hypotheses, 1))
    for rank, hypothesis in ranked:
        if hypothesis.score >= UNLIKELY or rank == 1:
            parts += _hypothesis(rank, hypothesis)
    unlikely = [(rank, h) for rank, h in ranked if h.score < UNLIKELY and rank > 1]
    if unlikely:
        causes = ", ".join(h.cause.value for _, h in unlikely)
        parts.append(f"<details><summary>{_e(len(unlikely))} causes ruled out: {_e(causes)}</summary>")
        for rank, hypothesis in unlikely:
            parts += _hypothesis(rank, hypothesis)
        parts.append("</details>")
    return parts


def _hypothesis(rank: int, hypothesis: Hypothesis) -> list[str]:
    parts = [
        f"<h3>{_e(rank)}. {_e(hypothesis.cause.value)} — score {_e(f'{hypothesis.score:.2f}')}</h3>",
        f"<p>{_e(hypothesis.summary)}</p>",
    ]
    for css, title, evidence in (
        ("for", "Supporting", hypothesis.supporting),
        ("against", "Against", hypothesis.against),
    ):
        if evidence:
            items = "".join(
                f"<li>{_when(e.at) + ': ' if e.at else ''}{_e(e.text)} "
                f'<span class="muted">(weight {_e(postmortem_sections.weight_text(e.weight))})</span></li>'
                for e in evidence
            )
            parts.append(f'<p class="{css}">{_e(title)}:</p><ul>{items}</ul>')
    return parts


def _resolution(incident: Incident) -> list[str]:
    day = _day(incident)
    times = [
        ("First action", incident.mitigation_started_at),
        ("Mitigated", incident.mitigated_at),
        ("Resolved", incident.resolved_at),
    ]
    parts = ["<ul>", *(f"<li>{_e(name)}: {_when(at)}</li>" for name, at in times), "</ul>"]
    parts.append("<h3>What nodewarden did</h3>")
    parts += _table(
        ("Started", "Step", "Subject", "Outcome", "Finished", "Detail"),
        [
            [
                _when(a.started, day=day),
                _e(a.step.value),
                _e(", ".join(a.subjects)),
                _e(a.outcome.value),
                _when(a.finished, day=day),
                _e(a.detail),
            ]
            for a in postmortem_sections.action_rows(incident)
        ],
        empty="No action.",
    )
    parts.append("<h3>What nodewarden held back, and why</h3>")
    parts += _table(
        ("Reason", "Subject", "First", "Last", "Times", "Message"),
        [
            [
                _e(g.reason.value),
                _e(g.subject),
                _when(g.first, day=day),
                _when(g.last, day=day),
                _e(g.count),
                _e(g.message),
            ]
            for g in postmortem_sections.hold_rows(incident)
        ],
        empty="No hold.",
    )
    operators = postmortem_sections.operator_actions(incident)
    if operators:
        parts.append("<h3>Operator actions</h3>")
        parts += _table(
            ("Time", "Actor", "Operation", "Resource", "Status", "Until"),
            [
                [
                    _when(c.at, day=day),
                    _e(c.actor or c.caller),
                    _e(c.operation),
                    _e(c.resource),
                    _e(c.status),
                    _when(c.until, day=day),
                ]
                for c in operators
            ],
            empty="",
        )
    parts.append("<h3>What others changed</h3>")
    parts += _table(
        ("Time", "Caller", "Operation", "Resource", "Status"),
        [
            [_when(c.at, day=day), _e(c.caller), _e(c.operation), _e(c.resource), _e(c.status)]
            for c in postmortem_sections.others_changes(incident)
        ],
        empty="The Activity Log records no change by others.",
    )
    return parts


def _table(headings: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str) -> list[str]:
    """A table of cells that are already escaped (or built from escaped parts); a long one folded away."""
    if not rows:
        return [f'<p class="muted">{_e(empty)}</p>']
    head = "".join(f"<th>{_e(h)}</th>" for h in headings)
    opens = ['<td class="long">' if h in _LONG_COLUMNS else "<td>" for h in headings]
    body = "".join(
        "<tr>" + "".join(f"{td}{cell}</td>" for td, cell in zip(opens, row, strict=True)) + "</tr>" for row in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if len(rows) <= FOLD_ROWS:
        return [table]
    return [f"<details><summary>{_e(len(rows))} rows</summary>", table, "</details>"]


def _timeline_table(incident: Incident) -> list[str]:
    return _table(
        ("Time", "Kind", "Subject", "What"),
        [
            [_when(e.at, day=_day(incident)), _e(e.kind), _e(e.subject), _e(e.text)]
            for e in postmortem_sections.timeline(incident)
        ],
        empty="Nothing recorded.",
    )


def chart(incident: Incident) -> list[str]:
    """The inline SVG: a bar per phase, then one lane of marks per kind of event, on one time axis."""
    entries = postmortem_sections.timeline(incident)
    start = min(e.at for e in entries)  # a change before the impact is on the chart too
    span = max((postmortem_sections.last_known(incident) - start).total_seconds(), 1.0)
    lanes = [kind for kind in _LANES if any(e.kind == kind for e in entries)]
    found = postmortem_sections.phases(incident)
    height = _ROW * (len(found) + len(lanes) + 2)

    def x(at: datetime) -> float:
        return _LABEL + (at - start).total_seconds() / span * (_WIDTH - _LABEL - _RIGHT)

    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-label="{_e("Timeline of " + incident.title)}">',
    ]
    for row, phase in enumerate(found):
        parts.append(_phase_bar(phase, row, x))
    for offset, kind in enumerate(lanes):
        y = _ROW * (len(found) + offset)
        parts.append(f'<text x="4" y="{y + 15}">{_e(kind)}s</text>')
        parts += [_mark(entry, y, x) for entry in entries if entry.kind == kind]
    axis = _ROW * (len(found) + len(lanes)) + 4
    parts.append(f'<line class="axis" x1="{_LABEL}" y1="{axis}" x2="{_WIDTH - _RIGHT}" y2="{axis}"/>')
    end = postmortem_sections.last_known(incident)
    parts.append(f'<text x="{_LABEL}" y="{axis + 16}">{_e(postmortem_sections.clock(start))}</text>')
    parts.append(
        f'<text x="{_WIDTH - _RIGHT}" y="{axis + 16}" text-anchor="end">{_e(postmortem_sections.clock(end))}</text>'
    )
    parts.append("</svg>")
    return parts


def _phase_bar(phase: Phase, row: int, x: _Scale) -> str:
    y = _ROW * row
    left, right = x(phase.start), x(phase.end)
    css = f"{phase.kind.value} ongoing" if phase.ongoing else phase.kind.value
    label = PHASE_LABELS[phase.kind]
    tip = f"{label}: {postmortem_sections.clock(phase.start)} to {postmortem_sections.clock(phase.end)}"
    return (
        f'<text x="4" y="{y + 15}">{_e(label)}</text>'
        f'<rect class="{_e(css)}" x="{left:.1f}" y="{y + 4}" width="{max(right - left, 1.0):.1f}" height="14">'
        f"<title>{_e(tip)}</title></rect>"
    )


def _mark(entry: TimelineEntry, y: int, x: _Scale) -> str:
    tip = f"{postmortem_sections.clock(entry.at)} {entry.subject}: {entry.text}"
    return (
        f'<rect class="mark-{_e(entry.kind)}" x="{x(entry.at) - 2:.1f}" y="{y + 4}" width="4" height="14">'
        f"<title>{_e(tip)}</title></rect>"
    )

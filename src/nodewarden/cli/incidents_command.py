"""`nodewarden incidents list|show ID|report ID`: read the incidents `nodewarden run` kept, in its state dir or,
with --kubeconfig or --twin, in the cluster (Incident objects, when it runs there with --state cluster).

Read-only: in a state dir the store lives in the journal's file (`<state-dir>/journal.sqlite3`), and a missing
file is an input error rather than a new, empty journal. `report` renders the postmortem; its action items come from
the incident's evidence and, with `--audit`, from the audit findings about what the incident hit.
"""

from __future__ import annotations

import json
import sys
from contextlib import closing
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from nodewarden.audit import engine
from nodewarden.audit.catalog import RuleContext, default_catalog
from nodewarden.audit.params import AuditParams
from nodewarden.cli import format_flag
from nodewarden.connection import connect
from nodewarden.errors import NotFoundError
from nodewarden.incidents import actions, codec, figures
from nodewarden.model.findings import Finding
from nodewarden.model.incident import Incident
from nodewarden.observe import load
from nodewarden.output import write_atomically
from nodewarden.render import postmortem, postmortem_sections, terminal_text
from nodewarden.state import IncidentRecord, IncidentStore
from nodewarden.state.cluster.incidents import ClusterIncidents

app = typer.Typer(
    help="Incidents nodewarden recorded: list them, show one, write its postmortem.", no_args_is_help=True
)


class ListFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class ReportFormat(StrEnum):
    MARKDOWN = "markdown"
    HTML = "html"
    JSON = "json"


StateDirOption = Annotated[
    Path, typer.Option("--state-dir", help="Where `nodewarden run` keeps its journal and incidents.")
]
KubeconfigOption = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig", help="Read the incidents kept in this cluster (Incident objects) instead of a state dir."
    ),
]
TwinOption = Annotated[Path | None, typer.Option("--twin", help="Read the incidents kept in a running twin's cluster.")]
IdArgument = Annotated[str, typer.Argument(help="The incident's id (see `nodewarden incidents list`).")]
DEFAULT_STATE_DIR = Path("nodewarden-state")

# The fields `incidents list -o json` keeps of each incident, as the codec writes them.
_LISTED = (
    "id", "title", "state", "impactStart", "detectedAt", "mttdSeconds", "mttrSeconds", "pool", "zone", "nodes", "drill"
)  # fmt: skip


@app.command("list")
@format_flag.with_alias
def list_incidents(
    output_format: Annotated[ListFormat, format_flag.option("table or json.")] = ListFormat.TABLE,
    drills: Annotated[bool, typer.Option("--drills", help="Only incidents a drill caused.")] = False,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    kubeconfig: KubeconfigOption = None,
    twin: TwinOption = None,
) -> None:
    """List incidents, the newest first: id, state, impact start, MTTD, MTTR, nodes, drill and result, title."""
    source = Source(state_dir, kubeconfig, twin)
    with closing(source.open()) as store:
        incidents = [i for i in store.list() if i.drill or not drills]
    if output_format is ListFormat.JSON:
        typer.echo(json.dumps([_listed(incident) for incident in incidents], indent=2, ensure_ascii=False))
    elif incidents:
        _print_table(incidents)
    else:
        typer.echo(f"No {'drill ' if drills else ''}incidents in {source}.")


def _listed(incident: Incident) -> dict[str, Any]:
    document = codec.incident_to_dict(incident)
    listed = {key: document[key] for key in _LISTED} | {"drillResult": _drill_result(incident)}
    return listed | {key: postmortem_sections.seconds_number(listed[key]) for key in ("mttdSeconds", "mttrSeconds")}


def _drill_result(incident: Incident) -> str | None:
    """PASS or FAIL for a drill's incident; None when no drill caused it or its verdict was not kept."""
    if incident.verdict is None:
        return None
    return "PASS" if incident.verdict.passed else "FAIL"


def _print_table(incidents: list[Incident]) -> None:
    """The table; the DRILL and RESULT columns only when a listed incident was caused by a drill."""
    with_drills = any(incident.drill for incident in incidents)
    drill_heads = ("DRILL", "RESULT") if with_drills else ()
    rows = [("ID", "STATE", "IMPACT START", "MTTD", "MTTR", "NODES", *drill_heads, "TITLE")]
    for incident in incidents:
        drill_cells = (incident.drill or "-", _drill_result(incident) or "-") if with_drills else ()
        rows.append(
            (
                incident.id,
                incident.state.value,
                postmortem_sections.clock(incident.impact_start),
                postmortem_sections.time_to_detect(incident),
                postmortem_sections.duration(figures.of_incident(incident).mttr),
                str(len(incident.nodes)),
                *drill_cells,
                incident.title,
            )
        )
    widths = [max(len(_plain(row[column])) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [_plain(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
        typer.echo("  ".join([*cells, _plain(row[-1])]))


@app.command("show")
def show_incident(
    incident_id: IdArgument,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    kubeconfig: KubeconfigOption = None,
    twin: TwinOption = None,
) -> None:
    """Show one incident: times, MTTD/MTTR, what it hit, ranked causes and what was done."""
    incident = _get(Source(state_dir, kubeconfig, twin), incident_id)
    for line in _describe(incident):
        typer.echo(_plain(line))


@app.command("report")
@format_flag.with_alias
def report_incident(
    incident_id: IdArgument,
    output_format: Annotated[ReportFormat, format_flag.option("Postmortem format.")] = ReportFormat.MARKDOWN,
    output: Annotated[Path | None, typer.Option("--output", help="Write the postmortem to this file.")] = None,
    audit: Annotated[
        list[Path] | None,
        typer.Option(
            "--audit", help="Exported files or folders (as for `nodewarden audit`) whose findings become action items."
        ),
    ] = None,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    kubeconfig: KubeconfigOption = None,
    twin: TwinOption = None,
) -> None:
    """Write the incident's postmortem: Markdown (GitHub, Azure DevOps), one HTML file, or JSON."""
    incident = _get(Source(state_dir, kubeconfig, twin), incident_id)
    items = actions.action_items(incident, _findings(audit or [], incident))
    text = _RENDERERS[output_format](incident, items)
    if output is None:
        sys.stdout.write(text)
        return
    write_atomically(output, text, named=f"--output {output}")


_RENDERERS = {
    ReportFormat.MARKDOWN: postmortem.render_markdown,
    ReportFormat.HTML: postmortem.render_html,
    ReportFormat.JSON: postmortem.render_json,
}


@dataclass(frozen=True)
class Source:
    """Where the incidents are read: the cluster when --kubeconfig or --twin is given, else the state dir."""

    state_dir: Path
    kubeconfig: Path | None = None
    twin: Path | None = None

    @property
    def in_cluster(self) -> bool:
        return self.kubeconfig is not None or self.twin is not None

    def open(self) -> IncidentRecord:
        """The store, read-only: a read command never creates, migrates or writes the journal (the wrong
        directory, or one an older nodewarden wrote, is a clear error instead), nor any object in a cluster."""
        if not self.in_cluster:
            return IncidentStore.open_readonly(self.state_dir)
        kube = connect(twin=self.twin, kubeconfig=self.kubeconfig, need_azure=False).kube
        assert kube is not None
        return ClusterIncidents(kube)

    def __str__(self) -> str:
        return "the cluster" if self.in_cluster else str(self.state_dir)


def _get(source: Source, incident_id: str) -> Incident:
    with closing(source.open()) as store:
        incident = store.get(incident_id)
    if incident is None:
        raise NotFoundError(f"no incident {incident_id} in {source}; `nodewarden incidents list`")
    return incident


def _findings(paths: list[Path], incident: Incident) -> list[Finding]:
    """The open findings of an audit of `paths`, as of the incident's start (default thresholds)."""
    if not paths:
        return []
    loaded = load.load_paths(paths)
    report = engine.run_audit(
        loaded.snapshot,
        catalog=default_catalog(),
        context=RuleContext(params=AuditParams(), now=incident.impact_start),
    )
    return [finding for finding in report.findings() if not finding.is_waived]


def _describe(incident: Incident) -> list[str]:
    lines = [
        f"{incident.title}",
        f"  id        {incident.id}",
        f"  state     {incident.state.value}",
        f"  where     pool {incident.pool or '(several)'}, zone {incident.zone or '(several)'}",
    ]
    times = [
        ("impact", incident.impact_start),
        ("detected", incident.detected_at),
        ("acting", incident.mitigation_started_at),
        ("mitigated", incident.mitigated_at),
        ("resolved", incident.resolved_at),
    ]
    lines += [f"  {name:<9} {postmortem_sections.clock(at) if at else '-'}" for name, at in times]
    lines += [
        f"  MTTD      {postmortem_sections.time_to_detect(incident)}",
        f"  MTTR      {postmortem_sections.duration(figures.of_incident(incident).mttr)}",
        f"  nodes     {', '.join(incident.nodes) or '-'}",
        f"  recorded  {len(incident.signals)} signals, {len(incident.actions)} actions, "
        f"{len(incident.holds)} holds, {len(postmortem_sections.operator_actions(incident))} operator actions, "
        f"{len(postmortem_sections.others_changes(incident))} changes by others",
    ]
    if incident.verdict is not None:
        verdict = incident.verdict
        lines.append(f"Drill {verdict.drill}: {postmortem_sections.verdict_result(verdict.passed)}")
        lines += [
            f"  {postmortem_sections.check_result(c)}  {c.name}: {c.measured} (wanted {c.target})"
            for c in verdict.checks
        ]
    if incident.hypotheses:
        lines.append("Causes, most likely first:")
        lines += [f"  {h.score:.2f}  {h.cause.value}: {h.summary}" for h in incident.hypotheses]
    lines.append(f"Postmortem: nodewarden incidents report {incident.id} -o markdown|html|json")
    return lines


def _plain(text: str) -> str:
    return terminal_text.printable(text)

"""Drill verdicts for the terminal (rich) and for machines (JSON, the incident store's shape)."""

from __future__ import annotations

import json

from rich.table import Table
from rich.text import Text

from nodewarden.incidents.codec import verdict_to_dict
from nodewarden.model.drill import Verdict
from nodewarden.render.postmortem_sections import check_result, verdict_result


def verdict_table(verdict: Verdict) -> Table:
    if verdict.fault_at is None and verdict.aborted is None:  # a dry run: only the steady state was checked
        result = Text("steady state holds" if verdict.passed else "steady state does not hold", style="bold")
        title = Text.assemble(f"drill {verdict.drill} (dry run, nothing injected): ", result)
    else:
        result = Text(verdict_result(verdict.passed), style="bold green" if verdict.passed else "bold red")
        title = Text.assemble(f"drill {verdict.drill}: ", result, f" — {verdict.fault}")
    # At 80 columns the words stay whole: phase and result never wrap, the three prose columns share what is left
    # and wrap between words; only a word longer than its column (a list of pod names) is folded.
    table = Table(title=title, title_justify="left", caption_justify="left", expand=True)
    table.add_column("PHASE", no_wrap=True)
    for column in ("CHECK", "TARGET", "MEASURED"):
        table.add_column(column, ratio=1, overflow="fold")
    table.add_column("RESULT", no_wrap=True)
    for check in verdict.checks:
        outcome = Text(check_result(check), style="green" if check.passed else "bold red")
        table.add_row(check.phase.value, check.name, check.target, check.measured, outcome)
    notes = [f"aborted: {verdict.aborted}"] if verdict.aborted else []
    notes += [f"rollback: {verdict.rollback}"] if verdict.rollback else []
    table.caption = "; ".join(notes) or None
    return table


def verdict_json(verdict: Verdict, *, incident: str | None) -> str:
    """The verdict as the incident store keeps it, plus the id of the incident it was saved on."""
    return json.dumps({**verdict_to_dict(verdict), "incident": incident})

"""`nodewarden audit`: load exports (or read a live cluster), run the catalog, render, choose the exit code."""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from nodewarden import config as config_file
from nodewarden.audit import engine
from nodewarden.audit.catalog import RuleContext, default_catalog
from nodewarden.audit.report import AuditReport
from nodewarden.cli.exit_codes import ExitCode
from nodewarden.cli.live_flags import ConnectionFlags
from nodewarden.errors import InputError
from nodewarden.model.findings import Profile, Severity
from nodewarden.observe import collect, load
from nodewarden.output import write_atomically
from nodewarden.render import Format, html, json_report, junit, markdown, sarif, table

RENDERERS: dict[Format, Callable[[AuditReport], str]] = {
    Format.JSON: json_report.render_json,
    Format.SARIF: sarif.render_sarif,
    Format.JUNIT: junit.render_junit,
    Format.MARKDOWN: markdown.render_markdown,
    Format.HTML: html.render_html,
}


def audit_command(
    *,
    paths: list[Path],
    output_format: Format,
    output: Path | None,
    config_path: Path | None,
    waivers_path: Path | None,
    use_annotation_waivers: bool,
    fail_on: str,
    now: datetime,
    max_input_bytes: int,
    only: list[str],
    live: ConnectionFlags | None = None,
) -> ExitCode:
    threshold = _severity(fail_on)
    settings = config_file.load_config(config_path).audit
    waiver_file = config_file.load_waivers(waivers_path)
    catalog = default_catalog()
    unknown = [rule_id for rule_id in settings.disable if rule_id not in catalog]
    if unknown:
        raise InputError(f"{config_path}: audit.disable: no such rule {', '.join(unknown)}")
    not_selected = _not_selected(catalog.ids(), only)
    loaded = _load(paths, live=live, max_input_bytes=max_input_bytes)
    for note in loaded.notes:
        print(f"nodewarden: {note}", file=sys.stderr)
    profiles = (Profile.CORE,) if settings.profile == "core" else (Profile.CORE, Profile.EXTENDED)
    report = engine.run_audit(
        loaded.snapshot,
        catalog=catalog,
        context=RuleContext(params=settings.params, now=now),
        waiver_entries=waiver_file.waivers,
        waiver_source=str(waivers_path) if waivers_path else "waivers",
        use_annotation_waivers=use_annotation_waivers,
        disabled=settings.disable,
        not_selected=not_selected,
        profiles=profiles,
    )
    _emit(report, output_format, output)
    return ExitCode.FINDINGS if report.open_at_or_above(threshold) else ExitCode.OK


def _load(paths: list[Path], *, live: ConnectionFlags | None, max_input_bytes: int) -> load.LoadResult:
    """Exported files, or (`--live`) the same documents read from the cluster: one loader either way."""
    if live is not None:
        if paths:
            raise InputError("give files or folders to audit, or --live, not both")
        return collect.load_live(live.connect())
    if not paths:
        raise InputError("nothing to audit: give files or folders of az/kubectl output, or --live")
    return load.load_paths(paths, max_bytes=max_input_bytes)


def _not_selected(ids: list[str], patterns: list[str]) -> set[str]:
    """Rules that `--rule` leaves out; every pattern must select something."""
    if not patterns:
        return set()
    selected: set[str] = set()
    for pattern in patterns:
        matched = fnmatch.filter(ids, pattern.upper())
        if not matched:
            raise InputError(f"--rule: {pattern!r} matches no rule (see `nodewarden rules`)")
        selected.update(matched)
    return set(ids) - selected


def _severity(value: str) -> Severity:
    try:
        return Severity(value.lower())
    except ValueError as exc:
        allowed = "|".join(s.value for s in Severity)
        raise InputError(f"--fail-on: expected one of {allowed}, found {value!r}") from exc


def _emit(report: AuditReport, output_format: Format, output: Path | None) -> None:
    if output_format is Format.TABLE:
        to_terminal = output is None and sys.stdout.isatty()
        text = table.render_table(report, color=to_terminal, width=_width() if to_terminal else 120)
    else:
        text = RENDERERS[output_format](report)
    if output is None:
        sys.stdout.write(text)
        return
    write_atomically(output, text, named=f"--output {output}")


def _width() -> int:
    import shutil

    return max(80, min(160, shutil.get_terminal_size((120, 40)).columns))

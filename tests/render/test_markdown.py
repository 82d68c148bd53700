"""Markdown output: headline, summary counts, sections, waivers, skipped rules and escaping."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from nodewarden.render import markdown
from tests.render import reports

UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def render() -> str:
    return markdown.render_markdown(reports.sample_report())


def section(text: str, heading: str) -> str:
    """The lines under a `## heading`, up to the next `## ` heading."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def table_rows(text: str) -> list[list[str]]:
    """Every table row in `text`, split into cells on unescaped pipes."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in UNESCAPED_PIPE.split(line)[1:-1]])
    return rows


def table_widths(text: str) -> list[set[int]]:
    """For each table in `text`, the set of cell counts of its rows; one count means no cell was split."""
    tables: list[set[int]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append(set())
            tables[-1].add(len(UNESCAPED_PIPE.findall(line)) - 1)
        previous = line
    return tables


def test_markdown_heading_names_cluster_score_and_grade() -> None:
    first = render().splitlines()[0]
    assert first == "# nodewarden audit of aks-prod: score 72/100, grade C"


def test_markdown_heading_without_a_cluster_name_says_nodewarden_audit() -> None:
    text = markdown.render_markdown(reports.report_of(cluster_name=None))
    assert text.startswith("# nodewarden audit: score 72/100, grade C\n")


def test_markdown_summary_counts_rules_by_outcome_and_open_findings_by_severity() -> None:
    rows = {cells[0]: cells[1] for cells in table_rows(section(render(), "Summary"))}
    assert rows["failed"] == "1"
    assert rows["waived"] == "2"
    assert rows["passed"] == "1"
    assert rows["not evaluated"] == "1"
    assert rows["disabled"] == "1"
    assert rows["high"] == "1"
    assert rows["medium"] == "1"
    assert rows["low"] == "0"  # the waived low finding is not open


def test_markdown_lists_failed_rules_under_their_category_with_open_findings_and_fix() -> None:
    failed = section(render(), "Failed rules")
    assert "### HA: Cluster and node-pool availability" in failed
    assert "#### HA001 Node pools span at least two availability zones" in failed
    rows = table_rows(failed)
    assert rows[0] == ["Severity", "Target", "Finding"]
    assert rows[1][0] == "**high**"
    assert rows[1][1].startswith("agentPool/system<br><sub>/subscriptions/0000/")
    assert rows[2] == ["medium", "Deployment/shop/web", "Deployment shop/web has no zone spread"]
    assert "**Fix:** Fix HA001: az aks update -g `<rg>` -n `<cluster>`" in failed
    assert "WL001" not in failed


def test_markdown_lists_waived_findings_with_reason_source_and_expiry() -> None:
    rows = table_rows(section(render(), "Waived findings"))
    assert rows[1] == [
        "WL001",
        "Deployment/jobs/batch",
        "1 replica",
        "batch jobs tolerate restarts",
        "waivers.yaml",
        "2026-12-31",
    ]
    assert rows[2][0] == "WL002"
    assert rows[2][3:] == ["single-writer database", "annotation nodewarden.io/waive", "no expiry"]


def test_markdown_lists_not_evaluated_rules_with_their_reasons_and_folds_disabled_ones() -> None:
    text = section(render(), "Not evaluated")
    rows = table_rows(text)
    assert ["MON001", "Container Insights enabled", "input missing: az aks show -o json"] in rows
    assert "<summary>1 disabled rule</summary>" in text
    assert ["DR002", "Backups cover PV namespaces", "extended profile not selected"] in rows


def test_markdown_folds_passed_rules_and_lists_notes() -> None:
    text = render()
    assert "<summary>1 passed rule</summary>" in text
    assert "- SEC001 Network policy engine enabled" in text
    assert f"- {reports.NOTE}" in section(text, "Notes")


def test_markdown_of_a_clean_report_has_no_failed_waived_or_skipped_sections() -> None:
    text = markdown.render_markdown(reports.report_of())
    for heading in ("Failed rules", "Waived findings", "Not evaluated", "Notes"):
        assert f"## {heading}" not in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        pytest.param("a|b", "a|b", id="a pipe outside a table is text"),
        pytest.param("az aks -g <rg>", "az aks -g `<rg>`", id="a placeholder is a code span"),
        pytest.param("<img src=x>", "&lt;img src=x>", id="a tag cannot open"),
        pytest.param("`code`", r"\`code\`", id="backticks"),
        pytest.param("[x](y) [1, 2]", r"[x\](y) [1, 2]", id="a link cannot form; brackets stay"),
        pytest.param("*bold* _em_", r"\*bold\* \_em\_", id="emphasis"),
        pytest.param("MC_rg-prod_aks", "MC_rg-prod_aks", id="underscores inside words stay"),
        pytest.param("x >= 50%", "x >= 50%", id="comparisons stay"),
        pytest.param(">= 50%", r"\>= 50%", id="a quote cannot open"),
        pytest.param("- x", r"\- x", id="a list cannot open"),
        pytest.param("1. x", r"1\. x", id="an ordered list cannot open"),
        pytest.param("a & b", "a & b", id="ampersand"),
        pytest.param("&lt;", "&amp;lt;", id="entity stays literal"),
        pytest.param("two\nlines", "two lines", id="newline"),
        pytest.param("nul\x00", "nul\ufffd", id="control character"),
    ],
)
def test_markdown_escape_keeps_values_literal(raw: str, escaped: str) -> None:
    assert markdown.escape(raw) == escaped


def test_a_table_cell_escapes_pipes_but_not_what_only_starts_a_block() -> None:
    assert markdown.cell(">= 50% | x") == r">= 50% \| x"


def test_markdown_escapes_pipes_angle_brackets_and_backticks_in_table_cells() -> None:
    text = markdown.render_markdown(reports.hostile_report())
    shown = rendered(text)
    assert "<script" not in shown
    widths = table_widths(text)
    assert len(widths) == 5
    assert all(len(counts) == 1 for counts in widths), "a value split a table cell"
    rows = table_rows(section(text, "Failed rules"))
    assert rows[2][2].startswith(r"image \`web\|api\` `<latest>`")
    assert rows[1][1] == "Deployment/shop/`<script>`alert(1)&lt;/script>"
    assert "\x00" not in text


def rendered(text: str) -> str:
    """The HTML a CommonMark renderer with GFM tables (GitHub, Azure DevOps) makes of `text`."""
    html: str = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    return html

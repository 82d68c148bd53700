"""HTML output: one self-contained page, well-formed, with every value escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from nodewarden.render import html
from tests.render import reports

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr"}


class Page(HTMLParser):
    """Collects tags, attributes and text; records any end tag that does not close the open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.mismatches: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.mismatches.append(tag)
            return
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def render() -> str:
    return html.render_html(reports.sample_report())


def row(text: str, rule_id: str) -> str:
    match = re.search(rf'<tr class="row-[a-z-]+"><td class="id" id="{rule_id}">.*?</tr>', text)
    assert match is not None, rule_id
    return match.group(0)


def test_html_is_one_well_formed_document() -> None:
    text = render()
    assert text.startswith("<!DOCTYPE html>\n")
    page = parse(text)
    assert page.mismatches == []
    assert page.open == []
    assert len(page.ids) == len(set(page.ids)), "element ids are unique"


def test_html_forbids_loading_anything_but_its_inline_style() -> None:
    page = parse(render())
    policies = [m["content"] for m in page.find("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert policies == ["default-src 'none'; style-src 'unsafe-inline'"]
    names = [name for name, _ in page.tags]
    assert names.index("meta") < names.index("style")


@pytest.mark.parametrize(
    "marker",
    [
        pytest.param("<script", id="script"),
        pytest.param("<link", id="stylesheet link"),
        pytest.param("<img", id="image"),
        pytest.param("<iframe", id="frame"),
        pytest.param(" src=", id="src attribute"),
        pytest.param("@import", id="css import"),
        pytest.param("url(", id="css url"),
        pytest.param("@font-face", id="web font"),
    ],
)
def test_html_loads_no_external_assets(marker: str) -> None:
    assert marker not in render().lower()


def test_html_header_shows_cluster_score_grade_and_generated_time() -> None:
    text = render()
    page = parse(text)
    assert "nodewarden audit of aks-prod" in page.text
    assert '<div class="score">72<small>/100</small></div>' in text
    assert '<div class="grade grade-C" title="grade">C</div>' in text
    [time] = page.find("time")
    assert time["datetime"] == "2026-11-26T12:00:00Z"
    assert "2026-11-26 12:00 UTC" in page.text


def test_html_summary_counts_rules_by_outcome_and_open_findings_by_severity() -> None:
    summary = render().split('<section id="summary">')[1].split("</section>")[0]
    assert 'outcome-fail">failed</span></td><td class="n">1<' in summary
    assert 'outcome-waived">waived</span></td><td class="n">2<' in summary
    assert 'sev-high">high</span></td><td class="n">1<' in summary
    assert 'sev-low">low</span></td><td class="n">0<' in summary


def test_html_has_a_section_per_category_with_a_row_per_rule() -> None:
    page = parse(render())
    sections = [s["id"] for s in page.find("section")]
    assert sections == ["summary", "HA", "WL", "SEC", "MON", "DR", "not-evaluated", "notes"]
    rows = [r["class"] for r in page.find("tr") if (r.get("class") or "").startswith("row-")]
    assert rows == ["row-fail", "row-waived", "row-waived", "row-pass", "row-not-evaluated", "row-disabled"]


def test_html_failed_rule_shows_outcome_and_severity_badges_findings_and_fix() -> None:
    failed = row(render(), "HA001")
    assert '<span class="badge outcome-fail">failed</span>' in failed
    assert '<span class="badge sev sev-high">high</span>' in failed
    assert failed.count("<li>") == 2
    assert f'<span class="rid">{reports.CLUSTER_ID}/agentPools/system</span>' in failed
    assert "<strong>Fix:</strong> Fix HA001: az aks update -g &lt;rg&gt; -n &lt;cluster&gt;" in failed
    assert '<a href="https://learn.microsoft.com/azure/aks/availability-zones" rel="noopener noreferrer">' in failed


def test_html_waived_rules_name_each_waiver_with_reason_and_source() -> None:
    text = render()
    assert "batch jobs tolerate restarts (waivers.yaml, until 2026-12-31)" in row(text, "WL001")
    assert "single-writer database (annotation nodewarden.io/waive)" in row(text, "WL002")


def test_html_gives_the_reason_a_rule_did_not_run() -> None:
    text = render()
    assert "input missing: az aks show -o json" in row(text, "MON001")
    assert "extended profile not selected" in row(text, "DR002")
    not_evaluated = text.split('<section id="not-evaluated">')[1].split("</section>")[0]
    assert '<a href="#MON001">MON001</a>' in not_evaluated
    assert "DR002" not in not_evaluated


def test_html_lists_the_notes() -> None:
    notes = render().split('<section id="notes">')[1]
    assert f"<li>{reports.NOTE}</li>" in notes


def test_html_escapes_a_workload_named_like_a_script_tag() -> None:
    text = html.render_html(reports.hostile_report())
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    page = parse(text)
    assert page.mismatches == []
    assert all(name != "script" for name, _ in page.tags)
    assert f"Deployment/shop/{reports.SCRIPT}" in "".join(page.text)  # shown as text, not run


def test_html_escapes_quotes_and_ampersands_in_messages() -> None:
    text = html.render_html(reports.hostile_report())
    assert reports.QUOTED not in text
    assert "limit &quot;cpu&quot; &amp; memory" in text
    assert "\x00" not in text
    assert "image `web|api` &lt;latest&gt;\ufffd" in text


def test_html_title_carries_cluster_score_and_grade_escaped() -> None:
    text = html.render_html(reports.hostile_report())
    title = re.search(r"<title>(.*?)</title>", text)
    assert title is not None
    assert title.group(1) == "nodewarden audit of &lt;script&gt;alert(1)&lt;/script&gt;-cluster: score 72, grade C"

"""The HTML shell both reports share: one head, one base style, one footer, print rules last."""

from __future__ import annotations

import re

from nodewarden import __version__
from nodewarden.render import html, page, postmortem
from tests.render import reports
from tests.render.test_postmortem import ITEMS, hostile, zone_outage


def head(text: str) -> str:
    """The head without its title and style, which are each report's own."""
    match = re.search(r"<head>(.*?)</head>", text, re.DOTALL)
    assert match is not None
    without_title = re.sub(r"<title>.*?</title>", "", match.group(1))
    return re.sub(r"<style>.*?</style>", "", without_title, flags=re.DOTALL)


def style(text: str) -> str:
    match = re.search(r"<style>\n(.*?)\n</style>", text, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_audit_and_postmortem_pages_share_one_head() -> None:
    audit = html.render_html(reports.sample_report())
    incident = postmortem.render_html(zone_outage(), ITEMS)
    assert head(audit) == head(incident)
    assert f'content="{page.CONTENT_SECURITY_POLICY}"' in head(audit)


def test_each_report_adds_its_rules_between_the_base_and_the_print_rules() -> None:
    audit = style(html.render_html(reports.sample_report()))
    incident = style(postmortem.render_html(zone_outage(), ITEMS))
    for text, own_rule in ((audit, ".grade {"), (incident, "svg.chart {")):
        assert text.startswith(":root {")
        assert text.index(own_rule) < text.index("@media print")
        assert text.endswith("}\n}"), "the print block closes the style"


def test_the_footer_names_the_version_and_what_the_page_is_about_escaped() -> None:
    audit = html.render_html(reports.sample_report())
    incident = postmortem.render_html(hostile(), ITEMS)
    assert f"<footer>nodewarden {__version__}</footer>" in audit
    footer = re.search(r"<footer>(.*?)</footer>", incident)
    assert footer is not None
    assert footer.group(1) == page.escape(f"nodewarden {__version__} · incident {hostile().id}")


def test_escape_quotes_attributes_and_replaces_control_characters() -> None:
    assert page.escape('<a href="x">&\x00') == "&lt;a href=&quot;x&quot;&gt;&amp;\ufffd"
    assert page.escape(3) == "3"

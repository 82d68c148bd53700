"""The shell every HTML report shares: one self-contained page, its safety headers, base CSS and escaping.

`render.html` (the audit) and `render.postmortem_html` (an incident) fill the page; this module owns what
must not drift between them. Inline CSS only: no script, no fonts, no images, no external assets, so the
page works offline, in a mail or attached to a ticket. A Content-Security-Policy meta tag forbids loading
anything except the inline style, so a value that slipped through escaping still could not run or fetch.
Every value that reaches a page goes through `escape`, our own wording included, so nothing depends on
knowing which strings are safe.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from nodewarden import __version__

CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Type, tables, code and badges: what both reports look like before their own rules.
_BASE_STYLE = """
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-alt: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; padding: 24px; max-width: 1200px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 16px 0 4px; }
.meta, .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-alt); }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code, .key { font-family: ui-monospace, SFMono-Regular, Consolas, monospace; font-size: 12.5px;
             overflow-wrap: anywhere; }
ul, ol { margin: 4px 0; padding-left: 20px; }
p { margin: 4px 0; }
.badge { display: inline-block; border: 1px solid currentColor; border-radius: 10px; padding: 0 8px;
         font-size: 12px; font-weight: 600; white-space: nowrap; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
""".strip()

# Last, so that print overrides the screen rules of the base and of each report.
_PRINT_STYLE = """
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  tr, li { break-inside: avoid; }
  h2 { break-after: avoid; }
  a[href^="http"]::after { content: " (" attr(href) ")"; font-size: 10px; }
}
""".strip()


def escape(value: object) -> str:
    """Escape for text and quoted attributes; control characters become U+FFFD, as a browser would show them."""
    return html.escape(_CONTROL.sub("\ufffd", str(value)), quote=True)


def render_page(*, title: str, style: str, body: Iterable[str], footer_note: str | None = None) -> str:
    """The whole document: `title` and `footer_note` are plain text; `style` is our own CSS for this
    report; `body` is markup its caller has already escaped (the header and the main content)."""
    footer = f"nodewarden {__version__}" if footer_note is None else f"nodewarden {__version__} · {footer_note}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        # The policy is our constant and is written unescaped, so that it reads the same in the file as in the browser.
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="nodewarden {escape(__version__)}">',
        f"<title>{escape(title)}</title>",
        f"<style>\n{_BASE_STYLE}\n{style.strip()}\n{_PRINT_STYLE}\n</style>",
        "</head>",
        "<body>",
        *body,
        f"<footer>{escape(footer)}</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"

"""Screenshots and layout figures of the demo's HTML postmortems in headless Chromium (`make postmortem-screens`).

Not part of `make test`: it needs a browser, and a browser would blow the suite's time budget. It writes, for each
postmortem and each window width (1,400 and 800 pixels), the first 3,000 pixels of the page and the whole page as
PNGs, and `layout.txt`: each page's height and width, and every table wider than its page, so a change to the
page's CSS can be checked by looking and by the numbers.

The postmortems come from `nodewarden demo` run into the output folder, or from `--reports DIR` (a demo's output).
Chromium is Debian's `chromium` (`apt-get install -y chromium`); as root it runs with --no-sandbox. The pages
forbid scripts (their Content-Security-Policy), so the figures are read by a wrapper page that loads each
postmortem in a frame of the window's width and reads its layout from outside.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTHS = (1400, 800)
TOP = 3000  # the first screenful and a half of a page: what a reader sees before scrolling far
FULL_LIMIT = 30000  # Chromium's window cannot be taller; a longer page is cut there
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)

# The wrapper: loads the page in a frame as wide as the window, then writes what it measured into its own DOM.
_WRAPPER = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="{src}" style="border:0;width:{width}px;height:1000px"></iframe>
<pre id="m"></pre>
<script>
document.getElementById("f").addEventListener("load", () => {{
  const d = document.getElementById("f").contentDocument, root = d.documentElement;
  const tables = [...d.querySelectorAll("table")].map((t, i) => ({{
    index: i, section: (t.closest("section") || {{}}).id || "", width: t.scrollWidth,
    box: t.parentElement.clientWidth}})).filter(t => t.width > t.box + 1);
  const times = [...d.querySelectorAll("td time")].filter(t => t.getClientRects().length > 1).length;
  document.getElementById("m").textContent = JSON.stringify({{
    height: root.scrollHeight, width: root.scrollWidth, viewport: root.clientWidth,
    overflowingTables: tables, wrappedTimes: times}});
}});
</script></body></html>"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("postmortem-screens"), help="Where the PNGs go.")
    parser.add_argument("--reports", type=Path, help="A `nodewarden demo` output folder (default: run the demo).")
    args = parser.parse_args(argv)
    browser = shutil.which("chromium")
    if browser is None:
        print("postmortem-screens: no chromium; install it with `apt-get install -y chromium`", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    reports = args.reports or _run_demo(args.output / "demo")
    pages = sorted((reports / "incidents").glob("*.html"))
    if not pages:
        print(f"postmortem-screens: no postmortem in {reports / 'incidents'}", file=sys.stderr)
        return 2
    lines = []
    for page in pages:
        for width in WIDTHS:
            figures = _measure(browser, page, width)
            stem = f"{page.stem}-{width}"
            _screenshot(browser, page, args.output / f"{stem}-top.png", width, TOP)
            _screenshot(browser, page, args.output / f"{stem}-full.png", width, min(figures["height"], FULL_LIMIT))
            lines.append(f"{stem}: {json.dumps(figures)}")
            print(lines[-1])
    (args.output / "layout.txt").write_text("\n".join(lines) + "\n")
    print(f"screenshots and layout.txt in {args.output}/")
    return 0


def _run_demo(out: Path) -> Path:
    nodewarden = Path(sys.executable).with_name("nodewarden")
    subprocess.run([str(nodewarden), "demo", "--speed", "0", "--output", str(out)], check=True)
    return out


def _chromium(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="postmortem-screens-") as profile:
        command = [browser, *FLAGS, f"--user-data-dir={profile}", *args]
        env = os.environ | {"HOME": profile}  # Chromium writes caches under $HOME; keep them out of the user's
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120, env=env)


def _screenshot(browser: str, page: Path, png: Path, width: int, height: int) -> None:
    _chromium(browser, f"--screenshot={png.resolve()}", f"--window-size={width},{height}", page.resolve().as_uri())


def _measure(browser: str, page: Path, width: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="postmortem-wrapper-") as folder:
        wrapper = Path(folder) / "wrapper.html"
        wrapper.write_text(_WRAPPER.format(src=page.resolve().as_uri(), width=width))
        done = _chromium(
            browser,
            "--allow-file-access-from-files",
            "--virtual-time-budget=5000",
            f"--window-size={width + 40},1000",
            "--dump-dom",
            wrapper.as_uri(),
        )
    found = re.search(r'<pre id="m">(.*?)</pre>', done.stdout, flags=re.S)
    if found is None or not found.group(1):
        raise RuntimeError(f"the wrapper measured nothing for {page}: {done.stdout[-500:]}")
    figures: dict[str, object] = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return figures


if __name__ == "__main__":
    raise SystemExit(main())

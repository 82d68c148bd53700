"""Text from the cluster reaches a terminal without its control characters (issue 17): an escape sequence in an
annotation cannot recolour, clear or retitle the reader's terminal, whichever renderer prints it."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.table import Table

from nodewarden.cli import terminal
from nodewarden.render import terminal_text
from tests.conftest import Invoke

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster"
# OSC 0 (set the window title), CSI 2J (clear the screen), a C1 CSI, NUL, and a right-to-left override
HOSTILE = "ok\x1b]0;pwned\x07\x1b[2J\x9b31m\x00 \u202eevil"


@pytest.mark.parametrize(
    ("desc", "text", "shown"),
    [
        ("escape sequences", "\x1b[31mred\x1b[0m", "\ufffd[31mred\ufffd[0m"),
        ("C1 controls and DEL", "a\x9bb\x7fc\x85d", "a\ufffdb\ufffdc\ufffdd"),
        ("NUL and bell", "a\x00b\x07", "a\ufffdb\ufffd"),
        ("bidi overrides and isolates", "a\u202eb\u2066c\u2069", "a\ufffdb\ufffdc\ufffd"),
        ("newline and tab are kept", "a\tb\nc", "a\tb\nc"),
        ("names and other scripts are kept", "aks-ü-节点-0 → ok", "aks-ü-节点-0 → ok"),
    ],
)
def test_printable_replaces_what_a_terminal_would_act_on(desc: str, text: str, shown: str) -> None:
    assert terminal_text.printable(text) == shown
    assert terminal_text.is_printable(shown)


def test_a_safe_console_keeps_its_own_colours_but_not_the_cells() -> None:
    buffer = io.StringIO()
    console = terminal_text.SafeConsole(file=buffer, color_system="standard", force_terminal=True, width=80)
    table = Table("node")
    table.add_row(HOSTILE)
    console.print(table, style="red")
    out = buffer.getvalue()
    assert "\x1b[31m" in out, "the console's own style is still written"
    assert "\x1b]" not in out
    assert "\x1b[2J" not in out
    assert "\x9b" not in out
    assert "\x00" not in out
    assert "\u202e" not in out


def test_the_command_console_is_a_safe_console() -> None:
    assert isinstance(terminal.console(), terminal_text.SafeConsole)


def test_a_waive_reason_with_escape_sequences_reaches_audit_table_output_replaced(
    tmp_path: Path, invoke: Invoke
) -> None:
    # The story: `nodewarden.io/waive-reason` is whatever a cluster user wrote; `audit -o table` printed it raw.
    cluster = tmp_path / "cluster"
    shutil.copytree(EXAMPLE, cluster)
    path = cluster / "k8s-deployments.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    [indexer] = [d for d in document["items"] if d["metadata"]["name"] == "indexer"]
    indexer["metadata"].setdefault("annotations", {}).update(
        {"nodewarden.io/waive": "RG001", "nodewarden.io/waive-reason": HOSTILE}
    )
    path.write_text(json.dumps(document), encoding="utf-8")
    result = invoke("audit", str(cluster), "-o", "table", "--rule", "RG001", "--fail-on", "critical")
    assert "— waived:" in result.out, result.out  # the reason follows, where the table's wrapping puts it
    assert terminal_text.is_printable(result.out.replace("\n", "")), repr(result.out)
    assert "\ufffd]0;pwned" in result.out

"""Real clients nobody here wrote, as the tests find them: `make tools` installs them under .tools/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KUBECTL_120 = ROOT / ".tools" / "kubectl-1.20" / "usr" / "bin" / "kubectl"
PROMTOOL = ROOT / ".tools" / "prometheus" / "usr" / "bin" / "promtool"
REQUIRE_VARIABLE = "NODEWARDEN_REQUIRE_TOOLS"  # set by .ci/run: a missing tool fails the test instead of skipping it


def kubectl_120() -> Path:
    """Debian's kubectl 1.20 (package kubernetes-client), unpacked by `make tools`."""
    return _tool(KUBECTL_120, "Debian's kubectl 1.20")


def promtool() -> Path:
    """Debian's promtool (package prometheus), unpacked by `make tools`."""
    return _tool(PROMTOOL, "Debian's promtool")


def _tool(path: Path, what: str) -> Path:
    if path.is_file():
        return path
    message = f"{what} is not at {path.relative_to(ROOT)}: run `make tools`"
    if os.environ.get(REQUIRE_VARIABLE):
        pytest.fail(message)
    pytest.skip(message)

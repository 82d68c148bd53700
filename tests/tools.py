"""Real clients nobody here wrote, as the tests find them: `make tools` installs them under .tools/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KUBECTL_120 = ROOT / ".tools" / "kubectl-1.20" / "usr" / "bin" / "kubectl"
REQUIRE_VARIABLE = "NODEWARDEN_REQUIRE_TOOLS"  # set by .ci/run: a missing tool fails the test instead of skipping it


def kubectl_120() -> Path:
    """Debian's kubectl 1.20 (package kubernetes-client), unpacked by `make tools`."""
    if KUBECTL_120.is_file():
        return KUBECTL_120
    message = f"Debian's kubectl 1.20 is not at {KUBECTL_120.relative_to(ROOT)}: run `make tools`"
    if os.environ.get(REQUIRE_VARIABLE):
        pytest.fail(message)
    pytest.skip(message)

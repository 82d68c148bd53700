"""`nodewarden policy show [--policy FILE]`, `policy check FILE` and `policy schema`: the remediation policy."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nodewarden.heal import policy as remediation_policy
from nodewarden.render import reference_pages


def policy_show(path: Path | None) -> str:
    """The built-in policy as shipped (with its comments), or a user's file as nodewarden reads it."""
    if path is None:
        packaged = resources.files("nodewarden.heal.data").joinpath(remediation_policy.DEFAULT_POLICY_FILE)
        return packaged.read_text(encoding="utf-8")
    return remediation_policy.render_policy(remediation_policy.load_policy(path))


def policy_check(path: Path) -> str:
    """Validate a policy file; raises PolicyError (exit 2) naming the field, else says OK."""
    policy = remediation_policy.load_policy(path)
    pools = ", ".join(sorted(policy.spec.pools)) or "none"
    return f"{path}: OK ({policy.kind} {policy.metadata.name}, mode {policy.spec.mode}, pool overrides: {pools})\n"


def policy_schema() -> str:
    """The policy's reference page (docs/policy.md)."""
    return reference_pages.render_policy_reference()

"""Decide: the remediation policy and the pure planner (signals and journal in; actions, holds and closures out)."""

from nodewarden.heal.planner import plan
from nodewarden.heal.policy import Policy, PolicyError, PoolPolicy, default_policy, load_policy, render_policy

__all__ = ["Policy", "PolicyError", "PoolPolicy", "default_policy", "load_policy", "plan", "render_policy"]

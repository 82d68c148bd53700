"""The rule modules, one per catalog section; `ALL_RULES` is what `default_catalog()` holds."""

from nodewarden.audit.catalog import Rule
from nodewarden.audit.rules import (
    autoscaling,
    availability,
    governance,
    monitoring,
    recovery,
    scalesets,
    security,
    upgrades,
    workloads,
)

ALL_RULES: tuple[Rule, ...] = (
    *availability.RULES,
    *upgrades.RULES,
    *autoscaling.RULES,
    *governance.RULES,
    *workloads.RULES,
    *security.RULES,
    *monitoring.RULES,
    *recovery.RULES,
    *scalesets.RULES,
)

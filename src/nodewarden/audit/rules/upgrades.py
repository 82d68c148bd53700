"""UP rules: Upgrades and maintenance."""

from nodewarden.audit.catalog import Rule

RULES: tuple[Rule, ...] = ()

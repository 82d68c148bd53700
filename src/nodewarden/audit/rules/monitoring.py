"""MON rules: Monitoring."""

from nodewarden.audit.catalog import Rule

RULES: tuple[Rule, ...] = ()

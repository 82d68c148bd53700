"""SEC rules: Network and identity security."""

from nodewarden.audit.catalog import Rule

RULES: tuple[Rule, ...] = ()

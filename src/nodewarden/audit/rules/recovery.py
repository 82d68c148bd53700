"""DR rules: Backup and disaster recovery."""

from nodewarden.audit.catalog import Rule

RULES: tuple[Rule, ...] = ()

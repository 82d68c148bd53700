"""VM rules: AKS-managed scale sets."""

from nodewarden.audit.catalog import Rule

RULES: tuple[Rule, ...] = ()

"""RG rules: Resource governance."""

from nodewarden.audit.catalog import Rule

RULES: tuple[Rule, ...] = ()

"""AS rules: Autoscaling and capacity."""

from nodewarden.audit.catalog import Rule

RULES: tuple[Rule, ...] = ()

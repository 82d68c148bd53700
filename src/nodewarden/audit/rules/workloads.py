"""WL rules: workload availability (replicas, PDBs, probes, spread, storage)."""

from nodewarden.audit.catalog import Rule

RULES: tuple[Rule, ...] = ()

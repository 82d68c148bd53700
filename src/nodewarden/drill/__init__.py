"""Drills: inject a fault, measure detection and recovery against targets, undo the fault."""

"""Reads the world into a Snapshot. Today: the JSON/YAML files users export with az and kubectl."""

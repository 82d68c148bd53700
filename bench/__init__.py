"""Benchmarks; run them as scripts (`.venv/bin/python bench/audit_scale.py`). A package so tests can import them."""

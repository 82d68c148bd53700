"""Thin commands: parse flags, call the core, render, pick the exit code."""

"""Hosting the digital twin in-process: drills on a stepped twin clock, and `nodewarden demo`."""

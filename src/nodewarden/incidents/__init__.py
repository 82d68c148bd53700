"""Incidents: signals and actions grouped by time, pool, zone and cause, stored beside the journal.

`group` builds incidents from the signal log and the journal (pure), and `codec` is their JSON shape (the
`-o json` report and the stored document); `state/incidents.py` keeps them in the journal's SQLite file.
"""

"""Incidents: signals and actions grouped by time, pool, zone and cause, stored beside the journal.

`group` builds incidents from the signal log and the journal (pure), `store` keeps them in the journal's
SQLite file, and `codec` is their JSON shape (the `-o json` report and the stored document).
"""

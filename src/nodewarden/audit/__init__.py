"""The audit: a catalog of pure rules over a Snapshot, waivers and scoring. No I/O here."""

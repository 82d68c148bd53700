"""Plain typed data that flows between stages: snapshots in, findings out. No I/O here."""

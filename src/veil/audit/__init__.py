"""The audit log: append-only, hash-chained, ids only."""

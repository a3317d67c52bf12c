"""The audit trail: every write, and every read of another organisation's report."""

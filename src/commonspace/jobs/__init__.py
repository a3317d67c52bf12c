"""Durable jobs: work that outlasts a request (large imports, log matching, later federation)."""

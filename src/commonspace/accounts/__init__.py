"""Organisations, members and API keys."""

"""The ``commonspace`` command: every subcommand calls the same services as the API."""

from __future__ import annotations

from commonspace.cli.main import app, main

__all__ = ["app", "main"]

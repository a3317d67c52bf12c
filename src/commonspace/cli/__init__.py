"""The ``commonspace`` command: every subcommand calls the same services as the API.

The commands are imported when first used (see :mod:`commonspace.cli.main`), so a command starts without
loading what the others need.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app", "main"]


def main() -> None:
    from commonspace.cli.main import main as run

    run()


def __getattr__(name: str) -> Any:
    if name == "app":
        from commonspace.cli.main import app

        return app
    raise AttributeError(name)

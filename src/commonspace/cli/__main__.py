"""``python -m commonspace.cli``: the same as the ``commonspace`` console script."""

from __future__ import annotations

from commonspace.cli.main import app

if __name__ == "__main__":
    app(prog_name="commonspace")

"""``commonspace correlate``: the per-value counts that correlation keeps, shown or rebuilt."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from commonspace.cli.context import console, fail, progress_bar, show_table, state
from commonspace.correlation import counts
from commonspace.correlation.service import LIMIT_VARIABLE, over_correlation_limit


def correlate(
    ctx: typer.Context,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Count every value again from the indicators, in one transaction (after restoring a backup, "
            "or to check the counts); the counts are otherwise kept as indicators are added and deleted.",
        ),
    ] = False,
    step: Annotated[
        int, typer.Option(min=1, help="Indicators (by id) counted per statement of the rebuild.")
    ] = counts.REBUILD_STEP,
    top: Annotated[
        int, typer.Option(min=0, help="Show this many of the values held by the most reports.")
    ] = 10,
) -> None:
    """How many reports hold each value: the distinct values, those shared, and those held by more reports
    than the over-correlation limit (COMMONSPACE_CORRELATION_LIMIT), which correlation shows as
    over-correlating instead of listing their reports. This is the operator's view, of every report."""
    context = state(ctx)
    try:
        limit = over_correlation_limit()
    except ValueError as exc:
        fail(str(exc))
        raise
    if rebuild:
        started = time.perf_counter()
        with context.transaction() as session, progress_bar() as bar:
            task = bar.add_task("counting indicators", total=None)
            rebuilt = counts.rebuild(
                session, step=step, progress=lambda done, total: bar.update(task, completed=done, total=total)
            )
        elapsed = time.perf_counter() - started
        console.print(
            f"{rebuilt.indicators:,} indicators counted: {rebuilt.values:,} distinct values, "
            f"in {elapsed:.1f} s.",
            highlight=False,
        )
    with context.transaction() as session:
        found = counts.summary(session, limit, top=top)
    console.print(
        f"{found.values:,} distinct values; {found.shared:,} held by more than one report; "
        f"{found.over_limit:,} by more than {limit} (the over-correlation limit, {LIMIT_VARIABLE}).",
        highlight=False,
    )
    if found.top:
        table = Table("type", "value", "reports")
        for type_, value, reports in found.top:
            table.add_row(type_, value, f"{reports:,}")
        show_table(table)

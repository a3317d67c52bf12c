"""``commonspace match``: find indicators in logs, on this machine or on Apache Spark."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from commonspace.cli.context import console, errors, fail, state
from commonspace.engine.local import LogSummary, Result, collect_hits, default_workers, match_logs
from commonspace.engine.readers import FORMATS
from commonspace.engine.warninglists import WarningListError, WarningLists
from commonspace.formats import files
from commonspace.formats.model import FormatError
from commonspace.matching.watchlist import Entry, Watchlist, file_watchlist

SUMMARY_ROWS = 50


class Engine(StrEnum):
    LOCAL = "local"
    SPARK = "spark"


def _progress(total: int) -> tuple[Progress, Callable[[int], None]]:
    bar = Progress(
        TextColumn("matching"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )
    task = bar.add_task("matching", total=total)

    def advance(done: int) -> None:
        bar.update(task, completed=done)

    return bar, advance


def _warninglists(value: str | None) -> WarningLists | None:
    if value is None:
        return None
    if value == "builtin":
        return WarningLists.builtin()
    try:
        return WarningLists.from_directory(value)
    except (OSError, WarningListError) as exc:
        fail(f"--exclude-warninglisted {value}: {exc}")
        raise  # not reached: fail() exits


def _file_watchlist(paths: list[Path], warninglists: WarningLists | None, skip_invalid: bool) -> Watchlist:
    entries: list[Entry] = []
    for path in paths:
        try:
            found, problems = files.read_entries(path, skip_invalid=skip_invalid)
        except FormatError as exc:
            for problem in exc.problems[:20]:
                errors.print(f"  {problem}", highlight=False, markup=False)
            fail(
                f"{path}: {len(exc.problems)} problem(s) in the indicators; nothing was matched "
                "(--skip-invalid leaves them out)"
            )
            raise  # not reached: fail() exits
        except OSError as exc:
            fail(f"{path}: {exc.strerror or exc}")
            raise
        for problem in problems:
            errors.print(f"skipped: {problem}", highlight=False, markup=False)
        entries.extend(found)
    return file_watchlist(entries, warninglists=warninglists)


def _check_logs(paths: list[Path]) -> None:
    for path in paths:
        if not path.is_file():
            fail(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
        if not os.access(path, os.R_OK):
            fail(f"{path}: not readable")


def _print_summary(result: Result, watchlist: Watchlist, elapsed: float) -> None:
    table = Table("indicator", "type", "hits", *(["reports"] if watchlist.from_database else []))
    reports_of: dict[tuple[str, str], set[str]] = {}
    if watchlist.from_database:
        for ref in result.tally.by_ref:
            type_, value = watchlist.entries[ref]
            reports_of.setdefault((type_.value, value), set()).add(watchlist.reports[ref])
    ranked = result.tally.by_indicator.most_common()
    for (type_, value), count in ranked[:SUMMARY_ROWS]:
        row = [value, type_.value, f"{count:,}"]
        if watchlist.from_database:
            row.append(", ".join(sorted(reports_of.get((type_.value, value), ()))))
        table.add_row(*row)
    if ranked:
        console.print(table)
    if len(ranked) > SUMMARY_ROWS:
        console.print(f"(and {len(ranked) - SUMMARY_ROWS:,} more indicators)")
    size = sum(log.size for log in result.logs)
    console.print(
        f"{result.tally.hits:,} hit(s) of {len(ranked):,} indicator(s) in {len(result.logs)} log(s), "
        f"{size / 1e6:,.1f} MB in {elapsed:.1f} s"
    )


def _report_logs(logs: list[LogSummary]) -> None:
    for log in logs:
        if log.skipped:
            lines = ", ".join(map(str, log.skipped_lines))
            errors.print(
                f"{log.path}: {log.skipped:,} malformed line(s) skipped (first: line {lines})",
                highlight=False,
                markup=False,
            )
        if log.read_error:
            errors.print(
                f"{log.path}: reading stopped early: {log.read_error}", highlight=False, markup=False
            )


def match(
    ctx: typer.Context,
    logs: Annotated[list[Path], typer.Argument(metavar="LOG...", help="Log files, plain or gzip.")],
    indicators: Annotated[
        list[Path] | None,
        typer.Option(
            "--indicators",
            metavar="FILE",
            help="Indicators from a file (a list, one value a line; CSV with type,value; a STIX bundle; a "
            "MISP event); repeatable. Without it, the indicators visible to --as in the database.",
        ),
    ] = None,
    as_: Annotated[
        str | None, typer.Option("--as", metavar="EMAIL", help="Match the indicators this member may see.")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help=f"The logs' format: {', '.join(FORMATS)}.")
    ] = "auto",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write the hits (JSON Lines) to FILE, not stdout."
        ),
    ] = None,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="Print a table of the indicators hit, with counts (instead of the hits, without -o).",
        ),
    ] = False,
    engine: Annotated[Engine, typer.Option("--engine", help="local: this machine; spark: Apache Spark.")] = (
        Engine.LOCAL
    ),
    spark_master: Annotated[
        str,
        typer.Option(
            "--spark-master", metavar="URL", help="Spark master for --engine spark (local[*] by default)."
        ),
    ] = "local[*]",
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Processes for --engine local (default: one a core, at most 8)."
        ),
    ] = None,
    exclude_warninglisted: Annotated[
        str | None,
        typer.Option(
            "--exclude-warninglisted",
            metavar="DIR|builtin",
            help="Leave out indicators on a warninglist: the built-in lists, or those of DIR with them.",
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help="Leave out (and list) bad values of --indicators files."),
    ] = False,
    record_sightings: Annotated[
        bool,
        typer.Option("--record-sightings", help="Record a sighting of each indicator hit (needs --as)."),
    ] = False,
) -> None:
    """Find indicators in logs: one JSON line per record, field and indicator hit."""
    if record_sightings and as_ is None:
        fail("--record-sightings needs --as: sightings are recorded by a member's organisation")
    if record_sightings and indicators:
        fail("--record-sightings records sightings of the database's indicators: leave out --indicators")
    if not indicators and as_ is None:
        fail("give --indicators FILE, or --as EMAIL to match the indicators that member may see")
    if format not in FORMATS:
        fail(f"--format {format}: one of {', '.join(FORMATS)}")
    _check_logs(logs)
    started = time.perf_counter()
    warninglists = _warninglists(exclude_warninglisted)
    context = state(ctx) if as_ is not None else None
    if indicators:
        watchlist = _file_watchlist(indicators, warninglists, skip_invalid)
    else:
        from commonspace.accounts import service as accounts  # the database: only when it is used
        from commonspace.matching import service as matching

        assert context is not None and as_ is not None
        with context.transaction() as session:
            subject = accounts.subject_by_email(session, as_)
            watchlist = matching.visible_watchlist(session, subject, warninglists=warninglists)
    if watchlist.excluded:
        errors.print(f"{watchlist.excluded:,} indicator(s) on a warninglist left out", highlight=False)
    if not watchlist.entries:
        errors.print("no indicators to match", highlight=False)
    index = watchlist.index
    with ExitStack() as stack:
        sink: IO[bytes] | None = None
        partial: Path | None = None
        if output is not None:
            partial = output.with_name(output.name + ".partial")
            sink = stack.enter_context(partial.open("wb"))
        elif not summary:
            sink = sys.stdout.buffer
        bar, advance = _progress(sum(log.stat().st_size for log in logs))
        stack.enter_context(bar)
        write = sink.write if sink is not None else None
        describe = watchlist.describe if watchlist.from_database else None
        try:
            if engine is Engine.SPARK:
                from commonspace.engine.spark import match_on_spark  # imports pyspark: only when asked

                entries = [(type_, value, ref) for ref, (type_, value) in enumerate(watchlist.entries)]
                found = match_on_spark(logs, entries, fmt=format, master=spark_master, progress=advance)
                with found:
                    result = collect_hits(found, logs, fmt=format, write=write, describe=describe)
                for log in result.logs:  # what the executors skipped
                    log.skipped = found.skipped.get(log.path, 0)
                    log.skipped_lines = found.skipped_lines.get(log.path, [])
                    log.read_error = found.read_errors.get(log.path)
            else:
                result = match_logs(
                    logs,
                    index,
                    fmt=format,
                    write=write,
                    describe=describe,
                    workers=workers or default_workers(),
                    progress=advance,
                )
        except (OSError, ValueError, RuntimeError, ImportError) as exc:
            if partial is not None:
                partial.unlink(missing_ok=True)
            fail(str(exc))
            raise
        if sink is not None:
            sink.flush()
    if partial is not None and output is not None:
        partial.replace(output)
    _report_logs(result.logs)
    if context is not None and as_ is not None and watchlist.from_database:
        from commonspace.accounts import service as accounts
        from commonspace.matching import service as matching

        with context.transaction() as session:
            subject = accounts.subject_by_email(session, as_)
            matching.audit_reads(session, subject, watchlist, result.tally.by_ref)
            if record_sightings:
                names = ", ".join(log.name for log in logs)
                recorded = matching.record_sightings(
                    session, subject, watchlist, dict(result.tally.by_ref), source=f"match: {names}"
                )
                errors.print(f"{recorded:,} sighting(s) recorded", highlight=False)
    if summary:
        _print_summary(result, watchlist, time.perf_counter() - started)

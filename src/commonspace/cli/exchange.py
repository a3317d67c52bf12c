"""``commonspace import`` and ``commonspace export``: files in and out, as a member, under the policy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from commonspace.accounts import service as accounts
from commonspace.cli.context import advancing, console, errors, fail, progress_bar, show_table, state
from commonspace.domain.vocab import TLP, Distribution
from commonspace.exchange import service as exchange_service
from commonspace.formats import files
from commonspace.formats.detect import InFormat, OutFormat
from commonspace.formats.model import Exchange, FormatError

AsRequired = Annotated[
    str, typer.Option("--as", metavar="EMAIL", help="Act as this member, under the access policy.")
]


def _read(paths: list[Path], fmt: InFormat | None, skip_invalid: bool) -> list[Exchange]:
    read: list[Exchange] = []
    with progress_bar() as bar:
        for path in paths:
            task = bar.add_task(f"reading {path.name}", total=None)
            try:
                read.append(
                    files.read_path(path, fmt, skip_invalid=skip_invalid, progress=advancing(bar, task))
                )
            except FormatError as exc:
                for problem in exc.problems[:20]:
                    errors.print(f"  {problem}", highlight=False, markup=False)
                more = len(exc.problems) - 20
                tail = f" (and {more} more)" if more > 0 else ""
                fail(
                    f"{path}: {len(exc.problems)} problem(s){tail}; nothing was imported "
                    "(--skip-invalid imports the rest)"
                )
    return read


def _show_found(exchanges: list[Exchange]) -> None:
    table = Table("file", "report", "type", "value")
    for exchange in exchanges:
        for report in exchange.reports:
            for item in report.indicators:
                table.add_row(
                    exchange.source, report.title, item.type.value if item.type else "?", item.value
                )
    show_table(table)


def import_files(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Files, or MISP feed directories.")],
    as_: AsRequired,
    format: Annotated[
        str,
        typer.Option(
            "--format", help="auto, stix, misp, csv, list (one value a line) or text (free text, HTML, PDF)."
        ),
    ] = "auto",
    tlp: Annotated[TLP | None, typer.Option(help="TLP for every report, whatever the file says.")] = None,
    distribution: Annotated[
        Distribution | None, typer.Option(help="Distribution for every report, whatever the file says.")
    ] = None,
    sharing_group: Annotated[
        str | None,
        typer.Option("--sharing-group", help="The group (UUID or name) for --distribution sharing-group."),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Leave bad objects out (and list them) instead of refusing the file."
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show what the files hold (for free text: the indicators found); write nothing."
        ),
    ] = False,
) -> None:
    """Import STIX 2.1 bundles, MISP events or feeds, CSV, lists or free text, all or nothing."""
    fmt = None if format == "auto" else _in_format(format)
    started = time.perf_counter()
    exchanges = _read(paths, fmt, skip_invalid)
    for exchange in exchanges:
        for problem in exchange.problems:
            errors.print(f"skipped: {problem}", highlight=False, markup=False)
    if dry_run:
        _show_found(exchanges)
        console.print(f"Dry run: nothing written ({sum(len(e.reports) for e in exchanges)} report(s) read).")
        return
    options = exchange_service.ImportOptions(tlp=tlp, distribution=distribution, sharing_group=sharing_group)
    context = state(ctx)
    total = exchange_service.ImportSummary()
    with context.transaction() as session, progress_bar() as bar:
        subject = accounts.subject_by_email(session, as_)
        for exchange in exchanges:
            task = bar.add_task(f"writing {Path(exchange.source).name}", total=len(exchange.reports))
            done = exchange_service.import_exchange(session, subject, exchange, options, advancing(bar, task))
            total = exchange_service.merge(total, done)
    _print_summary(total, time.perf_counter() - started)


def _in_format(name: str) -> InFormat:
    try:
        return InFormat(name)
    except ValueError:
        fail(f"unknown format {name!r}: use auto, {', '.join(f.value for f in InFormat)}")
        raise


def _print_summary(summary: exchange_service.ImportSummary, seconds: float) -> None:
    table = Table("", "count", title="Imported")
    rows = [
        ("reports created", summary.reports_created),
        ("reports updated", summary.reports_updated),
        ("reports already there", summary.reports_unchanged),
        ("indicators added", summary.indicators_added),
        ("indicators already there", summary.indicators_duplicate),
        ("objects kept", summary.objects_added),
        ("objects already there", summary.objects_unchanged),
        ("notes (unsupported values kept in summaries)", summary.notes),
        ("items skipped as invalid", len(summary.skipped)),
    ]
    for label, count in rows:
        table.add_row(label, f"{count:,}")
    show_table(table)
    for line in summary.narrowed:
        console.print(f"narrowed: {line}", highlight=False, markup=False)
    rate = summary.objects_read / seconds if seconds > 0 else 0.0
    console.print(
        f"{summary.objects_read:,} objects read in {seconds:.2f} s ({rate:,.0f}/s).", highlight=False
    )


def export_files(
    ctx: typer.Context,
    as_: AsRequired,
    format: Annotated[OutFormat, typer.Option("--format", help="The output format.")] = OutFormat.STIX,
    report: Annotated[
        list[str] | None,
        typer.Option(
            "--report", metavar="UUID", help="Only this report (repeatable); default: all you may see."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write here (Suricata hash lists go beside it); default: standard output."
        ),
    ] = None,
    exclude_warninglisted: Annotated[
        bool | None,
        typer.Option(
            "--exclude-warninglisted/--include-warninglisted",
            help="Leave out, or keep, the indicators on warninglists. Default: left out of suricata, zeek, "
            "rpz and text, kept in stix, misp and csv.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Export the reports a member may see as STIX, MISP, CSV, Suricata or Zeek rules, RPZ or a blocklist."""
    exclude = exchange_service.excludes_warninglisted(format, exclude_warninglisted)
    with state(ctx).transaction() as session:
        subject = accounts.subject_by_email(session, as_)
        exchange = exchange_service.export_exchange(
            session, subject, report_uuids=report or None, exclude_warninglisted=exclude
        )
    data, beside = files.write(exchange, format)
    if output is None:
        if beside:
            fail(
                "this format comes with hash list files: give --output so that they can be written beside it"
            )
        typer.echo(data.decode("utf-8"), nl=False)
        return
    output.write_bytes(data)
    for name, content in beside.items():
        (output.parent / name).write_bytes(content)
    names = ", ".join([str(output), *(str(output.parent / n) for n in beside)])
    console.print(f"{len(exchange.reports):,} report(s) written to {names}", highlight=False)

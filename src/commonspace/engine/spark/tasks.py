"""What a Spark task does: read a whole file or a span of one, match its records, and tell what it saw.

This module runs on the executors; it imports nothing of Spark. A task's hits travel as plain tuples, its
line numbers counted from the task's ``first_line`` (the driver shifts them into place). Zeek TSV is scanned
as the local engine scans it, column by column; the other formats are matched record by record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Protocol

from commonspace.engine.index import IndicatorIndex
from commonspace.engine.match import Hit, match_records
from commonspace.engine.readers import LogFormat, LogReader, open_log
from commonspace.engine.readers._base import CHUNK_SIZE, SKIPPED_KEPT
from commonspace.engine.readers.spans import Span
from commonspace.engine.readers.tabular import CsvRows, lines_of
from commonspace.engine.readers.zeek import Schema
from commonspace.engine.records import Record
from commonspace.engine.scan import Scanner
from commonspace.engine.spans import SpanTask, open_span

HitRow = tuple[int, str, str, str, str, int]
"""A hit as it travels: line, field, observed value, indicator, indicator type, reference."""

Indicator = tuple[str, str, int]
"""An indicator as it travels: type, canonical value, reference."""


@dataclass(frozen=True, slots=True)
class CsvStart:
    """Where a span of CSV starts reading rows: under which delimiter, after which leading lines (the
    comments before the first row, for the file's first span) and with which column names (``None``:
    the first row read tells, as at the start of the file)."""

    delimiter: str
    first: int
    names: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Task:
    """A file read whole by its format's reader, or the span ``[start, end)`` of a plain file."""

    path: str
    format: LogFormat
    whole: bool = False
    start: int = 0
    end: int = 0
    first_line: int = 1
    """The number the span's first line gets."""
    from_line: int = 1
    """For a whole file: the hits on earlier lines are left out (other tasks gave them)."""
    schema: Schema | None = None
    """For Zeek TSV: the headers in force where the span starts."""
    csv: CsvStart | None = None
    """For CSV: how the span reads its rows."""

    @property
    def size(self) -> int:
        """The bytes of the file this task stands for (for progress)."""
        return self.end - self.start


@dataclass(slots=True)
class Outcome:
    """What a task found: its hits and skipped lines, and what the driver needs to check a span."""

    hits: list[HitRow] = field(default_factory=list)
    skipped: int = 0
    skipped_lines: list[int] = field(default_factory=list)
    read_error: str | None = None
    begin: int = 0
    """Where the span's first line starts."""
    stop: int = 0
    """Where the line after the span starts (or the file ends)."""
    lines: int = 0
    long_line: bool = False
    headers: list[str] = field(default_factory=list)
    """Zeek TSV: the header lines in the span that may change the schema."""
    cut: bool = False
    """CSV: the span's last row ran to its end inside a quoted cell (it goes on in the next span)."""
    error: str | None = None
    """Why the indicators could not be indexed."""


class _Broadcast(Protocol):
    @property
    def value(self) -> Sequence[Indicator]: ...


class _Skips:
    """Counts malformed lines as a reader does, keeping the first few line numbers."""

    def __init__(self) -> None:
        self.count = 0
        self.lines: list[int] = []

    def __call__(self, line: int) -> None:
        self.count += 1
        if len(self.lines) < SKIPPED_KEPT:
            self.lines.append(line)


class _CsvSpan:
    """The rows of a span of CSV; ``cut`` tells, once they are read, whether the last one was cut short."""

    def __init__(self, span: Span, start: CsvStart, skip: _Skips) -> None:
        self.span = span
        self.start = start
        self.rows = CsvRows(start.delimiter, skip, None if start.names is None else list(start.names))
        self.cut = False

    def _lines(self) -> Iterator[str]:
        for line, data in self.span.chunks():
            lines = lines_of(data)
            if line < self.start.first:  # the comments before the first row are no rows
                lines = islice(lines, self.start.first - line, None)
            yield from lines

    def records(self) -> Iterator[Record]:
        # The csv module asks for another line only within a row: a row that comes back once the span
        # is read to its end ran past it (all lines end with a newline).
        first = max(self.span.first_line, self.start.first)
        for _, record in self.rows.rows(self._lines(), first):
            self.cut = self.span.ended
            if record is not None:
                yield record


_cached: tuple[str, IndicatorIndex] | None = None


def _index(token: str, indicators: _Broadcast) -> IndicatorIndex:
    """The index of a run's indicators, built once per executor process and kept for its next tasks."""
    global _cached
    if _cached is None or _cached[0] != token:
        _cached = None  # the last run's index goes before this one is built
        _cached = (token, IndicatorIndex(indicators.value))
    return _cached[1]


def _row(hit: Hit) -> HitRow:
    return (hit.line, hit.field, hit.observed, hit.indicator, hit.type.value, hit.ref)


def _zeek_rows(reader: LogReader, index: IndicatorIndex, from_line: int = 1) -> list[HitRow]:
    """The hits of a Zeek TSV reader from ``from_line`` on, scanned as the local engine scans them.

    The columnar scanner of :mod:`commonspace.engine.zeek_columns` looks each distinct cell of a column
    up once, where :func:`match_records` parses every record and looks every value up: a task on a busy
    dns.log runs twice as fast, and its rows share the strings of the cells that repeat, which makes the
    outcome that travels back to the driver smaller too. The hits are the same, in the same order (blocks
    it cannot take are parsed record by record, which also counts their malformed lines on the reader).
    Lines before ``from_line`` are still read: the headers and the skipped lines of the whole file count.
    """
    rows: list[HitRow] = []
    for found in Scanner(index).scan_reader(reader):
        for line, cell in found:
            if line >= from_line:
                field_ = cell.field
                rows += [
                    (line, field_, seen, value, type_.value, ref) for seen, (type_, value, ref) in cell.hits
                ]
    return rows


def run_task(task: Task, index: IndicatorIndex) -> Outcome:
    """Reads and matches what the task stands for (Zeek TSV through the local engine's columnar scanner,
    every other format record by record)."""
    path = Path(task.path)
    zeek = task.format is LogFormat.ZEEK
    if task.whole:
        reader = open_log(path, task.format)
        if zeek:
            hits = _zeek_rows(reader, index, task.from_line)
        else:
            records: Iterable[Record] = reader
            if task.from_line > 1:
                records = (record for record in reader if record.line >= task.from_line)
            hits = [_row(hit) for hit in match_records(records, index)]
        return Outcome(hits, reader.skipped, reader.skipped_lines, reader.read_error)
    cut = False
    if task.format is LogFormat.CSV:
        if task.csv is None:
            raise ValueError("a span of CSV needs its CsvStart")
        span = Span(path, task.start, task.end, task.first_line)
        skips = _Skips()
        rows = _CsvSpan(span, task.csv, skips)
        hits = [_row(hit) for hit in match_records(rows.records(), index)]
        skipped, skipped_lines, cut = skips.count, skips.lines, rows.cut
    else:
        # A Zeek span starts under the headers in force there (none given: none yet, as a file starts).
        schema = (Schema() if task.schema is None else task.schema) if zeek else None
        reader, span = open_span(
            SpanTask(path, task.format, task.start, task.end, task.first_line, schema), CHUNK_SIZE
        )
        hits = _zeek_rows(reader, index) if zeek else [_row(hit) for hit in match_records(reader, index)]
        skipped, skipped_lines = reader.skipped, reader.skipped_lines
    if span.long_line:  # the whole file is read again: what this span found is not used
        return Outcome(begin=span.begin, long_line=True)
    return Outcome(
        hits,
        skipped,
        skipped_lines,
        None,
        span.begin,
        span.stop,
        span.lines,
        False,
        span.headers,
        cut,
    )


def run_tasks(
    partition: Iterable[Sequence[Task]], *, token: str, indicators: _Broadcast
) -> Iterator[Outcome]:
    """The partition function: the outcome of each task of the partition, under the run's indicators."""
    for tasks in partition:
        for task in tasks:
            try:
                index = _index(token, indicators)
            except ValueError as error:
                yield Outcome(error=str(error))
                continue
            yield run_task(task, index)

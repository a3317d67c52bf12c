"""What a Spark task does: read a whole file or a span of one, match its records, and tell what it saw.

This module runs on the executors; it imports nothing of Spark. A task's hits travel as plain tuples, its
line numbers counted from the task's ``first_line`` (the driver shifts them into place).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Protocol

from commonspace.engine.index import IndicatorIndex
from commonspace.engine.match import Hit, match_records
from commonspace.engine.readers import LogFormat, open_log
from commonspace.engine.readers._base import SKIPPED_KEPT
from commonspace.engine.readers.spans import SPAN_READERS, Span, ZeekSpanReader, span_reader
from commonspace.engine.readers.tabular import CsvRows, lines_of
from commonspace.engine.readers.zeek import Schema
from commonspace.engine.records import Record

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


def run_task(task: Task, index: IndicatorIndex) -> Outcome:
    """Reads and matches what the task stands for."""
    path = Path(task.path)
    if task.whole:
        reader = open_log(path, task.format)
        records: Iterable[Record] = reader
        if task.from_line > 1:
            records = (record for record in reader if record.line >= task.from_line)
        hits = [_row(hit) for hit in match_records(records, index)]
        return Outcome(hits, reader.skipped, reader.skipped_lines, reader.read_error)
    span = Span(path, task.start, task.end, task.first_line, zeek=task.format is LogFormat.ZEEK)
    skips = _Skips()
    cut = False
    if task.format is LogFormat.CSV:
        if task.csv is None:
            raise ValueError("a span of CSV needs its CsvStart")
        rows = _CsvSpan(span, task.csv, skips)
        hits = [_row(hit) for hit in match_records(rows.records(), index)]
        cut = rows.cut
    else:
        reader = span_reader(SPAN_READERS[task.format], span)
        if isinstance(reader, ZeekSpanReader) and task.schema is not None:
            reader.schema = task.schema
        hits = [_row(hit) for hit in match_records(reader, index)]
        skips.count, skips.lines = reader.skipped, reader.skipped_lines
    if span.long_line:  # the whole file is read again: what this span found is not used
        return Outcome(begin=span.begin, long_line=True)
    return Outcome(
        hits,
        skips.count,
        skips.lines,
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

"""The local engine's way with a big plain log: worker processes read spans of it themselves.

Handing every block of a log from the parent to the workers and their output back costs the parent as
much as a third of a worker's time. For a plain (not gzip) log of a line-based format, the file is cut
instead into spans of whole lines (:mod:`commonspace.engine.readers.spans`), and two passes run on the
workers:

1. each span counts its lines (and, for Zeek, keeps the header lines that change the schema), which
   gives every span its first physical line number and the Zeek headers in force where it starts;
2. each span is read, scanned and rendered with those, its JSON Lines written to a file of its own,
   which the parent copies to the output in the spans' order.

The output is byte for byte what reading the log block by block gives. A log with a line longer than
``MAX_LINE`` (which the readers drop or keep depending on where their chunks fall) is left to the
block-by-block path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from commonspace.engine.readers import LogFormat
from commonspace.engine.readers._base import GZIP_MAGIC, SKIPPED_KEPT
from commonspace.engine.readers.spans import SPAN_READERS, Span, SpanReader, span_reader
from commonspace.engine.readers.zeek import Schema, apply_header

SPAN_SIZE = 32 << 20
"""The most bytes of a log one span task reads."""
MIN_SPAN = 1 << 20
"""Logs under two of these a worker are read block by block: cutting them would not pay."""


@dataclass(frozen=True)
class SpanTask:
    """One span of a log to scan: its bytes, its first line, the Zeek schema in force where it starts."""

    path: Path
    format: LogFormat
    start: int
    end: int
    first_line: int
    schema: Schema | None


@dataclass(frozen=True)
class Counted:
    """What the first pass learns of a span."""

    lines: int
    headers: tuple[str, ...]
    long_line: bool


def spannable(path: Path, format: LogFormat, workers: int) -> bool:
    """Whether the log is worth cutting into spans: plain, line-based, and bigger than one span a worker."""
    if format not in SPAN_READERS or workers < 2:
        return False
    with path.open("rb") as raw:
        if raw.read(2) == GZIP_MAGIC:
            return False
    return path.stat().st_size >= 2 * workers * MIN_SPAN


def cut(size: int, workers: int) -> list[tuple[int, int]]:
    """``[start, end)`` ranges covering ``size`` bytes: at least four a worker, at most ``SPAN_SIZE`` each."""
    count = max(4 * workers, math.ceil(size / SPAN_SIZE))
    bounds = [size * i // count for i in range(count + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def count_span(path: Path, format: LogFormat, start: int, end: int, chunk_size: int) -> Counted:
    """The first pass over one span: its lines, its schema-changing Zeek headers, an over-long line."""
    span = Span(path, start, end, zeek=format is LogFormat.ZEEK, chunk_size=chunk_size)
    for _ in span.chunks():
        if span.long_line:
            break
    return Counted(span.lines, tuple(span.headers), span.long_line)


def plan(
    path: Path, format: LogFormat, ranges: list[tuple[int, int]], counted: list[Counted]
) -> list[SpanTask]:
    """Each span's first line and starting schema, from the counts of the spans before it."""
    tasks = []
    line = 1
    schema: Schema | None = Schema() if format is LogFormat.ZEEK else None
    for (start, end), count in zip(ranges, counted, strict=True):
        tasks.append(SpanTask(path, format, start, end, line, schema))
        line += count.lines
        if schema is not None:
            for header in count.headers:
                schema = apply_header(schema, header)
    return tasks


def open_span(task: SpanTask, chunk_size: int) -> tuple[SpanReader, Span]:
    """A reader of the task's span, under the schema in force where it starts."""
    span = Span(
        task.path, task.start, task.end, task.first_line, zeek=task.schema is not None, chunk_size=chunk_size
    )
    reader = span_reader(SPAN_READERS[task.format], span)
    if task.schema is not None:
        reader.schema = task.schema  # type: ignore[attr-defined]
    return reader, span


def kept_skips(skipped: list[tuple[int, list[int]]]) -> tuple[int, list[int]]:
    """The skipped lines of all spans, as one reader counts them: the total and the first few."""
    total = sum(count for count, _ in skipped)
    first = sorted(line for _, lines in skipped for line in lines)[:SKIPPED_KEPT]
    return total, first

"""Matching on Apache Spark: the engine's semantics for logs beyond one machine.

``match_on_spark(paths, indicators)`` gives exactly the hits that::

    index = IndicatorIndex(indicators)
    for path in paths:
        for hit in match_records(open_log(path, fmt), index):
            yield str(path), hit

gives, in the same order (file by file as given, then by line, then as ``match_records`` orders the hits
of a record), with the same physical line numbers, fields, observed values and skipped lines; but the
executors read, parse and match, in parallel, and the driver only plans and puts the hits in order.

How a file is read:

* The driver detects the format as ``open_log`` does and reads the head of the file: for Zeek TSV the
  headers it starts with, for CSV the delimiter, the leading comments and the first row (header or data).
* The indicators are broadcast; each executor process builds the ``IndicatorIndex`` once per run.
* A plain file larger than ``split_size`` is cut into spans of that many bytes, aligned on lines as
  Hadoop aligns its splits: a span holds the lines that start in its bytes (see ``spans``). Each span is
  one task, which parses its lines with the format's own reader and matches them, numbering its lines from
  1; the driver learns each span's line count and shifts the numbers into place, so no pass over the data
  comes first. Small files are packed several to a partition, as Spark packs small files.
* Tasks run a wave of partitions at a time (the next wave running while the driver takes the hits of
  one), so the driver holds the outcomes of two waves at most.
* What one span cannot know is checked against what the spans before it told, and read again where it
  differs (rarely; the tasks run again of a wave run together): a Zeek span is read under the headers
  the file starts with, and again under the right ones when headers earlier in the file changed them
  (logs written one after the other into one file); a CSV span starts at a row, and when a quoted cell
  runs on past the end of a span, one task reads the rest of the file from that span on.

Read by one task from its start, with the format's reader, are: **gzip** files (a compressed stream
cannot be entered in the middle), files **no larger than a split**, **CSV** files without a row after
their first, and a file with a line longer than ``MAX_LINE`` (16 MiB: the readers may drop such a line
depending on where their chunks fall, so the file is read from the start as they read it; the hits of the
spans before that line are kept).

The files must be readable at the same path from the driver and every executor (a local disk in local
mode, a shared file system on a cluster), and the executors need this package and its dependencies.
PySpark is imported when a run starts; without it (or without Java) :class:`SparkNotInstalled` says to
install the ``commonspace[spark]`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.readers import FORMATS, LogFormat
from commonspace.engine.spark.run import SPLIT_SIZE, SparkMatches
from commonspace.engine.spark.session import SparkNotInstalled, pyspark, spark_context

if TYPE_CHECKING:
    from pyspark import SparkContext

__all__ = ["SPLIT_SIZE", "SparkMatches", "SparkNotInstalled", "match_on_spark", "spark_context"]


def match_on_spark(
    paths: Sequence[Path | str],
    indicators: Sequence[tuple[IndicatorType | str, str, int]],
    *,
    fmt: str = "auto",
    master: str = "local[2]",
    progress: Callable[[int], None] | None = None,
    context: SparkContext | None = None,
    split_size: int = SPLIT_SIZE,
    wave: int | None = None,
) -> SparkMatches:
    """The hits of the logs at ``paths`` on the ``(type, canonical value, reference)`` indicators, as
    ``(str(path), hit)``, found on Spark (see the module documentation).

    ``master`` is a Spark master URL (``local[N]``, ``spark://host:7077``, ``yarn``, ``k8s://...``); a
    SparkContext is started for the run and stopped after it, unless ``context`` gives one to use.
    ``progress`` is called with the bytes of the files done so far (on disk, out of their total size)
    after each wave of partitions. Each task reads ``split_size`` bytes of a file, or a small file whole
    (small files share partitions); ``wave`` is how many partitions run before their hits are given (four
    per core, by default; the next wave runs meanwhile).

    Raises :class:`SparkNotInstalled` without PySpark and ``ValueError`` for an unknown format at once;
    ``OSError`` for a file that cannot be read and ``ValueError`` for an invalid indicator while iterating.
    The result also tells each file's format, its skipped lines and the tasks run (:class:`SparkMatches`).
    """
    pyspark()
    try:
        LogFormat(fmt)
    except ValueError:
        raise ValueError(f"unknown log format {fmt!r}: one of {', '.join(FORMATS)}") from None
    if split_size < 1:
        raise ValueError(f"the split size must be at least one byte, not {split_size}")
    travelling = [(IndicatorType(type_).value, str(value), int(ref)) for type_, value, ref in indicators]
    return SparkMatches(
        paths,
        travelling,
        fmt=fmt,
        master=master,
        progress=progress,
        context=context,
        split_size=split_size,
        wave=wave,
    )

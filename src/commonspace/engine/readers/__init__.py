"""Streaming log readers with bounded memory: Zeek TSV and JSON, Suricata EVE, CSV, NCSA access logs and
plain text, plain or gzip, yielding ``Record``s (the 1-based physical line and the scalar leaves).

``open_log(path)`` detects the format from the first 64 KiB of the content (``fmt`` forces one) and
returns a ``LogReader``: iterate it for records, or use ``blocks()`` to get the file a block of whole
lines at a time, to scan the raw lines first and parse only the records that may matter. Pure: the
standard library and orjson only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from commonspace.engine.readers._base import (
    CHUNK_SIZE,
    FORMATS,
    HEAD_SIZE,
    MAX_LINE,
    Block,
    LineParser,
    LogFormat,
    LogReader,
    read_head,
)
from commonspace.engine.readers.detect import detect_format
from commonspace.engine.readers.jsonl import JsonReader, ZeekJsonReader
from commonspace.engine.readers.ncsa import NcsaReader
from commonspace.engine.readers.tabular import CsvReader
from commonspace.engine.readers.text import TextReader
from commonspace.engine.readers.zeek import ZeekReader

__all__ = [
    "CHUNK_SIZE",
    "FORMATS",
    "MAX_LINE",
    "Block",
    "LineParser",
    "LogFormat",
    "LogReader",
    "detect_format",
    "open_log",
]

READERS: dict[LogFormat, type[LogReader]] = {
    LogFormat.ZEEK: ZeekReader,
    LogFormat.ZEEK_JSON: ZeekJsonReader,
    LogFormat.EVE: JsonReader,
    LogFormat.CSV: CsvReader,
    LogFormat.NCSA: NcsaReader,
    LogFormat.TEXT: TextReader,
}


def open_log(
    path: Path,
    fmt: str = "auto",
    *,
    chunk_size: int | None = None,
    max_line: int = MAX_LINE,
    progress: Callable[[int], None] | None = None,
) -> LogReader:
    """A reader of the log at ``path`` in format ``fmt`` (one of ``FORMATS``; ``auto`` detects it).

    Raises ``ValueError`` for an unknown format and ``OSError`` when the file cannot be opened.
    """
    try:
        chosen = LogFormat(fmt)
    except ValueError:
        raise ValueError(f"unknown log format {fmt!r}: one of {', '.join(FORMATS)}") from None
    path = Path(path)
    if chosen is LogFormat.AUTO:
        head = read_head(path, HEAD_SIZE + 1)
        chosen = detect_format(head[:HEAD_SIZE], complete=len(head) <= HEAD_SIZE)
    reader = READERS[chosen]
    if chunk_size is None:
        return reader(path, max_line=max_line, progress=progress)
    return reader(path, chunk_size=chunk_size, max_line=max_line, progress=progress)

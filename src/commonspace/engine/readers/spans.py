"""Parts of a plain log file that tasks read on their own: the lines that start in a byte range.

A span ``[start, end)`` holds every line whose first byte lies in it, whole: its first line is the first
that starts at or after ``start``, and its last line, the last that starts before ``end``, runs on past
``end`` up to its newline. Spans with adjacent ranges therefore hold adjacent lines and never share one,
and a task finds where its lines start and end by itself, reading only around its own bytes (as Hadoop's
line reader does). Lines end at ``\\n`` only, and a last line without one is given one, as the readers do.

A span reads in chunks of whole lines, as ``LogReader.chunks`` does, numbering lines from ``first_line``
(1 for a span whose place in the file is not known yet: the driver shifts its numbers later). It counts
its lines and notes a line longer than ``MAX_LINE``: the readers may drop such a line depending on where
their chunks fall, which only reading the whole file as they do reproduces. For Zeek it also keeps the
header lines that change the schema, for the driver to know the headers in force at the next span.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from commonspace.engine.readers import LogFormat, LogReader
from commonspace.engine.readers._base import CHUNK_SIZE, MAX_LINE
from commonspace.engine.readers.jsonl import JsonReader
from commonspace.engine.readers.ncsa import NcsaReader
from commonspace.engine.readers.text import TextReader
from commonspace.engine.readers.zeek import ZeekReader

ZEEK_HEADERS = (b"#separator", b"#set_separator", b"#empty_field", b"#unset_field", b"#fields", b"#types")
"""The starts of the Zeek header lines that may change the schema (``#path``, ``#open``, ``#close`` and
comments do not)."""


class Span:
    """The lines of a plain file that start in ``[start, end)``, read a chunk of whole lines at a time."""

    def __init__(
        self,
        path: Path,
        start: int,
        end: int,
        first_line: int = 1,
        *,
        zeek: bool = False,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        if not 0 < chunk_size <= MAX_LINE:
            raise ValueError(f"a span's chunks are 1 byte to MAX_LINE long, not {chunk_size}")
        self.path = path
        self.start = start
        self.end = end
        self.first_line = first_line
        self.chunk_size = chunk_size
        self.zeek = zeek
        self.begin = start
        """Where the first line of the span starts (known once read)."""
        self.stop = start
        """Where the line after the span starts, or the file ends (known once read)."""
        self.lines = 0
        """How many lines the span holds."""
        self.long_line = False
        """Whether a line is longer than ``MAX_LINE`` (reading then stops)."""
        self.headers: list[str] = []
        """The Zeek header lines that may change the schema, in order (when ``zeek``)."""
        self.ended = False
        """Whether everything was read (a reader asked for more after the last chunk)."""

    def _first_start(self, raw: BinaryIO) -> int | None:
        """Where the first line starting at or after ``start`` starts, or None when none starts before
        ``end``: the byte after the first newline at or after ``start - 1``."""
        if self.start == 0:
            return 0 if self.end > 0 else None
        position = self.start - 1
        raw.seek(position)
        while position < self.end - 1:
            piece = raw.read(min(self.chunk_size, self.end - 1 - position))
            if not piece:
                return None
            newline = piece.find(b"\n")
            if newline >= 0:
                return position + newline + 1
            position += len(piece)
        return None

    def chunks(self) -> Iterator[tuple[int, bytes]]:
        """The span as ``(first line number, whole lines)``, each chunk ending with ``\\n``."""
        with self.path.open("rb") as raw:
            begin = self._first_start(raw)
            if begin is None:
                self.ended = True
                return
            self.begin = self.stop = begin
            raw.seek(begin)
            offset = begin  # the file offset of the next byte read
            line = self.first_line
            pending: list[bytes] = []  # the start of a line whose end is not read yet
            run = 0  # its length
            while True:
                chunk = raw.read(self.chunk_size)
                if not chunk:
                    break
                at, offset = offset, offset + len(chunk)
                newline = chunk.find(b"\n")
                if newline < 0:
                    run += len(chunk)
                    if run > MAX_LINE:
                        self.long_line = True
                        return
                    pending.append(chunk)
                    continue
                if run + newline > MAX_LINE:
                    self.long_line = True
                    return
                # The last line of the span is the one holding byte end - 1: it ends at the first newline
                # from there on.
                if offset > self.end - 1:
                    last = chunk.find(b"\n", max(self.end - 1 - at, 0))
                    if last >= 0:
                        pending.append(chunk[: last + 1])
                        data = b"".join(pending)
                        self.stop = at + last + 1
                        yield from self._give(line, data)
                        self.ended = True
                        return
                cut = chunk.rfind(b"\n") + 1
                pending.append(chunk[:cut])
                data = b"".join(pending)
                pending = [chunk[cut:]] if cut < len(chunk) else []
                run = len(chunk) - cut
                del chunk
                self.stop = at + cut
                yield from self._give(line, data)
                line = self.first_line + self.lines
                del data
            if pending:  # the file's last line, without a newline
                self.stop = offset
                yield from self._give(line, b"".join(pending) + b"\n")
            self.ended = True

    def _give(self, line: int, data: bytes) -> Iterator[tuple[int, bytes]]:
        self.lines += data.count(b"\n")
        if self.zeek:
            self._keep_headers(data)
        yield line, data

    def _keep_headers(self, data: bytes) -> None:
        start = 0 if data.startswith(b"#") else data.find(b"\n#") + 1
        if start == 0 and not data.startswith(b"#"):
            return
        while True:
            end = data.index(b"\n", start)
            if data.startswith(ZEEK_HEADERS, start):
                self.headers.append(data[start:end].decode("utf-8", "replace"))
            start = data.find(b"\n#", end) + 1
            if start == 0:
                return


class SpanReader(LogReader):
    """A reader of one span of a file: the format's own reading, on the span's chunks."""

    span: Span

    def chunks(self) -> Iterator[tuple[int, bytes]]:
        return self.span.chunks()


class ZeekSpanReader(SpanReader, ZeekReader):
    """Reads a span of a Zeek TSV log; set ``schema`` to the headers in force where it starts."""


class JsonSpanReader(SpanReader, JsonReader):
    pass


class NcsaSpanReader(SpanReader, NcsaReader):
    pass


class TextSpanReader(SpanReader, TextReader):
    pass


def span_reader(reader: Callable[[Path], SpanReader], span: Span) -> SpanReader:
    """A reader of the span, one of the classes above (the file is opened for its size only)."""
    opened = reader(span.path)
    opened.span = span
    return opened


SPAN_READERS: dict[LogFormat, Callable[[Path], SpanReader]] = {
    LogFormat.ZEEK: ZeekSpanReader,
    LogFormat.ZEEK_JSON: JsonSpanReader,
    LogFormat.EVE: JsonSpanReader,
    LogFormat.NCSA: NcsaSpanReader,
    LogFormat.TEXT: TextSpanReader,
}
"""The formats whose files can be read by spans (one record a line), and the reader of each."""

"""What every reader shares: opening plain or gzip files, reading them in chunks of whole lines, blocks.

A file is read in binary, in chunks of 1 MiB, each cut after its last newline; the bytes after it wait
for the next chunk. Memory is therefore bounded by the chunk size and the longest line, and a line longer
than ``max_line`` is dropped (and counted as skipped) rather than held. Gzip is recognised by its magic
bytes, never by the file's name; concatenated gzip members are read as one stream.

Lines end at ``\\n`` only (as for ``wc -l``): a lone ``\\r`` does not end a line, and the ``\\r`` of a
``\\r\\n`` pair is dropped by each format. Physical line numbers count every line of the file, header,
comment and blank lines included.
"""

from __future__ import annotations

import gzip
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from commonspace.engine.records import Record

CHUNK_SIZE = 1 << 20  # on Zeek logs 1 MiB beat 4 and 16 MiB (cache), and bounds memory to a few MiB
MAX_LINE = 16 << 20  # a longer line is skipped, not held in memory
HEAD_SIZE = 64 << 10  # what format detection looks at
SKIPPED_KEPT = 10  # line numbers of skipped lines kept for the summary
GZIP_MAGIC = b"\x1f\x8b"


class LogFormat(StrEnum):
    AUTO = "auto"
    ZEEK = "zeek"  # Zeek TSV (any log, with its # headers)
    ZEEK_JSON = "zeek-json"  # Zeek JSON: one object a line
    EVE = "eve"  # Suricata EVE JSON, and any other JSON lines
    CSV = "csv"  # CSV or TSV with a header row
    NCSA = "ncsa"  # NCSA common or combined web access log
    TEXT = "text"  # anything else: values are tokens of each line


FORMATS: tuple[str, ...] = tuple(f.value for f in LogFormat)


class _Stream:
    """An open file, decompressed when it is gzip; ``position`` is how far the file on disk is read."""

    def __init__(self, path: Path) -> None:
        self.raw: BinaryIO = path.open("rb")
        self.stream: BinaryIO = self.raw
        if self.raw.read(2) == GZIP_MAGIC:
            self.stream = gzip.GzipFile(fileobj=self.raw, mode="rb")  # type: ignore[assignment]
        self.raw.seek(0)

    def read(self, size: int) -> bytes:
        return self.stream.read(size)

    @property
    def position(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        if self.stream is not self.raw:
            self.stream.close()
        self.raw.close()


def read_head(path: Path, size: int = HEAD_SIZE) -> bytes:
    """The first ``size`` bytes of the file's content (decompressed when it is gzip)."""
    stream = _Stream(path)
    try:
        return stream.read(size)
    except (EOFError, gzip.BadGzipFile, zlib.error):  # a damaged gzip: nothing worth detecting
        return b""
    finally:
        stream.close()


class Block:
    """Consecutive whole lines of a file, parsed on demand.

    ``data`` holds the raw bytes of the lines (after gunzip), each ending with ``\\n``; ``first_line`` is
    the 1-based physical line number of its first line. For Zeek TSV a block holds data lines only, all
    under the same header; for CSV, a record starting in the block may run on past its last line.

    ``records()`` parses the whole block. A matcher that can find candidate lines faster than parsing
    every record (scanning ``data`` or ``text`` with C-level string operations) may parse just those with
    ``records_at``: physical line numbers, as ``first_line + data.count(b"\\n", 0, offset)`` gives them.
    """

    __slots__ = ("first_line", "data", "_text", "_parser")

    def __init__(self, first_line: int, data: bytes, parser: LineParser) -> None:
        self.first_line = first_line
        self.data = data
        self._text: str | None = None
        self._parser = parser

    @property
    def text(self) -> str:
        """``data`` decoded (UTF-8, undecodable bytes replaced); decoded once, on first use."""
        if self._text is None:
            self._text = self.data.decode("utf-8", "replace")
        return self._text

    def decoded(self) -> str:
        """``text`` if it was asked for, else a decoding that the block does not keep (parsers free it as
        soon as the block is split into lines)."""
        return self._text if self._text is not None else self.data.decode("utf-8", "replace")

    @property
    def parser(self) -> LineParser:
        """The parser of the block's format (for Zeek, under the block's schema)."""
        return self._parser

    @property
    def line_count(self) -> int:
        return self.data.count(b"\n")

    def records(self) -> Iterator[Record]:
        """Every record of the block, in order; records without any value are left out."""
        return self._parser.parse_block(self)

    def records_at(self, lines: Iterable[int]) -> Iterator[Record]:
        """The records on these physical lines (outside the block or without a record: none), in order.

        Each call splits the block into lines: ask once per block, with all the lines wanted."""
        return self._parser.parse_lines(self, lines)

    def __repr__(self) -> str:
        return f"Block(first_line={self.first_line}, {len(self.data)} bytes)"


def _ignore(line: int) -> None:
    """The ``skip`` of a parser unpickled in another process, until that process sets its own."""


class LineParser(ABC):
    """How one format turns a block into records; ``skip`` is told of each malformed line."""

    def __init__(self, skip: Callable[[int], None]) -> None:
        self.skip = skip

    def __getstate__(self) -> dict[str, object]:
        """A parser travels to another process without its ``skip``: set one there (skipped lines are
        told back to the reader by whoever sent it)."""
        state = dict(self.__dict__)
        del state["skip"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.skip = _ignore

    @abstractmethod
    def parse_block(self, block: Block) -> Iterator[Record]:
        """Every record of the block, in order."""

    @abstractmethod
    def parse_lines(self, block: Block, lines: Iterable[int]) -> Iterator[Record]:
        """The records that start on the given physical lines of the block."""


class SplitLineParser(LineParser):
    """A format with one record a line: the lines asked for are parsed one by one."""

    @abstractmethod
    def parse_line(self, line: str, number: int) -> Record | None:
        """The record on one line (``number`` is its physical line), or None when it holds nothing."""

    def parse_lines(self, block: Block, lines: Iterable[int]) -> Iterator[Record]:
        """Split the decoded block into lines and parse those asked for."""
        wanted = sorted({n - block.first_line for n in lines})
        if not wanted:
            return
        text = block.text
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        split = text.split("\n")
        for index in wanted:
            if 0 <= index < len(split) - 1:  # the last element is what follows the final newline
                record = self.parse_line(split[index], block.first_line + index)
                if record is not None:
                    yield record


class LogReader(ABC):
    """A log file in one format: iterate it for its records, or ``blocks()`` for the fast path.

    Each iteration reads the file anew. ``bytes_read`` is how many bytes of the file on disk were
    consumed (compressed bytes for gzip), against ``size``, for a progress bar; ``progress``, when set,
    is called with ``bytes_read`` after each chunk. ``skipped`` counts malformed lines met (and over-long
    ones), ``skipped_lines`` keeps the first few of their line numbers. ``read_error`` tells why reading
    stopped early (a truncated or damaged gzip file), after everything readable was yielded.
    """

    format: LogFormat = LogFormat.TEXT

    def __init__(
        self,
        path: Path,
        *,
        chunk_size: int = CHUNK_SIZE,
        max_line: int = MAX_LINE,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.path = path
        self.chunk_size = chunk_size
        self.max_line = max_line
        self.progress = progress
        self.size = path.stat().st_size
        self.bytes_read = 0
        self.skipped = 0
        self.skipped_lines: list[int] = []
        self.read_error: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path.name!r}, format={self.format.value!r})"

    def skip_line(self, line: int) -> None:
        """Counts a malformed line (a parser working on this reader's blocks elsewhere tells it so)."""
        self._skip(line)

    def _skip(self, line: int) -> None:
        self.skipped += 1
        if len(self.skipped_lines) < SKIPPED_KEPT:
            self.skipped_lines.append(line)

    def _reset(self) -> None:
        self.bytes_read = 0
        self.skipped = 0
        self.skipped_lines = []
        self.read_error = None

    def __iter__(self) -> Iterator[Record]:
        for block in self.blocks():
            records = block.records()
            del block  # the parser holds what it needs; the next chunk is read with this one freed
            yield from records

    @abstractmethod
    def blocks(self) -> Iterator[Block]:
        """The file's blocks, in order: about a chunk of whole lines each."""

    def _blocks_of(self, parser: LineParser) -> Iterator[Block]:
        """A block a chunk, all parsed by ``parser`` (references dropped before the next read)."""
        for first, data in self.chunks():
            block = Block(first, data, parser)
            del data
            yield block
            del block

    def chunks(self) -> Iterator[tuple[int, bytes]]:
        """The file as ``(first line number, whole lines)``, a chunk at a time, each ending with ``\\n``."""
        self._reset()
        stream = _Stream(self.path)
        size, max_line, progress = self.chunk_size, self.max_line, self.progress
        line = 1
        pending: list[bytes | memoryview] = []  # the start of a line whose end is not read yet
        held = 0  # its length
        discarding = False  # inside a line longer than max_line
        try:
            while True:
                try:
                    chunk = stream.read(size)
                except (EOFError, gzip.BadGzipFile, zlib.error) as error:  # truncated or damaged gzip
                    self.read_error = str(error) or type(error).__name__
                    break
                self.bytes_read = stream.position
                if progress is not None:
                    progress(self.bytes_read)
                if not chunk:
                    break
                if discarding:
                    newline = chunk.find(b"\n")
                    if newline < 0:
                        continue
                    discarding = False
                    line += 1
                    chunk = chunk[newline + 1 :]
                cut = chunk.rfind(b"\n") + 1
                if cut == 0:
                    pending.append(chunk)
                    held += len(chunk)
                    if held > max_line:
                        self._skip(line)
                        pending, held, discarding = [], 0, True
                    continue
                if pending:
                    pending.append(memoryview(chunk)[:cut])
                    data = b"".join(pending)
                else:
                    data = chunk if cut == len(chunk) else chunk[:cut]
                pending = [chunk[cut:]] if cut < len(chunk) else []
                held = len(chunk) - cut
                del chunk
                yield line, data
                line += data.count(b"\n")
                del data  # freed before the next chunk is read
            if pending and not discarding:
                yield line, b"".join(pending) + b"\n"
        finally:
            stream.close()

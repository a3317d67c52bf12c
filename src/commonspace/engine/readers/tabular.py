"""CSV and TSV with a header row: each cell is a value under its column's name.

The delimiter is one of ``,``, ``;``, tab and ``|``, sniffed from the head of the file (``sniff``).
Leading ``#`` comment lines and blank lines before the header are skipped. When the first row holds
values rather than names (an IP address, a URL, a number or a hash), the file has no header: every row is
data and the columns are called ``column1``, ``column2``... A cell beyond the header's columns is named
the same way. Cells are stripped of surrounding spaces; empty cells are left out. A quoted cell may run
over several lines: the record's line is the physical line where it starts. A row the csv module refuses
(a cell longer than its field limit, after an unbalanced quote) is skipped and counted.
"""

from __future__ import annotations

import csv
import io
import re
from bisect import bisect_left
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from commonspace.engine.readers._base import CHUNK_SIZE, MAX_LINE, Block, LineParser, LogFormat, LogReader
from commonspace.engine.records import Record

DELIMITERS = ("\t", ",", ";", "|")
SNIFF_ROWS = 20
_VALUE_LIKE = re.compile(
    r"\d{1,3}(?:\.\d{1,3}){3}(?:/\d+)?|[0-9a-fA-F:]*::?[0-9a-fA-F:]*:[0-9a-fA-F]*|[a-zA-Z][a-zA-Z0-9+.-]*://.*"
    r"|[-+]?\d+(?:\.\d+)?|[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}"
)


def _rows(lines: list[str], delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(lines, delimiter=delimiter, skipinitialspace=True))
    except csv.Error:
        return []


def _name_like(cell: str) -> bool:
    cell = cell.strip()
    return bool(cell) and len(cell) <= 64 and len(cell.split()) <= 4 and not cell.endswith(".")


def sniff(lines: list[str]) -> str | None:
    """The delimiter of these first lines (comments and blanks already dropped), or ``None`` if none fits:
    at least two rows of the same number (two or more) of cells, the first row's cells all non-empty and
    short (a header's names, or values: not the clauses of prose). The last of three or more rows is not
    looked at: a quoted cell may run on beyond these lines."""
    best: tuple[int, str] | None = None
    for delimiter in DELIMITERS:
        rows = [row for row in _rows(lines, delimiter) if row][:SNIFF_ROWS]
        if len(rows) > 2:
            rows.pop()
        if len(rows) < 2:
            continue
        width = len(rows[0])
        if width < 2 or any(len(row) != width for row in rows):
            continue
        if not all(_name_like(cell) for cell in rows[0]):
            continue
        if best is None or width > best[0]:
            best = (width, delimiter)
    return best[1] if best else None


def _is_header(row: list[str]) -> bool:
    return not any(_VALUE_LIKE.fullmatch(cell.strip()) for cell in row)


def _names(header: list[str], width: int) -> list[str]:
    names = [cell.strip() or f"column{i}" for i, cell in enumerate(header, 1)]
    return names + [f"column{i}" for i in range(len(names) + 1, width + 1)]


def lines_of(data: bytes) -> Iterator[str]:
    """The lines of a chunk of whole lines as the csv module is given them: decoded (undecodable bytes
    replaced), split at ``\\n`` only, each with its line ending."""
    return iter(io.StringIO(data.decode("utf-8", "replace"), newline="\n"))


class CsvRows:
    """Rows of CSV under one delimiter, turned into records.

    ``names`` is None until the first row read has told whether it is a header (then they are its cells)
    or data (then there are none, and cells are called ``column1``...). A reader of the rows after a
    file's first one starts with the names that row gave, and reads every row as data.
    """

    def __init__(self, delimiter: str, skip: Callable[[int], None], names: list[str] | None = None) -> None:
        self.delimiter = delimiter
        self.skip = skip
        self.names = names

    def rows(self, lines: Iterable[str], number: int) -> Iterator[tuple[int, Record | None]]:
        """Each row of ``lines``, the first of which is physical line ``number``, as ``(its first line, its
        record)``: ``None`` for the header and for blank, empty and refused rows."""
        rows = csv.reader(lines, delimiter=self.delimiter, skipinitialspace=True)
        consumed = 0  # lines the csv reader took, from ``number`` on
        names = self.names
        width = 0 if names is None else len(names)
        while True:
            start = number + consumed
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error:
                consumed = rows.line_num
                self.skip(start)
                yield start, None
                continue
            consumed = rows.line_num
            if not row:
                yield start, None
                continue
            if names is None:
                if _is_header(row):
                    names, width = _names(row, len(row)), len(row)
                    self.names = names
                    yield start, None
                    continue
                names, width = [], 0
                self.names = names
            if len(row) > width:
                names, width = _names(names, len(row)), len(row)
                self.names = names
            cells = [cell.strip() for cell in row]
            pairs = tuple([pair for pair in zip(names, cells, strict=False) if pair[1]])
            yield start, Record(start, pairs) if pairs else None


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file starts, as reading it finds: what a reader of the rows after its first one needs."""

    delimiter: str
    first: int
    """The physical line where the rows start (after the leading comments and blank lines)."""
    names: tuple[str, ...] | None
    """The names after the row that decided them (the header's cells, or ``column1``... for data); ``None``
    when the file has no row."""
    rest: int | None
    """The physical line of the row after that one (``None`` when there is none)."""


class _CsvParser(LineParser):
    """Blocks of CSV hold their records already parsed (a record may span blocks' lines)."""

    def __init__(self, records: list[Record], skip: Callable[[int], None]) -> None:
        super().__init__(skip)
        self.records = records

    def parse_block(self, block: Block) -> Iterator[Record]:
        return iter(self.records)

    def parse_lines(self, block: Block, lines: Iterable[int]) -> Iterator[Record]:
        """The records that start on or run over these lines (a record runs up to the next one)."""
        wanted = sorted(set(lines))
        records = self.records
        for i, record in enumerate(records):
            end = records[i + 1].line if i + 1 < len(records) else block.first_line + block.line_count
            at = bisect_left(wanted, record.line)
            if at < len(wanted) and wanted[at] < end:
                yield record


class CsvReader(LogReader):
    format = LogFormat.CSV

    def __init__(
        self,
        path: Path,
        *,
        chunk_size: int = CHUNK_SIZE,
        max_line: int = MAX_LINE,
        progress: Callable[[int], None] | None = None,
        delimiter: str | None = None,
    ) -> None:
        super().__init__(path, chunk_size=chunk_size, max_line=max_line, progress=progress)
        self.delimiter = delimiter

    def _lines(self, chunks: list[tuple[int, bytes]] | None) -> Generator[str, None, None]:
        """The file's lines; each chunk is appended to ``chunks`` (when given) as its lines start."""
        for first, data in self.chunks():
            if chunks is not None:
                chunks.append((first, data))
            lines = lines_of(data)
            del data
            yield from lines

    def _sniffed(self, lines: Iterator[str]) -> tuple[str, list[str], int]:
        """Reads the leading comments and the lines to sniff; returns the delimiter, the lines read past
        the comments and the line number of the first of them."""
        number = 1
        head: list[str] = []
        for line in lines:
            if not head and (not line.strip() or line.startswith("#")):
                number += 1
                continue
            head.append(line)
            if len(head) > SNIFF_ROWS:
                break
        delimiter = self.delimiter or sniff([line for line in head if line.strip()]) or ","
        return delimiter, head, number

    def _rows(self, chunks: list[tuple[int, bytes]] | None) -> Iterator[tuple[int, Record | None]]:
        """Each row as ``(its first line, its record)``: ``None`` for blank, empty and refused rows."""
        lines = self._lines(chunks)
        delimiter, head, number = self._sniffed(lines)
        self.delimiter = delimiter
        yield from CsvRows(delimiter, self._skip).rows(chain(head, lines), number)

    def layout(self) -> CsvLayout:
        """Reads the start of the file: the delimiter, the leading comments, the first rows."""
        lines = self._lines(None)
        try:
            delimiter, head, number = self._sniffed(lines)
            parser = CsvRows(delimiter, self._skip)
            rows = parser.rows(chain(head, lines), number)
            for _ in rows:
                if parser.names is not None:
                    names = tuple(parser.names)
                    following = next(rows, None)
                    return CsvLayout(delimiter, number, names, None if following is None else following[0])
            return CsvLayout(delimiter, number, None, None)
        finally:
            lines.close()

    def __iter__(self) -> Iterator[Record]:
        for _, record in self._rows(None):
            if record is not None:
                yield record

    def blocks(self) -> Iterator[Block]:
        chunks: list[tuple[int, bytes]] = []
        pending: list[Record] = []
        for start, record in self._rows(chunks):
            # A row's first line decides its block: emit the blocks that end before it.
            while len(chunks) > 1 and start >= chunks[1][0]:
                first, data = chunks.pop(0)
                yield Block(first, data, _CsvParser(pending, self._skip))
                pending = []
            if record is not None:
                pending.append(record)
        for first, data in chunks:
            yield Block(first, data, _CsvParser(pending, self._skip))
            pending = []

"""Scanning a log a block at a time: the hits of each block, grouped by record and field.

:func:`match_records` yields one :class:`~commonspace.engine.match.Hit` a (record, field, indicator); a
busy log makes millions of them. A scan gives the same hits grouped: a block's result is a list of
``(line, CellHits)`` pairs in record order, where one :class:`CellHits` holds everything that one field of
a record hit. A log repeats its values, so a fast scanner hands out one shared ``CellHits`` for every
record whose field holds the same value, and whoever renders or counts the hits does that work once per
distinct ``CellHits`` rather than once per hit (see :mod:`commonspace.engine.zeek_columns`).

:func:`scan_block` is the generic scanner (any format: it parses every record and calls
:func:`match_records`); :func:`scan_blocks` picks the fastest scanner for each block. :func:`hits_of`
turns scan results back into the exact ``Hit`` sequence that :func:`match_records` gives, which is what
the tests compare.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from commonspace.engine.index import IndicatorIndex, Match
from commonspace.engine.match import DEFAULT_MEMO, Hit, match_records
from commonspace.engine.readers import Block, LogReader
from commonspace.engine.records import Record


class CellHits:
    """What one field of a record hit: ``(observed value, match)`` pairs, in the order found.

    Several values of one field (the elements of a Zeek set, the items of a JSON list) may each hit;
    each match appears once, with the first value that hit it. Shared between records, so never changed
    (``groups`` is a slot for :mod:`commonspace.engine.output` to keep its grouping of the hits in).
    Compared and hashed by identity.
    """

    __slots__ = ("field", "hits", "groups")

    def __init__(self, field: str, hits: tuple[tuple[str, Match], ...]) -> None:
        self.field = field
        self.hits = hits
        self.groups: object = None

    def __repr__(self) -> str:
        return f"CellHits({self.field!r}, {self.hits!r})"


class BlockHits:
    """The hits of a block: ``lines[i]`` is the line of ``cells[i]``, in record order, and within a record
    in the order the record gives its fields. Iterating gives ``(line, cell)`` pairs."""

    __slots__ = ("lines", "cells")

    def __init__(self, lines: Sequence[int] = (), cells: Sequence[CellHits] = ()) -> None:
        self.lines = lines
        self.cells = cells

    def __len__(self) -> int:
        return len(self.lines)

    def __iter__(self) -> Iterator[tuple[int, CellHits]]:
        return zip(self.lines, self.cells, strict=True)

    def __repr__(self) -> str:
        return f"BlockHits({len(self)} cells)"


def group_hits(hits: Iterable[Hit]) -> BlockHits:
    """Hits in :func:`match_records` order, grouped into cells: one a run of the same (line, field)."""
    lines: list[int] = []
    cells: list[CellHits] = []
    run: list[tuple[str, Match]] = []
    key: tuple[int, str] | None = None
    for hit in hits:
        here = (hit.line, hit.field)
        if here != key:
            if key is not None:
                lines.append(key[0])
                cells.append(CellHits(key[1], tuple(run)))
            key, run = here, []
        run.append((hit.observed, (hit.type, hit.indicator, hit.ref)))
    if key is not None:
        lines.append(key[0])
        cells.append(CellHits(key[1], tuple(run)))
    return BlockHits(lines, cells)


def scan_block(block: Block, index: IndicatorIndex, *, memo: int = DEFAULT_MEMO) -> BlockHits:
    """The hits of one block, any format: every record parsed and matched."""
    return scan_records(block.records(), index, memo=memo)


def scan_records(records: Iterable[Record], index: IndicatorIndex, *, memo: int = DEFAULT_MEMO) -> BlockHits:
    return group_hits(match_records(records, index, memo=memo))


def hits_of(cells: Iterable[tuple[int, CellHits]]) -> Iterator[Hit]:
    """Scan results as the ``Hit`` sequence :func:`match_records` gives for the same records."""
    for line, cell in cells:
        field = cell.field
        for observed, (type_, indicator, ref) in cell.hits:
            yield Hit(line, field, observed, indicator, type_, ref)


class Scanner:
    """Scans the blocks of logs against one index, with the fastest path each block allows.

    Zeek TSV blocks whose lines all have the schema's column count go through the columnar scanner of
    :mod:`commonspace.engine.zeek_columns` (its answers are kept between blocks); every other block is
    parsed and matched record by record. Both give the same hits.
    """

    def __init__(self, index: IndicatorIndex, *, memo: int = DEFAULT_MEMO) -> None:
        from commonspace.engine.zeek_columns import ZeekColumns

        self.index = index
        self.memo = memo
        self._zeek = ZeekColumns(index, memo=memo)

    def scan(self, block: Block) -> BlockHits:
        found = self._zeek.scan(block)
        if found is not None:
            return found
        return scan_block(block, self.index, memo=self.memo)

    def scan_reader(self, reader: LogReader) -> Iterator[BlockHits]:
        for block in reader.blocks():
            yield self.scan(block)

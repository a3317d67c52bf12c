"""The columnar fast path for Zeek TSV: a block is matched column by column, never record by record.

A block of Zeek data lines is split once on the separator, in C: with ``n`` columns a line, column ``c``
of every line is then the slice ``tokens[c::n - 1]`` (the last column of one line and the first of the
next share a token, split apart only when those columns matter). Each column is looked up through a
dictionary of the answers for the cells seen before, mapped over the column in C; a cell that is new is
decoded and matched once. Only the lines that hit cost Python work of their own.

Columns that cannot hit are not looked at: numeric and flag columns (which the reader leaves out as
well), and columns whose cells hold none of the characters every indicator needs (``.`` or ``:``; with
hashes indexed, a hash's length). The answers are exactly those of the record-by-record path
(:func:`commonspace.engine.match.match_records` over :class:`~commonspace.engine.readers.zeek.ZeekParser`
records): a block that the fast path cannot take as it is (a line with another column count, escapes,
``\\r``, a separator that is not one ASCII character, two columns of the same name) gives ``None``, and
the caller parses it.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain, compress, repeat
from operator import attrgetter, contains, itemgetter

import numpy as np

from commonspace.engine.index import IndicatorIndex, Match
from commonspace.engine.readers import Block
from commonspace.engine.readers.zeek import Schema, ZeekParser
from commonspace.engine.scan import BlockHits, CellHits

_HASH_LENGTHS = frozenset({32, 40, 64, 128})
_AFTER = attrgetter("after")


class ZeekCell(CellHits):
    """A cell's hits, and whether its values come after the scalar columns (a set of several elements)."""

    __slots__ = ("after",)

    def __init__(self, field: str, hits: tuple[tuple[str, Match], ...], after: bool) -> None:
        super().__init__(field, hits)
        self.after = after


class _Answers(dict[bytes, ZeekCell | None]):
    """The answer for every cell of one column seen so far; a new cell is matched on first sight."""

    def __init__(self, answer: Callable[[bytes], ZeekCell | None]) -> None:
        super().__init__()
        self.answer = answer

    def __missing__(self, cell: bytes) -> ZeekCell | None:
        found = self.answer(cell)
        self[cell] = found
        return found


class _Column:
    """How one column is looked at: its position, name, whether it is a set or vector, its answers."""

    def __init__(self, position: int, name: str, container: bool, plan: _Plan) -> None:
        self.position = position
        self.name = name
        self.container = container
        self.live = False
        """Whether the column could hit in the last block: then the next is looked up without the check
        (which only saves work; looking up a column that cannot hit finds nothing)."""
        self.answers = _Answers(self._answer)
        self._find = plan.find
        self._nulls = plan.nulls
        self._set_separator = plan.set_separator

    def _answer(self, cell: bytes) -> ZeekCell | None:
        value = cell.decode("utf-8", "replace")
        nulls, find = self._nulls, self._find
        if self.container and self._set_separator in value:
            seen: dict[Match, str] = {}
            for element in value.split(self._set_separator):
                if element not in nulls:
                    for match in find(element):
                        seen.setdefault(match, element)
            if not seen:
                return None
            return ZeekCell(self.name, tuple((observed, match) for match, observed in seen.items()), True)
        if value in nulls:
            return None
        found = find(value)
        if not found:
            return None
        return ZeekCell(self.name, tuple(zip(repeat(value), dict.fromkeys(found), strict=False)), False)


class _Plan:
    """What the fast path needs of one schema: the separators and the columns worth looking at."""

    def __init__(self, parser: ZeekParser, index: IndicatorIndex) -> None:
        schema = parser.schema
        self.count = len(schema.fields)
        self.separator = schema.separator.encode()
        self.set_separator = schema.set_separator
        self.set_separator_bytes = schema.set_separator.encode()
        self.nulls = schema.nulls
        self.find = index.find
        containers = {index for index, _ in schema.containers}
        self.columns = [
            _Column(column, schema.fields[column], column in containers, self) for column in parser.kept
        ]


def _usable(schema: Schema) -> bool:
    # A record reports an indicator once a field name, whichever of two columns so named hit it first:
    # columns looked at one by one cannot tell.
    return (
        len(schema.fields) >= 2
        and len(set(schema.fields)) == len(schema.fields)
        and len(schema.separator) == 1
        and schema.separator.isascii()
        and schema.separator not in "\n\r\\"
        and len(schema.set_separator) >= 1
        and schema.set_separator.isascii()
    )


class ZeekColumns:
    """Scans Zeek TSV blocks column by column; answers are kept between blocks, up to ``memo`` a column."""

    def __init__(self, index: IndicatorIndex, *, memo: int) -> None:
        self.index = index
        self.memo = max(memo, 1)
        self._plans: dict[Schema, _Plan | None] = {}
        self._hashes = index.hash_count > 0

    def _plan(self, parser: ZeekParser) -> _Plan | None:
        schema = parser.schema
        if schema not in self._plans:
            self._plans[schema] = _Plan(parser, self.index) if _usable(schema) else None
        return self._plans[schema]

    def scan(self, block: Block) -> BlockHits | None:
        """The block's hits, or None when the block must be parsed record by record."""
        parser = block.parser
        if not isinstance(parser, ZeekParser):
            return None
        plan = self._plan(parser)
        data = block.data
        if plan is None or b"\r" in data or b"\\" in data:
            return None
        lines = data.count(b"\n")
        if lines == 0:
            return BlockHits()
        step = plan.count - 1
        tokens = data.split(plan.separator)
        if len(tokens) != lines * step + 1:
            return None
        # Each line has exactly `step` separators when each of the `lines` tokens that should hold a line
        # end holds one: the file has no other newline to spare.
        ends = tokens[step::step]
        if not all(map(contains, ends, repeat(b"\n"))):
            return None
        first = block.first_line
        found: list[tuple[_Column, list[int], list[ZeekCell]]] = []
        edges: list[bytes] | None = None
        for column in plan.columns:
            position = column.position
            if position == 0 or position == step:
                if edges is None:  # [last of line 1, first of line 2, last of line 2, ..., last, ""]
                    edges = b"\n".join(ends).split(b"\n")
                cells = edges[0::2] if position == step else [tokens[0], *edges[1:-1:2]]
            else:
                cells = tokens[position::step]
            if not column.live:
                if not self._may_hit(cells, column.container, plan.set_separator_bytes):
                    continue
                column.live = True
            answers = column.answers
            if len(answers) > self.memo:
                answers.clear()
            results = list(map(answers.__getitem__, cells))
            hit_lines = list(compress(range(first, first + lines), results))
            column.live = bool(hit_lines)
            if hit_lines:
                found.append((column, hit_lines, list(filter(None, results))))
        return _merge(found, plan.count)

    def _may_hit(self, cells: list[bytes], container: bool, set_separator: bytes) -> bool:
        """False when no cell can hit: every indicator but a hash needs a "." or a ":" (or, in a name
        written in Unicode, one of its full stops)."""
        joined = b"\t".join(cells)
        if b"." in joined or b":" in joined or not joined.isascii():
            return True
        if not self._hashes:
            return False
        if container:  # the elements' lengths: split on the set separator too
            cells = joined.replace(set_separator, b"\t").split(b"\t")
        return not _HASH_LENGTHS.isdisjoint(map(len, cells))


def _merge(found: list[tuple[_Column, list[int], list[ZeekCell]]], count: int) -> BlockHits:
    """The hits of all columns in record order; within a record, the order the reader gives values in:
    scalar columns (and one-element sets) by position, then the elements of longer sets by position."""
    if not found:
        return BlockHits()
    if len(found) == 1 and not found[0][0].container:
        _, hit_lines, cells = found[0]
        return BlockHits(hit_lines, cells)
    keys = []
    for column, hit_lines, cells in found:
        key = np.asarray(hit_lines, dtype=np.int64) * (2 * count) + column.position
        if column.container:
            key += np.fromiter(map(_AFTER, cells), dtype=np.int64, count=len(cells)) * count
        keys.append(key)
    every = np.concatenate(keys)
    order = np.argsort(every, kind="stable")
    lines = (every[order] // (2 * count)).tolist()
    cells = list(chain.from_iterable(cells for _, _, cells in found))
    if len(cells) == 1:
        return BlockHits(lines, cells)
    return BlockHits(lines, itemgetter(*order.tolist())(cells))

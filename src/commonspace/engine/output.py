"""Hits as JSON Lines, and their tallies: the work done once per distinct cell, not once per hit.

One line per record, field and indicator::

    {"log": "dns.log", "line": 12, "field": "query", "observed": "a.evil.example",
     "indicator": "evil.example", "type": "domain"}

followed, when the caller describes its references (indicators from the database), by what it says of
them (``"reports": [...]``). Several references with the same indicator value make one line. A cell's
lines are rendered once, as a ``%``-template waiting for the line number, and kept for the next records
that hold the same value (a scanner shares one cell between them); formatting a block is then one C-level
pass over its cells and lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from operator import mod

import orjson

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.scan import BlockHits, CellHits

Describe = Callable[[Sequence[int]], bytes]
"""What to add to a line for the references of one indicator: ``b',"reports":[...]'``, or ``b""``."""

IndicatorKey = tuple[IndicatorType, str]


def _json(value: str) -> bytes:
    return orjson.dumps(value).replace(b"%", b"%%")


Group = tuple[str, IndicatorType, str, list[int]]
"""One output line's worth of a cell: ``(observed, type, indicator, refs)``."""


def group(cell: CellHits) -> list[Group]:
    """The cell's hits by indicator value: ``(observed, type, indicator, refs)``, in the order found."""
    groups = cell.groups
    if groups is None:
        out: dict[IndicatorKey, tuple[str, list[int]]] = {}
        for observed, (type_, indicator, ref) in cell.hits:
            key = (type_, indicator)
            if key in out:
                out[key][1].append(ref)
            else:
                out[key] = (observed, [ref])
        groups = cell.groups = [
            (observed, t, indicator, refs) for (t, indicator), (observed, refs) in out.items()
        ]
    return groups  # type: ignore[return-value]


class _Lines(bytes):
    """The template of a cell that makes several lines: formatting it repeats the line number."""

    lines: int

    def __mod__(self, line: object) -> bytes:
        return bytes.__mod__(self, (line,) * self.lines)


class _Templates(dict[CellHits, bytes]):
    """Each cell's template, made on first sight; forgotten at once when too many are kept."""

    def __init__(self, make: Callable[[CellHits], bytes], limit: int) -> None:
        super().__init__()
        self.make = make
        self.limit = limit

    def __missing__(self, cell: CellHits) -> bytes:
        if len(self) >= self.limit:
            self.clear()
        template = self[cell] = self.make(cell)
        return template


class Renderer:
    """Renders the hits of one log's blocks as JSON Lines (``log`` is the name printed for the file)."""

    def __init__(self, log: str, describe: Describe | None = None, *, memo: int = 1 << 16) -> None:
        self.prefix = b'{"log":' + _json(log) + b',"line":%d,"field":'
        self.describe = describe
        self._templates = _Templates(self._template, memo)

    def _template(self, cell: CellHits) -> bytes:
        parts = []
        field = _json(cell.field)
        for observed, type_, indicator, refs in group(cell):
            extra = self.describe(refs).replace(b"%", b"%%") if self.describe is not None else b""
            parts.append(
                self.prefix
                + field
                + b',"observed":'
                + _json(observed)
                + b',"indicator":'
                + _json(indicator)
                + b',"type":'
                + _json(type_.value)
                + extra
                + b"}\n"
            )
        if len(parts) == 1:
            return parts[0]
        several = _Lines(b"".join(parts))
        several.lines = len(parts)
        return several

    def render(self, hits: BlockHits) -> bytes:
        templates = map(self._templates.__getitem__, hits.cells)
        return b"".join(map(mod, templates, hits.lines))


class Tally:
    """Hits counted by indicator value and by reference, from a block's cells counted once each."""

    def __init__(self) -> None:
        self.by_indicator: Counter[IndicatorKey] = Counter()
        self.by_ref: Counter[int] = Counter()
        self.hits = 0
        """Output lines: one a (record, field, indicator value)."""

    def add(self, hits: BlockHits) -> None:
        for cell, times in Counter(hits.cells).items():
            for _, type_, indicator, refs in group(cell):
                self.by_indicator[type_, indicator] += times
                self.hits += times
                for ref in refs:
                    self.by_ref[ref] += times

    def merge(self, other: Tally) -> None:
        self.by_indicator.update(other.by_indicator)
        self.by_ref.update(other.by_ref)
        self.hits += other.hits


def tally_of(blocks: Iterable[BlockHits]) -> Tally:
    tally = Tally()
    for hits in blocks:
        tally.add(hits)
    return tally

"""Matching log records against an :class:`~commonspace.engine.index.IndicatorIndex`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.index import IndicatorIndex, Match
from commonspace.engine.records import Record

DEFAULT_MEMO = 1 << 16
"""How many distinct observed values :func:`match_records` remembers the answer for, by default."""


@dataclass(frozen=True, slots=True)
class Hit:
    """An indicator hit by a value of a record: where (line, field), what was seen, and what it hit."""

    line: int
    """The 1-based physical line the record starts on."""
    field: str
    observed: str
    """The value as it was in the record (the first one, when several values of a field hit)."""
    indicator: str
    """The indicator's canonical value."""
    type: IndicatorType
    ref: int
    """The reference the indicator was indexed with."""


def match_records(
    records: Iterable[Record], index: IndicatorIndex, *, memo: int = DEFAULT_MEMO
) -> Iterator[Hit]:
    """The hits of every scalar value of every record, in record order.

    A record yields one hit per field and indicator reference: when several values of one field hit
    the same indicator (two addresses of one network in ``answers``), the first is reported.

    Logs repeat values heavily (the same resolvers, clients and names on every line), so the answers
    for up to ``memo`` distinct values are remembered; the memory is forgotten at once when it is full,
    which keeps the bookkeeping to one dictionary probe per value. ``memo=0`` looks every value up.
    """
    find = index.find
    if memo <= 0:
        for record in records:
            seen: set[tuple[str, Match]] | None = None
            for field, value in record.values:
                found = find(value)
                if found:
                    if seen is None:
                        seen = set()
                    yield from _hits(record.line, field, value, found, seen)
        return
    answers: dict[str, tuple[Match, ...]] = {}
    remembered = answers.get
    for record in records:
        seen = None
        for field, value in record.values:
            known = remembered(value)
            if known is None:
                known = find(value)
                if len(answers) >= memo:
                    answers.clear()
                answers[value] = known
            if known:
                if seen is None:
                    seen = set()
                yield from _hits(record.line, field, value, known, seen)


def _hits(
    line: int, field: str, value: str, found: tuple[Match, ...], seen: set[tuple[str, Match]]
) -> Iterator[Hit]:
    for match in found:
        key = (field, match)
        if key not in seen:
            seen.add(key)
            type_, indicator, ref = match
            yield Hit(line, field, value, indicator, type_, ref)

"""What a match looks for: a :class:`Watchlist` of indicators, and the one made of files' indicators.

A watchlist is an index over indicators and what each of its references stands for: for the database's
indicators (:func:`commonspace.matching.service.visible_watchlist`), the indicator row and its report; for
the indicators of files, only the value. Nothing here touches the database, so matching files against
files starts without loading it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import orjson

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.index import IndicatorIndex
from commonspace.engine.warninglists import WarningLists

Entry = tuple[IndicatorType, str]


@dataclass
class Watchlist:
    """The indicators to match: ``entries[ref]`` is the ``(type, canonical value)`` of reference ``ref``;
    from the database, ``indicator_ids[ref]`` and ``reports[ref]`` (a report's UUID) say whose it is."""

    entries: list[Entry] = field(default_factory=list)
    indicator_ids: list[int] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    excluded: int = 0
    """Indicators left out because they are on a warninglist."""
    _index: IndicatorIndex | None = None

    @property
    def index(self) -> IndicatorIndex:
        if self._index is None:
            entries = self.entries
            self._index = IndicatorIndex.of_columns(
                list(map(itemgetter(0), entries)), list(map(itemgetter(1), entries)), range(len(entries))
            )
        return self._index

    @property
    def from_database(self) -> bool:
        return bool(self.indicator_ids)

    def describe(self, refs: Sequence[int]) -> bytes:
        """The reports of these references, as the output's ``"reports"`` member (none for files)."""
        if not self.reports:
            return b""
        return b',"reports":' + orjson.dumps(sorted({self.reports[ref] for ref in refs}))


def file_watchlist(entries: Iterable[Entry], *, warninglists: WarningLists | None = None) -> Watchlist:
    """The indicators of files (see :func:`commonspace.formats.files.read_entries`), once each in the
    order first given; those on ``warninglists`` left out."""
    unique = list(dict.fromkeys(entries))
    if warninglists is None:
        return Watchlist(entries=unique)
    kept = [entry for entry in unique if not warninglists.check(*entry)]
    return Watchlist(entries=kept, excluded=len(unique) - len(kept))

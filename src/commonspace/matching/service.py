"""Matching logs against indicators: the indicators a member may see, or those of files; sightings.

A :class:`Watchlist` is an index over indicators and what each of its references stands for: for the
database's indicators, the indicator row and its report; for the indicators of files, only the value.
The database's indicators are those the access policy lets the member see (``indicator_filter``), so
neither the output nor the sightings ever tell an organisation of an indicator or a report it cannot see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.domain import canonical
from commonspace.domain.errors import Forbidden
from commonspace.domain.vocab import IndicatorType, SightingKind
from commonspace.engine.index import IndicatorIndex
from commonspace.engine.warninglists import WarningLists
from commonspace.formats.model import Exchange
from commonspace.policy import Subject
from commonspace.store import tables as t
from commonspace.store.tables import utcnow

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
            self._index = IndicatorIndex(
                (type_, value, ref) for ref, (type_, value) in enumerate(self.entries)
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


def _excluded(warninglists: WarningLists | None) -> Callable[[Entry], bool] | None:
    if warninglists is None:
        return None
    return lambda entry: bool(warninglists.check(entry[0], entry[1]))


def visible_watchlist(
    session: Session, subject: Subject, *, warninglists: WarningLists | None = None
) -> Watchlist:
    """Every indicator ``subject`` may see, with its report; those on ``warninglists`` left out."""
    query = (
        select(t.Indicator.id, t.Indicator.type, t.Indicator.canonical, t.Report.uuid)
        .join(t.Report, t.Report.id == t.Indicator.report_id)
        .where(policy.indicator_filter(subject))
        .order_by(t.Indicator.id)
    )
    watchlist = Watchlist()
    excluded = _excluded(warninglists)
    types = {type_.value: type_ for type_ in IndicatorType}
    for indicator_id, type_, value, report in session.execute(query):
        entry = (types[type_], value)
        if excluded is not None and excluded(entry):
            watchlist.excluded += 1
            continue
        watchlist.entries.append(entry)
        watchlist.indicator_ids.append(indicator_id)
        watchlist.reports.append(report)
    return watchlist


def file_watchlist(exchanges: Iterable[Exchange], *, warninglists: WarningLists | None = None) -> Watchlist:
    """The indicators of files read by :mod:`commonspace.formats`, once each, in canonical form.

    Raises :class:`~commonspace.domain.canonical.InvalidIndicator` for a value that is not of its type
    (the readers have checked them, so only a reader's bug gets here)."""
    watchlist = Watchlist()
    seen: set[Entry] = set()
    excluded = _excluded(warninglists)
    for exchange in exchanges:
        for report in exchange.reports:
            for item in report.indicators:
                found = (
                    (item.type, item.canonical)
                    if item.type and item.canonical
                    else canonical.detect(item.value)
                )
                if found is not None and (item.type is None or found[0] is item.type):
                    entry: Entry = found
                elif item.type is not None:
                    entry = (item.type, canonical.canonicalize(item.type, item.value))
                else:
                    continue
                if entry in seen:
                    continue
                seen.add(entry)
                if excluded is not None and excluded(entry):
                    watchlist.excluded += 1
                    continue
                watchlist.entries.append(entry)
    return watchlist


def record_sightings(
    session: Session,
    subject: Subject,
    watchlist: Watchlist,
    hits_by_ref: dict[int, int],
    *,
    source: str,
    seen: datetime | None = None,
) -> int:
    """One sighting per indicator hit (its count: the hits), by ``subject``'s organisation; returns how
    many were recorded. Only database indicators can be sighted; they are the subject's visible ones."""
    if not policy.can_record_sighting(subject):
        raise Forbidden("readers and read-only keys cannot record sightings")
    if not watchlist.from_database:
        raise ValueError("sightings are recorded on the database's indicators, not on those of files")
    moment = seen or utcnow()
    rows = [
        {
            "indicator_id": watchlist.indicator_ids[ref],
            "org_id": subject.org_id,
            "member_id": subject.member_id,
            "seen": moment,
            "source": source[:300],
            "count": count,
            "kind": SightingKind.SIGHTING.value,
        }
        for ref, count in sorted(hits_by_ref.items())
        if count > 0
    ]
    if rows:
        session.execute(insert(t.Sighting), rows)
        audit.record(
            session, subject, "sighting.match", "log", None, None, sightings=len(rows), source=source[:300]
        )
    return len(rows)


def audit_reads(session: Session, subject: Subject, watchlist: Watchlist, hits_by_ref: Iterable[int]) -> None:
    """Hits name reports: each of another organisation is recorded in its access log, as a search is."""
    uuids = sorted({watchlist.reports[ref] for ref in hits_by_ref}) if watchlist.from_database else []
    for start in range(0, len(uuids), 1000):
        rows = session.execute(
            select(t.Report.uuid, t.Report.org_id).where(t.Report.uuid.in_(uuids[start : start + 1000]))
        )
        for report_uuid, org_id in rows:
            if org_id != subject.org_id:
                audit.record(session, subject, "report.read", "report", report_uuid, org_id, path="match")

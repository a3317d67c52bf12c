"""Matching logs against the database's indicators: those a member may see; sightings; access logs.

The database's indicators are those the access policy lets the member see (``indicator_filter``), so
neither the output nor the sightings ever tell an organisation of an indicator or a report it cannot see.
(The indicators of files are read by :func:`commonspace.matching.watchlist.file_watchlist`.)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.domain.errors import Forbidden
from commonspace.domain.vocab import IndicatorType, SightingKind
from commonspace.engine.warninglists import WarningLists
from commonspace.matching.watchlist import Watchlist
from commonspace.policy import Subject
from commonspace.store import tables as t
from commonspace.store.tables import utcnow


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
    types = {type_.value: type_ for type_ in IndicatorType}
    for indicator_id, type_, value, report in session.execute(query):
        entry = (types[type_], value)
        if warninglists is not None and warninglists.check(*entry):
            watchlist.excluded += 1
            continue
        watchlist.entries.append(entry)
        watchlist.indicator_ids.append(indicator_id)
        watchlist.reports.append(report)
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

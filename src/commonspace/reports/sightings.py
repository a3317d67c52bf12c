"""Sightings: "organisation X saw this indicator at time T" (or: it was a false positive).

A sighting is seen by the organisation that made it and by the report's creator organisation (who needs
the feedback); other organisations do not learn who else saw an indicator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.domain.errors import Forbidden
from commonspace.domain.vocab import SightingKind
from commonspace.policy import Subject
from commonspace.reports import schemas
from commonspace.reports.indicators import get_indicator
from commonspace.reports.service import org_ref
from commonspace.store import tables as t
from commonspace.store.tables import utcnow


def add_sighting(
    session: Session, subject: Subject, indicator_uuid: str, data: schemas.SightingIn
) -> t.Sighting:
    indicator = get_indicator(session, subject, indicator_uuid)
    if not policy.can_record_sighting(subject):
        raise Forbidden("readers and read-only keys cannot record sightings")
    sighting = t.Sighting(
        indicator_id=indicator.id,
        org_id=subject.org_id,
        member_id=subject.member_id,
        seen=data.seen or utcnow(),
        source=data.source,
        count=data.count,
        kind=data.kind.value,
    )
    session.add(sighting)
    session.flush()
    report_org = session.scalar(select(t.Report.org_id).where(t.Report.id == indicator.report_id))
    audit.record(
        session, subject, "sighting.add", "indicator", indicator.uuid, report_org, kind=data.kind.value
    )
    return sighting


def list_sightings(session: Session, subject: Subject, indicator_uuid: str) -> list[schemas.SightingOut]:
    indicator = get_indicator(session, subject, indicator_uuid)
    query = (
        select(t.Sighting, t.Organisation)
        .join(t.Organisation, t.Organisation.id == t.Sighting.org_id)
        .where(t.Sighting.indicator_id == indicator.id)
        .order_by(t.Sighting.seen.desc(), t.Sighting.id.desc())
    )
    report_org = session.scalar(select(t.Report.org_id).where(t.Report.id == indicator.report_id))
    if not subject.is_site_admin and report_org != subject.org_id:
        query = query.where(t.Sighting.org_id == subject.org_id)
    return [
        schemas.SightingOut(
            uuid=s.uuid,
            indicator=indicator.uuid,
            organisation=org_ref(org),
            seen=s.seen,
            source=s.source,
            count=s.count,
            kind=s.kind,
        )
        for s, org in session.execute(query)
    ]


@dataclass(frozen=True)
class Tally:
    """Sightings summed up: how many times seen, how many times a false positive, and when last."""

    sightings: int = 0
    false_positives: int = 0
    last: datetime | None = None

    def add(self, kind: str, count: int, last: datetime | None) -> Tally:
        seen = self.sightings + (count if kind != SightingKind.FALSE_POSITIVE.value else 0)
        false = self.false_positives + (count if kind == SightingKind.FALSE_POSITIVE.value else 0)
        latest = max((d for d in (self.last, last) if d is not None), default=None)
        return Tally(seen, false, latest)


def _tallied(subject: Subject, report: t.Report, *columns: Any) -> Select[Any]:
    """Sightings of the report's indicators the subject may see, grouped by ``columns`` and kind: all of
    them for the creator organisation (and site admins), only the subject's own organisation's for others
    (as list_sightings does), and only on indicators the subject may see."""
    visible: list[ColumnElement[bool]] = [
        t.Indicator.report_id == report.id,
        policy.indicator_filter(subject),
    ]
    if not subject.is_site_admin and report.org_id != subject.org_id:
        visible.append(t.Sighting.org_id == subject.org_id)
    return (
        select(*columns, t.Sighting.kind, func.sum(t.Sighting.count), func.max(t.Sighting.seen))
        .join(t.Indicator, t.Indicator.id == t.Sighting.indicator_id)
        .join(t.Report, t.Report.id == t.Indicator.report_id)
        .where(*visible)
        .group_by(*columns, t.Sighting.kind)
    )


def indicator_tallies(
    session: Session, subject: Subject, report: t.Report, indicator_ids: Sequence[int]
) -> dict[int, Tally]:
    """The sightings the subject may see of some indicators of one report (a page of them), by id."""
    out: dict[int, Tally] = {}
    if not indicator_ids:
        return out
    query = _tallied(subject, report, t.Sighting.indicator_id)
    for indicator_id, kind, count, last in session.execute(
        query.where(t.Sighting.indicator_id.in_(sorted(set(indicator_ids))))
    ):
        out[indicator_id] = out.get(indicator_id, Tally()).add(kind, int(count or 0), last)
    return out


def report_tallies(
    session: Session, subject: Subject, report: t.Report
) -> list[tuple[schemas.OrgRef, Tally]]:
    """The sightings the subject may see of all of a report's indicators, by organisation (by name)."""
    by_org: dict[int, Tally] = {}
    for org_id, kind, count, last in session.execute(_tallied(subject, report, t.Sighting.org_id)):
        by_org[org_id] = by_org.get(org_id, Tally()).add(kind, int(count or 0), last)
    if not by_org:
        return []
    orgs = session.scalars(select(t.Organisation).where(t.Organisation.id.in_(sorted(by_org))))
    return sorted(((org_ref(o), by_org[o.id]) for o in orgs), key=lambda pair: pair[0].name.lower())

"""Sightings: "organisation X saw this indicator at time T" (or: it was a false positive).

A sighting is seen by the organisation that made it and by the report's creator organisation (who needs
the feedback); other organisations do not learn who else saw an indicator.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.domain.errors import Forbidden
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

"""Use cases for reports: create, read, list, update, publish, delete.

Every read goes through the access policy (``policy.report_filter`` for lists, ``policy.can_see_report``
for one report); a report the subject may not see raises NotFound, exactly as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.correlation import counts as correlation
from commonspace.domain.errors import Conflict, Forbidden, Invalid, NotFound
from commonspace.domain.vocab import TLP, Distribution, ReportStatus
from commonspace.forum.service import comment_counts
from commonspace.policy import Subject
from commonspace.reports import schemas, tags
from commonspace.reports.pagination import NumberedPage, Page, decode_cursor, encode_cursor
from commonspace.store import tables as t
from commonspace.store.tables import utcnow


def resolve_group(session: Session, subject: Subject | None, ref: str | None, field: str) -> int | None:
    """The id of a sharing group the subject's organisation belongs to (by UUID or name)."""
    if ref is None:
        return None
    group = session.scalar(
        select(t.SharingGroup).where((t.SharingGroup.uuid == ref) | (t.SharingGroup.name == ref))
    )
    if group is None or (
        subject is not None and not subject.is_site_admin and group.id not in subject.group_ids
    ):
        raise Invalid(f"no sharing group {ref!r} that your organisation belongs to", field=field)
    return group.id


def _set_victims(session: Session, report: t.Report, fields: schemas.ReportFields) -> None:
    if fields.victim_countries is not None:
        session.execute(delete(t.ReportCountry).where(t.ReportCountry.report_id == report.id))
        session.add_all(t.ReportCountry(report_id=report.id, country=c) for c in fields.victim_countries)
    if fields.victim_sectors is not None:
        session.execute(delete(t.ReportSector).where(t.ReportSector.report_id == report.id))
        sectors = sorted({s.strip().lower() for s in fields.victim_sectors if s.strip()})
        session.add_all(t.ReportSector(report_id=report.id, sector=s) for s in sectors)
    if fields.tags is not None:
        tags.set_report_tags(session, report.id, fields.tags)


def _check_seen(first: datetime | None, last: datetime | None, field: str) -> None:
    if first and last and last < first:
        raise Invalid("last_seen is before first_seen", field=field)


def create_report(
    session: Session, subject: Subject | None, data: schemas.ReportIn, *, org: t.Organisation | None = None
) -> t.Report:
    """A new draft report of the subject's organisation (or of ``org`` for the operator)."""
    from commonspace.reports import indicators

    if subject is not None and not policy.can_create_report(subject):
        raise Forbidden("only publishers and administrators create reports")
    org_id = subject.org_id if subject is not None else (org.id if org else None)
    if org_id is None:
        raise Invalid("the creator organisation is missing", field="organisation")
    _check_seen(data.first_seen, data.last_seen, "last_seen")
    report = t.Report(
        title=data.title.strip(),
        summary=data.summary or "",
        category=data.category,
        threat_level=(data.threat_level or "undefined"),
        first_seen=data.first_seen,
        last_seen=data.last_seen,
        loss_amount=data.loss.amount if data.loss else None,
        loss_currency=data.loss.currency if data.loss else None,
        tlp=data.tlp.value,
        distribution=data.distribution.value,
        sharing_group_id=resolve_group(session, subject, data.sharing_group, "sharing_group"),
        status=ReportStatus.DRAFT.value,
        org_id=org_id,
        creator_id=subject.member_id if subject else None,
    )
    session.add(report)
    session.flush()
    _set_victims(session, report, data)
    if data.indicators:
        indicators.add_indicators(
            session, subject, report, data.indicators, audit_it=False, field="indicators"
        )
        report.version = 1  # a new report starts at version 1 whatever it was created with
    audit.record(session, subject, "report.create", "report", report.uuid, report.org_id)
    return report


def _find(session: Session, uuid: str) -> t.Report | None:
    return session.scalar(select(t.Report).where(t.Report.uuid == uuid))


def get_report(session: Session, subject: Subject | None, uuid: str, *, audit_read: bool = True) -> t.Report:
    """The report if the subject may see it; NotFound otherwise, whichever the reason."""
    report = _find(session, uuid)
    if report is None or (subject is not None and not policy.can_see_report(subject, report)):
        raise NotFound(f"no report {uuid!r}")
    if audit_read and subject is not None and report.org_id != subject.org_id:
        audit.record(session, subject, "report.read", "report", report.uuid, report.org_id)
    return report


def editable_report(session: Session, subject: Subject | None, uuid: str) -> t.Report:
    report = get_report(session, subject, uuid, audit_read=False)
    if subject is not None and not policy.can_edit_report(subject, report):
        raise Forbidden("only publishers and administrators of the creator organisation change this report")
    return report


@dataclass(frozen=True)
class ReportQuery:
    text: str | None = None
    category: str | None = None
    country: str | None = None
    sector: str | None = None
    tlp: TLP | None = None
    organisation: str | None = None
    status: ReportStatus | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def filtered_reports(subject: Subject | None, q: ReportQuery) -> Select[t.Report]:
    query = select(t.Report)
    if subject is not None:
        query = query.where(policy.report_filter(subject))
    if q.text:
        text = q.text.lower()  # "%" and "_" are searched for, not wildcards
        query = query.where(
            func.lower(t.Report.title).contains(text, autoescape=True)
            | func.lower(t.Report.summary).contains(text, autoescape=True)
        )
    if q.category:
        query = query.where(
            t.Report.category.startswith(q.category + "/", autoescape=True)
            if "/" not in q.category
            else t.Report.category == q.category
        )
    if q.country:
        query = query.where(
            t.Report.id.in_(
                select(t.ReportCountry.report_id).where(t.ReportCountry.country == q.country.upper())
            )
        )
    if q.sector:
        query = query.where(
            t.Report.id.in_(select(t.ReportSector.report_id).where(t.ReportSector.sector == q.sector.lower()))
        )
    if q.tlp:
        query = query.where(t.Report.tlp == q.tlp.value)
    if q.status:
        query = query.where(t.Report.status == q.status.value)
    if q.organisation:
        org = select(t.Organisation.id).where(
            (t.Organisation.uuid == q.organisation) | (t.Organisation.name == q.organisation)
        )
        query = query.where(t.Report.org_id.in_(org))
    if q.tag:
        tagged = select(t.ReportTag.report_id).join(t.Tag, t.Tag.id == t.ReportTag.tag_id)
        query = query.where(t.Report.id.in_(tagged.where(t.Tag.name == tags.normalise(q.tag))))
    if q.created_after:
        query = query.where(t.Report.created >= q.created_after)
    if q.created_before:
        query = query.where(t.Report.created < q.created_before)
    return query


def list_reports(
    session: Session, subject: Subject | None, q: ReportQuery, *, limit: int = 50, cursor: str | None = None
) -> Page[t.Report]:
    """Newest first, by id; the cursor is the last id seen, so pages never shift under inserts."""
    query = filtered_reports(subject, q).order_by(t.Report.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(t.Report.id < after)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more and rows else None)


class ReportSort(StrEnum):
    """The orders a list of reports can be read in (each ends with the id, so pages never overlap)."""

    NEWEST = "newest"
    OLDEST = "oldest"
    MODIFIED = "modified"
    TITLE = "title"
    PUBLISHED = "published"


_REPORT_ORDER = {
    ReportSort.NEWEST: (t.Report.created.desc(), t.Report.id.desc()),
    ReportSort.OLDEST: (t.Report.created.asc(), t.Report.id.asc()),
    ReportSort.MODIFIED: (t.Report.modified.desc(), t.Report.id.desc()),
    ReportSort.TITLE: (func.lower(t.Report.title).asc(), t.Report.title.asc(), t.Report.id.asc()),
    ReportSort.PUBLISHED: (t.Report.published.desc().nulls_last(), t.Report.id.desc()),
}


def page_of_reports(
    session: Session,
    subject: Subject | None,
    q: ReportQuery,
    *,
    sort: ReportSort = ReportSort.NEWEST,
    page: int = 1,
    per_page: int = 25,
) -> NumberedPage[t.Report]:
    """One numbered page of the reports the subject may see, with the total count; a page past the last
    one is the last one. Unpublished reports sort last by publication date."""
    query = filtered_reports(subject, q)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    per_page = max(1, per_page)
    page = min(max(1, page), max(1, -(-total // per_page)))
    rows = session.scalars(query.order_by(*_REPORT_ORDER[sort]).offset((page - 1) * per_page).limit(per_page))
    return NumberedPage(list(rows), total, page, per_page)


def recent_reports(session: Session, subject: Subject, *, own: bool, limit: int) -> list[t.Report]:
    """The subject's organisation's latest reports (drafts included), or the latest published by others."""
    query = select(t.Report).where(policy.report_filter(subject))
    if own:
        query = query.where(t.Report.org_id == subject.org_id).order_by(t.Report.modified.desc())
    else:
        query = query.where(
            t.Report.org_id != subject.org_id, t.Report.status == ReportStatus.PUBLISHED.value
        ).order_by(t.Report.published.desc(), t.Report.id.desc())
    return list(session.scalars(query.limit(limit)))


def update_report(
    session: Session, subject: Subject | None, uuid: str, data: schemas.ReportPatch
) -> t.Report:
    if data.uuid is not None and data.uuid != uuid:
        raise Invalid("the uuid in the body differs from the one in the URL", field="uuid")
    report = editable_report(session, subject, uuid)
    if data.version is not None and data.version != report.version:
        raise Conflict(
            f"the report changed since version {data.version} (now {report.version})", field="version"
        )
    tlp = data.tlp or TLP(report.tlp)
    distribution = data.distribution or Distribution(report.distribution)
    group = data.sharing_group
    if group is None and distribution is Distribution.SHARING_GROUP and data.distribution is None:
        group = report.sharing_group.uuid if report.sharing_group else None
    try:
        schemas.check_sharing(tlp, distribution, group)
    except ValueError as exc:
        raise Invalid(str(exc), field="distribution") from exc
    first = data.first_seen if "first_seen" in data.model_fields_set else report.first_seen
    last = data.last_seen if "last_seen" in data.model_fields_set else report.last_seen
    _check_seen(first, last, "last_seen")
    if "title" in data.model_fields_set and data.title is None:
        raise Invalid("a report needs a title", field="title")
    cleared = {"title": None, "summary": "", "category": None, "threat_level": "undefined"}
    for name, empty in cleared.items():
        if name in data.model_fields_set:
            setattr(report, name, getattr(data, name) or empty)
    if "first_seen" in data.model_fields_set or "last_seen" in data.model_fields_set:
        report.first_seen, report.last_seen = first, last
    if "loss" in data.model_fields_set:
        report.loss_amount = data.loss.amount if data.loss else None
        report.loss_currency = data.loss.currency if data.loss else None
    report.tlp, report.distribution = tlp.value, distribution.value
    report.sharing_group_id = resolve_group(session, subject, group, "sharing_group")
    _set_victims(session, report, data)
    touch(report)
    audit.record(
        session, subject, "report.update", "report", report.uuid, report.org_id, version=report.version
    )
    return report


def touch(report: t.Report) -> None:
    report.version += 1
    report.modified = utcnow()


def publish_report(session: Session, subject: Subject | None, uuid: str) -> t.Report:
    report = editable_report(session, subject, uuid)
    if report.status != ReportStatus.PUBLISHED.value:
        report.status = ReportStatus.PUBLISHED.value
        report.published = utcnow()
        touch(report)
    audit.record(session, subject, "report.publish", "report", report.uuid, report.org_id)
    return report


def delete_report(session: Session, subject: Subject | None, uuid: str) -> None:
    report = editable_report(session, subject, uuid)
    audit.record(session, subject, "report.delete", "report", report.uuid, report.org_id, title=report.title)
    correlation.forget_report(session, report.id)  # its indicators go with it
    session.delete(report)


def report_outs(
    session: Session, reports: Sequence[t.Report], subject: Subject | None
) -> list[schemas.ReportOut]:
    """Serialise reports with their tags, victims, indicator and comment counts in a fixed number of queries.

    The counts are of the indicators ``subject`` may see: narrowed ones are not even counted for others.
    """
    ids = [r.id for r in reports]
    if not ids:
        return []
    tag_map = tags.report_tags(session, ids)
    countries: dict[int, list[str]] = {i: [] for i in ids}
    for rid, country in session.execute(
        select(t.ReportCountry.report_id, t.ReportCountry.country).where(t.ReportCountry.report_id.in_(ids))
    ):
        countries[rid].append(country)
    sectors: dict[int, list[str]] = {i: [] for i in ids}
    for rid, sector in session.execute(
        select(t.ReportSector.report_id, t.ReportSector.sector).where(t.ReportSector.report_id.in_(ids))
    ):
        sectors[rid].append(sector)
    counted = select(t.Indicator.report_id, func.count()).where(t.Indicator.report_id.in_(ids))
    if subject is not None:
        counted = counted.join(t.Report, t.Report.id == t.Indicator.report_id)
        counted = counted.where(policy.indicator_filter(subject))
    counts = dict(session.execute(counted.group_by(t.Indicator.report_id)).all())
    comments = comment_counts(session, ids)
    return [
        schemas.ReportOut(
            uuid=r.uuid,
            title=r.title,
            summary=r.summary,
            category=r.category,
            threat_level=r.threat_level,
            victim_countries=sorted(countries[r.id]),
            victim_sectors=sorted(sectors[r.id]),
            first_seen=r.first_seen,
            last_seen=r.last_seen,
            loss=schemas.Loss(amount=r.loss_amount, currency=r.loss_currency)
            if r.loss_amount is not None and r.loss_currency
            else None,
            tlp=r.tlp,
            distribution=r.distribution,
            sharing_group=schemas.GroupRef(uuid=r.sharing_group.uuid, name=r.sharing_group.name)
            if r.sharing_group
            else None,
            status=r.status,
            organisation=org_ref(r.organisation),
            created=r.created,
            modified=r.modified,
            published=r.published,
            version=r.version,
            tags=tag_map.get(r.id, []),
            indicator_count=counts.get(r.id, 0),
            comments=comments.get(r.id, 0),
        )
        for r in reports
    ]


def org_ref(org: t.Organisation) -> schemas.OrgRef:
    return schemas.OrgRef(uuid=org.uuid, name=org.name, kind=org.kind, country=org.country)


def visible_tags(session: Session, subject: Subject | None) -> list[str]:
    """Tags used on reports or indicators the subject may see (a tag name can itself be sensitive)."""
    on_reports = select(t.ReportTag.tag_id).join(t.Report, t.Report.id == t.ReportTag.report_id)
    on_indicators = (
        select(t.IndicatorTag.tag_id)
        .join(t.Indicator, t.Indicator.id == t.IndicatorTag.indicator_id)
        .join(t.Report, t.Report.id == t.Indicator.report_id)
    )
    if subject is not None:
        on_reports = on_reports.where(policy.report_filter(subject))
        on_indicators = on_indicators.where(policy.indicator_filter(subject))
    ids = on_reports.union(on_indicators).subquery()
    return list(
        session.scalars(select(t.Tag.name).where(t.Tag.id.in_(select(ids.c.tag_id))).order_by(t.Tag.name))
    )

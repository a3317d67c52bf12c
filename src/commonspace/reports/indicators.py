"""Use cases for indicators: bulk add, read, update, delete; and their serialisation.

An indicator inherits its report's distribution unless it narrows it (e.g. one indicator of a community
report kept to the organisation). Values are stored as given and canonical; the canonical form is what
searches, correlation and matching compare.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.domain import canonical
from commonspace.domain.errors import Invalid, NotFound
from commonspace.domain.vocab import Distribution, IndicatorType
from commonspace.policy import Subject
from commonspace.reports import schemas, tags
from commonspace.reports.pagination import Page, decode_cursor, encode_cursor
from commonspace.reports.service import editable_report, get_report, resolve_group, touch
from commonspace.store import tables as t
from commonspace.store.tables import utcnow

INSERT_CHUNK = 5_000


@dataclass(frozen=True)
class Canonical:
    type: IndicatorType
    canonical: str
    host_key: str | None
    prefix_len: int | None


def canonical_form(type_: IndicatorType | None, value: str, field: str) -> Canonical:
    """Type (detected when absent), canonical value and search keys of one value; Invalid names the field."""
    if type_ is None:
        type_ = canonical.detect_type(value)
        if type_ is None:
            raise Invalid(f"cannot tell the type of {value!r}; give a type", field=field)
    try:
        value = canonical.canonicalize(type_, value)
    except canonical.InvalidIndicator as exc:
        raise Invalid(str(exc), field=field) from exc
    host = _host_of(type_, value)
    return Canonical(
        type=type_,
        canonical=value,
        host_key=canonical.host_key(host) if host else None,
        prefix_len=canonical.network_prefix_length(value)
        if type_ in (IndicatorType.IPV4_CIDR, IndicatorType.IPV6_CIDR)
        else None,
    )


def _host_of(type_: IndicatorType, value: str) -> str | None:
    """The domain a domain query should find this indicator under (a URL's host, an e-mail's domain)."""
    if type_ is IndicatorType.DOMAIN:
        return value
    if type_ is IndicatorType.EMAIL:
        return value.rpartition("@")[2]
    if type_ is IndicatorType.URL:
        host = value.split("://", 1)[-1].split("/", 1)[0].rpartition("@")[2]
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        if host and not host.startswith("[") and canonical.detect_type(host) is IndicatorType.DOMAIN:
            return host
    return None


def narrowing(
    session: Session,
    subject: Subject | None,
    report: t.Report,
    distribution: Distribution | None,
    group: str | None,
    field: str,
) -> tuple[str | None, int | None]:
    """The (distribution, group) to store on an indicator: None when it does not narrow its report."""
    if distribution is None:
        if group:
            raise Invalid("a sharing_group is only given with distribution 'sharing-group'", field=field)
        return None, None
    report_dist = Distribution(report.distribution)
    if distribution.breadth > report_dist.breadth:
        raise Invalid(
            f"an indicator may only narrow its report's distribution ({report_dist.value}), "
            f"not widen it to {distribution.value}",
            field=field,
        )
    if distribution is Distribution.SHARING_GROUP:
        group_id = resolve_group(session, subject, group, field)
        if group_id is None:
            raise Invalid("distribution 'sharing-group' needs a sharing_group", field=field)
        if report_dist is Distribution.SHARING_GROUP and group_id != report.sharing_group_id:
            raise Invalid(
                "an indicator of a sharing-group report may only narrow to the organisation", field=field
            )
        return (None, None) if report_dist is Distribution.SHARING_GROUP else (distribution.value, group_id)
    if group:
        raise Invalid("a sharing_group is only given with distribution 'sharing-group'", field=field)
    return (None, None) if distribution is report_dist else (distribution.value, None)


def _insert_ignoring_duplicates(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite.insert(t.Indicator).on_conflict_do_nothing()
    if name == "postgresql":
        return postgresql.insert(t.Indicator).on_conflict_do_nothing()
    return insert(t.Indicator)


@dataclass(frozen=True)
class BulkResult:
    added: int
    duplicates: int


def add_indicators(
    session: Session,
    subject: Subject | None,
    report: t.Report | str,
    items: Sequence[schemas.IndicatorIn],
    *,
    audit_it: bool = True,
    field: str = "indicators",
) -> BulkResult:
    """Add many indicators at once, all or nothing; values already in the report are skipped."""
    if isinstance(report, str):
        report = editable_report(session, subject, report)
    now = utcnow()
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    tagged: dict[tuple[str, str], list[str]] = {}
    for i, item in enumerate(items):
        form = canonical_form(item.type, item.value, f"{field}.{i}.value")
        if item.first_seen and item.last_seen and item.last_seen < item.first_seen:
            raise Invalid("last_seen is before first_seen", field=f"{field}.{i}.last_seen")
        dist, group_id = narrowing(
            session, subject, report, item.distribution, item.sharing_group, f"{field}.{i}.distribution"
        )
        key = (form.type.value, form.canonical)
        if key in rows:
            continue
        rows[key] = {
            "uuid": str(uuid_module.uuid4()),
            "report_id": report.id,
            "type": form.type.value,
            "value": item.value,
            "canonical": form.canonical,
            "host_key": form.host_key,
            "prefix_len": form.prefix_len,
            "comment": item.comment,
            "to_detect": item.to_detect,
            "first_seen": item.first_seen,
            "last_seen": item.last_seen,
            "confidence": item.confidence,
            "distribution": dist,
            "sharing_group_id": group_id,
            "created": now,
            "modified": now,
        }
        if item.tags:
            tagged[key] = item.tags
    before = _count(session, report.id)
    statement = _insert_ignoring_duplicates(session)
    values = list(rows.values())
    for start in range(0, len(values), INSERT_CHUNK):
        session.execute(statement, values[start : start + INSERT_CHUNK])
    added = _count(session, report.id) - before
    if tagged:
        _tag_new(session, report.id, tagged)
    if added:
        touch(report)
    if audit_it:
        audit.record(session, subject, "indicator.add", "report", report.uuid, report.org_id, added=added)
    return BulkResult(added=added, duplicates=len(items) - added)


def _count(session: Session, report_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(t.Indicator).where(t.Indicator.report_id == report_id)
        )
        or 0
    )


def _tag_new(session: Session, report_id: int, tagged: dict[tuple[str, str], list[str]]) -> None:
    ids = {
        (typ, canon): iid
        for iid, typ, canon in session.execute(
            select(t.Indicator.id, t.Indicator.type, t.Indicator.canonical).where(
                t.Indicator.report_id == report_id
            )
        )
    }
    for key, names in tagged.items():
        tags.set_indicator_tags(session, ids[key], names)


def _visible(session: Session, subject: Subject | None, uuid: str) -> tuple[t.Indicator, t.Report]:
    row = session.execute(
        select(t.Indicator, t.Report)
        .join(t.Report, t.Report.id == t.Indicator.report_id)
        .where(t.Indicator.uuid == uuid)
    ).first()
    if row is None or (subject is not None and not policy.can_see_indicator(subject, row[1], row[0])):
        raise NotFound(f"no indicator {uuid!r}")
    return row[0], row[1]


def get_indicator(session: Session, subject: Subject | None, uuid: str) -> t.Indicator:
    indicator, report = _visible(session, subject, uuid)
    get_report(session, subject, report.uuid)  # audits a read of another organisation's report
    return indicator


def list_indicators(
    session: Session,
    subject: Subject | None,
    report_uuid: str,
    *,
    limit: int = 1000,
    cursor: str | None = None,
) -> Page[t.Indicator]:
    report = get_report(session, subject, report_uuid)
    query = select(t.Indicator).join(t.Report, t.Report.id == t.Indicator.report_id)
    query = query.where(t.Indicator.report_id == report.id)
    if subject is not None:
        query = query.where(policy.indicator_filter(subject))
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(t.Indicator.id > after)
    rows = list(session.scalars(query.order_by(t.Indicator.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more and rows else None)


def _editable(session: Session, subject: Subject | None, uuid: str) -> tuple[t.Indicator, t.Report]:
    indicator, report = _visible(session, subject, uuid)
    editable_report(session, subject, report.uuid)
    return indicator, report


def update_indicator(
    session: Session, subject: Subject | None, uuid: str, data: schemas.IndicatorPatch
) -> t.Indicator:
    if data.uuid is not None and data.uuid != uuid:
        raise Invalid("the uuid in the body differs from the one in the URL", field="uuid")
    indicator, report = _editable(session, subject, uuid)
    fields = data.model_fields_set
    for name in ("comment", "to_detect", "first_seen", "last_seen", "confidence"):
        if name in fields:
            setattr(indicator, name, getattr(data, name))
    if indicator.first_seen and indicator.last_seen and indicator.last_seen < indicator.first_seen:
        raise Invalid("last_seen is before first_seen", field="last_seen")
    if "distribution" in fields or "sharing_group" in fields:
        indicator.distribution, indicator.sharing_group_id = narrowing(
            session, subject, report, data.distribution, data.sharing_group, "distribution"
        )
    if data.tags is not None:
        tags.set_indicator_tags(session, indicator.id, data.tags)
    indicator.modified = utcnow()
    touch(report)
    audit.record(session, subject, "indicator.update", "indicator", indicator.uuid, report.org_id)
    return indicator


def delete_indicator(session: Session, subject: Subject | None, uuid: str) -> None:
    indicator, report = _editable(session, subject, uuid)
    audit.record(session, subject, "indicator.delete", "indicator", indicator.uuid, report.org_id)
    session.delete(indicator)
    touch(report)


def indicator_outs(session: Session, rows: Sequence[t.Indicator]) -> list[schemas.IndicatorOut]:
    tag_map = tags.indicator_tags(session, [r.id for r in rows])
    report_uuids = (
        dict(
            session.execute(
                select(t.Report.id, t.Report.uuid).where(t.Report.id.in_(sorted({r.report_id for r in rows})))
            ).all()
        )
        if rows
        else {}
    )
    groups = _group_refs(session, {r.sharing_group_id for r in rows if r.sharing_group_id})
    return [
        schemas.IndicatorOut(
            uuid=r.uuid,
            report=report_uuids[r.report_id],
            type=r.type,
            value=r.value,
            canonical=r.canonical,
            comment=r.comment,
            to_detect=r.to_detect,
            first_seen=r.first_seen,
            last_seen=r.last_seen,
            confidence=r.confidence,
            distribution=r.distribution,
            sharing_group=groups.get(r.sharing_group_id) if r.sharing_group_id else None,
            tags=tag_map.get(r.id, []),
            created=r.created,
            modified=r.modified,
        )
        for r in rows
    ]


def _group_refs(session: Session, ids: set[int]) -> dict[int, schemas.GroupRef]:
    if not ids:
        return {}
    return {
        g.id: schemas.GroupRef(uuid=g.uuid, name=g.name)
        for g in session.scalars(select(t.SharingGroup).where(t.SharingGroup.id.in_(sorted(ids))))
    }

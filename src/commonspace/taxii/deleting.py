"""Deleting an object from a TAXII collection: the versions of it kept as they came, from the reports the
member may edit."""

from __future__ import annotations

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.correlation import counts as correlation_counts
from commonspace.domain.errors import Forbidden, NotFound
from commonspace.policy import Subject
from commonspace.reports import service as reports
from commonspace.store import tables as t
from commonspace.taxii.objects import object_entries
from commonspace.taxii.paging import Entry, Filters, select_versions
from commonspace.taxii.protocol import stamp, version_key
from commonspace.taxii.scopes import get_collection, in_collection


def delete_object(
    session: Session, subject: Subject, collection_id: str, object_id: str, filters: Filters
) -> int:
    """Delete the versions asked for (all by default) of an object kept as it came, from the reports of the
    collection the member may edit, and, once no version is left in a report, the indicators drawn from it.
    How many stored versions were deleted."""
    collection = get_collection(session, subject, collection_id)
    object_entries(session, subject, collection, object_id)  # NotFound when the member does not see it
    if not subject.can_write:
        raise Forbidden("this API key is read-only")
    rows = session.execute(
        select(t.StoredObject, t.Report)
        .join(t.Report, t.Report.id == t.StoredObject.report_id)
        .where(t.StoredObject.object_id == object_id, in_collection(subject, collection))
        .order_by(t.StoredObject.id)
    ).all()
    editable = [(obj, report) for obj, report in rows if policy.can_edit_report(subject, report)]
    if not editable:
        raise Forbidden(
            "only the publishers and administrators of the organisation that added an object delete it, "
            "and only objects kept as they came: change a report's own indicators through the REST API"
        )
    if filters.spec_versions and "2.1" not in filters.spec_versions:
        raise NotFound(f"no object {object_id!r} of spec version {sorted(filters.spec_versions)}")
    stand_ins: list[Entry] = []
    for obj, _report in editable:
        written = obj.modified or orjson.loads(obj.body).get("created")
        version = written if isinstance(written, str) and written else stamp(obj.added)
        key = version_key(version)
        stand_ins.append(Entry(obj.object_id, obj.type, "2.1", version, key, obj.added, {}, stamp(obj.added)))
    keys = {e.key for e in select_versions(list(stand_ins), filters.versions or ("all",))}
    chosen = [(obj, report) for (obj, report), e in zip(editable, stand_ins, strict=True) if e.key in keys]
    if not chosen:
        raise NotFound(f"no such version of object {object_id!r}")
    touched: dict[int, t.Report] = {}
    for obj, report in chosen:
        session.delete(obj)
        touched[report.id] = report
    session.flush()
    for report in touched.values():
        left = session.scalar(
            select(func.count())
            .select_from(t.StoredObject)
            .where(t.StoredObject.report_id == report.id, t.StoredObject.object_id == object_id)
        )
        drawn = 0
        if not left:
            drawn_values = session.execute(
                select(t.Indicator.type, t.Indicator.canonical).where(
                    t.Indicator.report_id == report.id, t.Indicator.source_id == object_id
                )
            ).all()
            for type_, canonical in drawn_values:  # the per-value report counts of correlation
                correlation_counts.forget_indicator(session, type_, canonical)
            result = session.execute(
                delete(t.Indicator)
                .where(t.Indicator.report_id == report.id, t.Indicator.source_id == object_id)
                .execution_options(synchronize_session=False)
            )
            drawn = int(getattr(result, "rowcount", 0) or 0)
        reports.touch(report)
        audit.record(
            session,
            subject,
            "report.update",
            "report",
            report.uuid,
            report.org_id,
            deleted_object=object_id,
            indicators_deleted=drawn,
        )
    return len(chosen)

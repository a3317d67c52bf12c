"""Import and export: an Exchange written into the database, all or nothing; visible reports read out.

Import, for each report of the Exchange, as the importing member's organisation:
- a report whose ``source_id`` (STIX report id, MISP event uuid, bundle id) this organisation already
  imported is the same report: only what it lacks is added (indicators not yet there, object versions not
  yet stored), so importing the same file twice adds nothing;
- otherwise a report is created through the reports service (every rule applies: TLP against
  distribution, sharing groups of the member's organisation, categories, countries);
- the importer's ``--tlp`` and ``--distribution`` override what the source says; without them the
  source's own marking is kept, and where it says nothing the defaults apply (AMBER, own organisation).
  A source's marking that breaks a rule here (TLP:RED to the community, a sharing group this instance
  does not know) is narrowed to the organisation, never widened, and the summary says so.

Export reads only what the member may see, through the same policy as every other read path: reports by
``report_filter``, their indicators by ``indicator_filter``; stored objects travel with their report.
Indicators on a warninglist can be left out (``exclude_warninglisted``): detection formats leave them out
unless told otherwise (:func:`excludes_warninglisted`), as a blocklist holding 8.8.8.8 would be a disaster;
data formats keep them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.domain.errors import Forbidden, Invalid
from commonspace.domain.vocab import TLP, Distribution, IndicatorType, ReportStatus, tlp_violation
from commonspace.formats.detect import OutFormat
from commonspace.formats.model import Exchange, IndicatorItem, OrgItem, Problem, RawObject, ReportItem
from commonspace.policy import Subject
from commonspace.reports import indicators as indicator_service
from commonspace.reports import schemas
from commonspace.reports import service as reports
from commonspace.reports import tags as tag_service
from commonspace.store import tables as t
from commonspace.store.db import defer_checkpoint
from commonspace.store.tables import utcnow

Progress = Callable[[int], None]
_LARGE_IMPORT = 5000  # objects and indicators from which the checkpoint is left to a background thread


@dataclass(frozen=True)
class ImportOptions:
    tlp: TLP | None = None  # overrides the source's marking when given
    distribution: Distribution | None = None
    sharing_group: str | None = None
    default_tlp: TLP = TLP.AMBER
    default_distribution: Distribution = Distribution.ORGANISATION


@dataclass
class ImportSummary:
    reports_created: int = 0
    reports_updated: int = 0
    reports_unchanged: int = 0
    indicators_added: int = 0
    indicators_duplicate: int = 0
    objects_added: int = 0
    objects_unchanged: int = 0
    notes: int = 0
    narrowed: list[str] = field(default_factory=list)  # reports whose distribution was narrowed, and why
    skipped: list[Problem] = field(default_factory=list)  # items left out by the parser (skip_invalid)
    objects_read: int = 0


def merge(a: ImportSummary, b: ImportSummary) -> ImportSummary:
    """Two summaries added up (several files imported in one go)."""
    return ImportSummary(
        reports_created=a.reports_created + b.reports_created,
        reports_updated=a.reports_updated + b.reports_updated,
        reports_unchanged=a.reports_unchanged + b.reports_unchanged,
        indicators_added=a.indicators_added + b.indicators_added,
        indicators_duplicate=a.indicators_duplicate + b.indicators_duplicate,
        objects_added=a.objects_added + b.objects_added,
        objects_unchanged=a.objects_unchanged + b.objects_unchanged,
        notes=a.notes + b.notes,
        narrowed=a.narrowed + b.narrowed,
        skipped=a.skipped + b.skipped,
        objects_read=a.objects_read + b.objects_read,
    )


def _sharing(
    item: ReportItem, options: ImportOptions, summary: ImportSummary
) -> tuple[TLP, Distribution, str | None]:
    tlp = options.tlp or item.tlp or options.default_tlp
    if options.distribution is not None:
        return tlp, options.distribution, options.sharing_group
    distribution = item.distribution or options.default_distribution
    group = item.sharing_group if distribution is Distribution.SHARING_GROUP else None
    problem = tlp_violation(tlp, distribution)
    if problem:
        summary.narrowed.append(f"{item.title!r}: {problem}; kept to the organisation")
        return tlp, Distribution.ORGANISATION, None
    return tlp, distribution, group


def _summary_text(item: ReportItem) -> str:
    if not item.notes:
        return item.summary
    notes = "\n".join(f"- {note}" for note in item.notes)
    return f"{item.summary}\n\n## Notes\n\n{notes}".strip()


def _report_in(item: ReportItem, tlp: TLP, distribution: Distribution, group: str | None) -> schemas.ReportIn:
    return schemas.ReportIn(
        title=item.title[:500] or "Untitled",
        summary=_summary_text(item),
        category=item.category,
        threat_level=item.threat_level,
        victim_countries=item.victim_countries or None,
        victim_sectors=item.victim_sectors or None,
        first_seen=item.first_seen,
        last_seen=item.last_seen,
        loss=schemas.Loss(amount=item.loss[0], currency=item.loss[1]) if item.loss else None,
        tags=item.tags or None,
        tlp=tlp,
        distribution=distribution,
        sharing_group=group,
    )


def _create(
    session: Session,
    subject: Subject,
    item: ReportItem,
    options: ImportOptions,
    summary: ImportSummary,
    where: str,
) -> t.Report:
    tlp, distribution, group = _sharing(item, options, summary)
    try:
        data = _report_in(item, tlp, distribution, group)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(p) for p in error.get("loc", ()))
        raise Invalid(f"{where}: {path}: {str(error.get('msg')).removeprefix('Value error, ')}") from exc
    try:
        report = reports.create_report(session, subject, data)
    except Invalid as exc:
        if exc.field != "sharing_group" or options.distribution is not None:
            raise Invalid(f"{where}: {exc.message}", field=exc.field) from exc
        # The source's sharing group is not one of ours: narrow, never widen.
        summary.narrowed.append(f"{item.title!r}: {exc.message}; kept to the organisation")
        data = data.model_copy(update={"distribution": Distribution.ORGANISATION, "sharing_group": None})
        report = reports.create_report(session, subject, data)
    report.source_id = item.source_id
    if item.published:
        reports.publish_report(session, subject, report.uuid)
    return report


def _indicator_in(item: IndicatorItem) -> schemas.IndicatorIn:
    return schemas.IndicatorIn(
        type=item.type,
        value=item.value,
        comment=item.comment,
        to_detect=item.to_detect,
        first_seen=item.first_seen,
        last_seen=item.last_seen,
        confidence=item.confidence,
        tags=item.tags,
        source_id=item.source_id,
        relation=item.relation,
    )


def _raw(obj: dict[str, Any] | RawObject) -> RawObject:
    return obj if isinstance(obj, RawObject) else RawObject.of(obj, orjson.dumps(obj))


_OBJECT_COLUMNS = ("report_id", "object_id", "type", "modified", "body", "added")
_OBJECT_TABLE = t.StoredObject.__tablename__


def _insert_objects(session: Session, report_id: int, objects: Iterable[RawObject]) -> None:
    """Stream the rows to the driver (multi-row INSERTs on SQLite, COPY on PostgreSQL): the ORM's bulk
    insert costs three times the database's own work here. On SQLite the UTF-8 bodies are bound as they
    are and made text by SQLite (``CAST``, which keeps the bytes); elsewhere they are decoded one by one."""
    session.flush()
    dialect = session.get_bind().dialect
    column = t.StoredObject.__table__.c.added.type
    added = (column.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v))(utcnow())
    driver = session.connection().connection.driver_connection
    assert driver is not None
    names = ", ".join(_OBJECT_COLUMNS)
    if dialect.name == "sqlite":
        _insert_sqlite(driver, f"INSERT INTO {_OBJECT_TABLE} ({names}) VALUES ", report_id, objects, added)
        return
    rows = ((report_id, raw.id, raw.type, raw.modified, raw.body.decode(), added) for raw in objects)
    if dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY {_OBJECT_TABLE} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    session.execute(insert(t.StoredObject), [dict(zip(_OBJECT_COLUMNS, row, strict=True)) for row in rows])


_SQLITE_ROW = "(?, ?, ?, ?, CAST(? AS TEXT), ?)"
_SQLITE_ROWS = 500  # rows per INSERT, at most (and at most SQLite's limit on parameters allows)


def _insert_sqlite(driver: Any, head: str, report_id: int, objects: Iterable[RawObject], added: Any) -> None:
    """The rows in INSERTs of up to _SQLITE_ROWS rows each: SQLite then runs each batch in one step, which
    takes about a third less time than ``executemany`` binding and stepping row by row."""
    per = max(1, min(_SQLITE_ROWS, driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 6))
    full = head + ", ".join([_SQLITE_ROW] * per)  # the same text every time: prepared once (statement cache)
    cursor = driver.cursor()
    try:
        values: list[Any] = []
        for raw in objects:
            values += (report_id, raw.id, raw.type, raw.modified, raw.body, added)
            if len(values) == per * 6:
                cursor.execute(full, values)
                values = []
        if values:
            cursor.execute(head + ", ".join([_SQLITE_ROW] * (len(values) // 6)), values)
    finally:
        cursor.close()


def _store_objects(session: Session, report_id: int, objects: Sequence[dict[str, Any] | RawObject]) -> int:
    """Insert the objects not stored yet (by id and version); how many were new."""
    if not objects:
        return 0
    query = select(t.StoredObject.object_id, t.StoredObject.modified)
    existing = {
        (oid, version) for oid, version in session.execute(query.where(t.StoredObject.report_id == report_id))
    }
    raws = list(map(_raw, objects))
    new = dict(zip([(raw.id, raw.modified) for raw in raws], raws, strict=True))
    if len(new) < len(raws):  # a version given twice: the first one counts
        new = {}
        for raw in raws:
            new.setdefault((raw.id, raw.modified), raw)
    if existing:
        new = {key: raw for key, raw in new.items() if key not in existing}
    _insert_objects(session, report_id, new.values())
    return len(new)


def import_exchange(
    session: Session,
    subject: Subject,
    exchange: Exchange,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Write ``exchange`` as ``subject``'s organisation, in the caller's transaction (all or nothing)."""
    if not policy.can_create_report(subject):
        raise Forbidden("only publishers and administrators import reports")
    options = options or ImportOptions()
    summary = ImportSummary(skipped=list(exchange.problems), objects_read=exchange.objects_read)
    if sum(len(item.objects) + len(item.indicators) for item in exchange.reports) >= _LARGE_IMPORT:
        defer_checkpoint(session)  # the commit stays as durable; SQLite's copy into the file comes after
    for index, item in enumerate(exchange.reports):
        where = f"{exchange.source or 'input'}: report {index + 1} ({item.title[:80]!r})"
        existing = None
        if item.source_id:
            existing = session.scalar(
                select(t.Report).where(
                    t.Report.org_id == subject.org_id, t.Report.source_id == item.source_id
                )
            )
        if existing is not None and not policy.can_edit_report(subject, existing):
            raise Forbidden(f"{where}: only editors of the organisation's reports import into them")
        report = existing or _create(session, subject, item, options, summary, where)
        try:
            bulk = indicator_service.add_indicators(
                session, subject, report, [_indicator_in(i) for i in item.indicators], audit_it=False
            )
        except ValidationError as exc:
            raise Invalid(f"{where}: indicator: {exc.errors()[0].get('msg')}") from exc
        except Invalid as exc:
            raise Invalid(f"{where}: {exc.field or 'indicators'}: {exc.message}") from exc
        objects = _store_objects(session, report.id, item.objects)
        summary.indicators_added += bulk.added
        summary.indicators_duplicate += bulk.duplicates
        summary.objects_added += objects
        summary.objects_unchanged += len(item.objects) - objects
        summary.notes += len(item.notes)
        if existing is None:
            summary.reports_created += 1
        elif bulk.added or objects:
            summary.reports_updated += 1
            reports.touch(report)
        else:
            summary.reports_unchanged += 1
        if progress is not None:
            progress(index + 1)
    audit.record(
        session,
        subject,
        "import",
        "organisation",
        None,
        subject.org_id,
        source=exchange.source,
        reports_created=summary.reports_created,
        indicators_added=summary.indicators_added,
        objects_added=summary.objects_added,
    )
    return summary


# --- export --------------------------------------------------------------------------------------------


def _visible_reports(session: Session, subject: Subject, uuids: Sequence[str] | None) -> list[t.Report]:
    if uuids:
        return [reports.get_report(session, subject, uuid, audit_read=False) for uuid in dict.fromkeys(uuids)]
    query = select(t.Report).where(policy.report_filter(subject)).order_by(t.Report.id)
    return list(session.scalars(query))


# Formats that turn indicators into detection (rules, intel, a DNS zone, a blocklist): by default they leave
# out the values on warninglists. The others carry data, warninglisted values included.
DETECTION_FORMATS = frozenset({OutFormat.SURICATA, OutFormat.ZEEK, OutFormat.RPZ, OutFormat.TEXT})


def excludes_warninglisted(fmt: OutFormat, exclude: bool | None = None) -> bool:
    """Whether an export in ``fmt`` leaves out indicators on warninglists: ``exclude`` when given, else
    the format's default (yes for detection formats)."""
    return fmt in DETECTION_FORMATS if exclude is None else exclude


def _indicators(
    session: Session, subject: Subject, report_ids: list[int], exclude_warninglisted: bool
) -> dict[int, list[t.Indicator]]:
    query = (
        select(t.Indicator)
        .join(t.Report, t.Report.id == t.Indicator.report_id)
        .where(t.Indicator.report_id.in_(report_ids), policy.indicator_filter(subject))
        .order_by(t.Indicator.id)
    )
    out: dict[int, list[t.Indicator]] = {i: [] for i in report_ids}
    for row in session.scalars(query):
        if not (exclude_warninglisted and row.warninglists):
            out[row.report_id].append(row)
    return out


def _objects(session: Session, report_ids: list[int]) -> dict[int, list[dict[str, Any] | RawObject]]:
    out: dict[int, list[dict[str, Any] | RawObject]] = {i: [] for i in report_ids}
    query = (
        select(t.StoredObject.report_id, t.StoredObject.body)
        .where(t.StoredObject.report_id.in_(report_ids))
        .order_by(t.StoredObject.id)
    )
    for report_id, body in session.execute(query):
        out[report_id].append(orjson.loads(body))
    return out


def export_exchange(
    session: Session,
    subject: Subject,
    *,
    report_uuids: Sequence[str] | None = None,
    source: str = "",
    exclude_warninglisted: bool = False,
) -> Exchange:
    """The reports ``subject`` may see (all, or those named), with the indicators it may see (without
    those on a warninglist when ``exclude_warninglisted``)."""
    rows = _visible_reports(session, subject, report_uuids)
    ids = [r.id for r in rows]
    outs = {o.uuid: o for o in reports.report_outs(session, rows, subject)}
    found: dict[int, list[t.Indicator]] = {}
    stored: dict[int, list[dict[str, Any] | RawObject]] = {}
    indicator_tags: dict[int, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(_indicators(session, subject, chunk, exclude_warninglisted))
        stored.update(_objects(session, chunk))
    all_ids = [i.id for items in found.values() for i in items]
    for start in range(0, len(all_ids), 5000):
        indicator_tags.update(tag_service.indicator_tags(session, all_ids[start : start + 5000]))
    exchange = Exchange(source=source)
    for report in rows:
        out = outs[report.uuid]
        if report.org_id != subject.org_id:
            audit.record(session, subject, "report.export", "report", report.uuid, report.org_id)
        org = report.organisation
        exchange.reports.append(
            ReportItem(
                uuid=report.uuid,
                title=report.title,
                summary=report.summary,
                category=report.category,
                threat_level=out.threat_level,
                tlp=TLP(report.tlp),
                distribution=Distribution(report.distribution),
                sharing_group=report.sharing_group.name if report.sharing_group else None,
                created=report.created,
                modified=report.modified,
                published=report.status == ReportStatus.PUBLISHED.value,
                first_seen=report.first_seen,
                last_seen=report.last_seen,
                victim_countries=out.victim_countries,
                victim_sectors=out.victim_sectors,
                loss=(out.loss.amount, out.loss.currency) if out.loss else None,
                tags=out.tags,
                author=OrgItem(name=org.name, country=org.country, uuid=org.uuid, kind=org.kind),
                source_id=report.source_id,
                objects=stored.get(report.id, []),
                indicators=[
                    IndicatorItem(
                        value=i.canonical,
                        type=IndicatorType(i.type),
                        comment=i.comment,
                        to_detect=i.to_detect,
                        first_seen=i.first_seen,
                        last_seen=i.last_seen,
                        confidence=i.confidence,
                        tags=indicator_tags.get(i.id, []),
                        source_id=i.source_id,
                        relation=i.relation,
                        uuid=i.uuid,
                        created=i.created,
                        modified=i.modified,
                    )
                    for i in found.get(report.id, [])
                ],
            )
        )
    exchange.objects_read = len(rows)
    return exchange

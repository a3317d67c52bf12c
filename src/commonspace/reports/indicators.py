"""Use cases for indicators: bulk add, read, update, delete; and their serialisation.

An indicator inherits its report's distribution unless it narrows it (e.g. one indicator of a community
report kept to the organisation). Values are stored as given and canonical; the canonical form is what
searches, correlation and matching compare. Every value is checked against the instance's warninglists
when it is stored and whenever the indicator changes; the ids of the lists it is on are kept with it.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.correlation import counts as correlation
from commonspace.correlation.keys import address_key
from commonspace.domain import canonical
from commonspace.domain.errors import Invalid, NotFound
from commonspace.domain.vocab import Distribution, IndicatorType
from commonspace.policy import Subject
from commonspace.reports import schemas, tags
from commonspace.reports.pagination import Page, decode_cursor, encode_cursor
from commonspace.reports.service import editable_report, get_report, resolve_group, touch
from commonspace.store import tables as t
from commonspace.store.tables import utcnow
from commonspace.warninglists import service as warninglists

_IN_CHUNK = 10_000  # values per IN (...): well under SQLite's limit on bound parameters


@dataclass(frozen=True)
class Canonical:
    type: IndicatorType
    canonical: str
    host_key: str | None
    prefix_len: int | None


def canonical_form(type_: IndicatorType | None, value: str, field: str) -> Canonical:
    """Type (detected when absent), canonical value and search keys of one value; Invalid names the field."""
    return Canonical(*_canonical_parts(type_, value, field))


_NETWORK_TYPES = frozenset({IndicatorType.IPV4_CIDR, IndicatorType.IPV6_CIDR})


def _canonical_parts(
    type_: IndicatorType | None, value: str, field: str, index: int | None = None
) -> tuple[IndicatorType, str, str | None, int | None]:
    """canonical_form as a plain tuple, for the bulk path; the field is ``{field}.{index}.value``
    when an index is given (built only when the value is refused)."""
    if type_ is None:
        found = canonical.detect(value)
        if found is None:
            raise Invalid(f"cannot tell the type of {value!r}; give a type", field=_field(field, index))
        type_, value = found
    else:
        try:
            value = canonical.canonicalize(type_, value)
        except canonical.InvalidIndicator as exc:
            raise Invalid(str(exc), field=_field(field, index)) from exc
    host = _host_of(type_, value)
    return (
        type_,
        value,
        canonical.host_key(host) if host else address_key(type_, value),
        canonical.network_prefix_length(value) if type_ in _NETWORK_TYPES else None,
    )


def _field(field: str, index: int | None) -> str:
    return field if index is None else f"{field}.{index}.value"


def _host_of(type_: IndicatorType, value: str) -> str | None:
    """The domain a domain query should find this indicator under (a URL's host, an e-mail's domain)."""
    if type_ is IndicatorType.DOMAIN:
        return value
    if type_ is IndicatorType.EMAIL:
        return value.rpartition("@")[2]
    if type_ is IndicatorType.URL:
        host = value.split("://", 1)[-1].split("/", 1)[0].rpartition("@")[2]
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        if host and not host.startswith("[") and _is_domain(host):
            return host
    return None


@functools.lru_cache(maxsize=65_536)
def _is_domain(host: str) -> bool:
    """detect_type(host) is DOMAIN, remembered: URLs of one report share few hosts, and detect_type
    tries several types in turn."""
    return canonical.detect_type(host) is IndicatorType.DOMAIN


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


# The columns add_indicators writes, in the order of its rows; the id is the database's.
_COLUMNS = (
    *("uuid", "report_id", "type", "value", "canonical", "host_key", "prefix_len", "comment", "to_detect"),
    *("first_seen", "last_seen", "confidence", "distribution", "sharing_group_id", "created", "modified"),
    *("source_id", "relation", "warninglists"),
)
_INDICATOR = t.Indicator.__tablename__
_SQLITE_INSERT = (
    f"INSERT INTO {_INDICATOR} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT DO NOTHING"
)
_POSTGRES_COPY = f"COPY {_INDICATOR} ({', '.join(_COLUMNS)}) FROM STDIN"

Row = tuple[Any, ...]
Key = tuple[str, str]  # (type, canonical): unique within a report
Narrowed = tuple[str | None, int | None]
Flags = warninglists.Flags


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
    """Add many indicators at once, all or nothing; values already in the report are skipped.

    Every item is validated and canonicalised in order (the first error raises, naming its field), then
    the new rows stream to the database in one statement through the driver: ``executemany`` with ON
    CONFLICT DO NOTHING on SQLite, ``COPY`` on PostgreSQL. COPY cannot skip conflicts, so there the
    report row is locked first (other imports into the report wait) and its existing keys are skipped.
    """
    if isinstance(report, str):
        report = editable_report(session, subject, report)
    session.flush()  # the statements below bypass the session: it must have written what it holds
    dialect = session.get_bind().dialect
    existing = _existing_keys(session, report.id) if dialect.name != "sqlite" else set()
    narrowed = _narrowings(session, subject, report, items, field)
    lists = warninglists.active()
    mark = correlation.mark(session)  # the indicators added here get higher ids
    tagged: dict[Key, list[str]] = {}
    if dialect.name in ("sqlite", "postgresql"):
        # Datetimes as SQLAlchemy would bind them (UTC; on SQLite, its text format); flags as JSON text.
        created = t.Indicator.__table__.c.created.type
        stamp = created.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
        encode: Callable[[Flags], Any] = warninglists.json_text
        rows = _rows(report.id, items, field, narrowed, existing, tagged, lists, stamp, encode)
        added = _executemany(session, rows) if dialect.name == "sqlite" else _copy(session, rows)
    else:
        values = [
            # a value on no list leaves the column out, so that it is NULL rather than JSON 'null'
            {k: v for k, v in zip(_COLUMNS, row, strict=True) if k != "warninglists" or v is not None}
            for row in _rows(report.id, items, field, narrowed, existing, tagged, lists, _same, _same)
        ]
        if values:
            session.execute(insert(t.Indicator), values)
        added = len(values)
    if tagged:
        _tag_new(session, report.id, tagged)
    if added:
        correlation.count_added(session, report.id, mark)  # one statement for the batch
        touch(report)
    if audit_it:
        audit.record(session, subject, "indicator.add", "report", report.uuid, report.org_id, added=added)
    return BulkResult(added=added, duplicates=len(items) - added)


def _same(value: Any) -> Any:
    return value


def _rows(
    report_id: int,
    items: Sequence[schemas.IndicatorIn],
    field: str,
    narrowed: dict[tuple[Distribution | None, str | None], Narrowed | Invalid],
    existing: set[Key],
    tagged: dict[Key, list[str]],
    lists: warninglists.InstanceLists,
    stamp: Callable[[Any], Any],
    encode: Callable[[Flags], Any],
) -> Iterator[Row]:
    """The rows to insert, in the order of the items, validating each item on the way; the first item
    of each (type, canonical) wins and only its tags count (``tagged``, filled as the rows are drawn).
    Each new (type, canonical) is checked against the warninglists once."""
    now = stamp(utcnow())
    uuids = iter(_uuid7s(len(items)))
    seen: set[Key] = set()
    for i, item in enumerate(items):
        type_, value, host_key, prefix_len = _canonical_parts(item.type, item.value, field, i)
        first, last = item.first_seen, item.last_seen
        if first and last and last < first:
            raise Invalid("last_seen is before first_seen", field=f"{field}.{i}.last_seen")
        narrow = narrowed[(item.distribution, item.sharing_group)]
        if isinstance(narrow, Invalid):
            raise narrow  # this item is the first with that (distribution, group): the error names it
        key = (type_.value, value)
        if key in seen:
            continue
        seen.add(key)
        if item.tags:
            tagged[key] = item.tags
        if key in existing:
            continue
        yield (  # in the order of _COLUMNS
            next(uuids),
            report_id,
            key[0],
            item.value,
            value,
            host_key,
            prefix_len,
            item.comment,
            item.to_detect,
            first and stamp(first),
            last and stamp(last),
            item.confidence,
            narrow[0],
            narrow[1],
            now,
            now,
            item.source_id,
            item.relation,
            encode(lists.flags(type_, value)),
        )


def _narrowings(
    session: Session,
    subject: Subject | None,
    report: t.Report,
    items: Sequence[schemas.IndicatorIn],
    field: str,
) -> dict[tuple[Distribution | None, str | None], Narrowed | Invalid]:
    """narrowing() of each distinct (distribution, sharing_group) among the items, or the error it
    raises for the first item that has it: one group look-up per group rather than per item."""
    out: dict[tuple[Distribution | None, str | None], Narrowed | Invalid] = {}
    for i, item in enumerate(items):
        key = (item.distribution, item.sharing_group)
        if key not in out:
            try:
                out[key] = narrowing(session, subject, report, *key, f"{field}.{i}.distribution")
            except Invalid as exc:
                out[key] = exc
    return out


def _uuid7s(count: int) -> list[str]:
    """``count`` time-ordered UUIDs (version 7, RFC 9562: a millisecond Unix timestamp, then random
    bits), from one read of os.urandom, in ascending order. New rows then land at the right edge of the
    uuid index instead of at one random page each, which keeps bulk adds fast as the table grows; the
    timestamp tells no more than the indicator's ``created`` time, which is shown anyway."""
    stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    raw = bytearray(os.urandom(16 * count))
    for k in range(6):
        raw[k::16] = bytes([stamp[k]]) * count
    raw[6::16] = bytes(b & 0x0F | 0x70 for b in raw[6::16])  # version 7
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])  # RFC 9562 variant
    h = raw.hex()
    return sorted(
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    )


def _driver_connection(session: Session) -> Any:
    raw = session.connection().connection.driver_connection
    assert raw is not None
    return raw


def _executemany(session: Session, rows: Iterator[Row]) -> int:
    cursor = _driver_connection(session).cursor()
    try:
        cursor.executemany(_SQLITE_INSERT, rows)
        return max(int(cursor.rowcount), 0)  # rows inserted, conflicts left out (-1: none at all)
    finally:
        cursor.close()


def _copy(session: Session, rows: Iterator[Row]) -> int:
    count = 0
    with _driver_connection(session).cursor() as cursor, cursor.copy(_POSTGRES_COPY) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _existing_keys(session: Session, report_id: int) -> set[Key]:
    """The report's (type, canonical) keys, read under a lock on the report row so that they stay all
    there is until this transaction ends (another import into the report waits for it)."""
    session.execute(select(t.Report.id).where(t.Report.id == report_id).with_for_update())
    query = select(t.Indicator.type, t.Indicator.canonical).where(t.Indicator.report_id == report_id)
    return {(type_, value) for type_, value in session.execute(query)}


def _tag_new(session: Session, report_id: int, tagged: dict[Key, list[str]]) -> None:
    """Set the tags of the indicators given with tags (new ones and ones the report had), as
    tags.set_indicator_tags does for one indicator, in a few statements for all of them."""
    tag_ids = tags.tag_ids(session, {name for names in tagged.values() for name in names})
    ids: dict[Key, int] = {}
    values = sorted({value for _, value in tagged})
    for start in range(0, len(values), _IN_CHUNK):
        query = select(t.Indicator.id, t.Indicator.type, t.Indicator.canonical).where(
            t.Indicator.report_id == report_id, t.Indicator.canonical.in_(values[start : start + _IN_CHUNK])
        )
        for iid, type_, value in session.execute(query):
            if (type_, value) in tagged:
                ids[(type_, value)] = iid
    indicator_ids = sorted(ids.values())
    for start in range(0, len(indicator_ids), _IN_CHUNK):
        chunk = indicator_ids[start : start + _IN_CHUNK]
        session.execute(delete(t.IndicatorTag).where(t.IndicatorTag.indicator_id.in_(chunk)))
    links = [
        {"indicator_id": ids[key], "tag_id": tag_id}
        for key, names in tagged.items()
        for tag_id in sorted({tag_ids[tags.normalise(name)] for name in names if name.strip()})
    ]
    if links:
        session.execute(insert(t.IndicatorTag), links)


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
    _reflag(session, indicator)
    indicator.modified = utcnow()
    touch(report)
    audit.record(session, subject, "indicator.update", "indicator", indicator.uuid, report.org_id)
    return indicator


def _reflag(session: Session, indicator: t.Indicator) -> None:
    """Check the value against the lists in use again: they may have changed since it was stored."""
    flags = warninglists.active().flags(IndicatorType(indicator.type), indicator.canonical)
    if flags != (indicator.warninglists or None):
        warninglists.store_flags(session, {indicator.id: flags})
        session.expire(indicator, ["warninglists"])


def delete_indicator(session: Session, subject: Subject | None, uuid: str) -> None:
    indicator, report = _editable(session, subject, uuid)
    audit.record(session, subject, "indicator.delete", "indicator", indicator.uuid, report.org_id)
    correlation.forget_indicator(session, indicator.type, indicator.canonical)
    session.delete(indicator)
    touch(report)


def indicator_outs(session: Session, rows: Sequence[t.Indicator]) -> list[schemas.IndicatorOut]:
    tag_map = tags.indicator_tags(session, [r.id for r in rows])
    ids = sorted({r.report_id for r in rows})
    reports = {
        rid: (ruuid, tlp)
        for rid, ruuid, tlp in session.execute(
            select(t.Report.id, t.Report.uuid, t.Report.tlp).where(t.Report.id.in_(ids))
        )
    }
    groups = _group_refs(session, {r.sharing_group_id for r in rows if r.sharing_group_id})
    lists = warninglists.active() if any(r.warninglists for r in rows) else None
    return [
        schemas.IndicatorOut(
            uuid=r.uuid,
            report=reports[r.report_id][0],
            tlp=reports[r.report_id][1],
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
            source_id=r.source_id,
            relation=r.relation,
            warninglists=_list_refs(lists, r.warninglists),
        )
        for r in rows
    ]


def _list_refs(
    lists: warninglists.InstanceLists | None, ids: list[str] | None
) -> list[schemas.WarninglistRef]:
    if lists is None or not ids:
        return []
    return [schemas.WarninglistRef(id=list_id, name=lists.name(list_id)) for list_id in ids]


def warninglisted_count(session: Session, subject: Subject | None, report: t.Report) -> int:
    """How many of the report's indicators that ``subject`` may see are on a warninglist."""
    query = (
        select(func.count())
        .select_from(t.Indicator)
        .join(t.Report, t.Report.id == t.Indicator.report_id)
        .where(t.Indicator.report_id == report.id, t.Indicator.warninglists.is_not(None))
    )
    if subject is not None:
        query = query.where(policy.indicator_filter(subject))
    return session.scalar(query) or 0


def _group_refs(session: Session, ids: set[int]) -> dict[int, schemas.GroupRef]:
    if not ids:
        return {}
    return {
        g.id: schemas.GroupRef(uuid=g.uuid, name=g.name)
        for g in session.scalars(select(t.SharingGroup).where(t.SharingGroup.id.in_(sorted(ids))))
    }

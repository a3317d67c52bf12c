"""TAXII 2.1 over the access policy: collections, their objects, adding and deleting objects, status.

**Collections.** A member has one collection per scope they may read, each a filter on the reports the
access policy lets them see (``policy.report_filter``, always):

- *Community* (a fixed id): published reports distributed to the ``community`` or to
  ``connected-communities``;
- their organisation (the organisation's UUID): every report of the organisation, drafts included, whatever
  its distribution, as its members see them;
- each sharing group of their organisation (the group's UUID): published reports distributed to that group;
- *Everything TLP:CLEAR* (a fixed id): published reports marked TLP:CLEAR.

Every collection can be read; the first three can be written by those who may create reports with a key
that is not read-only, the TLP:CLEAR one by nobody.

**Objects.** The objects of a collection are the STIX of its reports as the export gives them
(``exchange.service.export_exchange``, then ``to_stix``, report by report, without the bundle), so that the
indicators a member may not see (narrowed away) are left out exactly as they are from an export. Each object
has a *date added*: for an object kept as it was imported, the time it was stored; for an object written
from the report (its indicators, its STIX report, identities, markings), the report's last modification.
An object several reports hold is one object with the latest of their dates. Its *version* is its
``modified``, else its ``created``, else (cyber-observables) its date added. Objects come ordered by date
added, then id, then version; ``next`` is an opaque cursor holding the position of the last one given.
Filters apply in this order: id, type and spec version, ``added_after``, then the version
(``last`` by default), then the cursor.

Every request computes its collection afresh from the reports (only those changed after ``added_after``
when it is given): correct, and plain, but proportional to the size of the collection.

**Adding** objects imports them through the exchange service as the member, into the collection's scope:
each STIX report of the envelope (and the objects no report holds, as one more report) is imported on its
own, so that one refused (TLP:RED to the community) fails alone; invalid objects are left out and listed
as failures. The status resource is kept as a finished job of kind ``taxii.import`` (its result is the
status), seen by the member who added the objects, their organisation's administrators and site admins.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.domain.errors import CommonspaceError, Forbidden, Invalid, NotFound
from commonspace.domain.vocab import TLP, Distribution, ReportStatus
from commonspace.exchange import service as exchange_service
from commonspace.formats import stix
from commonspace.formats.model import Exchange, FormatError, RawObject, ReportItem
from commonspace.jobs import service as jobs
from commonspace.policy import Subject
from commonspace.reports import service as reports
from commonspace.store import tables as t
from commonspace.store.tables import utcnow

MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
PREFIX = "/taxii2/"
API_ROOT = "/taxii2/api/"
MAX_CONTENT_LENGTH = 100 * 1024 * 1024
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
STATUS_KIND = "taxii.import"
COMMUNITY_ID = "432d9716-72b4-58ee-b188-2f104e2e6088"
CLEAR_ID = "a5ebb859-9df1-5d26-babf-0758898cc932"

COMMUNITY = "community"
ORGANISATION = "organisation"
SHARING_GROUP = "sharing-group"
TLP_CLEAR = "tlp-clear"


def bad_request(message: str) -> CommonspaceError:
    """A request TAXII answers with 400 (a filter or cursor it cannot read)."""
    return CommonspaceError(message)


# --- timestamps --------------------------------------------------------------------------------------

_FRACTION = re.compile(r"\.(\d+)")


def parse_timestamp(text: object) -> datetime | None:
    """A STIX (RFC 3339) timestamp with a time zone, in UTC, to the microsecond; None if not one."""
    if not isinstance(text, str) or "T" not in text.upper():
        return None
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    value = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], value, count=1)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def stamp(moment: datetime) -> str:
    """A TAXII timestamp, to the microsecond, so that ``added_after`` a date given back is exact."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _version_key(text: str) -> str:
    """A version in one spelling, for order and comparison (the text itself when it is no timestamp)."""
    moment = parse_timestamp(text)
    return stamp(moment) if moment is not None else text


# --- collections -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    scope: str  # COMMUNITY, ORGANISATION, SHARING_GROUP or TLP_CLEAR
    can_write: bool
    group_id: int | None = None
    group_uuid: str | None = None

    def resource(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "can_read": True,
            "can_write": self.can_write,
            "media_types": [STIX_MEDIA_TYPE],
        }


def discovery() -> dict[str, Any]:
    return {
        "title": "Commonspace",
        "description": "Cyber-threat reports and indicators shared under one access policy, as STIX 2.1.",
        "default": API_ROOT,
        "api_roots": [API_ROOT],
    }


def api_root() -> dict[str, Any]:
    return {
        "title": "Commonspace",
        "description": "One collection per scope you may read: the community, your organisation, each of "
        "its sharing groups, and everything marked TLP:CLEAR.",
        "versions": [MEDIA_TYPE],
        "max_content_length": MAX_CONTENT_LENGTH,
    }


def collections(session: Session, subject: Subject) -> list[Collection]:
    """The member's collections: community, organisation, each sharing group, TLP:CLEAR."""
    org = session.get(t.Organisation, subject.org_id)
    if org is None:
        return []
    writable = policy.can_create_report(subject)
    out = [
        Collection(
            COMMUNITY_ID,
            "Community",
            "Published reports shared with every organisation here (community and connected-communities).",
            COMMUNITY,
            writable,
        ),
        Collection(
            org.uuid,
            org.name,
            f"Every report of {org.name}, drafts included, whatever its distribution.",
            ORGANISATION,
            writable,
        ),
    ]
    if subject.group_ids:
        groups = session.scalars(
            select(t.SharingGroup)
            .where(t.SharingGroup.id.in_(sorted(subject.group_ids)))
            .order_by(t.SharingGroup.name)
        )
        out.extend(
            Collection(
                group.uuid,
                group.name,
                f"Published reports shared with the sharing group {group.name}.",
                SHARING_GROUP,
                writable,
                group.id,
                group.uuid,
            )
            for group in groups
        )
    out.append(
        Collection(
            CLEAR_ID,
            "Everything TLP:CLEAR",
            "Every published report marked TLP:CLEAR that you may see (read only).",
            TLP_CLEAR,
            False,
        )
    )
    return out


def get_collection(session: Session, subject: Subject, collection_id: str) -> Collection:
    """One of the member's collections; NotFound for any other id, whether it exists or not."""
    for collection in collections(session, subject):
        if collection.id == collection_id:
            return collection
    raise NotFound(f"no collection {collection_id!r}")


def _scope(collection: Collection, subject: Subject) -> ColumnElement[bool]:
    """The collection's reports, as a WHERE clause on ``report`` (always combined with the policy's)."""
    if collection.scope == ORGANISATION:
        return t.Report.org_id == subject.org_id
    published = t.Report.status == ReportStatus.PUBLISHED.value
    if collection.scope == COMMUNITY:
        return and_(published, t.Report.distribution.in_(policy.WIDE))
    if collection.scope == SHARING_GROUP:
        return and_(
            published,
            t.Report.distribution == Distribution.SHARING_GROUP.value,
            t.Report.sharing_group_id == collection.group_id,
        )
    return and_(published, t.Report.tlp == TLP.CLEAR.value)


def _in_collection(subject: Subject, collection: Collection) -> ColumnElement[bool]:
    return and_(policy.report_filter(subject), _scope(collection, subject))


# --- filters and pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    added_after: datetime | None = None
    limit: int = DEFAULT_LIMIT
    next: str | None = None
    ids: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    versions: tuple[str, ...] = ()  # "first", "last", "all" or timestamps; () means the endpoint's default
    spec_versions: frozenset[str] = frozenset()


def parse_filters(query: Mapping[str, Sequence[str]]) -> Filters:
    """The TAXII query parameters (each may repeat, values separated by commas); 400 when unreadable."""

    def values(name: str) -> list[str]:
        return [v.strip() for raw in query.get(name, ()) for v in raw.split(",") if v.strip()]

    added_after = None
    after = values("added_after")
    if len(after) > 1:
        raise bad_request("give added_after once")
    if after:
        added_after = parse_timestamp(after[0])
        if added_after is None:
            raise bad_request(f"added_after {after[0]!r} is not a timestamp such as 2025-03-01T12:00:00.000Z")
    limit = DEFAULT_LIMIT
    limits = values("limit")
    if limits:
        try:
            limit = int(limits[0])
        except ValueError:
            raise bad_request(f"limit {limits[0]!r} is not a whole number") from None
        if limit < 1:
            raise bad_request("limit must be at least 1")
        limit = min(limit, MAX_LIMIT)
    nexts = [v for v in query.get("next", ()) if v]
    versions = values("match[version]")
    for version in versions:
        if version not in ("first", "last", "all") and parse_timestamp(version) is None:
            raise bad_request(f"match[version] {version!r} is not first, last, all or a timestamp")
    return Filters(
        added_after=added_after,
        limit=limit,
        next=nexts[0] if nexts else None,
        ids=frozenset(values("match[id]")),
        types=frozenset(values("match[type]")),
        versions=tuple(versions),
        spec_versions=frozenset(values("match[spec_version]")),
    )


@dataclass
class Entry:
    """One version of one object of a collection."""

    id: str
    type: str
    spec_version: str
    version: str  # as the object writes it (modified, else created), else the date added
    key: str  # the version in one spelling, for order and matching
    date_added: datetime
    obj: dict[str, Any]
    added: str = ""  # the date added as written (set once the date is final)

    def manifest_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "date_added": self.added,
            "version": self.version,
            "media_type": STIX_MEDIA_TYPE,
        }


@dataclass(frozen=True)
class Page:
    items: list[Entry]
    more: bool
    next: str | None


Key = tuple[str, str, str]


def _by_added(entry: Entry) -> Key:
    return (entry.added, entry.id, entry.key)


def _by_version(entry: Entry) -> Key:
    return (entry.key, entry.added, entry.id)


def _encode_cursor(key: Key) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> Key | None:
    if cursor is None:
        return None
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raw = None
    if not (isinstance(raw, list) and len(raw) == 3 and all(isinstance(part, str) for part in raw)):
        raise bad_request(f"next {cursor!r} is not a cursor this server gave")
    return (raw[0], raw[1], raw[2])


def _page(entries: list[Entry], filters: Filters, key: Callable[[Entry], Key]) -> Page:
    entries = sorted(entries, key=key)
    after = _decode_cursor(filters.next)
    if after is not None:
        entries = [e for e in entries if key(e) > after]
    items = entries[: filters.limit]
    more = len(entries) > filters.limit
    return Page(items, more, _encode_cursor(key(items[-1])) if more and items else None)


def _select_versions(entries: list[Entry], wanted: Sequence[str]) -> list[Entry]:
    """Of each object, the versions asked for: first, last, all, or those of the timestamps given."""
    if "all" in wanted:
        return entries
    stamps = {_version_key(w) for w in wanted if w not in ("first", "last")}
    by_id: dict[str, list[Entry]] = {}
    for entry in entries:
        by_id.setdefault(entry.id, []).append(entry)
    out: list[Entry] = []
    for versions in by_id.values():
        versions.sort(key=lambda e: e.key)
        keep = {v.key for v in versions if v.key in stamps}
        if "first" in wanted:
            keep.add(versions[0].key)
        if "last" in wanted:
            keep.add(versions[-1].key)
        out.extend(v for v in versions if v.key in keep)
    return out


def _filtered(entries: list[Entry], filters: Filters, default_version: str = "last") -> list[Entry]:
    kept = [
        e
        for e in entries
        if (not filters.ids or e.id in filters.ids)
        and (not filters.types or e.type in filters.types)
        and (not filters.spec_versions or e.spec_version in filters.spec_versions)
        and (filters.added_after is None or e.date_added > filters.added_after)
    ]
    return _select_versions(kept, filters.versions or (default_version,))


# --- the objects of a collection ---------------------------------------------------------------------


def _modified_of(obj: dict[str, Any] | RawObject) -> str:
    modified = obj.modified if isinstance(obj, RawObject) else obj.get("modified")
    return _version_key(modified) if isinstance(modified, str) and modified else ""


def _layers(item: ReportItem) -> Iterator[ReportItem]:
    """The report with each kept object at its latest version, then, for objects kept in several versions,
    once more per older version: the export gives one version of each object, and it alone decides what
    may be given back (an object holding a value the reader may not see is withheld)."""
    by_id: dict[str, list[dict[str, Any] | RawObject]] = {}
    for obj in item.objects:
        oid = obj.id if isinstance(obj, RawObject) else str(obj.get("id"))
        by_id.setdefault(oid, []).append(obj)
    depth = max((len(versions) for versions in by_id.values()), default=1)
    if depth == 1:
        yield item
        return
    for versions in by_id.values():
        versions.sort(key=_modified_of, reverse=True)
    for layer in range(depth):
        yield replace(item, objects=[versions[min(layer, len(versions) - 1)] for versions in by_id.values()])


def _stix_objects(item: ReportItem) -> list[dict[str, Any]]:
    bundle = orjson.loads(stix.to_stix(Exchange(reports=[item])))
    objects: list[dict[str, Any]] = bundle.get("objects", [])
    return objects


def _stored_dates(session: Session, report_ids: list[int]) -> dict[int, dict[tuple[str, str], datetime]]:
    out: dict[int, dict[tuple[str, str], datetime]] = {i: {} for i in report_ids}
    for start in range(0, len(report_ids), 500):
        chunk = report_ids[start : start + 500]
        rows = session.execute(
            select(
                t.StoredObject.report_id,
                t.StoredObject.object_id,
                t.StoredObject.modified,
                t.StoredObject.added,
            ).where(t.StoredObject.report_id.in_(chunk))
        )
        for report_id, object_id, modified, added in rows:
            out[report_id][(object_id, modified)] = added
    return out


def _entries(
    session: Session, subject: Subject, collection: Collection, since: datetime | None = None
) -> list[Entry]:
    """Every version of every object of the collection; with ``since``, only the reports that hold objects
    added after it are read (a report's objects all date from its last change or from when they were
    stored), which changes no object added after ``since``."""
    query = select(t.Report.id, t.Report.uuid, t.Report.modified).where(_in_collection(subject, collection))
    if since is not None:
        newer = (
            select(t.StoredObject.id)
            .where(t.StoredObject.report_id == t.Report.id, t.StoredObject.added > since)
            .exists()
        )
        query = query.where(or_(t.Report.modified > since, newer))
    rows = session.execute(query.order_by(t.Report.id)).all()
    if not rows:
        return []  # (export_exchange without reports named would export everything)
    exported = exchange_service.export_exchange(session, subject, report_uuids=[r.uuid for r in rows])
    info = {r.uuid: (r.id, r.modified) for r in rows}
    stored = _stored_dates(session, [r.id for r in rows])
    merged: dict[tuple[str, str], Entry] = {}
    undated: list[Entry] = []
    for item in exported.reports:
        report_id, modified = info[str(item.uuid)]
        dates = stored[report_id]
        for layer in _layers(item):
            for obj in _stix_objects(layer):
                oid = obj.get("id")
                if not isinstance(oid, str):
                    continue
                added = dates.get((oid, str(obj.get("modified", ""))), modified)
                written = obj.get("modified") or obj.get("created")
                key = _version_key(written) if isinstance(written, str) else ""
                entry = merged.get((oid, key))
                if entry is None:
                    version = written if isinstance(written, str) else ""
                    spec_version = obj.get("spec_version")
                    entry = Entry(
                        id=oid,
                        type=str(obj.get("type", "")),
                        spec_version=spec_version if isinstance(spec_version, str) else "2.1",
                        version=version,
                        key=key,
                        date_added=added,
                        obj=obj,
                    )
                    merged[(oid, key)] = entry
                    if not key:
                        undated.append(entry)
                elif added > entry.date_added:
                    entry.date_added = added
    for entry in merged.values():
        entry.added = stamp(entry.date_added)
    for entry in undated:  # versioned by their date added (cyber-observables have no modified)
        entry.version = entry.key = entry.added
    return list(merged.values())


def objects(session: Session, subject: Subject, collection_id: str, filters: Filters) -> Page:
    """A page of the collection's objects (for the objects and the manifest endpoints)."""
    collection = get_collection(session, subject, collection_id)
    entries = _entries(session, subject, collection, since=filters.added_after)
    return _page(_filtered(entries, filters), filters, _by_added)


def _object_entries(
    session: Session, subject: Subject, collection: Collection, object_id: str
) -> list[Entry]:
    found = [e for e in _entries(session, subject, collection) if e.id == object_id]
    if not found:
        raise NotFound(f"no object {object_id!r} in collection {collection.id!r}")
    return found


def get_object(
    session: Session, subject: Subject, collection_id: str, object_id: str, filters: Filters
) -> Page:
    """The versions of one object asked for (the last by default); NotFound when it is not there."""
    collection = get_collection(session, subject, collection_id)
    entries = _object_entries(session, subject, collection, object_id)
    only = replace(filters, ids=frozenset(), types=frozenset())
    return _page(_filtered(entries, only), filters, _by_added)


def object_versions(
    session: Session, subject: Subject, collection_id: str, object_id: str, filters: Filters
) -> Page:
    """Every version of one object, oldest first (``added_after`` and ``match[spec_version]`` apply)."""
    collection = get_collection(session, subject, collection_id)
    entries = _object_entries(session, subject, collection, object_id)
    only = replace(filters, ids=frozenset(), types=frozenset(), versions=("all",))
    return _page(_filtered(entries, only), filters, _by_version)


# --- deleting ----------------------------------------------------------------------------------------


def delete_object(
    session: Session, subject: Subject, collection_id: str, object_id: str, filters: Filters
) -> int:
    """Delete the versions asked for (all by default) of an object kept as it came, from the reports of the
    collection the member may edit, and, once no version is left in a report, the indicators drawn from it.
    How many stored versions were deleted."""
    collection = get_collection(session, subject, collection_id)
    _object_entries(session, subject, collection, object_id)  # NotFound when the member does not see it
    if not subject.can_write:
        raise Forbidden("this API key is read-only")
    rows = session.execute(
        select(t.StoredObject, t.Report)
        .join(t.Report, t.Report.id == t.StoredObject.report_id)
        .where(t.StoredObject.object_id == object_id, _in_collection(subject, collection))
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
        key = _version_key(version)
        stand_ins.append(Entry(obj.object_id, obj.type, "2.1", version, key, obj.added, {}, stamp(obj.added)))
    keys = {e.key for e in _select_versions(list(stand_ins), filters.versions or ("all",))}
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


# --- adding ------------------------------------------------------------------------------------------

_OBJECT_PLACE = re.compile(r"object (\d+)")


def _envelope_objects(body: bytes) -> list[Any]:
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"the body is not JSON: {exc}; nothing was added", field="body") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects"), list):
        raise Invalid('the body is not a TAXII envelope: {"objects": [...]}; nothing was added', field="body")
    objects: list[Any] = envelope["objects"]
    return objects


def _options(collection: Collection) -> exchange_service.ImportOptions:
    if collection.scope == COMMUNITY:
        return exchange_service.ImportOptions(distribution=Distribution.COMMUNITY)
    if collection.scope == SHARING_GROUP:
        return exchange_service.ImportOptions(
            distribution=Distribution.SHARING_GROUP, sharing_group=collection.group_uuid
        )
    return exchange_service.ImportOptions(distribution=Distribution.ORGANISATION)


def _elsewhere(session: Session, subject: Subject, collection: Collection, item: ReportItem) -> str | None:
    """Why a report the organisation imported before cannot take these objects here, if it cannot."""
    if not item.source_id:
        return None
    existing = session.scalar(
        select(t.Report).where(t.Report.org_id == subject.org_id, t.Report.source_id == item.source_id)
    )
    if existing is None:
        return None
    if collection.scope == COMMUNITY:
        here = existing.distribution in policy.WIDE
    elif collection.scope == SHARING_GROUP:
        here = (
            existing.distribution == Distribution.SHARING_GROUP.value
            and existing.sharing_group_id == collection.group_id
        )
    else:  # the organisation's collection holds all its reports, but adds only to those kept to it
        here = existing.distribution == Distribution.ORGANISATION.value
    if here:
        return None
    group = f" ({existing.sharing_group.name})" if existing.sharing_group else ""
    return (
        f"the report {item.source_id} was added before with distribution {existing.distribution}{group}: "
        "add its objects to that collection"
    )


def _detail(obj: Any, fallback: str, message: str | None = None) -> dict[str, Any]:
    oid = obj.get("id") if isinstance(obj, dict) else None
    written = (obj.get("modified") or obj.get("created")) if isinstance(obj, dict) else None
    detail: dict[str, Any] = {
        "id": oid if isinstance(oid, str) else "",
        "version": written if isinstance(written, str) else fallback,
    }
    if message:
        detail["message"] = message
    return detail


def add_objects(session: Session, subject: Subject, collection_id: str, body: bytes) -> dict[str, Any]:
    """Import the envelope's objects into the collection's scope; the status resource, kept as a job."""
    collection = get_collection(session, subject, collection_id)
    if not collection.can_write:
        if not subject.can_write:
            raise Forbidden("this API key is read-only")
        raise Forbidden(f"you may not add objects to the collection {collection.title!r}")
    requested = utcnow()
    envelope = _envelope_objects(body)
    source = f"TAXII: {collection.title}"[:200]
    try:
        exchange = stix.parse_stix(orjson.dumps(envelope), source=source, skip_invalid=True)
    except FormatError as exc:
        raise Invalid(f"{exc}; nothing was added", field="body") from None
    problems: dict[int, list[str]] = {}
    for problem in exchange.problems:
        place = _OBJECT_PLACE.fullmatch(problem.where)
        if place is None:
            raise Invalid(f"{problem}; nothing was added", field="body")
        problems.setdefault(int(place.group(1)), []).append(problem.reason)
    positions: dict[tuple[str, str], list[int]] = {}
    for index, obj in enumerate(envelope):
        if index not in problems and isinstance(obj, dict):
            positions.setdefault((str(obj.get("id")), str(obj.get("modified", ""))), []).append(index)
    added: set[int] = set()
    refused: dict[int, str] = {}
    options = _options(collection)
    for item in exchange.reports:
        message = _elsewhere(session, subject, collection, item)
        if message is None:
            try:
                with session.begin_nested():
                    exchange_service.import_exchange(
                        session, subject, Exchange(reports=[item], source=source), options
                    )
            except CommonspaceError as exc:
                message = exc.message
        for obj in item.objects:
            key = (
                (obj.id, obj.modified)
                if isinstance(obj, RawObject)
                else (str(obj.get("id")), str(obj.get("modified", "")))
            )
            for index in positions.get(key, ()):
                if message is None:
                    added.add(index)
                else:
                    refused.setdefault(index, message)
    fallback = stamp(requested)
    successes: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for index, obj in enumerate(envelope):
        if index in problems:
            failures.append(_detail(obj, fallback, "; ".join(problems[index])))
        elif index in added:
            successes.append(_detail(obj, fallback))
        elif index in refused:
            failures.append(_detail(obj, fallback, refused[index]))
        else:  # an older version of an object given twice: the newer one was kept
            successes.append(_detail(obj, fallback, "a newer version given in the same request was kept"))
    status: dict[str, Any] = {
        "status": "complete",
        "request_timestamp": stamp(requested),
        "total_count": len(envelope),
        "success_count": len(successes),
        "successes": successes,
        "failure_count": len(failures),
        "failures": failures,
        "pending_count": 0,
        "pendings": [],
    }
    job = jobs.record_finished(
        session, subject, STATUS_KIND, {"collection": collection.id}, status, total=len(envelope)
    )
    status = {"id": job.uuid, **status}
    job.result = status
    return status


def get_status(session: Session, subject: Subject, status_id: str) -> dict[str, Any]:
    """A status resource kept by ``add_objects``, for whoever may see its job; NotFound otherwise."""
    job = jobs.get(session, subject, status_id)
    if job is None or job.kind != STATUS_KIND or not job.result:
        raise NotFound(f"no status {status_id!r}")
    return dict(job.result)

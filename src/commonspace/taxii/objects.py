"""The objects of a TAXII collection: the STIX of its reports as the export gives them
(``exchange.service.export_exchange``, then ``to_stix``, report by report, without the bundle), so that the
indicators a member may not see (narrowed away) are left out exactly as they are from an export.

Each object has a *date added*: for an object kept as it was imported, the time it was stored; for an object
written from the report (its indicators, its STIX report, identities, markings), the report's last
modification. An object several reports hold is one object with the latest of their dates. Its *version* is
its ``modified``, else its ``created``, else (cyber-observables) its date added.

Every request finds the collection's reports afresh, under the access policy (only those changed after
``added_after`` when it is given). Writing a report's STIX objects, the export and ``to_stix``, is most of
the work: what it gives is kept between requests (:class:`_Kept`), for the member's view of the policy
(role, organisation, sharing groups) and the report's state — its version and modification time, its
organisation's name, kind and country, and the count, last id and last change of the indicators the member
sees in it and of the objects kept with it — so that a report that changed, or that the member now sees
otherwise, is written anew. Reading another organisation's report is recorded in its access log on every
request, kept or not, as the export does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.domain.errors import NotFound
from commonspace.exchange import service as exchange_service
from commonspace.formats import stix
from commonspace.formats.model import Exchange, RawObject, ReportItem
from commonspace.policy import Subject
from commonspace.store import tables as t
from commonspace.taxii.paging import (
    Entry,
    Filters,
    Key,
    Page,
    by_added,
    by_version,
    filtered,
    page_of,
    paginate,
)
from commonspace.taxii.protocol import stamp, version_key
from commonspace.taxii.scopes import Collection, get_collection, in_collection


def _modified_of(obj: dict[str, Any] | RawObject) -> str:
    modified = obj.modified if isinstance(obj, RawObject) else obj.get("modified")
    return version_key(modified) if isinstance(modified, str) and modified else ""


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


V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Written:
    """One STIX object of a report as the export writes it, before it is dated."""

    id: str
    modified: str  # as the object writes it ("" without), to find the date it was stored
    key: str  # its version in one spelling ("" when it has none)
    version: str
    type: str
    spec_version: str
    obj: dict[str, Any]


class _Kept(Generic[V]):
    """Values by key, at most ``limit`` objects in all (``size`` of each value), the least recently used
    dropped first; shared by the threads that serve requests."""

    def __init__(self, limit: int, size: Callable[[V], int]) -> None:
        self.limit = limit
        self.size_of = size
        self.size = 0
        self.items: OrderedDict[Hashable, V] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: V) -> None:
        size = self.size_of(value)
        with self.lock:
            if key in self.items or size > self.limit:
                return
            self.items[key] = value
            self.size += size
            while self.size > self.limit:
                _, dropped = self.items.popitem(last=False)
                self.size -= self.size_of(dropped)


KEPT_OBJECTS = 50_000  # written objects kept between requests, and as many listed (about 100 MiB at most)
# The objects each report was written as, by the member's view and the report's state (see _reports).
_kept: _Kept[tuple[_Written, ...]] = _Kept(KEPT_OBJECTS, len)


def _write(item: ReportItem) -> tuple[_Written, ...]:
    """The STIX objects of one exported report, each version of each (see ``_layers``)."""
    out: list[_Written] = []
    for layer in _layers(item):
        for obj in _stix_objects(layer):
            oid = obj.get("id")
            if not isinstance(oid, str):
                continue
            written = obj.get("modified") or obj.get("created")
            spec_version = obj.get("spec_version")
            out.append(
                _Written(
                    id=oid,
                    modified=str(obj.get("modified", "")),
                    key=version_key(written) if isinstance(written, str) else "",
                    version=written if isinstance(written, str) else "",
                    type=str(obj.get("type", "")),
                    spec_version=spec_version if isinstance(spec_version, str) else "2.1",
                    obj=obj,
                )
            )
    return tuple(out)


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


def _view(subject: Subject) -> Hashable:
    """What the access policy looks at in a member: those alike see every report alike."""
    return (subject.role.value, subject.org_id, tuple(sorted(subject.group_ids)))


def _contents(session: Session, subject: Subject, report_ids: list[int]) -> dict[int, Hashable]:
    """Per report: the count, last id and last change of the indicators the member sees in it, and the
    count and last id of the objects kept with it."""
    seen: dict[int, tuple[Any, ...]] = {}
    kept: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(report_ids), 500):
        chunk = report_ids[start : start + 500]
        indicators = (
            select(
                t.Indicator.report_id,
                func.count(),
                func.max(t.Indicator.id),
                func.max(t.Indicator.modified),
            )
            .join(t.Report, t.Report.id == t.Indicator.report_id)
            .where(t.Indicator.report_id.in_(chunk), policy.indicator_filter(subject))
            .group_by(t.Indicator.report_id)
        )
        seen.update((row[0], tuple(row[1:])) for row in session.execute(indicators))
        stored = (
            select(t.StoredObject.report_id, func.count(), func.max(t.StoredObject.id))
            .where(t.StoredObject.report_id.in_(chunk))
            .group_by(t.StoredObject.report_id)
        )
        kept.update((row[0], tuple(row[1:])) for row in session.execute(stored))
    return {i: (seen.get(i), kept.get(i)) for i in report_ids}


Row = Any  # of _reports: id, uuid, modified, version, org_id, and the organisation's name, kind, country


def _reports(
    session: Session, subject: Subject, collection: Collection, since: datetime | None
) -> tuple[list[Row], dict[int, Hashable]]:
    """The collection's reports (with ``since``, only those that hold objects added after it: a report's
    objects all date from its last change or from when they were stored, so this changes no object added
    after ``since``), and the key of each one's written objects: the member's view and its state."""
    query = (
        select(
            t.Report.id,
            t.Report.uuid,
            t.Report.modified,
            t.Report.version,
            t.Report.org_id,
            t.Organisation.name,
            t.Organisation.kind,
            t.Organisation.country,
        )
        .join(t.Organisation, t.Organisation.id == t.Report.org_id)
        .where(in_collection(subject, collection))
    )
    if since is not None:
        newer = (
            select(t.StoredObject.id)
            .where(t.StoredObject.report_id == t.Report.id, t.StoredObject.added > since)
            .exists()
        )
        query = query.where(or_(t.Report.modified > since, newer))
    rows = list(session.execute(query.order_by(t.Report.id)).all())
    contents = _contents(session, subject, [r.id for r in rows]) if rows else {}
    view = _view(subject)
    return rows, {r.id: (view, *r, contents[r.id]) for r in rows}


def _recorded(session: Session, subject: Subject, rows: list[Row], exported: set[int]) -> None:
    """Reading another organisation's report is recorded in its access log, as the export does (and did
    for the reports in ``exported``)."""
    for r in rows:
        if r.org_id != subject.org_id and r.id not in exported:
            audit.record(session, subject, "report.export", "report", r.uuid, r.org_id)


def _entries_of(
    session: Session, subject: Subject, rows: list[Row], keys: dict[int, Hashable]
) -> list[Entry]:
    """Every version of every object of the reports: the written ones kept, the others exported and
    written (and kept)."""
    if not rows:
        return []
    written: dict[int, tuple[_Written, ...]] = {}
    for r in rows:
        found = _kept.get(keys[r.id])
        if found is not None:
            written[r.id] = found
    missing = [r for r in rows if r.id not in written]
    if missing:  # (export_exchange without reports named would export everything)
        exported = exchange_service.export_exchange(session, subject, report_uuids=[r.uuid for r in missing])
        for r, item in zip(missing, exported.reports, strict=True):
            written[r.id] = _write(item)
            _kept.put(keys[r.id], written[r.id])
    _recorded(session, subject, rows, {r.id for r in missing})
    stored = _stored_dates(session, [r.id for r in rows])
    merged: dict[tuple[str, str], Entry] = {}
    undated: list[Entry] = []
    for r in rows:
        dates = stored[r.id]
        for one in written[r.id]:
            added = dates.get((one.id, one.modified), r.modified)
            entry = merged.get((one.id, one.key))
            if entry is None:
                entry = Entry(
                    id=one.id,
                    type=one.type,
                    spec_version=one.spec_version,
                    version=one.version,
                    key=one.key,
                    date_added=added,
                    obj=one.obj,
                )
                merged[(one.id, one.key)] = entry
                if not one.key:
                    undated.append(entry)
            elif added > entry.date_added:
                entry.date_added = added
    stamps: dict[datetime, str] = {}  # a few dates, each written once
    for entry in merged.values():
        written_date = stamps.get(entry.date_added)
        if written_date is None:
            written_date = stamps[entry.date_added] = stamp(entry.date_added)
        entry.added = written_date
    for entry in undated:  # versioned by their date added (cyber-observables have no modified)
        entry.version = entry.key = entry.added
    return list(merged.values())


def _entries(
    session: Session, subject: Subject, collection: Collection, since: datetime | None = None
) -> list[Entry]:
    """Every version of every object of the collection (with ``since``: see ``_reports``)."""
    rows, keys = _reports(session, subject, collection, since)
    return _entries_of(session, subject, rows, keys)


@dataclass(frozen=True)
class _Listing:
    """The entries a request's filters select, in the order of their date added, and their keys."""

    entries: list[Entry]
    keys: list[Key]


# The listings last asked for, by view, collection, filters (but the page) and the state of every report:
# the next page is a bisection.
_listings: _Kept[_Listing] = _Kept(KEPT_OBJECTS, lambda listing: len(listing.entries))


def objects(session: Session, subject: Subject, collection_id: str, filters: Filters) -> Page:
    """A page of the collection's objects (for the objects and the manifest endpoints)."""
    collection = get_collection(session, subject, collection_id)
    rows, keys = _reports(session, subject, collection, filters.added_after)
    asked = (filters.added_after, filters.ids, filters.types, filters.versions, filters.spec_versions)
    key = (_view(subject), collection.id, asked, tuple(keys.values()))
    listing = _listings.get(key)
    if listing is None:
        entries = sorted(filtered(_entries_of(session, subject, rows, keys), filters), key=by_added)
        listing = _Listing(entries, [by_added(e) for e in entries])
        _listings.put(key, listing)
    else:
        _recorded(session, subject, rows, set())
    return page_of(listing.entries, listing.keys, filters, by_added)


def object_entries(session: Session, subject: Subject, collection: Collection, object_id: str) -> list[Entry]:
    found = [e for e in _entries(session, subject, collection) if e.id == object_id]
    if not found:
        raise NotFound(f"no object {object_id!r} in collection {collection.id!r}")
    return found


def get_object(
    session: Session, subject: Subject, collection_id: str, object_id: str, filters: Filters
) -> Page:
    """The versions of one object asked for (the last by default); NotFound when it is not there."""
    collection = get_collection(session, subject, collection_id)
    entries = object_entries(session, subject, collection, object_id)
    only = replace(filters, ids=frozenset(), types=frozenset())
    return paginate(filtered(entries, only), filters, by_added)


def object_versions(
    session: Session, subject: Subject, collection_id: str, object_id: str, filters: Filters
) -> Page:
    """Every version of one object, oldest first (``added_after`` and ``match[spec_version]`` apply)."""
    collection = get_collection(session, subject, collection_id)
    entries = object_entries(session, subject, collection, object_id)
    only = replace(filters, ids=frozenset(), types=frozenset(), versions=("all",))
    return paginate(filtered(entries, only), filters, by_version)

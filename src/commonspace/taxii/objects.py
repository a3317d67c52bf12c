"""The objects of a TAXII collection: the STIX of its reports as the export gives them
(``exchange.service.export_exchange``, then ``to_stix``, report by report, without the bundle), so that the
indicators a member may not see (narrowed away) are left out exactly as they are from an export.

Each object has a *date added*: for an object kept as it was imported, the time it was stored; for an object
written from the report (its indicators, its STIX report, identities, markings), the report's last
modification. An object several reports hold is one object with the latest of their dates. Its *version* is
its ``modified``, else its ``created``, else (cyber-observables) its date added.

Every request computes its collection afresh from the reports (only those changed after ``added_after``
when it is given): correct, and plain, but proportional to the size of the collection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from commonspace.domain.errors import NotFound
from commonspace.exchange import service as exchange_service
from commonspace.formats import stix
from commonspace.formats.model import Exchange, RawObject, ReportItem
from commonspace.policy import Subject
from commonspace.store import tables as t
from commonspace.taxii.paging import Entry, Filters, Page, by_added, by_version, filtered, paginate
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
    query = select(t.Report.id, t.Report.uuid, t.Report.modified).where(in_collection(subject, collection))
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
                key = version_key(written) if isinstance(written, str) else ""
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
    return paginate(filtered(entries, filters), filters, by_added)


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

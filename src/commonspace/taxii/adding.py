"""Adding objects to a TAXII collection, and the status resources that answer it.

Objects are imported through the exchange service as the member, into the collection's scope: each STIX
report of the envelope (and the objects no report holds, as one more report) is imported on its own, so
that one refused (TLP:RED to the community) fails alone; invalid objects are left out and listed as
failures. The status resource is kept as a finished job of kind ``taxii.import`` (its result is the
status), seen by the member who added the objects, their organisation's administrators and site admins.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.domain.errors import CommonspaceError, Forbidden, Invalid, NotFound
from commonspace.domain.vocab import Distribution
from commonspace.exchange import service as exchange_service
from commonspace.formats import stix
from commonspace.formats.model import Exchange, FormatError, RawObject, ReportItem
from commonspace.jobs import service as jobs
from commonspace.policy import Subject
from commonspace.store import tables as t
from commonspace.store.tables import utcnow
from commonspace.taxii.protocol import stamp
from commonspace.taxii.scopes import COMMUNITY, SHARING_GROUP, Collection, get_collection

STATUS_KIND = "taxii.import"

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

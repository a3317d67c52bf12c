"""Recording and listing audit events."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from commonspace.domain.errors import Forbidden, Invalid
from commonspace.domain.vocab import Role
from commonspace.policy import Subject
from commonspace.reports.pagination import row_id
from commonspace.store import tables as t
from commonspace.store.db import write_soon


def record(
    session: Session,
    subject: Subject | None,
    action: str,
    object_type: str,
    object_uuid: str | None = None,
    object_org_id: int | None = None,
    via: str | None = None,
    **detail: Any,
) -> None:
    """Add one event: with the work it describes (all or nothing), or just after a read."""
    event = t.AuditEvent(
        member_id=subject.member_id if subject else None,
        org_id=subject.org_id if subject else None,
        api_key_id=subject.api_key_id if subject else None,
        via=via or (subject.via if subject else "cli"),
        action=action,
        object_type=object_type,
        object_uuid=object_uuid,
        object_org_id=object_org_id,
        detail=detail,
    )
    write_soon(session, lambda writer: writer.add(event))


# What the access log is about: the organisation's reports and what they contain.
REPORT_OBJECTS = ("report", "indicator")


@dataclass(frozen=True)
class AccessRecord:
    at: datetime
    action: str
    object_type: str
    object_uuid: str | None
    member_email: str | None
    organisation: str | None
    api_key_id: int | None
    via: str
    id: int = 0


def check_access_log(subject: Subject) -> None:
    """Only organisation administrators (and site admins) read the access log."""
    if subject.role not in (Role.ORG_ADMIN, Role.SITE_ADMIN):
        raise Forbidden("only organisation administrators may read the access log")


def list_access(
    session: Session,
    subject: Subject,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = 200,
) -> list[AccessRecord]:
    """Who outside the subject's organisation accessed its reports, newest first (org admins only).

    ``since`` is inclusive and ``until`` exclusive; ``before`` (a record's time and id) starts after
    that record, for the next page.
    """
    check_access_log(subject)
    actor_org = aliased(t.Organisation)
    query = (
        select(t.AuditEvent, t.Member.email, actor_org.name)
        .outerjoin(t.Member, t.Member.id == t.AuditEvent.member_id)
        .outerjoin(actor_org, actor_org.id == t.AuditEvent.org_id)
        .where(t.AuditEvent.object_org_id == subject.org_id)
        .where(t.AuditEvent.object_type.in_(REPORT_OBJECTS))
        .where((t.AuditEvent.org_id != subject.org_id) | t.AuditEvent.org_id.is_(None))
        .order_by(t.AuditEvent.at.desc(), t.AuditEvent.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(t.AuditEvent.at >= since)
    if until is not None:
        query = query.where(t.AuditEvent.at < until)
    if before is not None:
        at, event_id = before
        query = query.where((t.AuditEvent.at < at) | ((t.AuditEvent.at == at) & (t.AuditEvent.id < event_id)))
    return [
        AccessRecord(
            at=event.at,
            action=event.action,
            object_type=event.object_type,
            object_uuid=event.object_uuid,
            member_email=email,
            organisation=org_name,
            api_key_id=event.api_key_id,
            via=event.via,
            id=event.id,
        )
        for event, email, org_name in session.execute(query)
    ]


@dataclass(frozen=True)
class AccessPage:
    items: list[AccessRecord]
    next_cursor: str | None


def _encode_cursor(record: AccessRecord) -> str:
    return base64.urlsafe_b64encode(f"{record.at.isoformat()}|{record.id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, _, id_text = text.partition("|")
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError(text)
        return at, row_id(id_text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("the cursor is not one this server gave out", field="cursor") from exc


def access_page(
    session: Session,
    subject: Subject,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> AccessPage:
    """One page of the access log (see ``list_access``), with the cursor of the next one, if any."""
    records = list_access(
        session, subject, since=since, until=until, before=_decode_cursor(cursor), limit=limit + 1
    )
    more = len(records) > limit
    records = records[:limit]
    return AccessPage(records, _encode_cursor(records[-1]) if more and records else None)

"""Recording and listing audit events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from commonspace.domain.errors import Forbidden
from commonspace.domain.vocab import Role
from commonspace.policy import Subject
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


def list_access(
    session: Session, subject: Subject, *, since: datetime | None = None, limit: int = 200
) -> list[AccessRecord]:
    """Who outside the subject's organisation accessed its reports, newest first (org admins only)."""
    if subject.role not in (Role.ORG_ADMIN, Role.SITE_ADMIN):
        raise Forbidden("only organisation administrators may read the access log")
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
        )
        for event, email, org_name in session.execute(query)
    ]

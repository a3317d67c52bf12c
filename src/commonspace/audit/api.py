"""REST endpoint for the access log of an organisation's shared reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from commonspace.audit import service as audit
from commonspace.audit.schemas import AccessOut
from commonspace.web.deps import DB, Reader

router = APIRouter(tags=["audit"])


@router.get("/audit/access", response_model=list[AccessOut])
def access_log(
    session: DB,
    subject: Reader,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[AccessOut]:
    """Who outside your organisation read or changed its reports (organisation administrators)."""
    return [
        AccessOut(
            at=r.at,
            action=r.action,
            object_type=r.object_type,
            object_uuid=r.object_uuid,
            member=r.member_email,
            organisation=r.organisation,
            api_key_id=r.api_key_id,
            via=r.via,
        )
        for r in audit.list_access(session, subject, since=since, limit=limit)
    ]

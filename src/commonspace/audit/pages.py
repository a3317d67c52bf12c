"""The access log page: who outside my organisation read or changed its reports (organisation admins)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from commonspace.accounts import service as accounts
from commonspace.audit import service as audit
from commonspace.web.auth import PageSubject
from commonspace.web.deps import DB
from commonspace.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


@router.get("/admin/audit")
def access_log(
    request: Request,
    session: DB,
    subject: PageSubject,
    since: Annotated[str, Query(alias="from", max_length=20)] = "",
    until: Annotated[str, Query(alias="to", max_length=20)] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    audit.check_access_log(subject)
    errors: dict[str, str] = {}
    first = _day(since) if since.strip() else None
    last = _day(until) if until.strip() else None
    if since.strip() and first is None:
        errors["from"] = "give a date as YYYY-MM-DD"
    if until.strip() and last is None:
        errors["to"] = "give a date as YYYY-MM-DD"
    if first and last and first > last:
        errors["to"] = "the end date comes before the start date"
    page = None
    if not errors:
        page = audit.access_page(
            session,
            subject,
            since=datetime.combine(first, time.min, UTC) if first else None,
            until=datetime.combine(last + timedelta(days=1), time.min, UTC) if last else None,
            cursor=cursor or None,
            limit=PAGE_SIZE,
        )
    return render(
        request,
        "admin/audit.html",
        {
            "nav": "admin",
            "section": "audit",
            "org": accounts.own_organisation(session, subject),
            "page": page,
            "values": {"from": since, "to": until},
            "cursor": cursor,
            "errors": errors,
        },
        status=422 if errors else 200,
    )

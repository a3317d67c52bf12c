"""The dashboard: my organisation's recent reports, what was recently shared with me, and activity."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from commonspace.forum import service as forum
from commonspace.reports import service as reports
from commonspace.web.auth import PageSubject
from commonspace.web.deps import DB
from commonspace.web.templating import render

router = APIRouter(include_in_schema=False)

RECENT = 8


@router.get("/")
def dashboard(request: Request, session: DB, subject: PageSubject) -> Response:
    own = reports.recent_reports(session, subject, own=True, limit=RECENT)
    shared = reports.recent_reports(session, subject, own=False, limit=RECENT)
    return render(
        request,
        "dashboard.html",
        {
            "nav": "dashboard",
            "own": reports.report_outs(session, own, subject),
            "shared": reports.report_outs(session, shared, subject),
            "activity": forum.recent_activity(session, subject, limit=RECENT),
        },
    )

"""Downloading a report from its page, in every export format (the session stands in for an API key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from commonspace.exchange import service
from commonspace.formats import files
from commonspace.formats.detect import OutFormat
from commonspace.web.auth import PageSubject
from commonspace.web.deps import DB

router = APIRouter(include_in_schema=False)


@router.get("/reports/{uuid}/export/{fmt}")
def download(
    uuid: str, fmt: OutFormat, session: DB, subject: PageSubject, exclude_warninglisted: bool | None = None
) -> Response:
    """Detection formats leave out the indicators on warninglists unless ``exclude_warninglisted=false``."""
    exclude = service.excludes_warninglisted(fmt, exclude_warninglisted)
    exchange = service.export_exchange(session, subject, report_uuids=[uuid], exclude_warninglisted=exclude)
    data, _beside = files.write(exchange, fmt)
    name = f"report-{uuid}{files.SUFFIXES[fmt]}"
    return Response(
        data,
        media_type=files.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )

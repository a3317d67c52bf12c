"""REST endpoints for reports, indicators, tags, sightings and search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from commonspace.domain.vocab import TLP, IndicatorType, ReportStatus
from commonspace.jobs.schemas import JobOut
from commonspace.reports import background as background_jobs
from commonspace.reports import indicators, schemas, search, sightings
from commonspace.reports import service as reports
from commonspace.reports.service import ReportQuery, org_ref
from commonspace.store import tables as t
from commonspace.web.deps import DB, Reader, Writer, reads_only

router = APIRouter(tags=["reports"])


class ReportPage(BaseModel):
    items: list[schemas.ReportOut]
    next_cursor: str | None


class IndicatorPage(BaseModel):
    items: list[schemas.IndicatorOut]
    next_cursor: str | None


class BulkOut(BaseModel):
    added: int
    duplicates: int


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt filter must not widen the search

    values: list[str] = Field(
        [], description="Values to look for; IPs also find networks, domains subdomains."
    )
    types: list[IndicatorType] = []
    tag: str | None = None
    to_detect: bool | None = None
    seen_after: AwareDatetime | None = None
    seen_before: AwareDatetime | None = None
    category: str | None = None
    country: str | None = None
    sector: str | None = None
    organisation: str | None = None
    tlp: TLP | None = None
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    cursor: str | None = None


class SearchPage(BaseModel):
    items: list[schemas.SearchHit]
    next_cursor: str | None


@router.get("/reports", response_model=ReportPage)
def list_reports(
    session: DB,
    subject: Reader,
    text: str | None = None,
    category: str | None = None,
    country: str | None = None,
    sector: str | None = None,
    tlp: TLP | None = None,
    organisation: str | None = None,
    status_: Annotated[ReportStatus | None, Query(alias="status")] = None,
    tag: str | None = None,
    created_after: AwareDatetime | None = None,
    created_before: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> ReportPage:
    q = ReportQuery(
        text, category, country, sector, tlp, organisation, status_, tag, created_after, created_before
    )
    page = reports.list_reports(session, subject, q, limit=limit, cursor=cursor)
    return ReportPage(items=reports.report_outs(session, page.items, subject), next_cursor=page.next_cursor)


@router.post("/reports", response_model=schemas.ReportOut, status_code=status.HTTP_201_CREATED)
def create_report(body: schemas.ReportIn, session: DB, subject: Writer) -> schemas.ReportOut:
    report = reports.create_report(session, subject, body)
    session.flush()
    return reports.report_outs(session, [report], subject)[0]


@router.get("/reports/{uuid}", response_model=schemas.ReportOut)
def get_report(uuid: str, session: DB, subject: Reader) -> schemas.ReportOut:
    return reports.report_outs(session, [reports.get_report(session, subject, uuid)], subject)[0]


@router.patch("/reports/{uuid}", response_model=schemas.ReportOut)
def update_report(uuid: str, body: schemas.ReportPatch, session: DB, subject: Writer) -> schemas.ReportOut:
    report = reports.update_report(session, subject, uuid, body)
    session.flush()
    return reports.report_outs(session, [report], subject)[0]


@router.post("/reports/{uuid}/publish", response_model=schemas.ReportOut)
def publish_report(uuid: str, session: DB, subject: Writer) -> schemas.ReportOut:
    return reports.report_outs(session, [reports.publish_report(session, subject, uuid)], subject)[0]


@router.delete("/reports/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_report(uuid: str, session: DB, subject: Writer) -> Response:
    reports.delete_report(session, subject, uuid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/reports/{uuid}/indicators", response_model=IndicatorPage)
def list_indicators(
    uuid: str,
    session: DB,
    subject: Reader,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    cursor: str | None = None,
) -> IndicatorPage:
    page = indicators.list_indicators(session, subject, uuid, limit=limit, cursor=cursor)
    return IndicatorPage(items=indicators.indicator_outs(session, page.items), next_cursor=page.next_cursor)


@router.post(
    "/reports/{uuid}/indicators",
    response_model=BulkOut | JobOut,
    status_code=status.HTTP_201_CREATED,
    responses={202: {"model": JobOut, "description": "Queued as a background job (background=true)."}},
)
def add_indicators(
    uuid: str,
    body: schemas.BulkIndicators,
    session: DB,
    subject: Writer,
    response: Response,
    background: bool = False,
) -> BulkOut | JobOut:
    """Add up to 100,000 indicators in one call, all or nothing; values already present are skipped.

    With ``background=true`` the import runs as a job: the answer is the job (202), to follow at /jobs/{uuid}.
    """
    if background:
        response.status_code = status.HTTP_202_ACCEPTED
        return JobOut.model_validate(background_jobs.submit_import(session, subject, uuid, body.indicators))
    result = indicators.add_indicators(session, subject, uuid, body.indicators)
    return BulkOut(added=result.added, duplicates=result.duplicates)


@router.get("/indicators/{uuid}", response_model=schemas.IndicatorOut)
def get_indicator(uuid: str, session: DB, subject: Reader) -> schemas.IndicatorOut:
    return indicators.indicator_outs(session, [indicators.get_indicator(session, subject, uuid)])[0]


@router.patch("/indicators/{uuid}", response_model=schemas.IndicatorOut)
def update_indicator(
    uuid: str, body: schemas.IndicatorPatch, session: DB, subject: Writer
) -> schemas.IndicatorOut:
    indicator = indicators.update_indicator(session, subject, uuid, body)
    session.flush()
    return indicators.indicator_outs(session, [indicator])[0]


@router.delete("/indicators/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_indicator(uuid: str, session: DB, subject: Writer) -> Response:
    indicators.delete_indicator(session, subject, uuid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/indicators/{uuid}/sightings", response_model=list[schemas.SightingOut])
def list_sightings(uuid: str, session: DB, subject: Reader) -> list[schemas.SightingOut]:
    return sightings.list_sightings(session, subject, uuid)


@router.post(
    "/indicators/{uuid}/sightings", response_model=schemas.SightingOut, status_code=status.HTTP_201_CREATED
)
def add_sighting(uuid: str, body: schemas.SightingIn, session: DB, subject: Writer) -> schemas.SightingOut:
    sighting = sightings.add_sighting(session, subject, uuid, body)
    org = session.get(t.Organisation, sighting.org_id)
    assert org is not None
    return schemas.SightingOut(
        uuid=sighting.uuid,
        indicator=uuid,
        organisation=org_ref(org),
        seen=sighting.seen,
        source=sighting.source,
        count=sighting.count,
        kind=sighting.kind,
    )


@router.post("/search/indicators", response_model=SearchPage)
@reads_only
def search_indicators(body: SearchIn, session: DB, subject: Reader) -> SearchPage:
    """Many values at once (up to 10,000), exact after canonicalisation, with containment."""
    q = search.IndicatorQuery(
        values=body.values,
        types=body.types,
        tag=body.tag,
        to_detect=body.to_detect,
        seen_after=body.seen_after,
        seen_before=body.seen_before,
        report=ReportQuery(
            category=body.category,
            country=body.country,
            sector=body.sector,
            tlp=body.tlp,
            organisation=body.organisation,
            created_after=body.created_after,
            created_before=body.created_before,
        ),
    )
    page = search.search_indicators(session, subject, q, limit=body.limit, cursor=body.cursor)
    outs = indicators.indicator_outs(session, [h.indicator for h in page.items])
    items = [
        schemas.SearchHit(
            indicator=out,
            report_uuid=h.report.uuid,
            report_title=h.report.title,
            report_tlp=h.report.tlp,
            organisation=org_ref(h.report.organisation),
            matched=h.matched,
        )
        for h, out in zip(page.items, outs, strict=True)
    ]
    return SearchPage(items=items, next_cursor=page.next_cursor)


@router.get("/tags", response_model=list[str])
def list_tags(session: DB, subject: Reader) -> list[str]:
    """The tags on reports and indicators the subject may see."""
    return reports.visible_tags(session, subject)

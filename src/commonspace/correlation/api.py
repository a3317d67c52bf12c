"""REST endpoints for correlations: of a report's indicators, and of one value."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from commonspace.correlation import schemas, service
from commonspace.domain.vocab import TLP, IndicatorType, ReportStatus
from commonspace.reports.service import org_ref
from commonspace.web.deps import DB, Reader

router = APIRouter(tags=["correlation"])

IncludeWarninglisted = Annotated[
    bool, Query(description="Also correlate values on a warninglist (left out by default).")
]


@router.get("/reports/{uuid}/correlations", response_model=schemas.ReportCorrelationPage)
def report_correlations(
    uuid: str,
    session: DB,
    subject: Reader,
    include_warninglisted: IncludeWarninglisted = False,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 1000,
    cursor: str | None = None,
) -> schemas.ReportCorrelationPage:
    """The other reports you may see that share a value with this one, ``limit`` of its indicators at a
    time (only those that correlate are listed)."""
    page = service.correlate_report(
        session, subject, uuid, limit=limit, cursor=cursor, include_warninglisted=include_warninglisted
    )
    return schemas.ReportCorrelationPage(
        items=[_out(item) for item in page.items],
        next_cursor=page.next_cursor,
        over_correlation_limit=page.limit,
    )


@router.get("/correlations", response_model=schemas.ValueCorrelationOut)
def value_correlations(
    session: DB,
    subject: Reader,
    value: Annotated[str, Query(min_length=1, max_length=4096)],
    type: IndicatorType | None = None,  # noqa: A002 - the query parameter's name
    include_warninglisted: IncludeWarninglisted = False,
) -> schemas.ValueCorrelationOut:
    """The reports you may see that hold this value or one linked to it (type detected when not given)."""
    threshold = service.over_correlation_limit()
    found = service.correlate_value(
        session, subject, value, type_=type, include_warninglisted=include_warninglisted, threshold=threshold
    )
    return schemas.ValueCorrelationOut(**_out(found).model_dump(), over_correlation_limit=threshold)


def _out(item: service.Correlation) -> schemas.CorrelationOut:
    return schemas.CorrelationOut(
        indicator=item.value.indicator,
        type=item.value.type,
        value=item.value.canonical,
        over_correlating=item.over_correlating,
        reports=[
            schemas.CorrelatedReportOut(
                uuid=c.report.uuid,
                title=c.report.title,
                organisation=org_ref(c.report.organisation),
                tlp=TLP(c.report.tlp),
                status=ReportStatus(c.report.status),
                matches=[
                    schemas.MatchOut(
                        kind=m.kind, type=IndicatorType(m.type), value=m.value, indicator=m.indicator
                    )
                    for m in c.matches
                ],
                more_matches=c.more_matches,
            )
            for c in item.reports
        ],
    )

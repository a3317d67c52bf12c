"""What the correlation endpoints answer."""

from __future__ import annotations

from pydantic import BaseModel, Field

from commonspace.correlation.service import Link
from commonspace.domain.vocab import TLP, IndicatorType, ReportStatus
from commonspace.reports.schemas import OrgRef


class MatchOut(BaseModel):
    kind: Link = Field(description="How their value is linked to ours, said from our side.")
    type: IndicatorType
    value: str = Field(description="Their indicator's canonical value.")
    indicator: str = Field(description="Their indicator's UUID.")


class CorrelatedReportOut(BaseModel):
    uuid: str
    title: str
    organisation: OrgRef
    tlp: TLP
    status: ReportStatus
    matches: list[MatchOut] = Field(description="Its values linked to ours, at most 20, in the order added.")
    more_matches: bool = Field(description="It has more linked values than those listed.")


class CorrelationOut(BaseModel):
    indicator: str | None = Field(description="Our indicator's UUID; null for a value given.")
    type: IndicatorType
    value: str = Field(description="Our canonical value.")
    over_correlating: bool = Field(
        description="Linked to more reports you may see than the over-correlation limit: they are not listed."
    )
    reports: list[CorrelatedReportOut] = Field(description="Newest first; empty when over-correlating.")


class ReportCorrelationPage(BaseModel):
    items: list[CorrelationOut]
    next_cursor: str | None
    over_correlation_limit: int


class ValueCorrelationOut(CorrelationOut):
    over_correlation_limit: int

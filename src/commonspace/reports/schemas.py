"""What the API and CLI accept and return for reports, indicators, tags and sightings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from commonspace.domain.codes import country_problem, currency_problem
from commonspace.domain.taxonomy import category_problem
from commonspace.domain.vocab import (
    TLP,
    Distribution,
    IndicatorType,
    ReportStatus,
    SightingKind,
    ThreatLevel,
    tlp_violation,
)

Tag = Annotated[str, Field(min_length=1, max_length=300)]
# An instant with its time zone, given back in UTC as the database stores it (whatever the input's offset).
Instant = Annotated[AwareDatetime, AfterValidator(lambda value: value.astimezone(UTC))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Loss(Strict):
    """An estimated financial loss: a decimal amount in an ISO 4217 currency."""

    # 15 digits: SQLite keeps NUMERIC as a double, exact to 15 significant digits only.
    amount: Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=2)]
    currency: str

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        problem = currency_problem(value.upper())
        if problem:
            raise ValueError(problem)
        return value.upper()


def _check_countries(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    out = []
    for value in values:
        problem = country_problem(value.upper())
        if problem:
            raise ValueError(problem)
        out.append(value.upper())
    return sorted(set(out))


def _check_category(value: str | None) -> str | None:
    if value is None:
        return None
    problem = category_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class IndicatorIn(Strict):
    type: IndicatorType | None = Field(None, description="Detected from the value when absent.")
    value: Annotated[str, Field(min_length=1, max_length=2048)]
    comment: str = ""
    to_detect: bool = True
    first_seen: Instant | None = None
    last_seen: Instant | None = None
    confidence: Annotated[int, Field(ge=0, le=100)] | None = None
    distribution: Distribution | None = Field(None, description="Narrows the report's distribution.")
    sharing_group: str | None = Field(
        None, description="UUID of the group when distribution is sharing-group."
    )
    tags: list[Tag] = []
    source_id: Annotated[str, Field(max_length=200)] | None = Field(
        None, description="Its identity where it came from (a STIX id, a MISP attribute uuid), if imported."
    )
    relation: Annotated[str, Field(max_length=100)] | None = Field(
        None, description="For a MISP object attribute: the object's name and the attribute's relation."
    )


class IndicatorPatch(Strict):
    uuid: str | None = Field(None, description="If given, must equal the UUID in the URL.")
    comment: str | None = None
    to_detect: bool | None = None
    first_seen: Instant | None = None
    last_seen: Instant | None = None
    confidence: Annotated[int, Field(ge=0, le=100)] | None = None
    distribution: Distribution | None = None
    sharing_group: str | None = None
    tags: list[Tag] | None = None


class BulkIndicators(Strict):
    indicators: Annotated[list[IndicatorIn], Field(max_length=100_000)]


class ReportFields(Strict):
    """Fields shared by creation and update."""

    summary: str | None = Field(None, description="Markdown.")
    category: str | None = Field(None, description="RSIT class/type, e.g. fraud/phishing.")
    threat_level: ThreatLevel | None = None
    victim_countries: list[str] | None = Field(None, description="ISO 3166-1 alpha-2 codes.")
    victim_sectors: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = None
    first_seen: Instant | None = None
    last_seen: Instant | None = None
    loss: Loss | None = None
    tags: list[Tag] | None = None

    _countries = field_validator("victim_countries")(classmethod(lambda cls, v: _check_countries(v)))
    _category = field_validator("category")(classmethod(lambda cls, v: _check_category(v)))


class ReportIn(ReportFields):
    title: Annotated[str, Field(min_length=1, max_length=500)]
    tlp: TLP = TLP.AMBER
    distribution: Distribution = Distribution.ORGANISATION
    sharing_group: str | None = Field(None, description="UUID or name of the group for sharing-group.")
    indicators: Annotated[list[IndicatorIn], Field(max_length=100_000)] = []

    @field_validator("distribution")
    @classmethod
    def _tlp_allows(cls, value: Distribution, info: ValidationInfo) -> Distribution:
        tlp = info.data.get("tlp")
        problem = tlp_violation(tlp, value) if tlp is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("sharing_group")
    @classmethod
    def _group_given(cls, value: str | None, info: ValidationInfo) -> str | None:
        distribution = info.data.get("distribution")
        if distribution is Distribution.SHARING_GROUP and not value:
            raise ValueError("distribution 'sharing-group' needs a sharing_group")
        if distribution is not None and distribution is not Distribution.SHARING_GROUP and value:
            raise ValueError("a sharing_group is only given with distribution 'sharing-group'")
        return value

    @model_validator(mode="after")
    def _group_needed(self) -> ReportIn:
        if self.distribution is Distribution.SHARING_GROUP and not self.sharing_group:
            raise ValueError("distribution 'sharing-group' needs a sharing_group")
        return self


class ReportPatch(ReportFields):
    uuid: str | None = Field(None, description="If given, must equal the UUID in the URL.")
    version: int | None = Field(None, description="If given, the update fails when the report has changed.")
    title: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    tlp: TLP | None = None
    distribution: Distribution | None = None
    sharing_group: str | None = None


def check_sharing(tlp: TLP, distribution: Distribution, group: str | None) -> None:
    problem = tlp_violation(tlp, distribution)
    if problem:
        raise ValueError(problem)
    if distribution is Distribution.SHARING_GROUP and not group:
        raise ValueError("distribution 'sharing-group' needs a sharing_group")
    if distribution is not Distribution.SHARING_GROUP and group:
        raise ValueError("a sharing_group is only given with distribution 'sharing-group'")


class OrgRef(BaseModel):
    uuid: str
    name: str
    kind: str
    country: str | None


class GroupRef(BaseModel):
    uuid: str
    name: str


class ReportOut(BaseModel):
    uuid: str
    title: str
    summary: str
    category: str | None
    threat_level: ThreatLevel
    victim_countries: list[str]
    victim_sectors: list[str]
    first_seen: datetime | None
    last_seen: datetime | None
    loss: Loss | None
    tlp: TLP
    distribution: Distribution
    sharing_group: GroupRef | None
    status: ReportStatus
    organisation: OrgRef
    created: datetime
    modified: datetime
    published: datetime | None
    version: int
    tags: list[str]
    indicator_count: int
    comments: int = Field(description="The number of posts in the report's discussion thread.")


class WarninglistRef(BaseModel):
    id: str = Field(description="The list's id: its file name without .json, as in MISP's repository.")
    name: str


class IndicatorOut(BaseModel):
    uuid: str
    report: str
    tlp: TLP = Field(description="The report's TLP, which travels with the indicator.")
    type: IndicatorType
    value: str
    canonical: str
    comment: str
    to_detect: bool
    first_seen: datetime | None
    last_seen: datetime | None
    confidence: int | None
    distribution: Distribution | None
    sharing_group: GroupRef | None
    tags: list[str]
    created: datetime
    modified: datetime
    source_id: str | None = None
    relation: str | None = None
    warninglists: list[WarninglistRef] = Field(
        [],
        description="The warninglists (lists of known-benign values) the value was on when it was stored, "
        "last changed or last checked; empty when on none.",
    )


class SightingIn(Strict):
    seen: Instant | None = None
    source: Annotated[str, Field(max_length=300)] = ""
    count: Annotated[int, Field(ge=1)] = 1
    kind: SightingKind = SightingKind.SIGHTING


class SightingOut(BaseModel):
    uuid: str
    indicator: str
    organisation: OrgRef
    seen: datetime
    source: str
    count: int
    kind: SightingKind


class SearchHit(BaseModel):
    """An indicator found by a search, with enough of its report to act on it."""

    indicator: IndicatorOut
    report_uuid: str
    report_title: str
    report_tlp: TLP
    organisation: OrgRef
    matched: list[str] = Field(description="The query values this indicator answers.")

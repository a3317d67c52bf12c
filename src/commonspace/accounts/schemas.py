"""What the API accepts and returns for organisations, members and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from commonspace.domain.vocab import OrgKind, Role


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisationIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: OrgKind
    country: str | None = Field(None, description="ISO 3166-1 alpha-2; none for international organisations.")
    sector: str | None = None
    contact: str | None = None


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uuid: str
    name: str
    kind: OrgKind
    country: str | None
    sector: str | None
    contact: str | None
    created: datetime


class MemberIn(Strict):
    email: Annotated[str, Field(min_length=3, max_length=320)]
    organisation: str = Field(description="UUID or name of the organisation.")
    role: Role
    name: str = ""
    password: Annotated[str, Field(min_length=12, max_length=1000)] | None = None


class MemberPatch(Strict):
    uuid: str | None = Field(None, description="If given, must equal the UUID in the URL.")
    role: Role | None = None
    disabled: bool | None = None
    name: str | None = None
    password: Annotated[str, Field(min_length=12, max_length=1000)] | None = None


class MemberOut(BaseModel):
    uuid: str
    email: str
    name: str
    organisation: str
    organisation_name: str
    role: Role
    disabled: bool
    created: datetime


class ApiKeyIn(Strict):
    name: str = ""
    read_only: bool = False
    expires: AwareDatetime | None = None


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uuid: str
    name: str
    prefix: str
    read_only: bool
    created: datetime
    expires: datetime | None
    revoked: datetime | None
    last_used: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself: shown this once, never again.")

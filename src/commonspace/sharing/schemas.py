"""What the API accepts and returns for sharing groups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    members: list[str] = Field([], description="UUIDs or names of the member organisations besides yours.")


class GroupMemberIn(Strict):
    organisation: str


class GroupOut(BaseModel):
    uuid: str
    name: str
    description: str
    owner: str
    owner_name: str
    members: list[str]
    bilateral: bool
    created: datetime

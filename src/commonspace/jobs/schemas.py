"""The wire form of a job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from commonspace.jobs.service import JobState


class JobOut(BaseModel):
    """A job as its submitter, its organisation's admins and site admins see it."""

    model_config = ConfigDict(from_attributes=True)

    uuid: str
    kind: str
    state: JobState
    progress: int
    total: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None
    attempts: int

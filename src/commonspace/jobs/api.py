"""REST endpoints for jobs: see their state and progress, cancel them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from commonspace.domain.errors import NotFound
from commonspace.jobs import service as jobs
from commonspace.jobs.schemas import JobOut
from commonspace.jobs.service import JobState
from commonspace.store import tables as t
from commonspace.web.deps import DB, Reader, Writer

router = APIRouter(tags=["jobs"])


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(
    session: DB,
    subject: Reader,
    state: JobState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[t.Job]:
    return jobs.list_jobs(session, subject, state, limit)


@router.get("/jobs/{uuid}", response_model=JobOut)
def get_job(uuid: str, session: DB, subject: Reader) -> t.Job:
    job = jobs.get(session, subject, uuid)
    if job is None:
        raise NotFound(f"no job {uuid!r}")
    return job


@router.post("/jobs/{uuid}/cancel", response_model=JobOut)
def cancel_job(uuid: str, session: DB, subject: Writer) -> t.Job:
    job = jobs.request_cancel(session, subject, uuid)
    if job is None:
        raise NotFound(f"no job {uuid!r}")
    return job

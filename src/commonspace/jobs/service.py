"""The job queue: submitting, seeing, cancelling, claiming and recovering jobs.

Every function works inside the caller's session and transaction. The state changes a worker makes
(``claim``, ``heartbeat``, ``finish``, ``recover_stale``) are single guarded UPDATEs, so that they stay
correct with several workers, in threads or in processes, on SQLite and on PostgreSQL. A running job is
fenced by its (worker, attempts) pair: once a job has been recovered from a lost worker, that worker's
late writes match no row and change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, String, and_, false, func, or_, select, true, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from commonspace.domain.errors import Forbidden, Invalid
from commonspace.domain.vocab import Role
from commonspace.policy import Subject
from commonspace.store.tables import Job, utcnow


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
DEFAULT_MAX_ATTEMPTS = 3
MAX_LIST_LIMIT = 500


class JobCancelled(Exception):
    """Raised in a handler (by ``JobContext.progress``) when cancellation of its job was requested."""


class JobLost(Exception):
    """The job is no longer this worker's: it was recovered as stale and re-queued, failed or cancelled."""


# --- visibility -----------------------------------------------------------------------------------


def can_see_job(subject: Subject | None, job: Job) -> bool:
    """Its own member, the org admins of its organisation, and site admins."""
    if subject is None:
        return False
    if subject.is_site_admin or (job.member_id is not None and job.member_id == subject.member_id):
        return True
    return subject.role is Role.ORG_ADMIN and job.org_id is not None and job.org_id == subject.org_id


def job_filter(subject: Subject | None) -> ColumnElement[bool]:
    """``can_see_job`` as a WHERE clause on ``job``."""
    if subject is None:
        return false()
    if subject.is_site_admin:
        return true()
    own: ColumnElement[bool] = Job.member_id == subject.member_id
    return or_(own, Job.org_id == subject.org_id) if subject.role is Role.ORG_ADMIN else own


# --- the subject's side ---------------------------------------------------------------------------


def submit(
    session: Session,
    subject: Subject | None,
    kind: str,
    params: dict[str, Any],
    total: int | None = None,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    """Queue a job; ``subject`` None is a system job, seen by site admins only. ``params`` must be JSON."""
    if not kind or len(kind) > 60:
        raise Invalid("a job kind is 1 to 60 characters", field="kind")
    if max_attempts < 1:
        raise Invalid("max_attempts must be at least 1", field="max_attempts")
    if total is not None and total < 0:
        raise Invalid("total must not be negative", field="total")
    job = Job(
        kind=kind,
        state=JobState.QUEUED.value,
        params=dict(params),
        total=total,
        member_id=subject.member_id if subject else None,
        org_id=subject.org_id if subject else None,
        max_attempts=max_attempts,
    )
    session.add(job)
    session.flush()
    return job


def record_finished(
    session: Session,
    subject: Subject | None,
    kind: str,
    params: dict[str, Any],
    result: dict[str, Any],
    total: int | None = None,
) -> Job:
    """A job for work already done within a request (a TAXII import): kept, succeeded, as its record.

    It is seen like any other job (its member, their org admins, site admins) and no worker takes it.
    """
    job = submit(session, subject, kind, params, total)  # unseen by workers until this transaction commits
    now = utcnow()
    job.state = JobState.SUCCEEDED.value
    job.result = result
    job.progress = total or 0
    job.attempts = 1
    job.started = job.heartbeat = job.finished = now
    session.flush()
    return job


def get(session: Session, subject: Subject | None, uuid: str) -> Job | None:
    """The job, or None when it does not exist or ``subject`` may not see it (the two look the same)."""
    job = session.scalars(select(Job).where(Job.uuid == uuid)).one_or_none()
    return job if job is not None and can_see_job(subject, job) else None


def list_jobs(
    session: Session,
    subject: Subject | None,
    state: JobState | str | None = None,
    limit: int = 50,
    *,
    kind: str | None = None,
) -> list[Job]:
    """The jobs ``subject`` may see, newest first."""
    stmt = select(Job).where(job_filter(subject))
    if state is not None:
        stmt = stmt.where(Job.state == JobState(state).value)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    return list(session.scalars(stmt.order_by(Job.id.desc()).limit(limit)))


def request_cancel(session: Session, subject: Subject, uuid: str) -> Job | None:
    """Cancel a queued job at once; mark a running one, whose handler stops at its next progress report.

    Returns the job as it now is (a finished job is left as it was), or None when it is not visible.
    The guarded UPDATEs come before any read: on SQLite a transaction that read first could not then
    write once a worker had written meanwhile.
    """
    if not subject.can_write:
        if get(session, subject, uuid) is None:
            return None
        raise Forbidden("a read-only key cannot cancel jobs")
    mine = (Job.uuid == uuid) & job_filter(subject)
    queued = _update(
        session,
        update(Job)
        .where(mine, Job.state == JobState.QUEUED.value)
        .values(state=JobState.CANCELLED.value, cancel_requested=True, finished=utcnow()),
    )
    if not queued:
        _update(
            session,
            update(Job).where(mine, Job.state == JobState.RUNNING.value).values(cancel_requested=True),
        )
    job = session.scalars(
        select(Job).where(Job.uuid == uuid).execution_options(populate_existing=True)
    ).one_or_none()
    return job if job is not None and can_see_job(subject, job) else None


# --- the worker's side ----------------------------------------------------------------------------


def claim(session: Session, worker_id: str) -> Job | None:
    """Atomically take the oldest queued job for ``worker_id``: it becomes running, one attempt more.

    Run it first in a transaction of its own and commit at once. PostgreSQL locks the row with
    ``FOR UPDATE SKIP LOCKED`` so concurrent workers pass over it; SQLite has a single writer, so one
    guarded UPDATE (the transaction's first statement, taken under the write lock) is enough.
    """
    now = utcnow()
    worker_id = worker_id[:200]
    running = {"state": JobState.RUNNING.value, "worker": worker_id, "started": now, "heartbeat": now}
    if session.get_bind().dialect.name == "postgresql":
        job = session.scalars(
            select(Job)
            .where(Job.state == JobState.QUEUED.value)
            .order_by(Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).one_or_none()
        if job is None:
            return None
        for name, value in running.items():
            setattr(job, name, value)
        job.attempts += 1
        session.flush()
        return job
    oldest = select(Job.id).where(Job.state == JobState.QUEUED.value).order_by(Job.id).limit(1)
    taken = _update(
        session,
        update(Job)
        .where(Job.id == oldest.scalar_subquery(), Job.state == JobState.QUEUED.value)
        .values(attempts=Job.attempts + 1, **running),
    )
    if taken != 1:
        return None
    # Still inside the write transaction: nobody else has written since, so this finds our row.
    return session.scalars(
        select(Job)
        .where(Job.state == JobState.RUNNING.value, Job.worker == worker_id, Job.started == now)
        .order_by(Job.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    ).one()


def _fenced(job_id: int, worker_id: str, attempt: int) -> ColumnElement[bool]:
    """The job, only while this worker's attempt still runs it."""
    return and_(
        Job.id == job_id,
        Job.state == JobState.RUNNING.value,
        Job.worker == worker_id[:200],
        Job.attempts == attempt,
    )


def heartbeat(
    session: Session,
    job_id: int,
    worker_id: str,
    attempt: int,
    done: int | None = None,
    total: int | None = None,
) -> bool:
    """Record progress and liveness; True when cancellation was requested. Raises ``JobLost``."""
    values: dict[str, Any] = {"heartbeat": utcnow()}
    if done is not None:
        values["progress"] = done
    if total is not None:
        values["total"] = total
    if not _update(session, update(Job).where(_fenced(job_id, worker_id, attempt)).values(**values)):
        raise JobLost(f"job {job_id} is no longer run by {worker_id} (attempt {attempt})")
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def finish(
    session: Session,
    job_id: int,
    worker_id: str,
    attempt: int,
    state: JobState,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """End a running job in a final state; False when it was no longer this worker's (nothing changed)."""
    if state not in FINAL_STATES:
        raise ValueError(f"{state} is not a final state")
    now = utcnow()
    values: dict[str, Any] = {"state": state.value, "finished": now, "heartbeat": now, "error": error}
    if result is not None:
        values["result"] = result
    return bool(_update(session, update(Job).where(_fenced(job_id, worker_id, attempt)).values(**values)))


def recover_stale(session: Session, older_than: timedelta, *, dead: Sequence[int] = ()) -> int:
    """Take back running jobs whose heartbeat is older than ``older_than``, or whose worker is known
    to be dead (``dead``: job ids); returns how many.

    Their worker died or the server restarted. A job whose cancellation was requested becomes
    cancelled; one with attempts left goes back to the queue; the others fail ("worker lost after N
    attempts"). Each is one guarded UPDATE, so a heartbeat written meanwhile keeps its job running.
    """
    now = utcnow()
    old = func.coalesce(Job.heartbeat, Job.started, Job.created) < now - older_than
    stale = (Job.state == JobState.RUNNING.value) & (or_(old, Job.id.in_(list(dead))) if dead else old)
    lost = "worker lost after " + sql_cast(Job.attempts, String) + " attempts"
    cancelled = {"state": JobState.CANCELLED.value, "finished": now, "error": "cancelled; worker lost"}
    failed = {"state": JobState.FAILED.value, "finished": now, "error": lost}
    queued = {"state": JobState.QUEUED.value, "worker": None, "heartbeat": None, "progress": 0}
    changes: list[tuple[ColumnElement[bool], dict[str, Any]]] = [
        (Job.cancel_requested.is_(True), cancelled),  # first: these must not run again
        (Job.attempts >= Job.max_attempts, failed),
        (Job.attempts < Job.max_attempts, queued),
    ]
    count = 0
    for condition, values in changes:
        count += _update(session, update(Job).where(stale, condition).values(**values))
    return count


def running_on(session: Session, host: str) -> list[tuple[int, str]]:
    """(job id, worker id) of the jobs running under workers of ``host``."""
    rows = session.execute(
        select(Job.id, Job.worker).where(
            Job.state == JobState.RUNNING.value, Job.worker.startswith(host + ":")
        )
    ).all()
    return [(job_id, worker) for job_id, worker in rows if worker]


def _update(session: Session, stmt: Any) -> int:
    """Run an UPDATE without touching the identity map; the number of rows it changed."""
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return cast(CursorResult[Any], result).rowcount

"""Matching an uploaded log in the background: job kind ``logs.match``.

The upload is kept in the spool (``COMMONSPACE_SPOOL``, by default ``var/spool`` beside the default
SQLite database) until its job has run: ``uploads/<job uuid>.log``. The handler matches it against the
indicators the submitter may see *when the job runs* (the member is looked up afresh: one removed or
disabled meanwhile fails the job), writes the hits as JSON Lines to ``results/<job uuid>.jsonl``, may
record a sighting of each indicator hit, and deletes the upload whatever the outcome. Only a worker that
lost its job (``JobLost``) leaves the upload, to the attempt that took the job over.

The hits are kept as long as the spool keeps them: jobs are never deleted, so neither are their results
(remove old ones from ``results/`` by hand or with a periodic ``find -mtime``). Uploads that no job will
read — of a job cancelled while queued, of a request that failed before its job was committed — are
swept at the start of each match job.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.accounts import service as accounts
from commonspace.domain.errors import Forbidden, Invalid, NotFound
from commonspace.engine.local import LogSummary, Result, match_logs
from commonspace.engine.readers import FORMATS
from commonspace.jobs import service as jobs
from commonspace.jobs.runner import JobContext, JobLost
from commonspace.jobs.service import FINAL_STATES, JobState
from commonspace.matching import service as matching
from commonspace.matching.watchlist import Watchlist
from commonspace.policy import Subject
from commonspace.store import tables as t
from commonspace.store.db import DEFAULT_URL
from commonspace.warninglists import service as warninglists

KIND = "logs.match"
SPOOL_VARIABLE = "COMMONSPACE_SPOOL"
LIMIT_VARIABLE = "COMMONSPACE_MATCH_UPLOAD_LIMIT"
DEFAULT_SPOOL = Path(make_url(DEFAULT_URL).database or "var/commonspace.db").parent / "spool"
DEFAULT_UPLOAD_LIMIT = 1 << 30  # 1 GiB
TOP_INDICATORS = 100  # the indicators hit listed in the job's result, most hit first
PROGRESS_SECONDS = 1.0  # at most one progress report (a write transaction) a second
STALE_SECONDS = 3600  # an upload no job claims, untouched this long, is swept
READ_CHUNK = 1 << 20

logger = logging.getLogger(__name__)

_SIZE = re.compile(r"(\d+)\s*([KMGT]?)(?:I?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


# --- settings and the spool -------------------------------------------------------------------------


def spool_directory() -> Path:
    """Where uploads wait for their job and hits are kept: ``COMMONSPACE_SPOOL``, else ``var/spool``."""
    value = os.environ.get(SPOOL_VARIABLE, "").strip()
    return Path(value) if value else DEFAULT_SPOOL


def upload_limit() -> int:
    """The largest log accepted, in bytes: ``COMMONSPACE_MATCH_UPLOAD_LIMIT`` (``500M``, ``2G``, or a
    number of bytes), else 1 GiB. Raises ``ValueError`` for a value that is not a size."""
    raw = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_UPLOAD_LIMIT
    found = _SIZE.fullmatch(raw)
    if found is None or int(found.group(1)) < 1:
        raise ValueError(f"{LIMIT_VARIABLE} must be a size such as 1073741824, 500M or 2G, not {raw!r}")
    return int(found.group(1)) * _UNITS[found.group(2).upper()]


def uploads_directory() -> Path:
    return spool_directory() / "uploads"


def results_directory() -> Path:
    return spool_directory() / "results"


def upload_path(job_uuid: str) -> Path:
    return uploads_directory() / f"{job_uuid}.log"


def result_path(job_uuid: str) -> Path:
    return results_directory() / f"{job_uuid}.jsonl"


def log_name(filename: str | None) -> str:
    """What the hits call the uploaded log: the file's own name, without any folder."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    return name[:200] or "upload"


# --- submitting -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchOptions:
    format: str = "auto"
    record_sightings: bool = False
    exclude_warninglisted: bool = False


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise Invalid(f"unknown log format {value!r}: one of {', '.join(FORMATS)}", field="format")
    return value


def check_sightings(subject: Subject) -> None:
    """Refuse at once what the job would refuse: readers and read-only keys record no sightings."""
    if not policy.can_record_sighting(subject):
        raise Forbidden("readers and read-only keys cannot record sightings", field="record_sightings")


def submit_match(
    session: Session, subject: Subject, upload: Path, filename: str, options: MatchOptions
) -> t.Job:
    """Queue the match of the log at ``upload`` (a file in the spool's uploads), which moves to the job's
    place there. Should the transaction then fail, the caller deletes :func:`upload_path` of the job."""
    check_format(options.format)
    if options.record_sightings:
        check_sightings(subject)
    size = upload.stat().st_size
    params = {
        "log": log_name(filename),
        "size": size,
        "format": options.format,
        "record_sightings": options.record_sightings,
        "exclude_warninglisted": options.exclude_warninglisted,
    }
    job = jobs.submit(session, subject, KIND, params, total=size)
    # Before the commit: a worker may claim the job the moment it is committed.
    upload.replace(upload_path(job.uuid))
    return job


# --- running ----------------------------------------------------------------------------------------


def run_match(ctx: JobContext) -> dict[str, Any]:
    """The handler: match the upload, keep the hits, maybe record sightings; the upload goes at the end."""
    upload = upload_path(ctx.uuid)
    partial = results_directory() / f"{ctx.uuid}.{ctx.attempt}.partial"
    lost = False
    try:
        return _run(ctx, upload, partial)
    except JobLost:
        lost = True  # another attempt runs the job now, and needs the upload
        raise
    finally:
        partial.unlink(missing_ok=True)
        if not lost:
            upload.unlink(missing_ok=True)


def _subject(session: Session, ctx: JobContext) -> Subject:
    member = session.get(t.Member, ctx.member_id) if ctx.member_id is not None else None
    if member is None or member.disabled:
        raise NotFound(
            "the member who submitted this match has been removed or disabled; nothing was matched"
        )
    return accounts.subject_for(session, member, via="job")


def _run(ctx: JobContext, upload: Path, partial: Path) -> dict[str, Any]:
    params = ctx.params
    fmt = check_format(str(params.get("format", "auto")))
    record = bool(params.get("record_sightings"))
    name = str(params.get("log") or "upload")
    try:
        size = upload.stat().st_size
    except FileNotFoundError:
        raise NotFound(
            f"the uploaded log is not in the spool ({SPOOL_VARIABLE}); the web server and the workers must "
            "share it"
        ) from None
    ctx.progress(0, size)
    lists = warninglists.active().lists if params.get("exclude_warninglisted") else None
    with ctx.session() as session:
        # A read: without the write lock the worker's sessions take first on SQLite, held otherwise for
        # as long as the watchlist takes to build.
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        _sweep(session)
        subject = _subject(session, ctx)
        if record:
            check_sightings(subject)
        watchlist = matching.visible_watchlist(session, subject, warninglists=lists)
    results_directory().mkdir(parents=True, exist_ok=True)
    reported = time.monotonic()

    def progress(done: int) -> None:
        nonlocal reported
        now = time.monotonic()
        if now - reported >= PROGRESS_SECONDS:
            reported = now
            ctx.progress(min(done, size), size)  # raises JobCancelled: the match stops there

    try:
        with partial.open("wb") as out:
            result = match_logs(
                [upload],
                watchlist.index,
                fmt=fmt,
                write=out.write,
                describe=watchlist.describe,
                workers=1,
                progress=progress,
                names=[name],
            )
    except OSError as exc:
        raise RuntimeError(f"the log could not be read: {exc.strerror or exc}") from None
    ctx.progress(size, size)  # the last chance to cancel, before anything is recorded
    sightings = None
    with ctx.session() as session:
        subject = _subject(session, ctx)  # as it is now: the match may have taken long
        if record:
            sightings = matching.record_sightings(
                session,
                subject,
                watchlist,
                dict(result.tally.by_ref),
                source=f"match: {name} (job {ctx.uuid})",
            )
        matching.audit_reads(session, subject, watchlist, result.tally.by_ref)
    partial.replace(result_path(ctx.uuid))
    return _summary(result, watchlist, sightings)


def _summary(result: Result, watchlist: Watchlist, sightings: int | None) -> dict[str, Any]:
    reports: dict[tuple[str, str], set[str]] = {}
    for ref in result.tally.by_ref:
        type_, value = watchlist.entries[ref]
        reports.setdefault((type_.value, value), set()).add(watchlist.reports[ref])
    top = [
        {"type": type_.value, "value": value, "hits": count, "reports": sorted(reports[type_.value, value])}
        for (type_, value), count in result.tally.by_indicator.most_common(TOP_INDICATORS)
    ]
    (log,) = result.logs
    return {
        "hits": result.tally.hits,
        "indicators_hit": len(result.tally.by_indicator),
        "indicators": top,
        "log": _log(log),
        "indicators_matched": len(watchlist.entries),
        "excluded_warninglisted": watchlist.excluded,
        "sightings_recorded": sightings,
    }


def _log(log: LogSummary) -> dict[str, Any]:
    return {
        "name": log.path,
        "format": log.format,
        "size": log.size,
        "skipped_lines": log.skipped,
        "first_skipped": log.skipped_lines,
        "read_error": log.read_error,
    }


def _sweep(session: Session) -> int:
    """Delete the spool's files no job will use: uploads and partial hits of jobs that have ended (a job
    cancelled while queued never ran to delete its upload), and uploads no job owns that have not been
    written to for an hour (a request that failed, a server that stopped during an upload)."""
    owners: dict[str, list[Path]] = {}
    now = time.time()
    removed = 0

    def stale(path: Path) -> bool:
        try:
            return now - path.stat().st_mtime > STALE_SECONDS
        except FileNotFoundError:
            return False

    def remove(path: Path) -> None:
        nonlocal removed
        path.unlink(missing_ok=True)
        removed += 1

    try:
        for path in _files(uploads_directory()):
            if path.suffix == ".log":
                owners.setdefault(path.stem, []).append(path)
            elif stale(path):
                remove(path)
        for path in _files(results_directory()):
            if path.suffix == ".partial":
                owners.setdefault(path.name.split(".", 1)[0], []).append(path)
        uuids = sorted(owners)
        states: dict[str, str] = {}
        for start in range(0, len(uuids), 1000):
            chunk = uuids[start : start + 1000]
            rows = session.execute(select(t.Job.uuid, t.Job.state).where(t.Job.uuid.in_(chunk)))
            states.update({job_uuid: state for job_uuid, state in rows})
        final = {state.value for state in FINAL_STATES}
        for job_uuid, paths in owners.items():
            state = states.get(job_uuid)
            for path in paths:
                if state in final or (state is None and stale(path)):
                    remove(path)
    except OSError:
        logger.warning("the spool %s could not be swept", spool_directory(), exc_info=True)
    if removed:
        logger.info("swept %d file(s) no job uses from the spool", removed)
    return removed


def _files(directory: Path) -> list[Path]:
    try:
        return [path for path in directory.iterdir() if path.is_file()]
    except FileNotFoundError:
        return []


# --- the hits ---------------------------------------------------------------------------------------


def open_hits(session: Session, subject: Subject, job_uuid: str) -> IO[bytes]:
    """The hits of a match job, open for reading; ``NotFound`` when the job is not visible to ``subject``
    (the same as a job that does not exist), is of another kind, has not succeeded, or its hits are gone."""
    job = jobs.get(session, subject, job_uuid)
    if job is None or job.kind != KIND:
        raise NotFound(f"no job {job_uuid!r}")
    if job.state != JobState.SUCCEEDED.value:
        raise NotFound(f"job {job_uuid} has no hits: it is {job.state}")
    try:
        return result_path(job.uuid).open("rb")
    except FileNotFoundError:
        raise NotFound(f"the hits of job {job_uuid} are no longer kept") from None


def read_hits(file: IO[bytes], offset: int = 0, limit: int | None = None) -> Iterator[bytes]:
    """The file's lines from line ``offset`` (from 0), at most ``limit`` of them, in chunks; closes it."""
    try:
        skip, left = offset, limit
        while left is None or left > 0:
            data = file.read(READ_CHUNK)
            if not data:
                return
            if skip:
                newlines = data.count(b"\n")
                if newlines < skip:
                    skip -= newlines
                    continue
                data, skip = data[_after_newlines(data, skip) :], 0
            if left is not None:
                newlines = data.count(b"\n")
                if newlines >= left:
                    yield data[: _after_newlines(data, left)]
                    return
                left -= newlines
            if data:
                yield data
    finally:
        file.close()


def _after_newlines(data: bytes, count: int) -> int:
    """The position just after the ``count``-th newline of ``data`` (which has that many)."""
    position = -1
    for _ in range(count):
        position = data.index(b"\n", position + 1)
    return position + 1

"""REST endpoints to match a log against the indicators the caller may see: an upload becomes a job; its
hits are read as JSON Lines once it has run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from commonspace.domain.errors import Invalid
from commonspace.engine.readers import FORMATS
from commonspace.jobs.schemas import JobOut
from commonspace.matching import background
from commonspace.policy import Subject
from commonspace.store import tables as t
from commonspace.store.db import mark_reading, run_queued_writes, transaction
from commonspace.web.deps import DB, Reader, current_subject, writer
from commonspace.web.uploads import Upload, receive_file

router = APIRouter(tags=["matching"])

LOG_FIELD = "log"
FIELDS = ("format", "record_sightings", "exclude_warninglisted")
NDJSON = "application/x-ndjson"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [LOG_FIELD],
                    "properties": {
                        LOG_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "The log, plain or gzip (1 GiB at most by default).",
                        },
                        "format": {
                            "type": "string",
                            "enum": list(FORMATS),
                            "default": "auto",
                            "description": "The log's format; auto detects it.",
                        },
                        "record_sightings": {
                            "type": "boolean",
                            "default": False,
                            "description": "Record a sighting of each indicator hit, by your organisation.",
                        },
                        "exclude_warninglisted": {
                            "type": "boolean",
                            "default": False,
                            "description": "Leave out the indicators on the instance's warninglists.",
                        },
                    },
                }
            }
        },
    }
}


def _boolean(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise Invalid(f"{name}: {value!r} is not a boolean (true or false)", field=name)


def _authenticated_writer(request: Request) -> Subject:
    """The caller, from a short reading transaction of its own: the request's transaction would otherwise
    stay open (on SQLite, holding the write lock) for as long as the upload takes."""
    with request.app.state.sessions() as session:
        mark_reading(session)
        with session.begin():
            subject = current_subject(request, session)
        run_queued_writes(session, request.app.state.write_sessions)
    return writer(subject)


def _submit(request: Request, subject: Subject, upload: Upload, options: background.MatchOptions) -> t.Job:
    queued: list[t.Job] = []
    try:
        with transaction(request.app.state.write_sessions) as session:
            queued.append(
                background.submit_match(session, subject, upload.path, upload.filename or "", options)
            )
    except BaseException:
        for job in queued:  # its upload moved into the spool, but the job was never committed
            background.upload_path(job.uuid).unlink(missing_ok=True)
        raise
    return queued[0]


@router.post(
    "/match",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    openapi_extra=UPLOAD_BODY,
    responses={413: {"description": "The log is larger than the limit."}},
)
async def submit_match(request: Request) -> JobOut:
    """Match a log (multipart field ``log``) against the indicators you may see, as a background job.

    The answer is the job (kind ``logs.match``), to follow at /jobs/{uuid}; once it has succeeded its
    ``result`` sums up the hits, and /match/{uuid}/hits gives them all as JSON Lines.
    """
    subject = await run_in_threadpool(_authenticated_writer, request)
    options: dict[str, Any] = {}

    def check(name: str, value: str) -> None:
        if name == "format":
            options[name] = background.check_format(value or "auto")
        else:
            options[name] = _boolean(name, value)
            if name == "record_sightings" and options[name]:
                background.check_sightings(subject)

    upload = await receive_file(
        request,
        file_field=LOG_FIELD,
        directory=background.uploads_directory(),
        limit=background.upload_limit(),
        fields=FIELDS,
        check=check,
    )
    try:
        job = await run_in_threadpool(_submit, request, subject, upload, background.MatchOptions(**options))
    finally:
        upload.discard()  # gone already when the job took it
    return JobOut.model_validate(job)


@router.get(
    "/match/{uuid}/hits",
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}}, "description": "One JSON object a line, a hit each."}},
)
def match_hits(
    uuid: str,
    session: DB,
    subject: Reader,
    offset: Annotated[int, Query(ge=0, description="Lines to skip.")] = 0,
    limit: Annotated[int | None, Query(ge=1, description="Lines to give at most; all by default.")] = None,
) -> StreamingResponse:
    """The hits of a match job that has succeeded, as JSON Lines: one line per record, field and
    indicator hit, with the reports (UUIDs) you could see the indicator in when the job ran."""
    hits = background.open_hits(session, subject, uuid)
    return StreamingResponse(background.read_hits(hits, offset, limit), media_type=NDJSON)

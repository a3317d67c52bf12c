"""Indicator imports too large for one request, run by the job runner.

The handler validates every value first, reporting progress as it goes (that is the long part, and it
writes nothing), then adds them all in one transaction: the import is all or nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from commonspace.accounts import service as accounts
from commonspace.domain.errors import Invalid, NotFound
from commonspace.jobs import service as jobs
from commonspace.jobs.runner import JobContext
from commonspace.policy import Subject
from commonspace.reports import indicators, schemas
from commonspace.reports.service import editable_report
from commonspace.store import tables as t

KIND = "indicators.import"
PROGRESS_EVERY = 5_000


def submit_import(
    session: Session, subject: Subject, report_uuid: str, items: list[schemas.IndicatorIn]
) -> t.Job:
    editable_report(session, subject, report_uuid)  # refuse at once what the job would refuse later
    params = {
        "report": report_uuid,
        "indicators": [i.model_dump(mode="json", exclude_defaults=True) for i in items],
    }
    return jobs.submit(session, subject, KIND, params, total=len(items))


def run_import(ctx: JobContext) -> dict[str, Any]:
    try:
        return _run_import(ctx)
    except Invalid as exc:  # the job's error is all its submitter sees: name the field, as the API does
        raise Invalid(f"{exc.field}: {exc.message}" if exc.field else exc.message, field=exc.field) from exc


def _run_import(ctx: JobContext) -> dict[str, Any]:
    if ctx.member_id is None:
        raise NotFound("the member who submitted this import no longer exists")
    items = []
    raw = ctx.params["indicators"]
    for i, data in enumerate(raw):
        item = schemas.IndicatorIn.model_validate(data)
        indicators.canonical_form(item.type, item.value, f"indicators.{i}.value")
        items.append(item)
        if i % PROGRESS_EVERY == 0:
            ctx.progress(i, len(raw))
    ctx.progress(len(raw), len(raw))
    with ctx.session() as session:
        member = session.get(t.Member, ctx.member_id)
        if member is None or member.disabled:
            raise NotFound("the member who submitted this import can no longer act")
        subject = accounts.subject_for(session, member, via="job")
        result = indicators.add_indicators(session, subject, ctx.params["report"], items)
    return {"report": ctx.params["report"], "added": result.added, "duplicates": result.duplicates}

"""REST endpoints to import a file and to export what a member may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field

from commonspace.domain.errors import Invalid
from commonspace.domain.vocab import TLP, Distribution
from commonspace.exchange import service
from commonspace.formats import files
from commonspace.formats.detect import InFormat, OutFormat
from commonspace.formats.model import FormatError
from commonspace.web.deps import DB, Reader, Writer

router = APIRouter(tags=["import and export"])

MAX_UPLOAD = 256 * 1024 * 1024


class ProblemOut(BaseModel):
    where: str
    reason: str
    object_id: str | None = None


class FoundOut(BaseModel):
    report: str
    type: str | None
    value: str


class ImportOut(BaseModel):
    reports_created: int
    reports_updated: int
    reports_unchanged: int
    indicators_added: int
    indicators_duplicate: int
    objects_added: int
    objects_unchanged: int
    notes: int = Field(description="Values of unsupported types, kept as lines of the report's summary.")
    narrowed: list[str] = Field(description="Reports kept to the organisation: their marking broke a rule.")
    skipped: list[ProblemOut] = Field(description="Items left out as invalid (with skip_invalid).")
    objects_read: int
    found: list[FoundOut] = Field([], description="With dry_run: the indicators the file holds.")


def _problem_fields(exc: FormatError) -> Invalid:
    message = "; ".join(str(p) for p in exc.problems[:10])
    more = f" (and {len(exc.problems) - 10} more)" if len(exc.problems) > 10 else ""
    return Invalid(f"{message}{more}; nothing was imported", field="body")


@router.post("/import", response_model=ImportOut, status_code=status.HTTP_201_CREATED)
async def import_file(
    request: Request,
    session: DB,
    subject: Writer,
    name: Annotated[
        str, Query(max_length=300, description="The file's name (helps to detect its format).")
    ] = "upload",
    format: Annotated[InFormat | None, Query(description="Omit to detect it.")] = None,
    tlp: Annotated[TLP | None, Query(description="For every report, whatever the file says.")] = None,
    distribution: Annotated[Distribution | None, Query(description="For every report.")] = None,
    sharing_group: str | None = None,
    skip_invalid: bool = False,
    dry_run: Annotated[
        bool, Query(description="Parse and show what would be imported; write nothing.")
    ] = False,
) -> ImportOut:
    """Import one file (the request body): STIX 2.1, MISP JSON, CSV, a list, or free text, HTML or PDF."""
    data = await request.body()
    if len(data) > MAX_UPLOAD:
        raise Invalid(f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MiB", field="body")
    try:
        exchange = files.read(name, data, format, skip_invalid=skip_invalid)
    except FormatError as exc:
        raise _problem_fields(exc) from exc
    if dry_run:
        summary = service.ImportSummary(skipped=exchange.problems, objects_read=exchange.objects_read)
        found = [
            FoundOut(report=r.title, type=i.type.value if i.type else None, value=i.value)
            for r in exchange.reports
            for i in r.indicators
        ]
        return _out(summary, found)
    options = service.ImportOptions(tlp=tlp, distribution=distribution, sharing_group=sharing_group)
    return _out(service.import_exchange(session, subject, exchange, options), [])


def _out(summary: service.ImportSummary, found: list[FoundOut]) -> ImportOut:
    return ImportOut(
        reports_created=summary.reports_created,
        reports_updated=summary.reports_updated,
        reports_unchanged=summary.reports_unchanged,
        indicators_added=summary.indicators_added,
        indicators_duplicate=summary.indicators_duplicate,
        objects_added=summary.objects_added,
        objects_unchanged=summary.objects_unchanged,
        notes=summary.notes,
        narrowed=summary.narrowed,
        skipped=[ProblemOut(where=p.where, reason=p.reason, object_id=p.object_id) for p in summary.skipped],
        objects_read=summary.objects_read,
        found=found,
    )


@router.get("/export", response_class=Response)
def export(
    session: DB,
    subject: Reader,
    format: OutFormat = OutFormat.STIX,
    report: Annotated[
        list[str] | None, Query(description="Only these reports (UUIDs); default: all you may see.")
    ] = None,
    list_: Annotated[
        str | None,
        Query(alias="list", description="For suricata: one of the hash lists the rules name (md5.lst…)."),
    ] = None,
    exclude_warninglisted: Annotated[
        bool | None,
        Query(
            description="Leave out the indicators on warninglists. Default: true for the detection formats "
            "(suricata, zeek, rpz, text), false for the others."
        ),
    ] = None,
) -> Response:
    """The reports you may see, with the indicators you may see, in one file."""
    exclude = service.excludes_warninglisted(format, exclude_warninglisted)
    exchange = service.export_exchange(session, subject, report_uuids=report, exclude_warninglisted=exclude)
    data, beside = files.write(exchange, format)
    if list_ is not None:
        if list_ not in beside and not (format is OutFormat.SURICATA and list_.endswith(".lst")):
            raise Invalid(f"no list {list_!r} in this export", field="list")
        data = beside.get(list_, b"")
    filename = f"commonspace{files.SUFFIXES[format]}" if list_ is None else list_
    return Response(
        data,
        media_type=files.MEDIA_TYPES[format] if list_ is None else "text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

"""The TAXII 2.1 endpoints under ``/taxii2/``: discovery, one API root, collections, objects, status.

They are not part of the REST API's OpenAPI description (``/api/v1``): TAXII describes itself. Every answer,
errors included (``web.errors``), has the media type ``application/taxii+json;version=2.1``; a request
whose Accept does not allow it gets 406, a POST of another Content-Type 415.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response, status
from starlette.exceptions import HTTPException

from commonspace.policy import Subject
from commonspace.taxii import service
from commonspace.taxii.service import MAX_CONTENT_LENGTH, MEDIA_TYPE
from commonspace.web import deps

DB = deps.DB  # committed before the answer is sent: added or deleted objects are so on the next request


def taxii_subject(request: Request, session: DB) -> Subject:
    return deps.current_subject(request, session)


Reader = Annotated[Subject, Depends(taxii_subject)]


class TaxiiResponse(Response):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _media_ranges(header: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(type/subtype in lower case, parameters) of each media range of an Accept or Content-Type header."""
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        params: dict[str, str] = {}
        for item in fields[1:]:
            name, _, value = item.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        yield fields[0].lower(), params


def _is_taxii(media: str, params: dict[str, str]) -> bool:
    """TAXII 2.1: ``application/taxii+json`` with ``version=2.1``, or with no version (the latest)."""
    return media == "application/taxii+json" and params.get("version", "2.1") == "2.1"


def acceptable(request: Request) -> None:
    """406 unless the Accept header (when there is one) allows the TAXII 2.1 media type."""
    header = request.headers.get("accept", "")
    if not header.strip():
        return
    for media, params in _media_ranges(header):
        try:
            weight = float(params.get("q", "1"))
        except ValueError:
            weight = 0.0
        if weight > 0 and (media in ("*/*", "application/*") or _is_taxii(media, params)):
            return
    raise HTTPException(
        status.HTTP_406_NOT_ACCEPTABLE,
        f"this server answers with {MEDIA_TYPE}, which the request's Accept header does not allow",
    )


async def envelope_body(request: Request) -> bytes:
    """The body of a POST: 415 unless it is TAXII 2.1, 413 beyond the API root's max_content_length."""
    ranges = list(_media_ranges(request.headers.get("content-type", "")))
    if len(ranges) != 1 or not _is_taxii(*ranges[0]):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"send the objects as {MEDIA_TYPE} (a TAXII envelope)"
        )
    too_large = HTTPException(413, f"the body is larger than {MAX_CONTENT_LENGTH} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_CONTENT_LENGTH:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_CONTENT_LENGTH:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


Body = Annotated[bytes, Depends(envelope_body)]

router = APIRouter(
    prefix="/taxii2",
    include_in_schema=False,
    dependencies=[Depends(acceptable)],
    default_response_class=TaxiiResponse,
)


def _filters(request: Request) -> service.Filters:
    query = request.query_params
    return service.parse_filters({name: query.getlist(name) for name in query})


def _paged(page: service.Page, name: str, items: list[Any]) -> TaxiiResponse:
    body: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        body["next"] = page.next
    body[name] = items
    headers: dict[str, str] = {}
    if page.items:
        dates = [entry.added for entry in page.items]
        headers["X-TAXII-Date-Added-First"] = min(dates)
        headers["X-TAXII-Date-Added-Last"] = max(dates)
    return TaxiiResponse(body, headers=headers)


@router.get("/")
def discovery(subject: Reader) -> TaxiiResponse:
    return TaxiiResponse(service.discovery())


@router.get("/api/")
def api_root(subject: Reader) -> TaxiiResponse:
    return TaxiiResponse(service.api_root())


@router.get("/api/collections/")
def collections(session: DB, subject: Reader) -> TaxiiResponse:
    found = service.collections(session, subject)
    return TaxiiResponse({"collections": [c.resource() for c in found]})


@router.get("/api/collections/{collection_id}/")
def collection(collection_id: str, session: DB, subject: Reader) -> TaxiiResponse:
    return TaxiiResponse(service.get_collection(session, subject, collection_id).resource())


@router.get("/api/collections/{collection_id}/objects/")
def get_objects(collection_id: str, request: Request, session: DB, subject: Reader) -> TaxiiResponse:
    page = service.objects(session, subject, collection_id, _filters(request))
    return _paged(page, "objects", [entry.obj for entry in page.items])


@router.post("/api/collections/{collection_id}/objects/", status_code=status.HTTP_202_ACCEPTED)
def add_objects(collection_id: str, body: Body, session: DB, subject: Reader) -> TaxiiResponse:
    # The body is read before the (writing) transaction begins, so that a slow upload holds no lock.
    result = service.add_objects(session, subject, collection_id, body)
    return TaxiiResponse(result, status_code=status.HTTP_202_ACCEPTED)


@router.get("/api/collections/{collection_id}/objects/{object_id}/")
def get_object(
    collection_id: str, object_id: str, request: Request, session: DB, subject: Reader
) -> TaxiiResponse:
    page = service.get_object(session, subject, collection_id, object_id, _filters(request))
    return _paged(page, "objects", [entry.obj for entry in page.items])


@router.delete("/api/collections/{collection_id}/objects/{object_id}/")
def delete_object(
    collection_id: str, object_id: str, request: Request, session: DB, subject: Reader
) -> Response:
    service.delete_object(session, subject, collection_id, object_id, _filters(request))
    return Response(status_code=status.HTTP_200_OK, media_type=MEDIA_TYPE)


@router.get("/api/collections/{collection_id}/objects/{object_id}/versions/")
def object_versions(
    collection_id: str, object_id: str, request: Request, session: DB, subject: Reader
) -> TaxiiResponse:
    page = service.object_versions(session, subject, collection_id, object_id, _filters(request))
    return _paged(page, "versions", [entry.version for entry in page.items])


@router.get("/api/collections/{collection_id}/manifest/")
def manifest(collection_id: str, request: Request, session: DB, subject: Reader) -> TaxiiResponse:
    page = service.objects(session, subject, collection_id, _filters(request))
    return _paged(page, "objects", [entry.manifest_record() for entry in page.items])


@router.get("/api/status/{status_id}/")
@router.get("/api/status/{status_id}")  # where the OASIS client looks after adding objects
def get_status(status_id: str, session: DB, subject: Reader) -> TaxiiResponse:
    return TaxiiResponse(service.get_status(session, subject, status_id))

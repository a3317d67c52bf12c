"""Errors: JSON for the API (``{"error": {"code": ..., "message": ..., "fields": [...]}}``), pages for pages.

A page for something the visitor may not see is the very page answered for something that does not exist.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from commonspace.domain.errors import CommonspaceError, Unauthenticated
from commonspace.taxii.service import MEDIA_TYPE as TAXII_MEDIA_TYPE
from commonspace.taxii.service import PREFIX as TAXII_PREFIX
from commonspace.web import auth
from commonspace.web.templating import render


def error_body(code: str, message: str, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts)


MACHINE_PREFIXES = ("/api/", "/taxii2/")


def wants_page(request: Request) -> bool:
    return not request.url.path.startswith(MACHINE_PREFIXES)


TAXII_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request entity too large",
    415: "Unsupported media type",
    422: "Unprocessable entity",
    500: "Internal server error",
}


def is_taxii(request: Request) -> bool:
    return request.url.path.startswith(TAXII_PREFIX) or request.url.path == TAXII_PREFIX.rstrip("/")


def taxii_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A TAXII 2.1 error message in the TAXII media type; 401 asks for HTTP Basic, as TAXII clients use."""
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="Commonspace TAXII"'
    body = {"title": TAXII_TITLES.get(status, "Error"), "description": message, "http_status": str(status)}
    return JSONResponse(body, status_code=status, headers=headers, media_type=TAXII_MEDIA_TYPE)


def error_page(request: Request, status: int, message: str) -> Response:
    """The HTML answer to a failed page request; 401 sends the visitor to sign in, then back."""
    if status == 401:
        target = "/sign-in?" + urlencode(
            {"next": request.url.path + (f"?{request.url.query}" if request.url.query else "")}
        )
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if not hasattr(request.state, "signed_in"):
        # No page dependency ran (no route matched): find the visitor, so that this not-found page is the
        # very one a hidden object's URL gets.
        with request.app.state.sessions() as session, session.begin():
            auth.signed_in(request, session)
    template = "errors/not_found.html" if status == 404 else "errors/error.html"
    return render(request, template, {"status": status, "message": message}, status=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(CommonspaceError)
    async def _domain(request: Request, exc: CommonspaceError) -> Response:
        if is_taxii(request):
            return taxii_error(exc.status, exc.message)
        if wants_page(request):
            return error_page(request, exc.status, exc.message)
        fields = [{"path": exc.field, "message": exc.message}] if exc.field else None
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return JSONResponse(
            error_body(exc.code, exc.message, fields), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        fields = []
        for err in exc.errors():
            message = str(err.get("msg", "invalid"))
            fields.append(
                {
                    "path": _field_path(tuple(err.get("loc", ()))),
                    "message": message.removeprefix("Value error, "),
                }
            )
        summary = "; ".join(f"{f['path'] or 'body'}: {f['message']}" for f in fields[:5])
        if is_taxii(request):
            return taxii_error(422, summary)
        if wants_page(request):
            return error_page(request, 422, summary)
        return JSONResponse(error_body("invalid", summary, fields), status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if is_taxii(request):
            return taxii_error(exc.status_code, str(exc.detail), dict(exc.headers or {}))
        if wants_page(request):
            return error_page(request, exc.status_code, str(exc.detail))
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}.get(
            exc.status_code, "error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=exc.headers,  # e.g. Allow
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> Response:
        # Starlette still re-raises the exception after this answer, so the server logs it in full.
        if is_taxii(request):
            return taxii_error(500, "internal server error")
        if wants_page(request):
            return error_page(request, 500, "Something went wrong on our side; it has been logged.")
        return JSONResponse(error_body("internal", "internal server error"), status_code=500)

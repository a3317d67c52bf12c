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
        if wants_page(request):
            return error_page(request, 422, summary)
        return JSONResponse(error_body("invalid", summary, fields), status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
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
        if wants_page(request):
            return error_page(request, 500, "Something went wrong on our side; it has been logged.")
        return JSONResponse(error_body("internal", "internal server error"), status_code=500)

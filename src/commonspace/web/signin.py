"""Sign-in and sign-out pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from commonspace.accounts import service as accounts
from commonspace.accounts import sessions
from commonspace.domain.errors import Unauthenticated
from commonspace.store.db import transaction
from commonspace.web import auth
from commonspace.web.deps import DB, reads_only
from commonspace.web.ratelimit import SignInLimiter
from commonspace.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL or a scheme-relative one (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _limiter(request: Request) -> SignInLimiter:
    limiter: SignInLimiter | None = getattr(request.app.state, "sign_in_limiter", None)
    if limiter is None:
        limiter = request.app.state.sign_in_limiter = SignInLimiter()
    return limiter


def _form(request: Request, next_: str, email: str = "", error: str = "", status: int = 200) -> Response:
    token = auth.new_sign_in_token()
    request.state.sign_in_token = token
    response = render(
        request, "sign_in.html", {"next": _safe_next(next_), "email": email, "error": error}, status=status
    )
    response.set_cookie(
        auth.SIGN_IN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=auth.secure(request),
    )
    return response


@router.get("/sign-in")
def sign_in_page(
    request: Request,
    current: Annotated[sessions.Current | None, Depends(auth.signed_in)],
    next: str = "/",
) -> Response:
    if current is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _form(request, next)


@router.post("/sign-in", dependencies=[Depends(auth.check_sign_in_csrf)])
@reads_only  # the password check reads; sessions.start writes in a short transaction of its own
def sign_in(
    request: Request,
    session: DB,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    limiter = _limiter(request)
    client = request.client.host if request.client else "unknown"
    wait = limiter.attempt(email, client)  # counted as a failure now, until it is known to succeed
    if wait:
        minutes = max(1, round(wait / 60))
        message = f"Too many failed sign-ins. Try again in about {minutes} minute{'s' * (minutes != 1)}."
        response = _form(request, next, email, message, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        member = accounts.authenticate_password(session, email, password)
    except Unauthenticated:
        return _form(request, next, email, "Wrong e-mail or password.", status=401)
    limiter.succeeded(email, client)
    with transaction(request.app.state.write_sessions) as writer:
        started = sessions.start(writer, member)
    response = RedirectResponse(_safe_next(next), status_code=303)
    auth.set_session_cookie(request, response, started)
    response.delete_cookie(auth.SIGN_IN_COOKIE)
    return response


@router.post("/sign-out", dependencies=[Depends(auth.page_writer)])
def sign_out(request: Request, session: DB) -> Response:
    token = auth.session_token(request)
    if token:
        sessions.sign_out(session, token)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response

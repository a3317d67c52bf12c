"""Who is signed in to the pages, and the CSRF check on every form.

The session cookie holds ``token.signature``: an HMAC-SHA256 of the token under this instance's key, so
that a forged or altered cookie is refused before the database is asked. The cookie is HttpOnly,
SameSite=Lax, and Secure whenever the page was served over TLS.

Every request that changes something must carry the session's CSRF token, in the ``csrf_token`` form
field or the ``X-CSRF-Token`` header (htmx sends the header, set once on ``<body>``). The sign-in form,
which has no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.exc import IntegrityError

from commonspace.accounts import sessions
from commonspace.domain.errors import CommonspaceError, Forbidden
from commonspace.policy import Subject
from commonspace.store.db import transaction
from commonspace.web.deps import DB

SESSION_COOKIE = "cs_session"
SIGN_IN_COOKIE = "cs_signin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(CommonspaceError):
    """Raised by a page for a visitor without a valid session; answered with a redirect to sign in."""

    status = 401
    code = "unauthenticated"


def _key(request: Request) -> bytes:
    key: bytes | None = getattr(request.app.state, "signing_key", None)
    if key is None:
        # Made in a write transaction of its own: the request's own may be a reading one.
        try:
            with transaction(request.app.state.write_sessions) as writer:
                key = sessions.signing_key(writer).encode()
        except IntegrityError:  # another process made it at the same moment
            with transaction(request.app.state.write_sessions) as writer:
                key = sessions.signing_key(writer).encode()
        request.app.state.signing_key = key
    return key


def _signature(key: bytes, token: str) -> str:
    mac = hmac.new(key, token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _same(sent: str, expected: str) -> bool:
    """A constant-time comparison of strings, whatever characters were sent (``hmac.compare_digest``
    raises TypeError on non-ASCII ``str``, which a forged cookie or form field can hold)."""
    return hmac.compare_digest(sent.encode(), expected.encode())


def _unsign(key: bytes, value: str) -> str | None:
    token, _, signature = value.rpartition(".")
    if not token or not _same(signature, _signature(key, token)):
        return None
    return token


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, started: sessions.Started) -> None:
    value = f"{started.token}.{_signature(_key(request), started.token)}"
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(started.expires_in.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )


def session_token(request: Request) -> str | None:
    value = request.cookies.get(SESSION_COOKIE)
    return _unsign(_key(request), value) if value else None


def signed_in(request: Request, session: DB) -> sessions.Current | None:
    """The signed-in member, or None; pages that anyone may open (sign-in) use this."""
    if hasattr(request.state, "signed_in"):
        return request.state.signed_in  # type: ignore[no-any-return]
    token = session_token(request)
    current = sessions.current(session, token) if token else None
    request.state.signed_in = current
    return current


def page_subject(current: Annotated[sessions.Current | None, Depends(signed_in)]) -> Subject:
    if current is None:
        raise SignInRequired("sign in to see this page")
    return current.subject


async def _sent_csrf(request: Request) -> str:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent or ""


async def page_writer(
    request: Request, current: Annotated[sessions.Current | None, Depends(signed_in)]
) -> Subject:
    """The signed-in member of a request that changes something, once its CSRF token is checked."""
    if current is None:
        raise SignInRequired("sign in to do this")
    if not _same(await _sent_csrf(request), current.csrf_token):
        raise Forbidden("the form has expired or did not come from this site; reload the page and retry")
    return current.subject


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(24)


async def check_sign_in_csrf(request: Request) -> None:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not _same(await _sent_csrf(request), expected):
        raise Forbidden("the sign-in form has expired; reload the page and retry")


PageSubject = Annotated[Subject, Depends(page_subject)]
PageWriter = Annotated[Subject, Depends(page_writer)]

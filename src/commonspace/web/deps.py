"""Request dependencies: a database transaction per request, and the acting Subject.

The Subject is loaded from the database on every request, so a revoked key, a disabled member or a lowered
role takes effect on the very next one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from commonspace.accounts import service as accounts
from commonspace.domain.errors import Forbidden, Unauthenticated
from commonspace.policy import Subject
from commonspace.store.db import mark_reading, run_queued_writes

F = TypeVar("F", bound=Callable[..., Any])


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def reads_only(endpoint: F) -> F:
    """Mark an endpoint that reads only although its method is not GET (e.g. a search sent by POST)."""
    endpoint.reads_only = True  # type: ignore[attr-defined]
    return endpoint


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back when it raises.

    Reading requests get a reading transaction (readers never wait for one another); the traces they
    leave (audit events, a key's last use) are written just after it, in a short write transaction.
    """
    endpoint = request.scope.get("endpoint")
    reading = request.method in SAFE_METHODS or getattr(endpoint, "reads_only", False)
    writers = request.app.state.write_sessions
    with (request.app.state.sessions if reading else writers)() as session:
        if reading:
            mark_reading(session)
        with session.begin():
            yield session
        run_queued_writes(session, writers)


# Committed before the response is sent (scope="function"): a client told "done" finds the change on its
# very next request. (By default FastAPI runs the code after ``yield`` once the response has gone out.)
DB = Annotated[Session, Depends(db_session, scope="function")]


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic" and value.strip():
        # HTTP Basic with the API key as password (what TAXII clients send); the user name is ignored.
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def current_subject(request: Request, session: DB) -> Subject:
    key = _credential(request)
    if key is None:
        raise Unauthenticated("missing credentials: send 'Authorization: Bearer <API key>'")
    subject = accounts.authenticate_key(session, key, via="api")
    request.state.subject = subject
    return subject


def writer(subject: Annotated[Subject, Depends(current_subject)]) -> Subject:
    """The Subject of a request that changes something: read-only keys stop here."""
    if subject.read_only:
        raise Forbidden("this API key is read-only")
    return subject


Reader = Annotated[Subject, Depends(current_subject)]
Writer = Annotated[Subject, Depends(writer)]

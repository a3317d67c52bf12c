"""Browser sessions: sign-in with e-mail and password, sign-out, and the key that signs session cookies.

A session is a random token. The browser keeps it in a signed cookie; the database keeps only its
SHA-256, the member, a CSRF token and an expiry. Signing out deletes the row, so a copied cookie stops
working at once; so does disabling the member, whose every request is checked afresh.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from commonspace.accounts import service as accounts
from commonspace.audit import service as audit
from commonspace.policy import Subject
from commonspace.store import tables as t
from commonspace.store.tables import utcnow

LIFETIME = timedelta(hours=12)
SIGNING_KEY = "session_signing_key"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def signing_key(session: Session) -> str:
    """This instance's cookie-signing key, made on first use and kept in the database."""
    row = session.get(t.InstanceSetting, SIGNING_KEY)
    if row is None:
        row = t.InstanceSetting(name=SIGNING_KEY, value=secrets.token_urlsafe(48))
        session.add(row)
        session.flush()
    return row.value


@dataclass(frozen=True)
class Started:
    token: str
    csrf_token: str
    expires_in: timedelta


def start(session: Session, member: t.Member) -> Started:
    """Open a session for a member whose password was checked (accounts.authenticate_password).

    The check is kept apart so that it runs in a reading transaction: argon2 is slow on purpose, and
    on SQLite a write transaction would hold the database's one write lock all that time.
    """
    member = session.merge(member, load=True)
    now = utcnow()
    session.execute(delete(t.WebSession).where(t.WebSession.expires <= now))
    token = secrets.token_urlsafe(32)
    row = t.WebSession(
        token_hash=_digest(token),
        member_id=member.id,
        csrf_token=secrets.token_urlsafe(32),
        created=now,
        expires=now + LIFETIME,
    )
    session.add(row)
    audit.record(session, accounts.subject_for(session, member, via="web"), "sign-in", "member", member.uuid)
    return Started(token, row.csrf_token, LIFETIME)


@dataclass(frozen=True)
class Current:
    """The signed-in member: plain values, still readable after the request's transaction ends."""

    subject: Subject
    csrf_token: str
    name: str
    email: str
    org_uuid: str
    org_name: str


def current(session: Session, token: str) -> Current | None:
    """The signed-in member behind a session token, or None when it is unknown, expired or disabled."""
    found = session.execute(
        select(t.WebSession, t.Member)
        .join(t.Member, t.Member.id == t.WebSession.member_id)
        .where(t.WebSession.token_hash == _digest(token))
    ).first()
    if found is None:
        return None
    row, member = found
    if row.expires <= utcnow() or member.disabled:
        return None
    subject = accounts.subject_for(session, member, via="web")
    org = member.organisation
    return Current(subject, row.csrf_token, member.name, member.email, org.uuid, org.name)


def sign_out(session: Session, token: str) -> None:
    session.execute(delete(t.WebSession).where(t.WebSession.token_hash == _digest(token)))

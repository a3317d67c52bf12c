"""Use cases for organisations, members and API keys.

``subject=None`` means the operator of this instance acting from the command line (who holds the
database anyway); every other caller is a Subject and goes through the access policy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.accounts import keys, passwords
from commonspace.audit import service as audit
from commonspace.domain.codes import country_problem
from commonspace.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from commonspace.domain.vocab import OrgKind, Role
from commonspace.policy import Subject
from commonspace.store import tables as t
from commonspace.store.db import write_soon
from commonspace.store.tables import utcnow

LAST_USED_RESOLUTION = timedelta(minutes=1)


# --- organisations -------------------------------------------------------------------------------


def _check_org_fields(kind: OrgKind, country: str | None) -> None:
    if kind is OrgKind.INTERNATIONAL:
        if country:
            raise Invalid("an international organisation has no country", field="country")
        return
    if not country:
        raise Invalid(f"a {kind.value} organisation needs a country (ISO 3166-1 alpha-2)", field="country")
    problem = country_problem(country)
    if problem:
        raise Invalid(problem, field="country")


def create_organisation(
    session: Session,
    subject: Subject | None,
    *,
    name: str,
    kind: OrgKind,
    country: str | None = None,
    sector: str | None = None,
    contact: str | None = None,
) -> t.Organisation:
    if subject is not None and not policy.can_create_organisation(subject):
        raise Forbidden("only site administrators create organisations")
    name = name.strip()
    if not name:
        raise Invalid("the name is empty", field="name")
    country = country.upper() if country else None
    _check_org_fields(kind, country)
    if session.scalar(select(t.Organisation.id).where(t.Organisation.name == name)) is not None:
        raise Conflict(f"an organisation named {name!r} already exists", field="name")
    org = t.Organisation(name=name, kind=kind.value, country=country, sector=sector, contact=contact)
    session.add(org)
    session.flush()
    audit.record(session, subject, "organisation.create", "organisation", org.uuid, org.id)
    return org


def list_organisations(session: Session, subject: Subject | None) -> list[t.Organisation]:
    """The community's directory: every member may see every organisation (not its reports)."""
    return list(session.scalars(select(t.Organisation).order_by(t.Organisation.name)))


def own_organisation(session: Session, subject: Subject) -> t.Organisation:
    """The subject's own organisation."""
    org = session.get(t.Organisation, subject.org_id)
    if org is None:
        raise NotFound("no organisation")
    return org


def get_organisation(session: Session, ref: str) -> t.Organisation:
    """By UUID or by exact name."""
    org = session.scalar(select(t.Organisation).where(t.Organisation.uuid == ref))
    org = org or session.scalar(select(t.Organisation).where(t.Organisation.name == ref))
    if org is None:
        raise NotFound(f"no organisation {ref!r}")
    return org


# --- members -------------------------------------------------------------------------------------


def _may_grant(subject: Subject | None, role: Role, org_id: int) -> None:
    if subject is None:
        return
    if not policy.can_manage_members(subject, org_id):
        raise Forbidden("only the organisation's administrators manage its members")
    if role is Role.SITE_ADMIN and not subject.is_site_admin:
        raise Forbidden("only site administrators grant the site-admin role")


def create_member(
    session: Session,
    subject: Subject | None,
    *,
    email: str,
    org: t.Organisation,
    role: Role,
    name: str = "",
    password: str | None = None,
) -> t.Member:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise Invalid(f"{email!r} is not an e-mail address", field="email")
    _may_grant(subject, role, org.id)
    if session.scalar(select(t.Member.id).where(t.Member.email == email)) is not None:
        raise Conflict(f"a member with e-mail {email!r} already exists", field="email")
    member = t.Member(
        email=email,
        name=name,
        org_id=org.id,
        role=role.value,
        password_hash=passwords.hash_password(password) if password else None,
    )
    session.add(member)
    session.flush()
    audit.record(session, subject, "member.create", "member", member.uuid, org.id, role=role.value)
    return member


def visible_member(session: Session, subject: Subject | None, ref: str) -> t.Member:
    """A member by UUID or e-mail, if the subject may see them: their own organisation, or all for admins."""
    member = session.scalar(select(t.Member).where((t.Member.uuid == ref) | (t.Member.email == ref.lower())))
    if member is None or (
        subject is not None and not subject.is_site_admin and member.org_id != subject.org_id
    ):
        raise NotFound(f"no member {ref!r}")
    return member


def list_members(session: Session, subject: Subject, org: t.Organisation | None = None) -> list[t.Member]:
    """The members the subject may see (their organisation's; site admins: all), or those of ``org``.

    Only site admins list another organisation's members.
    """
    query = select(t.Member).order_by(t.Member.email)
    if org is not None:
        if not subject.is_site_admin and org.id != subject.org_id:
            raise Forbidden("only site administrators list the members of another organisation")
        query = query.where(t.Member.org_id == org.id)
    elif not subject.is_site_admin:
        query = query.where(t.Member.org_id == subject.org_id)
    return list(session.scalars(query))


def update_member(
    session: Session,
    subject: Subject | None,
    member: t.Member,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
    name: str | None = None,
    password: str | None = None,
) -> t.Member:
    _may_grant(subject, Role(member.role), member.org_id)  # only site admins change a site admin
    if role is not None:
        _may_grant(subject, role, member.org_id)
        member.role = role.value
    if disabled is not None:
        member.disabled = disabled
    if name is not None:
        member.name = name
    if password is not None:
        member.password_hash = passwords.hash_password(password)
    if disabled or password is not None:
        # Signed out for good: a session must not come back when the member is enabled again, nor
        # outlive the password it was opened with (a stolen cookie would survive the reset).
        session.execute(delete(t.WebSession).where(t.WebSession.member_id == member.id))
    audit.record(
        session,
        subject,
        "member.update",
        "member",
        member.uuid,
        member.org_id,
        role=member.role,
        disabled=member.disabled,
    )
    return member


# --- API keys ------------------------------------------------------------------------------------


def create_api_key(
    session: Session,
    subject: Subject | None,
    member: t.Member,
    *,
    name: str = "",
    read_only: bool = False,
    expires: datetime | None = None,
    plaintext: str | None = None,
) -> tuple[t.ApiKey, str]:
    """A new key for ``member``; the plaintext is returned once and never stored.

    ``plaintext`` stores a given key instead of a random one: for the demo world and test fixtures only,
    whose keys are public; every other caller lets the key be generated.
    """
    if subject is not None and subject.member_id != member.id:
        _may_grant(subject, Role(member.role), member.org_id)
    if subject is not None and not subject.can_write:
        raise Forbidden("a read-only key cannot create keys")
    if plaintext is not None and not plaintext.startswith(keys.KEY_PREFIX):
        raise Invalid(f"an API key starts with {keys.KEY_PREFIX!r}", field="plaintext")
    plaintext = plaintext or keys.new_key()
    api_key = t.ApiKey(
        member_id=member.id,
        name=name,
        prefix=keys.display_prefix(plaintext),
        key_hash=keys.digest(plaintext),
        read_only=read_only,
        expires=expires,
    )
    session.add(api_key)
    session.flush()
    audit.record(session, subject, "apikey.create", "api_key", api_key.uuid, member.org_id, name=name)
    return api_key, plaintext


def list_api_keys(session: Session, subject: Subject, member: t.Member) -> list[t.ApiKey]:
    if subject.member_id != member.id and not policy.can_manage_members(subject, member.org_id):
        raise NotFound(f"no member {member.email!r}")
    return list(
        session.scalars(select(t.ApiKey).where(t.ApiKey.member_id == member.id).order_by(t.ApiKey.id))
    )


def list_organisation_api_keys(
    session: Session, subject: Subject, org: t.Organisation
) -> list[tuple[t.ApiKey, t.Member]]:
    """The API keys of the members of ``org``, each with its member: for its admins and site admins."""
    if not policy.can_manage_members(subject, org.id):
        raise Forbidden("only the organisation's administrators see its members' API keys")
    rows = session.execute(
        select(t.ApiKey, t.Member)
        .join(t.Member, t.Member.id == t.ApiKey.member_id)
        .where(t.Member.org_id == org.id)
        .order_by(t.Member.email, t.ApiKey.id)
    )
    return [(api_key, member) for api_key, member in rows]


def revoke_api_key(session: Session, subject: Subject | None, key_uuid: str) -> t.ApiKey:
    row = session.execute(
        select(t.ApiKey, t.Member)
        .join(t.Member, t.Member.id == t.ApiKey.member_id)
        .where(t.ApiKey.uuid == key_uuid)
    ).first()
    if row is None:
        raise NotFound(f"no API key {key_uuid!r}")
    api_key, member = row
    others = subject is not None and subject.member_id != member.id
    if others and subject is not None and not policy.can_manage_members(subject, member.org_id):
        raise NotFound(f"no API key {key_uuid!r}")
    if others:
        _may_grant(subject, Role(member.role), member.org_id)  # only site admins revoke a site admin's key
    if api_key.revoked is None:
        api_key.revoked = utcnow()
    audit.record(session, subject, "apikey.revoke", "api_key", api_key.uuid, member.org_id)
    return api_key


# --- authentication and subjects ---------------------------------------------------------------


def subject_for(
    session: Session, member: t.Member, api_key: t.ApiKey | None = None, via: str = "api"
) -> Subject:
    """The Subject for a member as the database says right now (role, groups, key)."""
    group_ids = frozenset(
        session.scalars(
            select(t.SharingGroupMember.group_id).where(t.SharingGroupMember.org_id == member.org_id)
        )
    )
    return Subject(
        member_id=member.id,
        org_id=member.org_id,
        role=Role(member.role),
        group_ids=group_ids,
        api_key_id=api_key.id if api_key else None,
        read_only=bool(api_key and api_key.read_only),
        via=via,
        email=member.email,
    )


def authenticate_key(session: Session, plaintext: str, via: str = "api") -> Subject:
    """The Subject behind an API key; any problem is the same 'invalid key' to the caller."""
    found = session.execute(
        select(t.ApiKey, t.Member)
        .join(t.Member, t.Member.id == t.ApiKey.member_id)
        .where(t.ApiKey.key_hash == keys.digest(plaintext))
    ).first()
    now = utcnow()
    if found is None:
        raise Unauthenticated("invalid or expired API key")
    api_key, member = found
    if (
        api_key.revoked is not None
        or member.disabled
        or (api_key.expires is not None and api_key.expires <= now)
    ):
        raise Unauthenticated("invalid or expired API key")
    if api_key.last_used is None or now - api_key.last_used > LAST_USED_RESOLUTION:
        # Coarse, so that reads don't each become a write; queued after a read transaction.
        key_id = api_key.id
        write_soon(
            session,
            lambda writer: writer.execute(
                update(t.ApiKey).where(t.ApiKey.id == key_id).values(last_used=now)
            ),
        )
    return subject_for(session, member, api_key, via)


def authenticate_password(session: Session, email: str, password: str) -> t.Member:
    member = session.scalar(select(t.Member).where(t.Member.email == email.strip().lower()))
    ok = passwords.verify_password(member.password_hash if member else None, password)
    if member is None or not ok or member.disabled:
        raise Unauthenticated("wrong e-mail or password")
    return member


def subject_by_email(session: Session, email: str, via: str = "cli") -> Subject:
    """For the CLI's ``--as EMAIL``: act as that member, under the same policy."""
    member = session.scalar(select(t.Member).where(t.Member.email == email.strip().lower()))
    if member is None:
        raise NotFound(f"no member {email!r}")
    if member.disabled:
        raise Unauthenticated(f"member {email!r} is disabled")
    return subject_for(session, member, via=via)

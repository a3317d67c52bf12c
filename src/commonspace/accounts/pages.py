"""The administration pages: the overview, organisations, members and API keys.

Every page reads through the accounts service, which applies the access policy; a form that breaks a rule
is shown again with the message next to its field (HTTP 422), and a change the member may not make is the
403 page. Each change is a POST carrying the session's CSRF token, answered by a redirect (303) back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import pycountry
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.accounts import service as accounts
from commonspace.domain.errors import Conflict, Forbidden, Invalid
from commonspace.domain.vocab import OrgKind, Role
from commonspace.policy import Subject
from commonspace.store import tables as t
from commonspace.web.auth import PageSubject, PageWriter
from commonspace.web.deps import DB
from commonspace.web.forms import field_errors
from commonspace.web.templating import render

router = APIRouter(include_in_schema=False)

MIN_PASSWORD = 12  # as the REST API
MAX_EXPIRY_DAYS = 3650
COUNTRIES: list[tuple[str, str]] = sorted(
    ((c.alpha_2, str(getattr(c, "common_name", None) or c.name)) for c in pycountry.countries),
    key=lambda pair: pair[1],
)
ADMIN_ROLES = (Role.ORG_ADMIN, Role.SITE_ADMIN)

Errors = dict[str, str]


def grantable_roles(subject: Subject) -> list[Role]:
    """The roles the subject may give: site-admin only by site admins."""
    return [r for r in Role if r is not Role.SITE_ADMIN or subject.is_site_admin]


def _parse_role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


def _chosen_org(session: Session, subject: Subject, ref: str | None) -> t.Organisation:
    """The organisation a site admin chose (``?org=``), else the subject's own."""
    if ref:
        return accounts.get_organisation(session, ref)
    return accounts.own_organisation(session, subject)


def _back(path: str, org: t.Organisation, subject: Subject) -> str:
    return path + ("?" + urlencode({"org": org.uuid}) if org.id != subject.org_id else "")


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- the overview --------------------------------------------------------------------------------


@router.get("/admin")
def index(request: Request, session: DB, subject: PageSubject) -> Response:
    org = accounts.own_organisation(session, subject)
    return render(
        request,
        "admin/index.html",
        {
            "nav": "admin",
            "section": "index",
            "org": org,
            "manage_members": policy.can_manage_members(subject, org.id),
            "manage_groups": policy.can_manage_group(subject, org.id),
            "create_organisations": policy.can_create_organisation(subject),
            "access_log": subject.role in ADMIN_ROLES,
        },
    )


# --- organisations -------------------------------------------------------------------------------


def _organisations_page(
    request: Request,
    session: Session,
    subject: Subject,
    *,
    errors: Errors | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "admin/organisations.html",
        {
            "nav": "admin",
            "section": "organisations",
            "organisations": accounts.list_organisations(session, subject),
            "create": policy.can_create_organisation(subject),
            "kinds": list(OrgKind),
            "countries": COUNTRIES,
            "errors": errors or {},
            "values": values or {},
        },
        status=status,
    )


@router.get("/admin/organisations")
def organisations(request: Request, session: DB, subject: PageSubject) -> Response:
    return _organisations_page(request, session, subject)


@router.post("/admin/organisations")
def create_organisation(
    request: Request,
    session: DB,
    subject: PageWriter,
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=40)] = "",
    country: Annotated[str, Form(max_length=2)] = "",
    sector: Annotated[str, Form(max_length=100)] = "",
    contact: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    if not policy.can_create_organisation(subject):
        raise Forbidden("only site administrators create organisations")
    values = {"name": name, "kind": kind, "country": country, "sector": sector, "contact": contact}
    try:
        org_kind = OrgKind(kind)
    except ValueError:
        errors = {"kind": "choose the kind of organisation"}
        return _organisations_page(request, session, subject, errors=errors, values=values, status=422)
    try:
        accounts.create_organisation(
            session,
            subject,
            name=name,
            kind=org_kind,
            country=country or None,
            sector=sector.strip() or None,
            contact=contact.strip() or None,
        )
    except (Invalid, Conflict) as exc:
        errors = field_errors(exc, "name")
        return _organisations_page(request, session, subject, errors=errors, values=values, status=422)
    return _see_other("/admin/organisations")


# --- members -------------------------------------------------------------------------------------


def _members_page(
    request: Request,
    session: Session,
    subject: Subject,
    org: t.Organisation,
    *,
    errors: Errors | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "admin/members.html",
        {
            "nav": "admin",
            "section": "members",
            "org": org,
            "members": accounts.list_members(session, subject, org),
            "manage": policy.can_manage_members(subject, org.id),
            "roles": grantable_roles(subject),
            "organisations": accounts.list_organisations(session, subject) if subject.is_site_admin else [],
            "min_password": MIN_PASSWORD,
            "errors": errors or {},
            "values": values or {},
        },
        status=status,
    )


@router.get("/admin/members")
def members(request: Request, session: DB, subject: PageSubject, org: str = "") -> Response:
    return _members_page(request, session, subject, _chosen_org(session, subject, org))


@router.post("/admin/members")
def create_member(
    request: Request,
    session: DB,
    subject: PageWriter,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    organisation: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    org = _chosen_org(session, subject, organisation)
    if not policy.can_manage_members(subject, org.id):
        raise Forbidden("only the organisation's administrators manage its members")
    values = {"email": email, "name": name, "role": role}
    errors: Errors = {}
    parsed = _parse_role(role)
    if parsed is None:
        errors["role"] = "choose a role"
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"the password needs at least {MIN_PASSWORD} characters"
    if parsed is not None and not errors:
        try:
            accounts.create_member(
                session, subject, email=email, org=org, role=parsed, name=name.strip(), password=password
            )
        except (Invalid, Conflict) as exc:
            errors = field_errors(exc, "email")
    if errors:
        return _members_page(request, session, subject, org, errors=errors, values=values, status=422)
    return _see_other(_back("/admin/members", org, subject))


def _member_page(
    request: Request,
    session: Session,
    subject: Subject,
    member: t.Member,
    *,
    errors: Errors | None = None,
    status: int = 200,
) -> Response:
    manage = policy.can_manage_members(subject, member.org_id) and (
        member.role != Role.SITE_ADMIN.value or subject.is_site_admin
    )
    return render(
        request,
        "admin/member.html",
        {
            "nav": "admin",
            "section": "members",
            "member": member,
            "manage": manage,
            "myself": member.id == subject.member_id,
            "roles": grantable_roles(subject),
            "min_password": MIN_PASSWORD,
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/admin/members/{uuid}")
def member(request: Request, session: DB, subject: PageSubject, uuid: str) -> Response:
    return _member_page(request, session, subject, accounts.visible_member(session, subject, uuid))


def _member_back(member: t.Member) -> RedirectResponse:
    return _see_other(f"/admin/members/{member.uuid}")


@router.post("/admin/members/{uuid}/role")
def change_role(
    request: Request,
    session: DB,
    subject: PageWriter,
    uuid: str,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    target = accounts.visible_member(session, subject, uuid)
    parsed = _parse_role(role)
    if parsed is None:
        return _member_page(request, session, subject, target, errors={"role": "choose a role"}, status=422)
    try:
        accounts.update_member(session, subject, target, role=parsed)
    except (Invalid, Conflict) as exc:
        return _member_page(request, session, subject, target, errors=field_errors(exc, "role"), status=422)
    return _member_back(target)


@router.post("/admin/members/{uuid}/disable")
def disable_member(session: DB, subject: PageWriter, uuid: str) -> Response:
    target = accounts.visible_member(session, subject, uuid)
    accounts.update_member(session, subject, target, disabled=True)
    return _member_back(target)


@router.post("/admin/members/{uuid}/enable")
def enable_member(session: DB, subject: PageWriter, uuid: str) -> Response:
    target = accounts.visible_member(session, subject, uuid)
    accounts.update_member(session, subject, target, disabled=False)
    return _member_back(target)


@router.post("/admin/members/{uuid}/password")
def set_password(
    request: Request,
    session: DB,
    subject: PageWriter,
    uuid: str,
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    target = accounts.visible_member(session, subject, uuid)
    if not policy.can_manage_members(subject, target.org_id):
        raise Forbidden("only the organisation's administrators manage its members")
    if len(password) < MIN_PASSWORD:
        message = f"the password needs at least {MIN_PASSWORD} characters"
        return _member_page(request, session, subject, target, errors={"password": message}, status=422)
    accounts.update_member(session, subject, target, password=password)
    return _member_back(target)


# --- API keys ------------------------------------------------------------------------------------


def _keys_page(
    request: Request,
    session: Session,
    subject: Subject,
    org: t.Organisation,
    *,
    created: dict[str, Any] | None = None,
    errors: Errors | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    me = accounts.visible_member(session, subject, subject.email)
    manage = policy.can_manage_members(subject, org.id)
    others = [
        (api_key, owner)
        for api_key, owner in (accounts.list_organisation_api_keys(session, subject, org) if manage else [])
        if owner.id != subject.member_id
    ]
    # The page may show a key in clear: render() sends every page with Cache-Control: no-store.
    return render(
        request,
        "admin/keys.html",
        {
            "nav": "admin",
            "section": "keys",
            "org": org,
            "mine": accounts.list_api_keys(session, subject, me),
            "manage": manage,
            "others": others,
            "organisations": accounts.list_organisations(session, subject) if subject.is_site_admin else [],
            "now": datetime.now(UTC),
            "max_expiry_days": MAX_EXPIRY_DAYS,
            "created": created,
            "errors": errors or {},
            "values": values or {},
        },
        status=status,
    )


@router.get("/admin/keys")
def keys(request: Request, session: DB, subject: PageSubject, org: str = "") -> Response:
    return _keys_page(request, session, subject, _chosen_org(session, subject, org))


@router.post("/admin/keys")
def create_key(
    request: Request,
    session: DB,
    subject: PageWriter,
    name: Annotated[str, Form(max_length=200)] = "",
    read_only: Annotated[str, Form(max_length=10)] = "",
    expires_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    org = accounts.own_organisation(session, subject)
    values = {"name": name, "read_only": bool(read_only), "expires_days": expires_days}
    expires = None
    if expires_days.strip():
        try:
            days = int(expires_days)
        except ValueError:
            days = 0
        if not 1 <= days <= MAX_EXPIRY_DAYS:
            message = f"give a number of days from 1 to {MAX_EXPIRY_DAYS}, or nothing for no expiry"
            return _keys_page(
                request, session, subject, org, errors={"expires_days": message}, values=values, status=422
            )
        expires = datetime.now(UTC) + timedelta(days=days)
    me = accounts.visible_member(session, subject, subject.email)
    api_key, plaintext = accounts.create_api_key(
        session, subject, me, name=name.strip(), read_only=bool(read_only), expires=expires
    )
    created = {"key": plaintext, "name": api_key.name, "prefix": api_key.prefix}
    return _keys_page(request, session, subject, org, created=created)


@router.post("/admin/keys/{uuid}/revoke")
def revoke_key(
    session: DB,
    subject: PageWriter,
    uuid: str,
    org: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    accounts.revoke_api_key(session, subject, uuid)
    return _see_other("/admin/keys" + ("?" + urlencode({"org": org}) if org else ""))

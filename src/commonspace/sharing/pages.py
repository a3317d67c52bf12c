"""The sharing-group pages: the groups I see, one group, creating groups and changing their members.

A group the member may not see answers exactly as one that does not exist: the 404 page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.accounts import service as accounts
from commonspace.domain.errors import Conflict, Forbidden, Invalid, NotFound
from commonspace.policy import Subject
from commonspace.sharing import service as sharing
from commonspace.store import tables as t
from commonspace.web.auth import PageSubject, PageWriter
from commonspace.web.deps import DB
from commonspace.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class GroupView:
    group: t.SharingGroup
    owner: t.Organisation
    members: list[t.Organisation]
    manage: bool

    @property
    def bilateral(self) -> bool:
        return len(self.members) == 2


def _view(session: Session, subject: Subject, group: t.SharingGroup) -> GroupView:
    members = sharing.member_organisations(session, group)
    owner = next(org for org in members if org.id == group.owner_org_id)  # always one of its members
    return GroupView(group, owner, members, policy.can_manage_group(subject, group.owner_org_id))


def _groups_page(
    request: Request,
    session: Session,
    subject: Subject,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "admin/groups.html",
        {
            "nav": "admin",
            "section": "groups",
            "groups": [_view(session, subject, g) for g in sharing.list_groups(session, subject)],
            "create": policy.can_manage_group(subject, subject.org_id),
            "organisations": [
                org for org in accounts.list_organisations(session, subject) if org.id != subject.org_id
            ],
            "errors": errors or {},
            "values": values or {"members": []},
        },
        status=status,
    )


@router.get("/admin/groups")
def groups(request: Request, session: DB, subject: PageSubject) -> Response:
    return _groups_page(request, session, subject)


@router.post("/admin/groups")
def create_group(
    request: Request,
    session: DB,
    subject: PageWriter,
    name: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=5000)] = "",
    members: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    if not policy.can_manage_group(subject, subject.org_id):
        raise Forbidden("only publishers and administrators create sharing groups for their organisation")
    values = {"name": name, "description": description, "members": members}
    try:
        orgs = [accounts.get_organisation(session, ref) for ref in members]
    except NotFound as exc:
        errors = {"members": exc.message}
        return _groups_page(request, session, subject, errors=errors, values=values, status=422)
    try:
        group = sharing.create_group(
            session,
            subject,
            name=name,
            owner=accounts.own_organisation(session, subject),
            members=orgs,
            description=description.strip(),
        )
    except (Invalid, Conflict) as exc:
        errors = {exc.field or "name": exc.message}
        return _groups_page(request, session, subject, errors=errors, values=values, status=422)
    return RedirectResponse(f"/admin/groups/{group.uuid}", status_code=303)


def _group_page(
    request: Request,
    session: Session,
    subject: Subject,
    group: t.SharingGroup,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    view = _view(session, subject, group)
    member_ids = {org.id for org in view.members}
    candidates = (
        [org for org in accounts.list_organisations(session, subject) if org.id not in member_ids]
        if view.manage
        else []
    )
    return render(
        request,
        "admin/group.html",
        {
            "nav": "admin",
            "section": "groups",
            "view": view,
            "candidates": candidates,
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/admin/groups/{ref}")
def group(request: Request, session: DB, subject: PageSubject, ref: str) -> Response:
    return _group_page(request, session, subject, sharing.get_group(session, subject, ref))


@router.post("/admin/groups/{ref}/members")
def add_member(
    request: Request,
    session: DB,
    subject: PageWriter,
    ref: str,
    organisation: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    found = sharing.get_group(session, subject, ref)
    if not policy.can_manage_group(subject, found.owner_org_id):
        raise Forbidden("only the owner organisation's publishers and administrators change this group")
    try:
        org = accounts.get_organisation(session, organisation)
    except NotFound:
        errors = {"organisation": "choose an organisation"}
        return _group_page(request, session, subject, found, errors=errors, status=422)
    sharing.add_member(session, subject, found.uuid, org)
    return RedirectResponse(f"/admin/groups/{found.uuid}", status_code=303)


@router.post("/admin/groups/{ref}/members/{org}/remove")
def remove_member(request: Request, session: DB, subject: PageWriter, ref: str, org: str) -> Response:
    found = sharing.get_group(session, subject, ref)
    try:
        organisation = accounts.get_organisation(session, org)
        sharing.remove_member(session, subject, found.uuid, organisation)
    except (Invalid, NotFound) as exc:
        errors = {"remove": exc.message}
        return _group_page(request, session, subject, found, errors=errors, status=422)
    return RedirectResponse(f"/admin/groups/{found.uuid}", status_code=303)

"""REST endpoints for sharing groups."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from commonspace.accounts import service as accounts
from commonspace.sharing import schemas
from commonspace.sharing import service as sharing
from commonspace.store import tables as t
from commonspace.web.deps import DB, Reader, Writer

router = APIRouter(tags=["sharing groups"])


def group_out(session: Session, group: t.SharingGroup) -> schemas.GroupOut:
    members = sharing.member_organisations(session, group)
    owner = session.get(t.Organisation, group.owner_org_id)
    assert owner is not None
    return schemas.GroupOut(
        uuid=group.uuid,
        name=group.name,
        description=group.description,
        owner=owner.uuid,
        owner_name=owner.name,
        members=[m.uuid for m in members],
        bilateral=len(members) == 2,
        created=group.created,
    )


@router.get("/sharing-groups", response_model=list[schemas.GroupOut])
def list_groups(session: DB, subject: Reader) -> list[schemas.GroupOut]:
    return [group_out(session, g) for g in sharing.list_groups(session, subject)]


@router.post("/sharing-groups", response_model=schemas.GroupOut, status_code=status.HTTP_201_CREATED)
def create_group(body: schemas.GroupIn, session: DB, subject: Writer) -> schemas.GroupOut:
    owner = session.get(t.Organisation, subject.org_id)
    assert owner is not None
    members = [accounts.get_organisation(session, ref) for ref in body.members]
    group = sharing.create_group(
        session, subject, name=body.name, owner=owner, members=members, description=body.description
    )
    return group_out(session, group)


@router.get("/sharing-groups/{uuid}", response_model=schemas.GroupOut)
def get_group(uuid: str, session: DB, subject: Reader) -> schemas.GroupOut:
    return group_out(session, sharing.get_group(session, subject, uuid))


@router.post("/sharing-groups/{uuid}/members", response_model=schemas.GroupOut)
def add_member(uuid: str, body: schemas.GroupMemberIn, session: DB, subject: Writer) -> schemas.GroupOut:
    org = accounts.get_organisation(session, body.organisation)
    return group_out(session, sharing.add_member(session, subject, uuid, org))


@router.delete("/sharing-groups/{uuid}/members/{org}", response_model=schemas.GroupOut)
def remove_member(uuid: str, org: str, session: DB, subject: Writer) -> schemas.GroupOut:
    organisation = accounts.get_organisation(session, org)
    return group_out(session, sharing.remove_member(session, subject, uuid, organisation))

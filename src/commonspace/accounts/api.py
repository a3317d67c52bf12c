"""REST endpoints for organisations, members and API keys."""

from __future__ import annotations

from fastapi import APIRouter, status

from commonspace.accounts import schemas
from commonspace.accounts import service as accounts
from commonspace.domain.errors import Invalid
from commonspace.store import tables as t
from commonspace.web.deps import DB, Reader, Writer

router = APIRouter(tags=["accounts"])


def member_out(member: t.Member) -> schemas.MemberOut:
    return schemas.MemberOut(
        uuid=member.uuid,
        email=member.email,
        name=member.name,
        organisation=member.organisation.uuid,
        organisation_name=member.organisation.name,
        role=member.role,
        disabled=member.disabled,
        created=member.created,
    )


@router.get("/organisations", response_model=list[schemas.OrganisationOut])
def list_organisations(session: DB, subject: Reader) -> list[t.Organisation]:
    return accounts.list_organisations(session, subject)


@router.post("/organisations", response_model=schemas.OrganisationOut, status_code=status.HTTP_201_CREATED)
def create_organisation(body: schemas.OrganisationIn, session: DB, subject: Writer) -> t.Organisation:
    return accounts.create_organisation(session, subject, **body.model_dump())


@router.get("/organisations/{uuid}", response_model=schemas.OrganisationOut)
def get_organisation(uuid: str, session: DB, subject: Reader) -> t.Organisation:
    return accounts.get_organisation(session, uuid)


@router.get("/me", response_model=schemas.MemberOut)
def me(session: DB, subject: Reader) -> schemas.MemberOut:
    return member_out(accounts.visible_member(session, subject, subject.email))


@router.get("/members", response_model=list[schemas.MemberOut])
def list_members(session: DB, subject: Reader) -> list[schemas.MemberOut]:
    return [member_out(m) for m in accounts.list_members(session, subject)]


@router.post("/members", response_model=schemas.MemberOut, status_code=status.HTTP_201_CREATED)
def create_member(body: schemas.MemberIn, session: DB, subject: Writer) -> schemas.MemberOut:
    org = accounts.get_organisation(session, body.organisation)
    member = accounts.create_member(
        session, subject, email=body.email, org=org, role=body.role, name=body.name, password=body.password
    )
    return member_out(member)


@router.get("/members/{uuid}", response_model=schemas.MemberOut)
def get_member(uuid: str, session: DB, subject: Reader) -> schemas.MemberOut:
    return member_out(accounts.visible_member(session, subject, uuid))


@router.patch("/members/{uuid}", response_model=schemas.MemberOut)
def update_member(uuid: str, body: schemas.MemberPatch, session: DB, subject: Writer) -> schemas.MemberOut:
    if body.uuid is not None and body.uuid != uuid:
        raise Invalid("the uuid in the body differs from the one in the URL", field="uuid")
    member = accounts.visible_member(session, subject, uuid)
    changes = body.model_dump(exclude_unset=True, exclude={"uuid"})
    return member_out(accounts.update_member(session, subject, member, **changes))


@router.get("/members/{uuid}/api-keys", response_model=list[schemas.ApiKeyOut])
def list_keys(uuid: str, session: DB, subject: Reader) -> list[t.ApiKey]:
    return accounts.list_api_keys(session, subject, accounts.visible_member(session, subject, uuid))


@router.post(
    "/members/{uuid}/api-keys", response_model=schemas.ApiKeyCreated, status_code=status.HTTP_201_CREATED
)
def create_key(uuid: str, body: schemas.ApiKeyIn, session: DB, subject: Writer) -> schemas.ApiKeyCreated:
    member = accounts.visible_member(session, subject, uuid)
    api_key, plaintext = accounts.create_api_key(
        session, subject, member, name=body.name, read_only=body.read_only, expires=body.expires
    )
    return schemas.ApiKeyCreated(**schemas.ApiKeyOut.model_validate(api_key).model_dump(), key=plaintext)


@router.delete("/api-keys/{uuid}", response_model=schemas.ApiKeyOut)
def revoke_key(uuid: str, session: DB, subject: Writer) -> t.ApiKey:
    return accounts.revoke_api_key(session, subject, uuid)

"""Use cases for sharing groups. A group is seen only by its member organisations (and site admins)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.domain.errors import Conflict, Forbidden, Invalid, NotFound
from commonspace.policy import Subject
from commonspace.store import tables as t


def create_group(
    session: Session,
    subject: Subject | None,
    *,
    name: str,
    owner: t.Organisation,
    members: list[t.Organisation],
    description: str = "",
) -> t.SharingGroup:
    """A new group owned by ``owner``, which is always one of its members."""
    if subject is not None and not policy.can_manage_group(subject, owner.id):
        raise Forbidden("only publishers and administrators create sharing groups for their organisation")
    name = name.strip()
    if not name:
        raise Invalid("the name is empty", field="name")
    if session.scalar(select(t.SharingGroup.id).where(t.SharingGroup.name == name)) is not None:
        raise Conflict(f"a sharing group named {name!r} already exists", field="name")
    group = t.SharingGroup(name=name, description=description, owner_org_id=owner.id)
    session.add(group)
    session.flush()
    for org_id in sorted({owner.id, *(org.id for org in members)}):
        session.add(t.SharingGroupMember(group_id=group.id, org_id=org_id))
    session.flush()
    audit.record(session, subject, "sharing_group.create", "sharing_group", group.uuid, owner.id)
    return group


def _visible(session: Session, subject: Subject | None, ref: str) -> t.SharingGroup:
    group = session.scalar(
        select(t.SharingGroup).where((t.SharingGroup.uuid == ref) | (t.SharingGroup.name == ref))
    )
    if group is None or (subject is not None and not policy.can_see_group(subject, group.id)):
        raise NotFound(f"no sharing group {ref!r}")
    return group


def get_group(session: Session, subject: Subject | None, ref: str) -> t.SharingGroup:
    return _visible(session, subject, ref)


def list_groups(session: Session, subject: Subject | None) -> list[t.SharingGroup]:
    query = select(t.SharingGroup).order_by(t.SharingGroup.name)
    if subject is not None and not subject.is_site_admin:
        query = query.where(t.SharingGroup.id.in_(sorted(subject.group_ids) or [-1]))
    return list(session.scalars(query))


def member_organisations(session: Session, group: t.SharingGroup) -> list[t.Organisation]:
    return list(
        session.scalars(
            select(t.Organisation)
            .join(t.SharingGroupMember, t.SharingGroupMember.org_id == t.Organisation.id)
            .where(t.SharingGroupMember.group_id == group.id)
            .order_by(t.Organisation.name)
        )
    )


def _managed(session: Session, subject: Subject | None, ref: str) -> t.SharingGroup:
    group = _visible(session, subject, ref)
    if subject is not None and not policy.can_manage_group(subject, group.owner_org_id):
        raise Forbidden("only the owner organisation's publishers and administrators change this group")
    return group


def add_member(session: Session, subject: Subject | None, ref: str, org: t.Organisation) -> t.SharingGroup:
    group = _managed(session, subject, ref)
    exists = session.get(t.SharingGroupMember, (group.id, org.id))
    if exists is None:
        session.add(t.SharingGroupMember(group_id=group.id, org_id=org.id))
        audit.record(
            session,
            subject,
            "sharing_group.add_member",
            "sharing_group",
            group.uuid,
            group.owner_org_id,
            organisation=org.uuid,
        )
    return group


def remove_member(session: Session, subject: Subject | None, ref: str, org: t.Organisation) -> t.SharingGroup:
    group = _managed(session, subject, ref)
    if org.id == group.owner_org_id:
        raise Invalid("the owner organisation cannot leave its own group", field="organisation")
    session.execute(
        delete(t.SharingGroupMember).where(
            (t.SharingGroupMember.group_id == group.id) & (t.SharingGroupMember.org_id == org.id)
        )
    )
    audit.record(
        session,
        subject,
        "sharing_group.remove_member",
        "sharing_group",
        group.uuid,
        group.owner_org_id,
        organisation=org.uuid,
    )
    return group


def member_count(session: Session, group: t.SharingGroup) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(t.SharingGroupMember)
            .where(t.SharingGroupMember.group_id == group.id)
        )
        or 0
    )

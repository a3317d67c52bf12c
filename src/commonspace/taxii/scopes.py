"""TAXII collections: one per scope a member may read, each a filter on the reports the access policy
lets them see (``policy.report_filter``, always):

- *Community* (a fixed id): published reports distributed to the ``community`` or to
  ``connected-communities``;
- their organisation (the organisation's UUID): every report of the organisation, drafts included, whatever
  its distribution, as its members see them;
- each sharing group of their organisation (the group's UUID): published reports distributed to that group;
- *Everything TLP:CLEAR* (a fixed id): published reports marked TLP:CLEAR.

Every collection can be read; the first three can be written by those who may create reports with a key
that is not read-only, the TLP:CLEAR one by nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.domain.errors import NotFound
from commonspace.domain.vocab import TLP, Distribution, ReportStatus
from commonspace.policy import Subject
from commonspace.store import tables as t
from commonspace.taxii.protocol import STIX_MEDIA_TYPE

COMMUNITY_ID = "432d9716-72b4-58ee-b188-2f104e2e6088"
CLEAR_ID = "a5ebb859-9df1-5d26-babf-0758898cc932"

COMMUNITY = "community"
ORGANISATION = "organisation"
SHARING_GROUP = "sharing-group"
TLP_CLEAR = "tlp-clear"


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    scope: str  # COMMUNITY, ORGANISATION, SHARING_GROUP or TLP_CLEAR
    can_write: bool
    group_id: int | None = None
    group_uuid: str | None = None

    def resource(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "can_read": True,
            "can_write": self.can_write,
            "media_types": [STIX_MEDIA_TYPE],
        }


def collections(session: Session, subject: Subject) -> list[Collection]:
    """The member's collections: community, organisation, each sharing group, TLP:CLEAR."""
    org = session.get(t.Organisation, subject.org_id)
    if org is None:
        return []
    writable = policy.can_create_report(subject)
    out = [
        Collection(
            COMMUNITY_ID,
            "Community",
            "Published reports shared with every organisation here (community and connected-communities).",
            COMMUNITY,
            writable,
        ),
        Collection(
            org.uuid,
            org.name,
            f"Every report of {org.name}, drafts included, whatever its distribution.",
            ORGANISATION,
            writable,
        ),
    ]
    if subject.group_ids:
        groups = session.scalars(
            select(t.SharingGroup)
            .where(t.SharingGroup.id.in_(sorted(subject.group_ids)))
            .order_by(t.SharingGroup.name)
        )
        out.extend(
            Collection(
                group.uuid,
                group.name,
                f"Published reports shared with the sharing group {group.name}.",
                SHARING_GROUP,
                writable,
                group.id,
                group.uuid,
            )
            for group in groups
        )
    out.append(
        Collection(
            CLEAR_ID,
            "Everything TLP:CLEAR",
            "Every published report marked TLP:CLEAR that you may see (read only).",
            TLP_CLEAR,
            False,
        )
    )
    return out


def get_collection(session: Session, subject: Subject, collection_id: str) -> Collection:
    """One of the member's collections; NotFound for any other id, whether it exists or not."""
    for collection in collections(session, subject):
        if collection.id == collection_id:
            return collection
    raise NotFound(f"no collection {collection_id!r}")


def _scope(collection: Collection, subject: Subject) -> ColumnElement[bool]:
    """The collection's reports, as a WHERE clause on ``report`` (always combined with the policy's)."""
    if collection.scope == ORGANISATION:
        return t.Report.org_id == subject.org_id
    published = t.Report.status == ReportStatus.PUBLISHED.value
    if collection.scope == COMMUNITY:
        return and_(published, t.Report.distribution.in_(policy.WIDE))
    if collection.scope == SHARING_GROUP:
        return and_(
            published,
            t.Report.distribution == Distribution.SHARING_GROUP.value,
            t.Report.sharing_group_id == collection.group_id,
        )
    return and_(published, t.Report.tlp == TLP.CLEAR.value)


def in_collection(subject: Subject, collection: Collection) -> ColumnElement[bool]:
    return and_(policy.report_filter(subject), _scope(collection, subject))

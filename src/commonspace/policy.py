"""The access policy: the one place that says who may see and who may change what.

Every read path goes through it: lists and searches use the SQL filters, single objects the predicates.
The two forms are proved to agree by a property test on random worlds (tests/test_policy_agreement.py).

Seeing:
- a site admin sees everything;
- an organisation sees all its own reports, drafts included;
- others see only published reports, by distribution: ``organisation`` nobody else, ``sharing-group``
  the group's member organisations, ``community`` and ``connected-communities`` every organisation here;
- an indicator is seen by whoever sees its report, unless it narrows the report's distribution, in which
  case the same rule applies once more to the indicator's own distribution.

Changing: only publishers, org admins and site admins of the creator organisation (site admins of any)
edit, delete or publish; a read-only API key changes nothing.

Discussions:
- a forum topic is seen by its own organisation and, by distribution, ``community`` every organisation
  here, ``sharing-group`` the group's member organisations (site admins see all);
- a post is seen exactly when its report (a report's discussion thread) or its topic is seen, never
  otherwise: no post is reached around its parent;
- whoever sees a report or a topic may post in it, readers included (a post is discussion, not a change
  to the report), unless the key is read-only; so may they start topics;
- a post is edited or deleted by its author, the org admins of the organisation it was posted from, and
  site admins (and never with a read-only key); the service also requires the post to be visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from commonspace.domain.vocab import CONTRIBUTOR_ROLES, EDITOR_ROLES, Distribution, ReportStatus, Role
from commonspace.store import tables as t

WIDE = (Distribution.COMMUNITY.value, Distribution.CONNECTED_COMMUNITIES.value)


@dataclass(frozen=True)
class Subject:
    """Who is acting, as loaded afresh for each request (so revocations apply at once)."""

    member_id: int
    org_id: int
    role: Role
    group_ids: frozenset[int] = field(default_factory=frozenset)
    api_key_id: int | None = None
    read_only: bool = False
    via: str = "api"
    email: str = ""

    @property
    def is_site_admin(self) -> bool:
        return self.role is Role.SITE_ADMIN

    @property
    def can_write(self) -> bool:
        return not self.read_only


class Shared(Protocol):
    """What the policy needs to know of a report (a table row or any look-alike)."""

    org_id: int
    status: str
    distribution: str
    sharing_group_id: int | None


class Narrowing(Protocol):
    distribution: str | None
    sharing_group_id: int | None


class Topical(Protocol):
    """What the policy needs to know of a forum topic."""

    org_id: int
    distribution: str
    sharing_group_id: int | None


class Written(Protocol):
    """What the policy needs to know of a post: who wrote it, from which organisation."""

    author_id: int | None
    org_id: int


# --- predicates, for single objects -------------------------------------------------------------


def _reaches(subject: Subject, distribution: str, group_id: int | None) -> bool:
    if distribution in WIDE:
        return True
    return distribution == Distribution.SHARING_GROUP.value and group_id in subject.group_ids


def can_see_report(subject: Subject, report: Shared) -> bool:
    if subject.is_site_admin or report.org_id == subject.org_id:
        return True
    if report.status != ReportStatus.PUBLISHED.value:
        return False
    return _reaches(subject, report.distribution, report.sharing_group_id)


def can_see_indicator(subject: Subject, report: Shared, indicator: Narrowing) -> bool:
    if not can_see_report(subject, report):
        return False
    if subject.is_site_admin or report.org_id == subject.org_id or indicator.distribution is None:
        return True
    return _reaches(subject, indicator.distribution, indicator.sharing_group_id)


def can_edit_report(subject: Subject, report: Shared) -> bool:
    """Edit, delete and publish: the creator organisation's editors, and site admins."""
    if not subject.can_write:
        return False
    if subject.is_site_admin:
        return True
    return report.org_id == subject.org_id and subject.role in EDITOR_ROLES


def can_create_report(subject: Subject) -> bool:
    return subject.can_write and subject.role in EDITOR_ROLES


def can_record_sighting(subject: Subject) -> bool:
    return subject.can_write and subject.role in CONTRIBUTOR_ROLES


def can_manage_members(subject: Subject, org_id: int) -> bool:
    """Org admins manage their own organisation's members; site admins everyone's."""
    if not subject.can_write:
        return False
    return subject.is_site_admin or (subject.role is Role.ORG_ADMIN and subject.org_id == org_id)


def can_create_organisation(subject: Subject) -> bool:
    return subject.can_write and subject.is_site_admin


def can_see_group(subject: Subject, group_id: int) -> bool:
    return subject.is_site_admin or group_id in subject.group_ids


def can_manage_group(subject: Subject, owner_org_id: int) -> bool:
    if not subject.can_write:
        return False
    if subject.is_site_admin:
        return True
    return subject.org_id == owner_org_id and subject.role in (Role.ORG_ADMIN, Role.PUBLISHER)


def can_see_topic(subject: Subject, topic: Topical) -> bool:
    if subject.is_site_admin or topic.org_id == subject.org_id:
        return True
    return _reaches(subject, topic.distribution, topic.sharing_group_id)


def can_see_post(subject: Subject, report: Shared | None, topic: Topical | None) -> bool:
    """A post by its parent, whichever it has: its report (a discussion thread) or its topic."""
    if report is not None:
        return can_see_report(subject, report)
    return topic is not None and can_see_topic(subject, topic)


def can_create_topic(subject: Subject) -> bool:
    """Every member may start a topic (in a sharing group only one of their organisation's)."""
    return subject.can_write


def can_post_on_report(subject: Subject, report: Shared) -> bool:
    """Whoever sees the report discusses it, readers included: a post changes nothing of the report."""
    return subject.can_write and can_see_report(subject, report)


def can_post_in_topic(subject: Subject, topic: Topical) -> bool:
    return subject.can_write and can_see_topic(subject, topic)


def can_moderate_post(subject: Subject, post: Written) -> bool:
    """Edit and delete: the author, the org admins of the organisation it was posted from, site admins.

    Whether the post is visible at all is the parent's business (a report or a topic): check that first.
    """
    if not subject.can_write:
        return False
    if subject.is_site_admin or (post.author_id is not None and post.author_id == subject.member_id):
        return True
    return subject.role is Role.ORG_ADMIN and post.org_id == subject.org_id


# --- SQL filters, for lists and searches ---------------------------------------------------------


def _reaches_sql(
    subject: Subject,
    distribution: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
    group: InstrumentedAttribute[int | None],
) -> ColumnElement[bool]:
    reach: list[ColumnElement[bool]] = [distribution.in_(WIDE)]
    if subject.group_ids:
        reach.append(
            and_(distribution == Distribution.SHARING_GROUP.value, group.in_(sorted(subject.group_ids)))
        )
    return or_(*reach)


def report_filter(subject: Subject | None) -> ColumnElement[bool]:
    """The reports ``subject`` may see, as a WHERE clause on ``report``."""
    if subject is None:
        return false()
    if subject.is_site_admin:
        return true()
    return or_(
        t.Report.org_id == subject.org_id,
        and_(
            t.Report.status == ReportStatus.PUBLISHED.value,
            _reaches_sql(subject, t.Report.distribution, t.Report.sharing_group_id),
        ),
    )


def indicator_filter(subject: Subject | None) -> ColumnElement[bool]:
    """The indicators ``subject`` may see, as a WHERE clause on ``indicator`` joined to ``report``."""
    if subject is None:
        return false()
    if subject.is_site_admin:
        return true()
    return and_(
        report_filter(subject),
        or_(
            t.Report.org_id == subject.org_id,
            t.Indicator.distribution.is_(None),
            _reaches_sql(subject, t.Indicator.distribution, t.Indicator.sharing_group_id),
        ),
    )


def topic_filter(subject: Subject | None) -> ColumnElement[bool]:
    """The forum topics ``subject`` may see, as a WHERE clause on ``topic``."""
    if subject is None:
        return false()
    if subject.is_site_admin:
        return true()
    return or_(
        t.Topic.org_id == subject.org_id,
        _reaches_sql(subject, t.Topic.distribution, t.Topic.sharing_group_id),
    )


def post_filter(subject: Subject | None) -> ColumnElement[bool]:
    """The posts ``subject`` may see, as a WHERE clause on ``post``: those whose report or topic it sees."""
    if subject is None:
        return false()
    if subject.is_site_admin:
        return true()
    return or_(
        t.Post.report_id.in_(select(t.Report.id).where(report_filter(subject))),
        t.Post.topic_id.in_(select(t.Topic.id).where(topic_filter(subject))),
    )

"""Use cases for discussions: the thread under each report, and forum topics with their posts.

A post is seen exactly when its parent is: the report (``policy.can_see_report``) or the topic
(``policy.can_see_topic``); a post, topic or thread the subject may not see raises NotFound, exactly as one
that does not exist. Whoever sees a report or topic may post in it, readers included; the author, the org
admins of the organisation it was posted from and site admins edit and delete a post. Every change is
audited; reading a thread is not (it is not a read of the report).

This module must not import ``commonspace.reports.service``, which imports it for ``comment_counts``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.domain.errors import Forbidden, Invalid, NotFound
from commonspace.domain.markdown import render
from commonspace.forum import schemas
from commonspace.policy import Subject
from commonspace.reports.pagination import Page, decode_cursor, encode_cursor, row_id
from commonspace.reports.schemas import GroupRef, OrgRef
from commonspace.store import tables as t
from commonspace.store.tables import utcnow

# --- finding what the subject may see ------------------------------------------------------------------


def visible_report(session: Session, subject: Subject, uuid: str) -> t.Report:
    report = session.scalar(select(t.Report).where(t.Report.uuid == uuid))
    if report is None or not policy.can_see_report(subject, report):
        raise NotFound(f"no report {uuid!r}")
    return report


def get_topic(session: Session, subject: Subject, uuid: str) -> t.Topic:
    """The topic if the subject may see it; NotFound otherwise, whichever the reason."""
    topic = session.scalar(select(t.Topic).where(t.Topic.uuid == uuid))
    if topic is None or not policy.can_see_topic(subject, topic):
        raise NotFound(f"no topic {uuid!r}")
    return topic


def get_post(session: Session, subject: Subject, uuid: str) -> t.Post:
    """The post if the subject may see its report or topic; NotFound otherwise, whichever the reason."""
    post = session.scalar(select(t.Post).where(t.Post.uuid == uuid))
    if post is not None:
        report = session.get(t.Report, post.report_id) if post.report_id is not None else None
        topic = session.get(t.Topic, post.topic_id) if post.topic_id is not None else None
        if policy.can_see_post(subject, report, topic):
            return post
    raise NotFound(f"no post {uuid!r}")


# --- posts ---------------------------------------------------------------------------------------------


def _posts(session: Session, parent: t.Report | t.Topic, *, limit: int, cursor: str | None) -> Page[t.Post]:
    """Oldest first, by id; the cursor is the last id seen."""
    column = t.Post.report_id if isinstance(parent, t.Report) else t.Post.topic_id
    query = select(t.Post).where(column == parent.id).order_by(t.Post.id).limit(limit + 1)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(t.Post.id > after)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more and rows else None)


def list_report_posts(
    session: Session, subject: Subject, report_uuid: str, *, limit: int = 100, cursor: str | None = None
) -> Page[t.Post]:
    """The thread under a report the subject may see."""
    return _posts(session, visible_report(session, subject, report_uuid), limit=limit, cursor=cursor)


def list_topic_posts(
    session: Session, subject: Subject, topic_uuid: str, *, limit: int = 100, cursor: str | None = None
) -> Page[t.Post]:
    return _posts(session, get_topic(session, subject, topic_uuid), limit=limit, cursor=cursor)


def _new_post(session: Session, subject: Subject, body: str, **parent: int) -> t.Post:
    post = t.Post(
        author_id=subject.member_id, org_id=subject.org_id, body=body.strip(), created=utcnow(), **parent
    )
    session.add(post)
    session.flush()
    return post


def add_report_post(session: Session, subject: Subject, report_uuid: str, data: schemas.PostIn) -> t.Post:
    report = visible_report(session, subject, report_uuid)
    if not policy.can_post_on_report(subject, report):
        raise Forbidden("this API key is read-only")
    post = _new_post(session, subject, data.body, report_id=report.id)
    audit.record(session, subject, "post.add", "post", post.uuid, post.org_id, report=report.uuid)
    return post


def add_topic_post(session: Session, subject: Subject, topic_uuid: str, data: schemas.PostIn) -> t.Post:
    topic = get_topic(session, subject, topic_uuid)
    if not policy.can_post_in_topic(subject, topic):
        raise Forbidden("this API key is read-only")
    post = _new_post(session, subject, data.body, topic_id=topic.id)
    topic.last_post = post.created
    audit.record(session, subject, "post.add", "post", post.uuid, post.org_id, topic=topic.uuid)
    return post


def _parent_detail(session: Session, post: t.Post) -> dict[str, str | None]:
    if post.report_id is not None:
        return {"report": session.scalar(select(t.Report.uuid).where(t.Report.id == post.report_id))}
    return {"topic": session.scalar(select(t.Topic.uuid).where(t.Topic.id == post.topic_id))}


def moderated_post(session: Session, subject: Subject, uuid: str) -> t.Post:
    post = get_post(session, subject, uuid)
    if not policy.can_moderate_post(subject, post):
        raise Forbidden("only the author, the administrators of their organisation and site admins do this")
    return post


def update_post(session: Session, subject: Subject, uuid: str, data: schemas.PostPatch) -> t.Post:
    post = moderated_post(session, subject, uuid)
    post.body = data.body.strip()
    post.edited = utcnow()
    audit.record(
        session, subject, "post.update", "post", post.uuid, post.org_id, **_parent_detail(session, post)
    )
    return post


def delete_post(session: Session, subject: Subject, uuid: str) -> None:
    post = moderated_post(session, subject, uuid)
    audit.record(
        session, subject, "post.delete", "post", post.uuid, post.org_id, **_parent_detail(session, post)
    )
    session.delete(post)


# --- topics --------------------------------------------------------------------------------------------


def _own_group(session: Session, subject: Subject, ref: str) -> int:
    """The id of a sharing group (by UUID or name) that the subject's organisation belongs to."""
    group_id = session.scalar(
        select(t.SharingGroup.id).where((t.SharingGroup.uuid == ref) | (t.SharingGroup.name == ref))
    )
    if group_id is None or group_id not in subject.group_ids:
        raise Invalid(f"no sharing group {ref!r} that your organisation belongs to", field="sharing_group")
    return group_id


def create_topic(session: Session, subject: Subject, data: schemas.TopicIn) -> t.Topic:
    """A new topic of the subject's organisation, with its first post."""
    if not policy.can_create_topic(subject):
        raise Forbidden("this API key is read-only")
    group_id = _own_group(session, subject, data.sharing_group) if data.sharing_group else None
    now = utcnow()
    topic = t.Topic(
        title=data.title.strip(),
        org_id=subject.org_id,
        author_id=subject.member_id,
        distribution=data.distribution,
        sharing_group_id=group_id,
        created=now,
        last_post=now,
    )
    session.add(topic)
    session.flush()
    post = _new_post(session, subject, data.body, topic_id=topic.id)
    audit.record(
        session,
        subject,
        "topic.create",
        "topic",
        topic.uuid,
        topic.org_id,
        distribution=topic.distribution,
        post=post.uuid,
    )
    return topic


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _topic_cursor(topic: t.Topic) -> str:
    micros = (topic.last_post - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"topic:{micros}:{topic.id}".encode()).decode().rstrip("=")


def _topic_position(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, micros, topic_id = text.split(":")
        if prefix != "topic":
            raise ValueError(text)
        return _EPOCH + timedelta(microseconds=int(micros)), row_id(topic_id)
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise Invalid("the cursor is not one this server gave out", field="cursor") from exc


def list_topics(
    session: Session, subject: Subject, *, limit: int = 50, cursor: str | None = None
) -> Page[t.Topic]:
    """The topics the subject may see, latest activity first; the cursor holds the last one's position."""
    query = (
        select(t.Topic)
        .where(policy.topic_filter(subject))
        .order_by(t.Topic.last_post.desc(), t.Topic.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        at, topic_id = _topic_position(cursor)
        query = query.where(or_(t.Topic.last_post < at, and_(t.Topic.last_post == at, t.Topic.id < topic_id)))
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _topic_cursor(rows[-1]) if more and rows else None)


# --- counts and serialisation --------------------------------------------------------------------------


def comment_counts(session: Session, report_ids: Sequence[int]) -> dict[int, int]:
    """The number of posts in each report's thread (absent: none), in one query.

    Not filtered by subject: a thread is seen whole by whoever sees its report.
    """
    if not report_ids:
        return {}
    query = (
        select(t.Post.report_id, func.count())
        .where(t.Post.report_id.in_(list(report_ids)))
        .group_by(t.Post.report_id)
    )
    return {report_id: count for report_id, count in session.execute(query) if report_id is not None}


def topic_post_counts(session: Session, topic_ids: Sequence[int]) -> dict[int, int]:
    if not topic_ids:
        return {}
    query = (
        select(t.Post.topic_id, func.count())
        .where(t.Post.topic_id.in_(list(topic_ids)))
        .group_by(t.Post.topic_id)
    )
    return {topic_id: count for topic_id, count in session.execute(query) if topic_id is not None}


def _org_ref(org: t.Organisation) -> OrgRef:
    return OrgRef(uuid=org.uuid, name=org.name, kind=org.kind, country=org.country)


def _member_ref(member: t.Member | None) -> schemas.MemberRef | None:
    return schemas.MemberRef(uuid=member.uuid, name=member.name) if member is not None else None


def post_outs(session: Session, subject: Subject, posts: Sequence[t.Post]) -> list[schemas.PostOut]:
    """Serialise posts (authors and organisations come with them), their parents' UUIDs in two queries."""
    report_ids = {p.report_id for p in posts if p.report_id is not None}
    topic_ids = {p.topic_id for p in posts if p.topic_id is not None}
    reports: dict[int, str] = {}
    topics: dict[int, str] = {}
    if report_ids:
        query = select(t.Report.id, t.Report.uuid).where(t.Report.id.in_(report_ids))
        reports = {report_id: uuid for report_id, uuid in session.execute(query)}
    if topic_ids:
        query = select(t.Topic.id, t.Topic.uuid).where(t.Topic.id.in_(topic_ids))
        topics = {topic_id: uuid for topic_id, uuid in session.execute(query)}
    return [
        schemas.PostOut(
            uuid=p.uuid,
            report=reports[p.report_id] if p.report_id is not None else None,
            topic=topics[p.topic_id] if p.topic_id is not None else None,
            body=p.body,
            body_html=render(p.body),
            author=_member_ref(p.author),
            organisation=_org_ref(p.organisation),
            created=p.created,
            edited=p.edited,
            can_edit=policy.can_moderate_post(subject, p),
        )
        for p in posts
    ]


def topic_outs(session: Session, topics: Sequence[t.Topic]) -> list[schemas.TopicOut]:
    counts = topic_post_counts(session, [topic.id for topic in topics])
    authors: dict[int, t.Member] = {}
    author_ids = {topic.author_id for topic in topics if topic.author_id is not None}
    if author_ids:
        authors = {m.id: m for m in session.scalars(select(t.Member).where(t.Member.id.in_(author_ids)))}
    return [
        schemas.TopicOut(
            uuid=topic.uuid,
            title=topic.title,
            distribution=topic.distribution,
            sharing_group=GroupRef(uuid=topic.sharing_group.uuid, name=topic.sharing_group.name)
            if topic.sharing_group
            else None,
            organisation=_org_ref(topic.organisation),
            author=_member_ref(authors.get(topic.author_id)) if topic.author_id is not None else None,
            created=topic.created,
            last_post=topic.last_post,
            post_count=counts.get(topic.id, 0),
        )
        for topic in topics
    ]


# --- activity ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    """A recent post, with the report or topic it belongs to (for the dashboard)."""

    post: schemas.PostOut
    parent_kind: str  # "report" or "topic"
    parent_uuid: str
    parent_title: str


def recent_activity(session: Session, subject: Subject, *, limit: int = 10) -> list[Activity]:
    """The latest posts the subject may see, newest first, under the same policy as the threads."""
    posts = list(
        session.scalars(
            select(t.Post).where(policy.post_filter(subject)).order_by(t.Post.id.desc()).limit(limit)
        )
    )
    report_ids = {p.report_id for p in posts if p.report_id is not None}
    topic_ids = {p.topic_id for p in posts if p.topic_id is not None}
    reports = {
        row.id: (row.uuid, row.title)
        for row in session.execute(
            select(t.Report.id, t.Report.uuid, t.Report.title).where(t.Report.id.in_(report_ids))
        )
    }
    topics = {
        row.id: (row.uuid, row.title)
        for row in session.execute(
            select(t.Topic.id, t.Topic.uuid, t.Topic.title).where(t.Topic.id.in_(topic_ids))
        )
    }
    out = []
    for post, post_out in zip(posts, post_outs(session, subject, posts), strict=True):
        kind, (uuid, title) = (
            ("report", reports[post.report_id])
            if post.report_id is not None
            else ("topic", topics[post.topic_id])
        )
        out.append(Activity(post_out, kind, uuid, title))
    return out

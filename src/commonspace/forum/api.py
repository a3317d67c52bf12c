"""REST endpoints for discussions: report threads, forum topics, posts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from commonspace.forum import schemas
from commonspace.forum import service as forum
from commonspace.web.deps import DB, Reader, Writer

router = APIRouter(tags=["discussions"])

PostLimit = Annotated[int, Query(ge=1, le=500)]


@router.get("/reports/{uuid}/posts", response_model=schemas.PostPage)
def list_report_posts(
    uuid: str, session: DB, subject: Reader, limit: PostLimit = 100, cursor: str | None = None
) -> schemas.PostPage:
    """The discussion thread under a report, oldest first, paginated."""
    page = forum.list_report_posts(session, subject, uuid, limit=limit, cursor=cursor)
    return schemas.PostPage(items=forum.post_outs(session, subject, page.items), next_cursor=page.next_cursor)


@router.post("/reports/{uuid}/posts", response_model=schemas.PostOut, status_code=status.HTTP_201_CREATED)
def add_report_post(uuid: str, body: schemas.PostIn, session: DB, subject: Writer) -> schemas.PostOut:
    return forum.post_outs(session, subject, [forum.add_report_post(session, subject, uuid, body)])[0]


@router.patch("/posts/{uuid}", response_model=schemas.PostOut)
def update_post(uuid: str, body: schemas.PostPatch, session: DB, subject: Writer) -> schemas.PostOut:
    post = forum.update_post(session, subject, uuid, body)
    session.flush()
    return forum.post_outs(session, subject, [post])[0]


@router.delete("/posts/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_post(uuid: str, session: DB, subject: Writer) -> Response:
    forum.delete_post(session, subject, uuid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/forum/topics", response_model=schemas.TopicPage)
def list_topics(
    session: DB,
    subject: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> schemas.TopicPage:
    """The topics you may see, latest activity first, with their numbers of posts."""
    page = forum.list_topics(session, subject, limit=limit, cursor=cursor)
    return schemas.TopicPage(items=forum.topic_outs(session, page.items), next_cursor=page.next_cursor)


@router.post("/forum/topics", response_model=schemas.TopicOut, status_code=status.HTTP_201_CREATED)
def create_topic(body: schemas.TopicIn, session: DB, subject: Writer) -> schemas.TopicOut:
    return forum.topic_outs(session, [forum.create_topic(session, subject, body)])[0]


@router.get("/forum/topics/{uuid}", response_model=schemas.TopicOut)
def get_topic(uuid: str, session: DB, subject: Reader) -> schemas.TopicOut:
    return forum.topic_outs(session, [forum.get_topic(session, subject, uuid)])[0]


@router.get("/forum/topics/{uuid}/posts", response_model=schemas.PostPage)
def list_topic_posts(
    uuid: str, session: DB, subject: Reader, limit: PostLimit = 100, cursor: str | None = None
) -> schemas.PostPage:
    """The posts of a topic, oldest first, paginated."""
    page = forum.list_topic_posts(session, subject, uuid, limit=limit, cursor=cursor)
    return schemas.PostPage(items=forum.post_outs(session, subject, page.items), next_cursor=page.next_cursor)


@router.post(
    "/forum/topics/{uuid}/posts", response_model=schemas.PostOut, status_code=status.HTTP_201_CREATED
)
def add_topic_post(uuid: str, body: schemas.PostIn, session: DB, subject: Writer) -> schemas.PostOut:
    return forum.post_outs(session, subject, [forum.add_topic_post(session, subject, uuid, body)])[0]

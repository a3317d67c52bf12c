"""Discussion pages: the thread under each report, the community forum, editing and deleting posts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from commonspace.domain.errors import Invalid
from commonspace.forum import schemas
from commonspace.forum import service as forum
from commonspace.policy import Subject
from commonspace.sharing import service as sharing
from commonspace.store import tables as t
from commonspace.web.auth import PageSubject, PageWriter
from commonspace.web.deps import DB
from commonspace.web.forms import field_errors
from commonspace.web.templating import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 100
BodyField = Annotated[str, Form(max_length=40_000)]


def report_thread(
    session: Session,
    subject: Subject,
    report: t.Report,
    *,
    cursor: str | None = None,
    body: str = "",
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the report page's discussion section shows (template ``forum/_thread.html``)."""
    page = forum.list_report_posts(session, subject, report.uuid, limit=PER_PAGE, cursor=cursor)
    return {
        "report_uuid": report.uuid,
        "posts": forum.post_outs(session, subject, page.items),
        "next_cursor": page.next_cursor,
        "total": forum.comment_counts(session, [report.id]).get(report.id, 0),
        "can_post": subject.can_write,
        "body": body,
        "errors": errors or {},
    }


def _parent_url(post: schemas.PostOut) -> str:
    return f"/reports/{post.report}#discussion" if post.report else f"/forum/{post.topic}#posts"


@router.post("/reports/{uuid}/posts")
def add_report_post(
    request: Request, uuid: str, session: DB, subject: PageWriter, body: BodyField = ""
) -> Response:
    try:
        post = forum.add_report_post(session, subject, uuid, schemas.PostIn(body=body))
    except ValidationError as exc:
        report = forum.visible_report(session, subject, uuid)
        thread = report_thread(session, subject, report, body=body, errors=field_errors(exc))
        if request.headers.get("hx-request"):
            return render(request, "forum/_thread.html", {"thread": thread})
        raise Invalid(field_errors(exc).get("body", "the comment is empty"), field="body") from exc
    if request.headers.get("hx-request"):
        session.flush()
        thread = report_thread(session, subject, forum.visible_report(session, subject, uuid))
        return render(request, "forum/_thread.html", {"thread": thread})
    return RedirectResponse(f"/reports/{uuid}#post-{post.uuid}", status_code=303)


@router.get("/posts/{uuid}/edit")
def edit_post_page(request: Request, uuid: str, session: DB, subject: PageSubject) -> Response:
    post = forum.post_outs(session, subject, [forum.moderated_post(session, subject, uuid)])[0]
    return render(request, "forum/edit_post.html", {"post": post, "body": post.body, "errors": {}})


@router.post("/posts/{uuid}/edit")
def edit_post(
    request: Request, uuid: str, session: DB, subject: PageWriter, body: BodyField = ""
) -> Response:
    try:
        post = forum.update_post(session, subject, uuid, schemas.PostPatch(body=body))
    except ValidationError as exc:
        post_out = forum.post_outs(session, subject, [forum.moderated_post(session, subject, uuid)])[0]
        context = {"post": post_out, "body": body, "errors": field_errors(exc)}
        return render(request, "forum/edit_post.html", context, status=422)
    target = _parent_url(forum.post_outs(session, subject, [post])[0])
    return RedirectResponse(target.split("#")[0] + f"#post-{post.uuid}", status_code=303)


@router.post("/posts/{uuid}/delete")
def delete_post(uuid: str, session: DB, subject: PageWriter) -> Response:
    post = forum.post_outs(session, subject, [forum.moderated_post(session, subject, uuid)])[0]
    forum.delete_post(session, subject, uuid)
    return RedirectResponse(_parent_url(post), status_code=303)


# --- the forum -----------------------------------------------------------------------------------------


def _forum_page(
    request: Request,
    session: Session,
    subject: Subject,
    *,
    cursor: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    page = forum.list_topics(session, subject, limit=50, cursor=cursor)
    context = {
        "nav": "forum",
        "topics": forum.topic_outs(session, page.items),
        "next_cursor": page.next_cursor,
        "groups": sharing.list_groups(session, subject) if not subject.is_site_admin else [],
        "own_groups": [g for g in sharing.list_groups(session, subject) if g.id in subject.group_ids],
        "form": form or {"distribution": "community"},
        "errors": errors or {},
    }
    return render(request, "forum/index.html", context, status=422 if errors else 200)


@router.get("/forum")
def forum_index(request: Request, session: DB, subject: PageSubject, cursor: str | None = None) -> Response:
    return _forum_page(request, session, subject, cursor=cursor)


@router.post("/forum")
def create_topic(
    request: Request,
    session: DB,
    subject: PageWriter,
    title: Annotated[str, Form(max_length=1000)] = "",
    distribution: Annotated[str, Form(max_length=40)] = "community",
    sharing_group: Annotated[str, Form(max_length=100)] = "",
    body: BodyField = "",
) -> Response:
    form = {"title": title, "distribution": distribution, "sharing_group": sharing_group, "body": body}
    try:
        data = schemas.TopicIn(
            title=title,
            distribution=distribution,
            sharing_group=sharing_group if distribution == "sharing-group" else None,
            body=body,
        )
        topic = forum.create_topic(session, subject, data)
    except (ValidationError, Invalid) as exc:
        return _forum_page(request, session, subject, form=form, errors=field_errors(exc))
    return RedirectResponse(f"/forum/{topic.uuid}", status_code=303)


def _topic_page(
    request: Request,
    session: Session,
    subject: Subject,
    uuid: str,
    *,
    cursor: str | None = None,
    body: str = "",
    errors: dict[str, str] | None = None,
) -> Response:
    topic = forum.get_topic(session, subject, uuid)
    page = forum.list_topic_posts(session, subject, uuid, limit=PER_PAGE, cursor=cursor)
    context = {
        "nav": "forum",
        "topic": forum.topic_outs(session, [topic])[0],
        "posts": forum.post_outs(session, subject, page.items),
        "next_cursor": page.next_cursor,
        "can_post": subject.can_write,
        "body": body,
        "errors": errors or {},
    }
    return render(request, "forum/topic.html", context, status=422 if errors else 200)


@router.get("/forum/{uuid}")
def topic_page(
    request: Request, uuid: str, session: DB, subject: PageSubject, cursor: str | None = None
) -> Response:
    return _topic_page(request, session, subject, uuid, cursor=cursor)


@router.post("/forum/{uuid}/posts")
def add_topic_post(
    request: Request, uuid: str, session: DB, subject: PageWriter, body: BodyField = ""
) -> Response:
    try:
        post = forum.add_topic_post(session, subject, uuid, schemas.PostIn(body=body))
    except ValidationError as exc:
        return _topic_page(request, session, subject, uuid, body=body, errors=field_errors(exc))
    return RedirectResponse(f"/forum/{uuid}#post-{post.uuid}", status_code=303)

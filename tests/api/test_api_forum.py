"""Discussions through the REST API: report threads, forum topics, posts, and who sees and changes what."""

from __future__ import annotations

import json
import uuid as uuid_module
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from commonspace.store import tables as t
from world import API, GROUP, World, error_of, field_paths, new_report

LABELS = (
    "ministry.admin",
    "ministry.publisher",
    "ministry.reader",
    "bank.admin",
    "bank.reader",
    "ngo.admin",
    "ngo.reader",
    "intl.analyst",
    "site",
)


def shape(response: Any, uuid: str) -> str:
    """Status and body of an answer, with ``uuid`` (the one asked for) blanked out."""
    return f"{response.status_code} " + json.dumps(response.json(), sort_keys=True).replace(uuid, "<uuid>")


def absent_shape(client: TestClient, world: World, label: str, method: str, path: str, **kwargs: Any) -> str:
    """The answer to ``method path`` (with ``{uuid}`` in it) for a random UUID: what "no such thing" is."""
    absent = str(uuid_module.uuid4())
    response = client.request(
        method, f"{API}{path.format(uuid=absent)}", headers=world.headers(label), **kwargs
    )
    return shape(response, absent)


def post_on(client: TestClient, world: World, label: str, report_uuid: str, body: str) -> dict[str, Any]:
    response = client.post(
        f"{API}/reports/{report_uuid}/posts", json={"body": body}, headers=world.headers(label)
    )
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()
    return post


def the_reports(client: TestClient, world: World) -> dict[str, str]:
    """Four reports of the ministry: a draft, and published to the organisation, the group, the community."""
    publisher = "ministry.publisher"
    return {
        "draft": new_report(client, world, publisher, title="draft")["uuid"],
        "organisation": new_report(
            client, world, publisher, publish=True, title="organisation", distribution="organisation"
        )["uuid"],
        "group": new_report(
            client,
            world,
            publisher,
            publish=True,
            title="group",
            tlp="RED",
            distribution="sharing-group",
            sharing_group=world.groups[GROUP].uuid,
        )["uuid"],
        "community": new_report(client, world, publisher, publish=True, title="community")["uuid"],
    }


# Who sees which report (and so its thread): the ministry and the site admin all; the bank the group's and
# the community's; everyone else the community's only.
SEES = {
    "ministry": {"draft", "organisation", "group", "community"},
    "bank": {"group", "community"},
    "ngo": {"community"},
    "intl": {"community"},
    "site": {"draft", "organisation", "group", "community"},
}


def sees(label: str, report: str) -> bool:
    return report in SEES[label.split(".")[0]]


def test_a_thread_is_seen_exactly_by_who_sees_its_report(client: TestClient, world: World) -> None:
    reports = the_reports(client, world)
    posts = {
        name: post_on(client, world, "ministry.reader", uuid, f"about {name}")
        for name, uuid in reports.items()
    }
    for label in LABELS:
        headers = world.headers(label)
        not_found = {
            "list": absent_shape(client, world, label, "GET", "/reports/{uuid}/posts"),
            "post": absent_shape(client, world, label, "POST", "/reports/{uuid}/posts", json={"body": "hi"}),
            "edit": absent_shape(client, world, label, "PATCH", "/posts/{uuid}", json={"body": "hi"}),
            "delete": absent_shape(client, world, label, "DELETE", "/posts/{uuid}"),
        }
        for name, report_uuid in reports.items():
            who = f"{label} on the {name} report"
            visible = sees(label, name)
            assert (client.get(f"{API}/reports/{report_uuid}", headers=headers).status_code == 200) is visible
            thread = client.get(f"{API}/reports/{report_uuid}/posts", headers=headers)
            post_uuid = posts[name]["uuid"]
            if visible:
                assert thread.status_code == 200, who
                assert [p["uuid"] for p in thread.json()["items"]] == [post_uuid], who
                continue
            assert shape(thread, report_uuid) == not_found["list"], who
            response = client.post(f"{API}/reports/{report_uuid}/posts", json={"body": "hi"}, headers=headers)
            assert shape(response, report_uuid) == not_found["post"], who
            response = client.patch(f"{API}/posts/{post_uuid}", json={"body": "hi"}, headers=headers)
            assert shape(response, post_uuid) == not_found["edit"], who
            response = client.delete(f"{API}/posts/{post_uuid}", headers=headers)
            assert shape(response, post_uuid) == not_found["delete"], who
            # Nor does the post show anywhere else.
            for path in ("/reports", "/forum/topics", f"/reports/{reports['community']}/posts"):
                assert post_uuid not in client.get(f"{API}{path}", headers=headers).text, (who, path)
    # Whoever sees a report posts in its thread, readers included.
    for label, name in (("bank.reader", "group"), ("ngo.reader", "community"), ("site", "draft")):
        post_on(client, world, label, reports[name], f"{label} was here")
    # The refused attempts changed nothing.
    for name, report_uuid in reports.items():
        thread = client.get(f"{API}/reports/{report_uuid}/posts", headers=world.headers("site")).json()
        assert thread["items"][0] == posts[name] | {"can_edit": True}
        assert [p["body"] for p in thread["items"]][1:] == {
            "group": ["bank.reader was here"],
            "community": ["ngo.reader was here"],
            "draft": ["site was here"],
        }.get(name, [])


def test_a_post_and_its_html(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True)["uuid"]
    body = '  <script>alert(1)</script> **bold** [x](javascript:alert(1)) <img src=x onerror="alert(1)">\n'
    post = post_on(client, world, "bank.reader", report, body)
    bank = world.orgs["bank"]
    assert set(post) == {"uuid", "report", "topic", "body", "body_html", "author", "organisation"} | {
        "created",
        "edited",
        "can_edit",
    }
    assert post["body"] == body.strip()
    assert (post["report"], post["topic"], post["edited"], post["can_edit"]) == (report, None, None, True)
    assert post["author"] == {"uuid": world.members["bank.reader"].uuid, "name": "bank.reader"}
    assert post["organisation"] == {
        "uuid": bank.uuid,
        "name": bank.name,
        "kind": "enterprise",
        "country": "DE",
    }
    html = post["body_html"]
    # The script and the image are text; the javascript: link is no link.
    assert "<script" not in html and "<img" not in html and "<a" not in html and "href" not in html, html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<strong>bold</strong>" in html
    # Bodies are stripped, then 1 to 20,000 characters.
    url = f"{API}/reports/{report}/posts"
    headers = world.headers("bank.reader")
    for bad in ({"body": ""}, {"body": " \n\t "}, {"body": "x" * 20_001}, {}, {"body": "x", "extra": 1}):
        response = client.post(url, json=bad, headers=headers)
        assert response.status_code == 422 and error_of(response)["code"] == "invalid", bad
    assert client.post(url, json={"body": "x" * 20_000 + "  "}, headers=headers).status_code == 201


def test_edit_and_delete(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True)["uuid"]
    post = post_on(client, world, "bank.reader", report, "first thought")
    url = f"{API}/posts/{post['uuid']}"

    def edit(label: str, body: str) -> Any:
        return client.patch(url, json={"body": body}, headers=world.headers(label))

    # The author, the org admins of the organisation it was posted from, and site admins; nobody else.
    response = edit("bank.reader", "  second thought ")
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["body"] == "second thought" and edited["body_html"] == "<p>second thought</p>\n"
    assert edited["edited"] is not None and edited["created"] == post["created"]
    assert edit("bank.admin", "moderated").status_code == 200
    assert edit("site", "moderated by the operator").status_code == 200
    for label in ("bank.publisher", "bank.analyst", "ministry.admin", "ministry.publisher", "ngo.admin"):
        response = edit(label, "not mine")
        assert response.status_code == 403 and error_of(response)["code"] == "forbidden", label
        response = client.delete(url, headers=world.headers(label))
        assert response.status_code == 403 and error_of(response)["code"] == "forbidden", label
    assert edit("bank.reader", "").status_code == 422
    thread = f"{API}/reports/{report}/posts"
    for label, can_edit in (
        ("bank.reader", True),
        ("bank.admin", True),
        ("site", True),
        ("bank.analyst", False),
    ):
        (listed,) = client.get(thread, headers=world.headers(label)).json()["items"]
        assert listed["body"] == "moderated by the operator" and listed["can_edit"] is can_edit, label
    # Deleting: by the org admin of the post's organisation, by the author, by a site admin.
    assert client.delete(url, headers=world.headers("bank.admin")).status_code == 204
    assert client.get(thread, headers=world.headers("bank.reader")).json()["items"] == []
    assert client.delete(url, headers=world.headers("bank.admin")).status_code == 404
    assert edit("bank.reader", "back?").status_code == 404
    for label in ("ngo.reader", "site"):
        mine = post_on(client, world, "ngo.reader", report, "to go")
        assert client.delete(f"{API}/posts/{mine['uuid']}", headers=world.headers(label)).status_code == 204
    with world.session() as session:
        actions = list(session.scalars(select(t.AuditEvent.action).where(t.AuditEvent.object_type == "post")))
    assert actions.count("post.add") == 3 and actions.count("post.update") == 3
    assert actions.count("post.delete") == 3
    # Deleting the report deletes its thread.
    last = post_on(client, world, "ngo.reader", report, "last")
    assert (
        client.delete(f"{API}/reports/{report}", headers=world.headers("ministry.publisher")).status_code
        == 204
    )
    assert client.delete(f"{API}/posts/{last['uuid']}", headers=world.headers("site")).status_code == 404


def test_a_read_only_key_reads_but_does_not_post(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True)["uuid"]
    mine = post_on(client, world, "bank.reader", report, "mine")
    me = world.members["bank.reader"].uuid
    response = client.post(
        f"{API}/members/{me}/api-keys", json={"read_only": True}, headers=world.headers("bank.reader")
    )
    assert response.status_code == 201
    read_only = {"Authorization": f"Bearer {response.json()['key']}"}
    listed = client.get(f"{API}/reports/{report}/posts", headers=read_only)
    assert listed.status_code == 200 and listed.json()["items"][0]["can_edit"] is False
    topic = {"title": "t", "body": "b"}
    for method, path, body in (
        ("POST", f"/reports/{report}/posts", {"body": "no"}),
        ("PATCH", f"/posts/{mine['uuid']}", {"body": "no"}),
        ("DELETE", f"/posts/{mine['uuid']}", None),
        ("POST", "/forum/topics", topic),
    ):
        response = client.request(method, f"{API}{path}", json=body, headers=read_only)
        assert response.status_code == 403 and error_of(response)["code"] == "forbidden", (method, path)
    assert client.get(f"{API}/forum/topics", headers=read_only).status_code == 200
    (still,) = client.get(f"{API}/reports/{report}/posts", headers=read_only).json()["items"]
    assert still["body"] == "mine"


def test_comment_counts_in_reports(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True)["uuid"]
    other = new_report(client, world, "ministry.publisher", publish=True, title="other")["uuid"]

    def counts(label: str = "ngo.reader") -> dict[str, int]:
        items = client.get(f"{API}/reports", headers=world.headers(label)).json()["items"]
        return {r["uuid"]: r["comments"] for r in items}

    assert counts() == {report: 0, other: 0}
    first = post_on(client, world, "ngo.reader", report, "one")
    post_on(client, world, "bank.reader", report, "two")
    post_on(client, world, "ministry.reader", other, "three")
    assert counts() == counts("ministry.reader") == {report: 2, other: 1}
    assert client.get(f"{API}/reports/{report}", headers=world.headers("intl.reader")).json()["comments"] == 2
    assert (
        client.delete(f"{API}/posts/{first['uuid']}", headers=world.headers("ngo.reader")).status_code == 204
    )
    assert counts() == {report: 1, other: 1}


def test_thread_pagination(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True)["uuid"]
    written = [post_on(client, world, "ngo.reader", report, f"post {i}")["uuid"] for i in range(5)]
    url = f"{API}/reports/{report}/posts"
    headers = world.headers("bank.reader")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(url, params=params, headers=headers).json()
        seen += [p["uuid"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == written  # oldest first, each once
    assert client.get(url, params={"cursor": "nonsense"}, headers=headers).status_code == 422
    assert client.get(url, params={"limit": 0}, headers=headers).status_code == 422


def new_topic(client: TestClient, world: World, label: str, **fields: Any) -> dict[str, Any]:
    body = {"title": "A topic", "body": "Let us talk.", **fields}
    response = client.post(f"{API}/forum/topics", json=body, headers=world.headers(label))
    assert response.status_code == 201, response.text
    topic: dict[str, Any] = response.json()
    return topic


def test_topics_community_and_sharing_group(client: TestClient, world: World) -> None:
    group = world.groups[GROUP]
    everyone = new_topic(client, world, "ngo.reader", title="  Open to all  ")
    ngo = world.orgs["ngo"]
    assert {k: everyone[k] for k in ("title", "distribution", "sharing_group", "post_count")} == {
        "title": "Open to all",
        "distribution": "community",
        "sharing_group": None,
        "post_count": 1,
    }
    assert everyone["organisation"]["uuid"] == ngo.uuid
    assert everyone["author"] == {"uuid": world.members["ngo.reader"].uuid, "name": "ngo.reader"}
    assert everyone["created"] == everyone["last_post"]
    closed = new_topic(client, world, "bank.analyst", distribution="sharing-group", sharing_group=group.uuid)
    assert closed["sharing_group"] == {"uuid": group.uuid, "name": group.name}
    by_name = new_topic(client, world, "ministry.reader", distribution="sharing-group", sharing_group=GROUP)
    assert by_name["sharing_group"]["uuid"] == group.uuid

    visible = {
        "ministry.reader": {everyone["uuid"], closed["uuid"], by_name["uuid"]},
        "bank.reader": {everyone["uuid"], closed["uuid"], by_name["uuid"]},
        "site": {everyone["uuid"], closed["uuid"], by_name["uuid"]},
        "ngo.reader": {everyone["uuid"]},
        "intl.admin": {everyone["uuid"]},
    }
    for label, expected in visible.items():
        headers = world.headers(label)
        listed = client.get(f"{API}/forum/topics", headers=headers).json()
        assert {topic["uuid"] for topic in listed["items"]} == expected, label
        not_found = {
            "get": absent_shape(client, world, label, "GET", "/forum/topics/{uuid}"),
            "list": absent_shape(client, world, label, "GET", "/forum/topics/{uuid}/posts"),
            "post": absent_shape(
                client, world, label, "POST", "/forum/topics/{uuid}/posts", json={"body": "x"}
            ),
        }
        for topic in (closed, by_name):
            uuid = topic["uuid"]
            get = client.get(f"{API}/forum/topics/{uuid}", headers=headers)
            posts = client.get(f"{API}/forum/topics/{uuid}/posts", headers=headers)
            add = client.post(f"{API}/forum/topics/{uuid}/posts", json={"body": "x"}, headers=headers)
            if uuid in expected:
                assert (get.status_code, posts.status_code, add.status_code) == (200, 200, 201), label
            else:
                assert shape(get, uuid) == not_found["get"], label
                assert shape(posts, uuid) == not_found["list"], label
                assert shape(add, uuid) == not_found["post"], label
    # A post in a topic the subject cannot see cannot be reached by its uuid either.
    first = client.get(f"{API}/forum/topics/{closed['uuid']}/posts", headers=world.headers("bank.reader"))
    hidden = first.json()["items"][0]
    assert hidden["topic"] == closed["uuid"] and hidden["body"] == "Let us talk."
    for method in ("PATCH", "DELETE"):
        for label in ("ngo.admin", "intl.admin"):
            kwargs: dict[str, Any] = {"json": {"body": "x"}} if method == "PATCH" else {}
            response = client.request(
                method, f"{API}/posts/{hidden['uuid']}", headers=world.headers(label), **kwargs
            )
            assert shape(response, hidden["uuid"]) == absent_shape(
                client, world, label, method, "/posts/{uuid}", **kwargs
            ), (method, label)
    # The author's org admin moderates it; the group's owner does not.
    response = client.patch(
        f"{API}/posts/{hidden['uuid']}", json={"body": "edited"}, headers=world.headers("bank.admin")
    )
    assert response.status_code == 200 and response.json()["topic"] == closed["uuid"]
    response = client.patch(
        f"{API}/posts/{hidden['uuid']}", json={"body": "no"}, headers=world.headers("ministry.admin")
    )
    assert response.status_code == 403


def test_topic_rules(client: TestClient, world: World) -> None:
    group = world.groups[GROUP].uuid
    url = f"{API}/forum/topics"
    bad_bodies = [
        ({"title": "t", "body": "b", "distribution": "sharing-group"}, []),
        ({"title": "t", "body": "b", "sharing_group": group}, []),
        ({"title": "t", "body": "b", "distribution": "connected-communities"}, ["distribution"]),
        ({"title": "t", "body": "b", "distribution": "organisation"}, ["distribution"]),
        ({"title": " ", "body": "b"}, ["title"]),
        ({"title": "t" * 301, "body": "b"}, ["title"]),
        ({"title": "t", "body": "  "}, ["body"]),
        ({"title": "t", "body": "b" * 20_001}, ["body"]),
        ({"body": "b"}, ["title"]),
    ]
    for body, paths in bad_bodies:
        response = client.post(url, json=body, headers=world.headers("ministry.reader"))
        assert response.status_code == 422, body
        if paths:
            assert field_paths(response) == paths, body
    # A sharing group must be one of the author's organisation's, even one that exists.
    for label in ("ngo.publisher", "site"):
        response = client.post(
            url,
            json={"title": "t", "body": "b", "distribution": "sharing-group", "sharing_group": group},
            headers=world.headers(label),
        )
        assert response.status_code == 422 and field_paths(response) == ["sharing_group"], label
    assert new_topic(client, world, "ministry.reader", title="t" * 300, body="b" * 20_000)["post_count"] == 1
    assert client.get(url, headers=world.headers("ngo.reader")).json()["items"][0]["title"] == "t" * 300


def test_topics_by_latest_activity(client: TestClient, world: World) -> None:
    topics = [new_topic(client, world, "ministry.reader", title=f"topic {i}")["uuid"] for i in range(4)]
    url = f"{API}/forum/topics"
    headers = world.headers("bank.reader")

    def order(limit: int = 500) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
            page = client.get(url, params=params, headers=headers).json()
            seen += [topic["uuid"] for topic in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    assert order() == order(limit=1) == list(reversed(topics))
    response = client.post(f"{API}/forum/topics/{topics[1]}/posts", json={"body": "bump"}, headers=headers)
    assert response.status_code == 201
    assert order() == order(limit=3) == [topics[1], topics[3], topics[2], topics[0]]
    bumped = client.get(f"{API}/forum/topics/{topics[1]}", headers=headers).json()
    assert bumped["post_count"] == 2 and bumped["last_post"] == response.json()["created"]
    assert datetime.fromisoformat(bumped["last_post"]) > datetime.fromisoformat(bumped["created"])
    posts = client.get(f"{API}/forum/topics/{topics[1]}/posts", headers=headers).json()["items"]
    assert [p["body"] for p in posts] == ["Let us talk.", "bump"]
    assert [p["can_edit"] for p in posts] == [False, True]
    for cursor in ("nonsense", "aWQ6NDI"):
        response = client.get(url, params={"cursor": cursor}, headers=headers)
        assert response.status_code == 422 and field_paths(response) == ["cursor"], cursor
    with world.session() as session:
        created = session.scalars(select(t.AuditEvent).where(t.AuditEvent.action == "topic.create")).all()
        assert {event.object_uuid for event in created} == set(topics)

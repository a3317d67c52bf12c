"""Discussion pages: report threads, the forum, editing and deleting posts, the dashboard's activity."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient

from world import API, GROUP, World, new_report, sign_in


def _group_report(client: TestClient, world: World) -> dict[str, str]:
    return new_report(
        client,
        world,
        "ministry.publisher",
        publish=True,
        title="Bilateral phishing",
        distribution="sharing-group",
        sharing_group=world.groups[GROUP].uuid,
    )


def _post_uuids(html: str) -> list[str]:
    return re.findall(r'<article class="post" id="post-([0-9a-f-]{36})"', html)


def test_comment_on_a_report_and_see_the_count(client: TestClient, world: World) -> None:
    report = _group_report(client, world)
    token = sign_in(client, world, "bank.reader")  # readers discuss too
    response = client.post(
        f"/reports/{report['uuid']}/posts",
        data={"csrf_token": token, "body": "Seen **here** too <script>alert(1)</script>"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/reports/{report['uuid']}#post-")
    thread = client.get(f"{API}/reports/{report['uuid']}/posts", headers=world.headers("ministry.reader"))
    (post,) = thread.json()["items"]
    assert post["body"].startswith("Seen **here** too") and "<script" not in post["body_html"]
    listed = client.get(f"{API}/reports", headers=world.headers("ministry.reader")).json()["items"]
    assert [r["comments"] for r in listed if r["uuid"] == report["uuid"]] == [1]


def test_htmx_comment_returns_the_thread_with_the_new_count(client: TestClient, world: World) -> None:
    report = _group_report(client, world)
    token = sign_in(client, world, "bank.analyst")
    response = client.post(
        f"/reports/{report['uuid']}/posts",
        data={"body": "first"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert '<section id="discussion"' in response.text and "(1 comment)" in response.text
    assert len(_post_uuids(response.text)) == 1
    empty = client.post(
        f"/reports/{report['uuid']}/posts",
        data={"body": "   "},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert 'aria-invalid="true"' in empty.text and "(1 comment)" in empty.text


def test_non_members_cannot_post_or_touch_posts(client: TestClient, world: World) -> None:
    report = _group_report(client, world)
    token = sign_in(client, world, "bank.analyst")
    client.post(f"/reports/{report['uuid']}/posts", data={"csrf_token": token, "body": "ours"})
    post_uuid = client.get(
        f"{API}/reports/{report['uuid']}/posts", headers=world.headers("bank.analyst")
    ).json()["items"][0]["uuid"]
    client.cookies.clear()
    token = sign_in(client, world, "ngo.admin")
    missing = client.post(f"/reports/{uuid.uuid4()}/posts", data={"csrf_token": token, "body": "x"})
    for response in (
        client.post(f"/reports/{report['uuid']}/posts", data={"csrf_token": token, "body": "let me in"}),
        client.get(f"/posts/{post_uuid}/edit"),
        client.post(f"/posts/{post_uuid}/edit", data={"csrf_token": token, "body": "defaced"}),
        client.post(f"/posts/{post_uuid}/delete", data={"csrf_token": token}),
    ):
        assert response.status_code == 404 and response.text == missing.text
    thread = client.get(f"{API}/reports/{report['uuid']}/posts", headers=world.headers("bank.analyst")).json()
    assert [p["body"] for p in thread["items"]] == ["ours"]


def test_authors_and_their_org_admins_edit_and_delete(client: TestClient, world: World) -> None:
    report = _group_report(client, world)
    token = sign_in(client, world, "bank.analyst")
    client.post(f"/reports/{report['uuid']}/posts", data={"csrf_token": token, "body": "draft words"})
    (post_uuid,) = _post_uuids(client.get(f"/reports/{report['uuid']}").text)
    assert client.get(f"/posts/{post_uuid}/edit").status_code == 200
    response = client.post(
        f"/posts/{post_uuid}/edit", data={"csrf_token": token, "body": "better words"}, follow_redirects=False
    )
    assert (
        response.status_code == 303
        and response.headers["location"] == f"/reports/{report['uuid']}#post-{post_uuid}"
    )
    assert client.post(f"/posts/{post_uuid}/edit", data={"csrf_token": token, "body": ""}).status_code == 422
    client.cookies.clear()
    token = sign_in(client, world, "ministry.admin")  # sees the post, is not its org's admin
    assert client.post(f"/posts/{post_uuid}/delete", data={"csrf_token": token}).status_code == 403
    client.cookies.clear()
    token = sign_in(client, world, "bank.admin")
    assert (
        client.post(f"/posts/{post_uuid}/delete", data={"csrf_token": token}).status_code == 200
    )  # followed
    assert (
        client.get(f"{API}/reports/{report['uuid']}/posts", headers=world.headers("bank.admin")).json()[
            "items"
        ]
        == []
    )


def test_forum_topic_for_a_sharing_group(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.analyst")
    response = client.post(
        "/forum",
        data={
            "csrf_token": token,
            "title": "Bilateral coordination",
            "distribution": "sharing-group",
            "sharing_group": world.groups[GROUP].uuid,
            "body": "Let us meet.",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    topic_url = response.headers["location"]
    response = client.post(f"{topic_url}/posts", data={"csrf_token": token, "body": "Agenda follows."})
    assert (
        response.status_code == 200 and "Agenda follows." in response.text and "Let us meet." in response.text
    )
    assert "Bilateral coordination" in client.get("/forum").text
    client.cookies.clear()
    sign_in(client, world, "bank.reader")
    assert "Bilateral coordination" in client.get("/forum").text
    assert client.get(topic_url).status_code == 200
    client.cookies.clear()
    sign_in(client, world, "intl.admin")
    assert "Bilateral coordination" not in client.get("/forum").text
    assert client.get(topic_url).status_code == 404


def test_topic_form_errors_are_shown_next_to_fields(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "intl.analyst")  # intl belongs to no sharing group
    response = client.post(
        "/forum",
        data={
            "csrf_token": token,
            "title": "Ours only",
            "distribution": "sharing-group",
            "sharing_group": world.groups[GROUP].uuid,
            "body": "x",
        },
    )
    assert response.status_code == 422
    assert 'id="sharing_group-error"' in response.text and 'value="Ours only"' in response.text
    assert client.get(f"{API}/forum/topics", headers=world.headers("site")).json()["items"] == []


def test_dashboard_activity_follows_the_policy(client: TestClient, world: World) -> None:
    report = _group_report(client, world)
    client.post(
        f"{API}/reports/{report['uuid']}/posts",
        json={"body": "Confirmed on our side."},
        headers=world.headers("bank.analyst"),
    )
    sign_in(client, world, "ministry.reader")
    home = client.get("/").text
    assert "Bilateral phishing" in home and "commented on" in home
    client.cookies.clear()
    sign_in(client, world, "ngo.reader")
    home = client.get("/").text
    assert "Bilateral phishing" not in home and "commented on" not in home

"""The administration pages: organisations, members, API keys, sharing groups and the access log."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from world import API, GROUP, World, form_token, new_report, sign_in

NEW_PASSWORD = "a long enough new password"


def switch(client: TestClient, world: World, label: str) -> str:
    """Sign out whoever is signed in, and sign ``label`` in; their CSRF token."""
    client.cookies.clear()
    return sign_in(client, world, label)


def assert_clean(html: str) -> None:
    """What the content security policy would block is not on the page."""
    assert "<script>" not in html and " style=" not in html and " onclick=" not in html


# --- the overview and organisations --------------------------------------------------------------


def test_overview_shows_my_organisation_and_the_sections_i_may_use(client: TestClient, world: World) -> None:
    sign_in(client, world, "ministry.reader")
    page = client.get("/admin")
    assert page.status_code == 200
    assert world.orgs["ministry"].name in page.text and "Government" in page.text and "France" in page.text
    assert 'href="/admin/members"' in page.text and 'href="/admin/keys"' in page.text
    assert 'href="/admin/audit"' not in page.text  # the access log is for administrators
    assert 'href="/admin" aria-current="page"' in page.text
    assert_clean(page.text)
    switch(client, world, "ministry.admin")
    assert 'href="/admin/audit"' in client.get("/admin").text


def test_everybody_sees_the_directory_and_only_site_admins_add_organisations(
    client: TestClient, world: World
) -> None:
    token = sign_in(client, world, "ngo.reader")
    page = client.get("/admin/organisations")
    assert page.status_code == 200
    for org in world.orgs.values():
        assert org.name in page.text
    assert "Germany" in page.text and "Add an organisation" not in page.text
    body = {"name": "Sneaky Org", "kind": "enterprise", "country": "FR", "csrf_token": token}
    response = client.post("/admin/organisations", data=body)
    assert response.status_code == 403 and "Not allowed" in response.text
    assert "Sneaky Org" not in client.get("/admin/organisations").text

    token = switch(client, world, "site")
    page = client.get("/admin/organisations")
    assert "Add an organisation" in page.text and '<option value="KE">Kenya</option>' in page.text
    assert_clean(page.text)
    # The domain's rules come back next to their field, with the values kept.
    body = {
        "name": "Global Forum",
        "kind": "international-organisation",
        "country": "CH",
        "sector": "policy",
        "csrf_token": token,
    }
    response = client.post("/admin/organisations", data=body)
    assert response.status_code == 422
    assert 'id="country-error"' in response.text and "has no country" in response.text
    assert 'value="Global Forum"' in response.text and 'value="policy"' in response.text
    response = client.post("/admin/organisations", data={**body, "country": ""}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/organisations"
    duplicate = client.post("/admin/organisations", data={**body, "country": ""})
    assert duplicate.status_code == 422 and 'id="name-error"' in duplicate.text
    no_country = client.post(
        "/admin/organisations", data={**body, "name": "Other", "kind": "enterprise", "country": ""}
    )
    assert no_country.status_code == 422 and 'id="country-error"' in no_country.text
    listed = client.get("/admin/organisations").text
    assert "Global Forum" in listed and "International organisation" in listed and "Other" not in listed


# --- members -------------------------------------------------------------------------------------


def test_an_org_admin_adds_a_member_who_can_then_sign_in(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.admin")
    page = client.get("/admin/members")
    assert "Add a member" in page.text and 'value="site-admin"' not in page.text
    assert_clean(page.text)
    body = {
        "email": "New.Analyst@ministry.example",
        "name": "New Analyst",
        "role": "analyst",
        "password": NEW_PASSWORD,
        "organisation": world.orgs["ministry"].uuid,
        "csrf_token": token,
    }
    response = client.post("/admin/members", data=body, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/members"
    assert "new.analyst@ministry.example" in client.get("/admin/members").text

    client.cookies.clear()
    sign_in_page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "email": "new.analyst@ministry.example",
            "password": NEW_PASSWORD,
            "csrf_token": form_token(sign_in_page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    home = client.get("/")
    assert home.status_code == 200 and "New Analyst" in home.text


def test_member_form_errors_are_shown_next_to_their_field(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.admin")
    body = {
        "email": world.members["ministry.reader"].email,
        "name": "Twin",
        "role": "reader",
        "password": NEW_PASSWORD,
        "csrf_token": token,
    }
    response = client.post("/admin/members", data=body)
    assert response.status_code == 422
    assert 'id="email-error"' in response.text and "already exists" in response.text
    assert 'value="Twin"' in response.text and 'aria-invalid="true"' in response.text
    response = client.post(
        "/admin/members", data={**body, "email": "short@ministry.example", "password": "short"}
    )
    assert response.status_code == 422 and 'id="password-error"' in response.text
    assert "short@ministry.example" not in client.get("/admin/members").text


def test_an_org_admin_cannot_grant_site_admin(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.admin")
    body = {
        "email": "boss@ministry.example",
        "role": "site-admin",
        "password": NEW_PASSWORD,
        "csrf_token": token,
    }
    response = client.post("/admin/members", data=body)
    assert response.status_code == 403 and "site-admin" in response.text
    assert "boss@ministry.example" not in client.get("/admin/members").text
    reader = world.members["ministry.reader"].uuid
    response = client.post(f"/admin/members/{reader}/role", data={"role": "site-admin", "csrf_token": token})
    assert response.status_code == 403
    me = client.get(f"{API}/members/{reader}", headers=world.headers("ministry.admin")).json()
    assert me["role"] == "reader"


def test_a_publisher_cannot_manage_members(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.publisher")
    page = client.get("/admin/members")
    assert page.status_code == 200 and world.members["ministry.reader"].email in page.text
    assert "Add a member" not in page.text
    reader = world.members["ministry.reader"].uuid
    member_page = client.get(f"/admin/members/{reader}")
    assert member_page.status_code == 200 and "Change the role" not in member_page.text
    body = {"email": "x@ministry.example", "role": "reader", "password": NEW_PASSWORD, "csrf_token": token}
    response = client.post("/admin/members", data=body)
    assert response.status_code == 403 and "Not allowed" in response.text
    for action, data in (
        ("disable", {}),
        ("role", {"role": "analyst"}),
        ("password", {"password": NEW_PASSWORD}),
    ):
        response = client.post(f"/admin/members/{reader}/{action}", data={**data, "csrf_token": token})
        assert response.status_code == 403, action
    got = client.get(f"{API}/members/{reader}", headers=world.headers("ministry.admin")).json()
    assert got["role"] == "reader" and got["disabled"] is False


def test_another_organisations_members_are_not_listed(client: TestClient, world: World) -> None:
    sign_in(client, world, "ministry.admin")
    page = client.get("/admin/members").text
    assert world.members["ministry.reader"].email in page
    assert world.members["bank.reader"].email not in page and "org-picker" not in page
    missing = client.get("/admin/members/00000000-0000-0000-0000-000000000000")
    hidden = client.get(f"/admin/members/{world.members['bank.reader'].uuid}")
    assert hidden.status_code == missing.status_code == 404 and hidden.text == missing.text
    assert client.get("/admin/members", params={"org": world.orgs["bank"].uuid}).status_code == 403
    # Site admins choose the organisation.
    switch(client, world, "site")
    page = client.get("/admin/members", params={"org": world.orgs["bank"].uuid}).text
    assert world.members["bank.reader"].email in page and world.members["ministry.reader"].email not in page
    assert 'value="site-admin"' in page


def test_an_org_admin_changes_roles_disables_and_sets_passwords(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.admin")
    reader = world.members["ministry.reader"]
    url = f"/admin/members/{reader.uuid}"
    assert "Change the role" in client.get(url).text
    response = client.post(
        f"{url}/role", data={"role": "analyst", "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == url
    assert client.get(f"{API}/me", headers=world.headers("ministry.reader")).json()["role"] == "analyst"
    bad = client.post(f"{url}/role", data={"role": "emperor", "csrf_token": token})
    assert bad.status_code == 422 and 'id="role-error"' in bad.text

    response = client.post(f"{url}/disable", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get(f"{API}/me", headers=world.headers("ministry.reader")).status_code == 401
    assert "Enable" in client.get(url).text
    client.post(f"{url}/enable", data={"csrf_token": token})
    assert client.get(f"{API}/me", headers=world.headers("ministry.reader")).status_code == 200

    short = client.post(f"{url}/password", data={"password": "short", "csrf_token": token})
    assert short.status_code == 422 and 'id="password-error"' in short.text
    response = client.post(f"{url}/password", data={"password": NEW_PASSWORD, "csrf_token": token})
    assert response.status_code == 200  # followed the redirect back to the member
    client.cookies.clear()
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": reader.email, "password": NEW_PASSWORD, "csrf_token": form_token(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_forms_without_the_csrf_token_change_nothing(client: TestClient, world: World) -> None:
    sign_in(client, world, "ministry.admin")
    reader = world.members["ministry.reader"].uuid
    body = {"email": "forged@ministry.example", "role": "reader", "password": NEW_PASSWORD}
    assert client.post("/admin/members", data=body).status_code == 403
    assert client.post(f"/admin/members/{reader}/disable", data={"csrf_token": "forged"}).status_code == 403
    assert client.post("/admin/keys", data={"name": "forged"}).status_code == 403
    key = world.key_ids["ministry.reader"].uuid
    assert client.post(f"/admin/keys/{key}/revoke").status_code == 403
    assert client.post("/admin/groups", data={"name": "forged"}).status_code == 403
    group = world.groups[GROUP].uuid
    ngo = world.orgs["ngo"].uuid
    assert client.post(f"/admin/groups/{group}/members", data={"organisation": ngo}).status_code == 403
    assert "forged@ministry.example" not in client.get("/admin/members").text
    assert client.get(f"{API}/me", headers=world.headers("ministry.reader")).status_code == 200
    assert "forged" not in client.get("/admin/keys").text
    assert "forged" not in client.get("/admin/groups").text
    members = client.get(f"{API}/sharing-groups/{group}", headers=world.headers("ministry.admin")).json()[
        "members"
    ]
    assert ngo not in members


# --- API keys ------------------------------------------------------------------------------------

KEY = re.compile(r"cs_[A-Za-z0-9_-]{20,}")


def test_a_new_key_is_shown_once_works_and_stops_after_revoke(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "bank.analyst")
    response = client.post(
        "/admin/keys", data={"name": "SIEM export", "expires_days": "30", "csrf_token": token}
    )
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert "shown this once" in response.text
    assert_clean(response.text)
    found = KEY.findall(response.text)
    assert found, response.text
    plaintext = found[0]
    assert plaintext != world.keys["bank.analyst"]
    again = client.get("/admin/keys")
    assert plaintext not in again.text and "SIEM export" in again.text and plaintext[:9] in again.text
    assert KEY.search(again.text) is None

    bearer = {"Authorization": f"Bearer {plaintext}"}
    assert client.get(f"{API}/reports", headers=bearer).status_code == 200
    me = world.members["bank.analyst"].uuid
    keys = client.get(f"{API}/members/{me}/api-keys", headers=bearer).json()
    (new,) = [k for k in keys if k["name"] == "SIEM export"]
    assert new["expires"] is not None and new["read_only"] is False
    response = client.post(
        f"/admin/keys/{new['uuid']}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin/keys"
    assert client.get(f"{API}/reports", headers=bearer).status_code == 401
    assert "revoked" in client.get("/admin/keys").text


def test_a_read_only_key_reads_only_and_bad_expiries_are_refused(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "bank.publisher")
    response = client.post("/admin/keys", data={"name": "ro", "read_only": "1", "csrf_token": token})
    bearer = {"Authorization": f"Bearer {KEY.findall(response.text)[0]}"}
    assert client.get(f"{API}/reports", headers=bearer).status_code == 200
    assert client.post(f"{API}/reports", json={"title": "x"}, headers=bearer).status_code == 403
    for days in ("0", "many", "99999"):
        response = client.post("/admin/keys", data={"name": "bad", "expires_days": days, "csrf_token": token})
        assert response.status_code == 422 and 'id="expires_days-error"' in response.text, days
        assert KEY.search(response.text) is None


def test_org_admins_see_and_revoke_their_members_keys_only(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.admin")
    page = client.get("/admin/keys").text
    assert "ministry.reader key" in page and "bank.reader key" not in page
    own = world.key_ids["ministry.reader"].uuid
    response = client.post(f"/admin/keys/{own}/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get(f"{API}/me", headers=world.headers("ministry.reader")).status_code == 401
    other = world.key_ids["bank.reader"].uuid
    assert client.post(f"/admin/keys/{other}/revoke", data={"csrf_token": token}).status_code == 404
    assert client.get(f"{API}/me", headers=world.headers("bank.reader")).status_code == 200
    # A publisher sees their own keys only.
    switch(client, world, "ministry.publisher")
    page = client.get("/admin/keys").text
    assert "ministry.publisher key" in page and "ministry.analyst key" not in page
    # An org admin does not revoke a site admin's key.
    token = switch(client, world, "operator.admin")
    page = client.get("/admin/keys").text
    assert "site key" in page and world.key_ids["site"].uuid not in page
    site_key = world.key_ids["site"].uuid
    assert client.post(f"/admin/keys/{site_key}/revoke", data={"csrf_token": token}).status_code == 403


# --- sharing groups ------------------------------------------------------------------------------


def sees(client: TestClient, world: World, label: str, report: str) -> bool:
    status = client.get(f"{API}/reports/{report}", headers=world.headers(label)).status_code
    assert status in (200, 404)
    return status == 200


def test_groups_are_created_and_their_members_changed_with_effect(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.publisher")
    page = client.get("/admin/groups")
    assert GROUP in page.text and "Create a sharing group" in page.text
    assert_clean(page.text)
    body = {
        "name": "Trio",
        "description": "ministry, bank and ngo",
        "members": [world.orgs["bank"].uuid, world.orgs["ngo"].uuid],
        "csrf_token": token,
    }
    response = client.post("/admin/groups", data=body, follow_redirects=False)
    assert response.status_code == 303
    url = response.headers["location"]
    uuid = url.rsplit("/", 1)[1]
    page = client.get(url)
    assert page.status_code == 200 and "Trio" in page.text and world.orgs["ngo"].name in page.text
    duplicate = client.post("/admin/groups", data=body)
    assert duplicate.status_code == 422 and 'id="name-error"' in duplicate.text
    assert 'value="Trio"' in duplicate.text and f'value="{world.orgs["ngo"].uuid}" checked' in duplicate.text

    report = new_report(
        client,
        world,
        "ministry.publisher",
        publish=True,
        title="For the trio",
        distribution="sharing-group",
        sharing_group=uuid,
    )["uuid"]
    assert sees(client, world, "ngo.reader", report) and not sees(client, world, "intl.reader", report)

    ngo = world.orgs["ngo"].uuid
    response = client.post(f"{url}/members/{ngo}/remove", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == url
    assert not sees(client, world, "ngo.reader", report)
    response = client.post(
        f"{url}/members",
        data={"organisation": world.orgs["intl"].uuid, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert sees(client, world, "intl.reader", report)
    # The owner cannot leave its own group.
    owner = world.orgs["ministry"].uuid
    response = client.post(f"{url}/members/{owner}/remove", data={"csrf_token": token})
    assert response.status_code == 422 and "owner organisation cannot leave" in response.text
    assert sees(client, world, "ministry.reader", report)

    # A member organisation sees the group but does not change it.
    token = switch(client, world, "bank.admin")
    page = client.get(url)
    assert page.status_code == 200 and "Add an organisation" not in page.text and "Remove" not in page.text
    response = client.post(f"{url}/members", data={"organisation": ngo, "csrf_token": token})
    assert response.status_code == 403
    assert not sees(client, world, "ngo.reader", report)


def test_a_bilateral_group_is_just_two_members(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ngo.admin")
    body = {"name": "ngo-intl", "members": [world.orgs["intl"].uuid], "csrf_token": token}
    response = client.post("/admin/groups", data=body)
    assert response.status_code == 200 and "bilateral channel" in response.text
    listed = client.get(f"{API}/sharing-groups", headers=world.headers("intl.reader")).json()
    assert [g["bilateral"] for g in listed if g["name"] == "ngo-intl"] == [True]


def test_a_group_i_cannot_see_is_not_found(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ngo.admin")
    assert GROUP not in client.get("/admin/groups").text
    hidden = client.get(f"/admin/groups/{world.groups[GROUP].uuid}")
    missing = client.get("/admin/groups/00000000-0000-0000-0000-000000000000")
    assert hidden.status_code == missing.status_code == 404 and hidden.text == missing.text
    assert client.get(f"/admin/groups/{GROUP}").status_code == 404
    group = world.groups[GROUP].uuid
    response = client.post(
        f"/admin/groups/{group}/members", data={"organisation": world.orgs["ngo"].uuid, "csrf_token": token}
    )
    assert response.status_code == 404
    # A reader sees the groups of their organisation but creates none.
    token = switch(client, world, "bank.reader")
    page = client.get("/admin/groups").text
    assert GROUP in page and "Create a sharing group" not in page
    assert client.post("/admin/groups", data={"name": "mine", "csrf_token": token}).status_code == 403


# --- the access log ------------------------------------------------------------------------------


def test_the_access_log_shows_reads_by_other_organisations(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True, title="Watched")["uuid"]
    assert client.get(f"{API}/reports/{report}", headers=world.headers("bank.analyst")).status_code == 200
    assert client.get(f"{API}/reports/{report}", headers=world.headers("ministry.reader")).status_code == 200
    sign_in(client, world, "ministry.admin")
    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert_clean(page.text)
    assert world.members["bank.analyst"].email in page.text and world.orgs["bank"].name in page.text
    assert (
        f'href="/reports/{report}"' in page.text
        and "report.read" in page.text
        and "<td>api</td>" in page.text
    )
    assert world.members["ministry.reader"].email not in page.text  # our own reads are not listed
    # The filters: a period without reads, then one with.
    empty = client.get("/admin/audit", params={"from": "2999-01-01"}).text
    assert world.members["bank.analyst"].email not in empty and "in this period" in empty
    past = client.get("/admin/audit", params={"from": "2000-01-01", "to": "2999-12-31"}).text
    assert world.members["bank.analyst"].email in past
    bad = client.get("/admin/audit", params={"from": "yesterday"})
    assert bad.status_code == 422 and 'id="from-error"' in bad.text and 'value="yesterday"' in bad.text
    backwards = client.get("/admin/audit", params={"from": "2024-02-01", "to": "2024-01-01"})
    assert backwards.status_code == 422 and 'id="to-error"' in backwards.text
    # The bank's log does not hold the ministry's reports.
    switch(client, world, "bank.admin")
    assert world.members["bank.analyst"].email not in client.get("/admin/audit").text


@pytest.mark.parametrize("label", ["ministry.publisher", "ministry.analyst", "ministry.reader"])
def test_the_access_log_is_for_administrators(client: TestClient, world: World, label: str) -> None:
    sign_in(client, world, label)
    response = client.get("/admin/audit")
    assert response.status_code == 403 and "Not allowed" in response.text


def test_the_access_log_is_paginated(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from commonspace.audit import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    report = new_report(client, world, "ministry.publisher", publish=True)["uuid"]
    readers = ["bank.analyst", "ngo.reader", "intl.reader"]
    for label in readers:
        assert client.get(f"{API}/reports/{report}", headers=world.headers(label)).status_code == 200
    emails = [world.members[label].email for label in readers]
    sign_in(client, world, "ministry.admin")
    first = client.get("/admin/audit").text
    assert emails[2] in first and emails[1] in first and emails[0] not in first  # newest first
    older = re.search(r'href="(\?[^"]*cursor=[^"]+)" rel="next"', first)
    assert older is not None
    second = client.get("/admin/audit" + older.group(1).replace("&amp;", "&")).text
    assert emails[0] in second and emails[1] not in second and 'rel="next"' not in second
    assert "Newest entries" in second
    assert client.get("/admin/audit", params={"cursor": "garbage"}).status_code == 422

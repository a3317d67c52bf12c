"""Organisations, members and API keys through the REST API.

The checks are grouped a few to a test, on one world each: every test pays for emptying PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from commonspace.store import tables as t
from world import API, World, error_of, field_paths, new_report

# --- organisations --------------------------------------------------------------------------------


def _site_admin_creates_organisations(client: TestClient, world: World) -> None:
    body = {"name": "Agence Nationale", "kind": "government", "country": "fr", "sector": "public"}
    response = client.post(f"{API}/organisations", json=body, headers=world.headers("site"))
    assert response.status_code == 201, response.text
    org = response.json()
    assert (org["name"], org["kind"], org["country"], org["sector"]) == (
        "Agence Nationale",
        "government",
        "FR",
        "public",
    )
    response = client.post(
        f"{API}/organisations",
        json={"name": "World Forum", "kind": "international-organisation"},
        headers=world.headers("site"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["country"] is None
    listed = client.get(f"{API}/organisations", headers=world.headers("ngo.reader")).json()
    assert {"Agence Nationale", "World Forum", world.orgs["bank"].name} <= {o["name"] for o in listed}
    one = client.get(f"{API}/organisations/{org['uuid']}", headers=world.headers("bank.reader"))
    assert one.status_code == 200 and one.json() == org
    duplicate = client.post(f"{API}/organisations", json=body, headers=world.headers("site"))
    assert duplicate.status_code == 409
    assert error_of(duplicate)["code"] == "conflict"


def _only_site_admins_create_organisations(client: TestClient, world: World) -> None:
    body = {"name": "Rogue Org", "kind": "enterprise", "country": "US"}
    for label in ("ministry.admin", "bank.publisher", "operator.admin", "ngo.reader"):
        response = client.post(f"{API}/organisations", json=body, headers=world.headers(label))
        assert response.status_code == 403, label
        assert error_of(response)["code"] == "forbidden"
    names = [o["name"] for o in client.get(f"{API}/organisations", headers=world.headers("site")).json()]
    assert "Rogue Org" not in names


def _organisation_fields_are_validated(client: TestClient, world: World) -> None:
    cases = [
        ("government", "XX", "country"),  # not a country
        ("enterprise", "FRA", "country"),  # alpha-3
        ("civil-society", "F1", "country"),
        ("government", None, "country"),  # a national organisation needs one
        ("international-organisation", "CH", "country"),  # an international one has none
        ("ministry", "FR", "kind"),
    ]
    for kind, country, path in cases:
        body = {"name": "Somewhere", "kind": kind, "country": country}
        response = client.post(f"{API}/organisations", json=body, headers=world.headers("site"))
        assert response.status_code == 422, response.text
        error = error_of(response)
        assert error["code"] == "invalid"
        assert field_paths(response) == [path], (kind, country)
        assert error["fields"][0]["message"]
    names = [o["name"] for o in client.get(f"{API}/organisations", headers=world.headers("site")).json()]
    assert "Somewhere" not in names


def test_organisations(client: TestClient, world: World) -> None:
    _site_admin_creates_organisations(client, world)
    _only_site_admins_create_organisations(client, world)
    _organisation_fields_are_validated(client, world)


# --- members --------------------------------------------------------------------------------------


def _org_admin_creates_members_in_own_org_only(client: TestClient, world: World) -> None:
    ministry = world.orgs["ministry"]
    body = {"email": "New.Analyst@Ministry.example", "organisation": ministry.uuid, "role": "analyst"}
    response = client.post(f"{API}/members", json=body, headers=world.headers("ministry.admin"))
    assert response.status_code == 201, response.text
    member = response.json()
    assert (member["email"], member["organisation"], member["role"], member["disabled"]) == (
        "new.analyst@ministry.example",
        ministry.uuid,
        "analyst",
        False,
    )
    # Another organisation's members are out of reach, by UUID or by name.
    for ref in (world.orgs["bank"].uuid, world.orgs["bank"].name):
        other = {"email": "x@bank.example", "organisation": ref, "role": "reader"}
        response = client.post(f"{API}/members", json=other, headers=world.headers("ministry.admin"))
        assert response.status_code == 403, response.text
    # Publishers do not manage members, not even in their own organisation.
    body = {"email": "y@ministry.example", "organisation": ministry.uuid, "role": "reader"}
    assert (
        client.post(f"{API}/members", json=body, headers=world.headers("ministry.publisher")).status_code
        == 403
    )
    # The site admin creates anywhere.
    body = {"email": "z@bank.example", "organisation": world.orgs["bank"].name, "role": "org-admin"}
    assert client.post(f"{API}/members", json=body, headers=world.headers("site")).status_code == 201
    # Members list and see their own organisation only.
    listed = client.get(f"{API}/members", headers=world.headers("ministry.reader")).json()
    assert {m["organisation"] for m in listed} == {ministry.uuid}
    assert "new.analyst@ministry.example" in {m["email"] for m in listed}
    bank_member = world.members["bank.analyst"].uuid
    assert (
        client.get(f"{API}/members/{bank_member}", headers=world.headers("ministry.admin")).status_code == 404
    )
    duplicate = {
        "email": world.members["bank.analyst"].email,
        "organisation": "Rheinbank AG",
        "role": "reader",
    }
    assert client.post(f"{API}/members", json=duplicate, headers=world.headers("site")).status_code == 409


def _org_admin_cannot_grant_site_admin(client: TestClient, world: World) -> None:
    body = {
        "email": "boss@ministry.example",
        "organisation": world.orgs["ministry"].uuid,
        "role": "site-admin",
    }
    response = client.post(f"{API}/members", json=body, headers=world.headers("ministry.admin"))
    assert response.status_code == 403
    assert "site-admin" in error_of(response)["message"]
    analyst = world.members["ministry.analyst"].uuid
    response = client.patch(
        f"{API}/members/{analyst}", json={"role": "site-admin"}, headers=world.headers("ministry.admin")
    )
    assert response.status_code == 403
    me = client.get(f"{API}/me", headers=world.headers("ministry.analyst")).json()
    assert me["role"] == "analyst"


def _org_admin_cannot_demote_or_disable_a_site_admin(client: TestClient, world: World) -> None:
    site = world.members["site"].uuid
    for change in ({"role": "reader"}, {"disabled": True}, {"role": "org-admin"}):
        response = client.patch(f"{API}/members/{site}", json=change, headers=world.headers("operator.admin"))
        assert response.status_code == 403, (change, response.text)
    # Nor lock them out by revoking their key, or take over their account with a key of its own.
    key = world.key_ids["site"].uuid
    assert client.delete(f"{API}/api-keys/{key}", headers=world.headers("operator.admin")).status_code == 403
    response = client.post(f"{API}/members/{site}/api-keys", json={}, headers=world.headers("operator.admin"))
    assert response.status_code == 403
    me = client.get(f"{API}/me", headers=world.headers("site"))
    assert me.status_code == 200 and me.json()["role"] == "site-admin"


def _disabled_member_is_refused_on_the_next_request(client: TestClient, world: World) -> None:
    analyst = world.members["ministry.analyst"].uuid
    assert client.get(f"{API}/me", headers=world.headers("ministry.analyst")).status_code == 200
    response = client.patch(
        f"{API}/members/{analyst}", json={"disabled": True}, headers=world.headers("ministry.admin")
    )
    assert response.status_code == 200 and response.json()["disabled"] is True
    response = client.get(f"{API}/me", headers=world.headers("ministry.analyst"))
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"
    client.patch(
        f"{API}/members/{analyst}", json={"disabled": False}, headers=world.headers("ministry.admin")
    )
    assert client.get(f"{API}/me", headers=world.headers("ministry.analyst")).status_code == 200


def _lowered_role_takes_effect_at_once(client: TestClient, world: World) -> None:
    new_report(client, world, "bank.publisher", title="Before")
    publisher = world.members["bank.publisher"].uuid
    response = client.patch(
        f"{API}/members/{publisher}", json={"role": "reader"}, headers=world.headers("bank.admin")
    )
    assert response.status_code == 200 and response.json()["role"] == "reader"
    response = client.post(f"{API}/reports", json={"title": "After"}, headers=world.headers("bank.publisher"))
    assert response.status_code == 403
    assert client.get(f"{API}/me", headers=world.headers("bank.publisher")).json()["role"] == "reader"


def _member_update_checks_the_uuid(client: TestClient, world: World) -> None:
    analyst = world.members["ministry.analyst"].uuid
    response = client.patch(
        f"{API}/members/{analyst}",
        json={"uuid": world.members["ministry.reader"].uuid, "name": "Renamed"},
        headers=world.headers("ministry.admin"),
    )
    assert response.status_code == 422
    assert field_paths(response) == ["uuid"]
    response = client.patch(
        f"{API}/members/{analyst}",
        json={"uuid": analyst, "name": "Renamed"},
        headers=world.headers("ministry.admin"),
    )
    assert response.status_code == 200 and response.json()["name"] == "Renamed"


def test_member_management(client: TestClient, world: World) -> None:
    _org_admin_creates_members_in_own_org_only(client, world)
    _org_admin_cannot_grant_site_admin(client, world)
    _org_admin_cannot_demote_or_disable_a_site_admin(client, world)
    _member_update_checks_the_uuid(client, world)


def test_member_changes_apply_on_the_next_request(client: TestClient, world: World) -> None:
    _disabled_member_is_refused_on_the_next_request(client, world)
    _lowered_role_takes_effect_at_once(client, world)


# --- API keys -------------------------------------------------------------------------------------


def _everything_stored(world: World) -> str:
    """Every row of every table, as one string."""
    with world.session() as session:
        return "\n".join(
            repr(row) for table in t.Base.metadata.sorted_tables for row in session.execute(select(table))
        )


def test_api_key_is_shown_once_and_stored_hashed(client: TestClient, world: World) -> None:
    me = world.members["ngo.analyst"].uuid
    response = client.post(
        f"{API}/members/{me}/api-keys", json={"name": "laptop"}, headers=world.headers("ngo.analyst")
    )
    assert response.status_code == 201, response.text
    created = response.json()
    key = created["key"]
    assert key.startswith(created["prefix"]) and len(key) > len(created["prefix"]) + 20
    assert (created["name"], created["read_only"], created["revoked"]) == ("laptop", False, None)
    # It works, and it is never shown again.
    answer = client.get(f"{API}/me", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200 and answer.json()["uuid"] == me
    listed = client.get(f"{API}/members/{me}/api-keys", headers=world.headers("ngo.analyst"))
    assert listed.status_code == 200
    assert created["uuid"] in {k["uuid"] for k in listed.json()}
    assert key not in listed.text and all("key" not in k for k in listed.json())
    # Only its digest is stored.
    stored = _everything_stored(world)
    assert key not in stored and key[len(created["prefix"]) :] not in stored
    for plaintext in world.keys.values():
        assert plaintext not in stored
    # Others outside the organisation do not see the member's keys.
    assert client.get(f"{API}/members/{me}/api-keys", headers=world.headers("bank.admin")).status_code == 404
    # An analyst of the same organisation cannot create a key for a colleague.
    colleague = world.members["ngo.reader"].uuid
    response = client.post(
        f"{API}/members/{colleague}/api-keys", json={}, headers=world.headers("ngo.analyst")
    )
    assert response.status_code == 403


def _revoked_key_is_refused_on_the_next_request(client: TestClient, world: World) -> None:
    key_uuid = world.key_ids["bank.analyst"].uuid
    assert client.get(f"{API}/me", headers=world.headers("bank.analyst")).status_code == 200
    # Someone of another organisation cannot revoke it (nor learn that it exists).
    response = client.delete(f"{API}/api-keys/{key_uuid}", headers=world.headers("ministry.admin"))
    assert response.status_code == 404
    assert client.get(f"{API}/me", headers=world.headers("bank.analyst")).status_code == 200
    response = client.delete(f"{API}/api-keys/{key_uuid}", headers=world.headers("bank.admin"))
    assert response.status_code == 200 and response.json()["revoked"] is not None
    response = client.get(f"{API}/me", headers=world.headers("bank.analyst"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def _member_revokes_own_key(client: TestClient, world: World) -> None:
    key_uuid = world.key_ids["intl.reader"].uuid
    response = client.delete(f"{API}/api-keys/{key_uuid}", headers=world.headers("intl.reader"))
    assert response.status_code == 200
    assert client.get(f"{API}/me", headers=world.headers("intl.reader")).status_code == 401


def test_revoked_keys_are_refused_on_the_next_request(client: TestClient, world: World) -> None:
    _revoked_key_is_refused_on_the_next_request(client, world)
    _member_revokes_own_key(client, world)


def test_read_only_key_reads_but_never_writes(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True, title="Shared")
    me = world.members["ministry.admin"].uuid
    response = client.post(
        f"{API}/members/{me}/api-keys", json={"read_only": True}, headers=world.headers("ministry.admin")
    )
    assert response.status_code == 201 and response.json()["read_only"] is True
    read_only = {"Authorization": f"Bearer {response.json()['key']}"}
    assert client.get(f"{API}/reports/{report['uuid']}", headers=read_only).status_code == 200
    assert client.get(f"{API}/reports", headers=read_only).status_code == 200
    assert client.get(f"{API}/members", headers=read_only).status_code == 200
    writes = [
        ("post", f"{API}/reports", {"title": "Nope"}),
        ("patch", f"{API}/reports/{report['uuid']}", {"title": "Nope"}),
        ("post", f"{API}/reports/{report['uuid']}/indicators", {"indicators": [{"value": "1.2.3.4"}]}),
        ("delete", f"{API}/reports/{report['uuid']}", None),
        ("post", f"{API}/members/{me}/api-keys", {}),
        ("patch", f"{API}/members/{world.members['ministry.reader'].uuid}", {"disabled": True}),
        ("post", f"{API}/sharing-groups", {"name": "ro"}),
    ]
    for method, url, body in writes:
        response = client.request(method.upper(), url, json=body, headers=read_only)
        assert response.status_code == 403, (method, url, response.text)
        assert error_of(response)["code"] == "forbidden"
    again = client.get(f"{API}/reports/{report['uuid']}", headers=read_only).json()
    assert again["title"] == "Shared" and again["version"] == report["version"]


def test_expired_key_is_refused(client: TestClient, world: World) -> None:
    me = world.members["bank.reader"].uuid
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    keys = {}
    for name, expires in (("old", past), ("new", future)):
        response = client.post(
            f"{API}/members/{me}/api-keys",
            json={"name": name, "expires": expires},
            headers=world.headers("bank.reader"),
        )
        assert response.status_code == 201, response.text
        keys[name] = {"Authorization": f"Bearer {response.json()['key']}"}
    assert client.get(f"{API}/me", headers=keys["old"]).status_code == 401
    assert client.get(f"{API}/me", headers=keys["new"]).status_code == 200
    naive = client.post(
        f"{API}/members/{me}/api-keys",
        json={"expires": "2030-01-01T00:00:00"},
        headers=world.headers("bank.reader"),
    )
    assert naive.status_code == 422 and field_paths(naive) == ["expires"]

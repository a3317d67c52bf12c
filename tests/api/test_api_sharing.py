"""Sharing groups through the REST API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from world import API, GROUP, World, error_of, new_report


def test_create_group_with_members(client: TestClient, world: World) -> None:
    body = {
        "name": "Financial sector",
        "description": "banks and their regulator",
        "members": [world.orgs["ministry"].uuid, world.orgs["ngo"].name],
    }
    response = client.post(f"{API}/sharing-groups", json=body, headers=world.headers("bank.publisher"))
    assert response.status_code == 201, response.text
    group = response.json()
    assert group["owner"] == world.orgs["bank"].uuid and group["owner_name"] == world.orgs["bank"].name
    expected = {world.orgs[o].uuid for o in ("bank", "ministry", "ngo")}
    assert set(group["members"]) == expected and len(group["members"]) == 3
    assert group["bilateral"] is False
    assert group["description"] == "banks and their regulator"
    for label in ("ministry.reader", "ngo.analyst", "bank.reader"):
        response = client.get(f"{API}/sharing-groups/{group['uuid']}", headers=world.headers(label))
        assert response.status_code == 200 and response.json() == group
    duplicate = client.post(f"{API}/sharing-groups", json=body, headers=world.headers("ngo.admin"))
    assert duplicate.status_code == 409
    unknown = {"name": "Ghosts", "members": ["No Such Org"]}
    assert (
        client.post(f"{API}/sharing-groups", json=unknown, headers=world.headers("bank.admin")).status_code
        == 404
    )
    _bilateral_group(client, world)
    _analysts_and_readers_do_not_create_groups(client, world)


def _bilateral_group(client: TestClient, world: World) -> None:
    group = client.get(
        f"{API}/sharing-groups/{world.groups[GROUP].uuid}", headers=world.headers("bank.reader")
    )
    assert group.status_code == 200 and group.json()["bilateral"] is True
    body = {"name": "ngo-intl", "members": [world.orgs["intl"].uuid]}
    response = client.post(f"{API}/sharing-groups", json=body, headers=world.headers("ngo.admin"))
    assert response.status_code == 201 and response.json()["bilateral"] is True
    # The owner is always a member: naming it again changes nothing.
    body = {"name": "alone", "members": [world.orgs["ngo"].uuid]}
    response = client.post(f"{API}/sharing-groups", json=body, headers=world.headers("ngo.admin"))
    assert response.status_code == 201
    assert response.json()["members"] == [world.orgs["ngo"].uuid] and response.json()["bilateral"] is False


def _analysts_and_readers_do_not_create_groups(client: TestClient, world: World) -> None:
    for label in ("bank.analyst", "bank.reader"):
        response = client.post(
            f"{API}/sharing-groups", json={"name": f"by {label}"}, headers=world.headers(label)
        )
        assert response.status_code == 403


def test_add_and_remove_members(client: TestClient, world: World) -> None:
    uuid = world.groups[GROUP].uuid
    report = new_report(
        client,
        world,
        "ministry.publisher",
        publish=True,
        title="For the group",
        distribution="sharing-group",
        sharing_group=uuid,
    )
    ngo = world.orgs["ngo"]
    assert (
        client.get(f"{API}/reports/{report['uuid']}", headers=world.headers("ngo.reader")).status_code == 404
    )
    # Only the owner's publishers and admins change the group.
    body = {"organisation": ngo.uuid}
    for label in ("bank.admin", "ministry.analyst"):
        response = client.post(
            f"{API}/sharing-groups/{uuid}/members", json=body, headers=world.headers(label)
        )
        assert response.status_code == 403, label
    response = client.post(
        f"{API}/sharing-groups/{uuid}/members", json=body, headers=world.headers("ministry.admin")
    )
    assert response.status_code == 200, response.text
    assert ngo.uuid in response.json()["members"] and response.json()["bilateral"] is False
    # The new member sees the group and its reports on its next request.
    assert client.get(f"{API}/sharing-groups/{uuid}", headers=world.headers("ngo.reader")).status_code == 200
    assert (
        client.get(f"{API}/reports/{report['uuid']}", headers=world.headers("ngo.reader")).status_code == 200
    )
    # Adding twice is harmless.
    again = client.post(
        f"{API}/sharing-groups/{uuid}/members", json=body, headers=world.headers("ministry.admin")
    )
    assert again.status_code == 200 and again.json()["members"].count(ngo.uuid) == 1
    response = client.delete(
        f"{API}/sharing-groups/{uuid}/members/{ngo.uuid}", headers=world.headers("ministry.admin")
    )
    assert response.status_code == 200 and ngo.uuid not in response.json()["members"]
    assert client.get(f"{API}/sharing-groups/{uuid}", headers=world.headers("ngo.reader")).status_code == 404
    assert (
        client.get(f"{API}/reports/{report['uuid']}", headers=world.headers("ngo.reader")).status_code == 404
    )
    # The owner cannot leave its own group.
    owner = world.orgs["ministry"].uuid
    response = client.delete(
        f"{API}/sharing-groups/{uuid}/members/{owner}", headers=world.headers("ministry.admin")
    )
    assert response.status_code == 422
    assert error_of(response)["fields"] == [
        {"path": "organisation", "message": error_of(response)["message"]}
    ]


def test_groups_are_invisible_to_non_members(client: TestClient, world: World) -> None:
    uuid = world.groups[GROUP].uuid
    for label in ("ngo.admin", "intl.reader", "operator.admin"):
        response = client.get(f"{API}/sharing-groups/{uuid}", headers=world.headers(label))
        assert response.status_code == 404, label
        assert error_of(response)["code"] == "not_found"
        listed = client.get(f"{API}/sharing-groups", headers=world.headers(label)).json()
        assert uuid not in {g["uuid"] for g in listed}
        # Not even by name, and they cannot add themselves.
        assert client.get(f"{API}/sharing-groups/{GROUP}", headers=world.headers(label)).status_code == 404
        body = {"organisation": world.orgs[world.members[label].org].uuid}
        response = client.post(
            f"{API}/sharing-groups/{uuid}/members", json=body, headers=world.headers(label)
        )
        assert response.status_code == 404
    for label in ("ministry.reader", "bank.reader", "site"):
        listed = client.get(f"{API}/sharing-groups", headers=world.headers(label)).json()
        assert uuid in {g["uuid"] for g in listed}, label

"""Sightings through the REST API: who records them, who sees them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from world import API, World, add_indicators, error_of, new_report


def test_sightings(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True)
    add_indicators(
        client,
        world,
        "ministry.publisher",
        report["uuid"],
        "seen.example",
        {"value": "hidden.example", "distribution": "organisation"},
    )
    items = client.get(f"{API}/reports/{report['uuid']}/indicators", headers=world.headers("ministry.reader"))
    by_value = {i["canonical"]: i["uuid"] for i in items.json()["items"]}
    url = f"{API}/indicators/{by_value['seen.example']}/sightings"
    response = client.post(
        url,
        json={"seen": "2024-05-01T10:00:00+02:00", "source": "proxy logs", "count": 3},
        headers=world.headers("bank.analyst"),
    )
    assert response.status_code == 201, response.text
    bank_sighting = response.json()
    assert bank_sighting["organisation"]["uuid"] == world.orgs["bank"].uuid
    assert (
        bank_sighting["seen"],
        bank_sighting["count"],
        bank_sighting["kind"],
        bank_sighting["indicator"],
    ) == (
        "2024-05-01T08:00:00Z",
        3,
        "sighting",
        by_value["seen.example"],
    )
    response = client.post(url, json={"kind": "false-positive"}, headers=world.headers("ngo.publisher"))
    assert response.status_code == 201
    ngo_sighting = response.json()
    # Readers do not record sightings; nor does anyone on an indicator they cannot see.
    response = client.post(url, json={}, headers=world.headers("bank.reader"))
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"
    hidden = f"{API}/indicators/{by_value['hidden.example']}/sightings"
    assert client.post(hidden, json={}, headers=world.headers("bank.analyst")).status_code == 404
    assert client.get(hidden, headers=world.headers("bank.analyst")).status_code == 404
    for bad in ({"count": 0}, {"kind": "maybe"}, {"seen": "2024-05-01T10:00:00"}):
        assert client.post(url, json=bad, headers=world.headers("bank.analyst")).status_code == 422, bad
    # The creator organisation sees every sighting; the others only their own.
    expected = {
        "ministry.reader": {bank_sighting["uuid"], ngo_sighting["uuid"]},
        "site": {bank_sighting["uuid"], ngo_sighting["uuid"]},
        "bank.reader": {bank_sighting["uuid"]},
        "ngo.reader": {ngo_sighting["uuid"]},
        "intl.admin": set(),
    }
    for label, visible in expected.items():
        response = client.get(url, headers=world.headers(label))
        assert response.status_code == 200, label
        assert {s["uuid"] for s in response.json()} == visible, label

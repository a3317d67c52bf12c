"""The audit trail through the REST API: reads of shared reports and writes, with the key used."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from commonspace.store import tables as t
from world import API, World, add_indicators, error_of, field_paths, new_report


def test_access_log(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True, title="Watched")
    add_indicators(client, world, "ministry.publisher", report["uuid"], "watched.example")
    url = f"{API}/reports/{report['uuid']}"
    assert client.get(url, headers=world.headers("ministry.reader")).status_code == 200  # own: not listed
    assert client.get(url, headers=world.headers("bank.reader")).status_code == 200
    response = client.patch(url, json={"summary": "checked"}, headers=world.headers("site"))
    assert response.status_code == 200
    search = client.post(
        f"{API}/search/indicators", json={"values": ["watched.example"]}, headers=world.headers("ngo.analyst")
    )
    assert len(search.json()["items"]) == 1
    response = client.get(f"{API}/audit/access", headers=world.headers("ministry.admin"))
    assert response.status_code == 200, response.text
    log = response.json()
    assert world.orgs["ministry"].name not in {e["organisation"] for e in log}  # outsiders only
    # The log is about the organisation's reports: not the operator's setting up of its members.
    assert {e["object_type"] for e in log} <= {"report", "indicator"}
    assert all(e["organisation"] is not None for e in log)
    log = [e for e in log if e["object_uuid"] == report["uuid"]]
    seen = {(e["action"], e["member"], e["organisation"], e["api_key_id"], e["via"]) for e in log}
    bank, site, ngo = world.members["bank.reader"], world.members["site"], world.members["ngo.analyst"]
    assert seen == {
        ("report.read", bank.email, world.orgs["bank"].name, world.key_ids["bank.reader"].id, "api"),
        ("report.update", site.email, world.orgs["operator"].name, world.key_ids["site"].id, "api"),
        ("report.read", ngo.email, world.orgs["ngo"].name, world.key_ids["ngo.analyst"].id, "api"),
    }
    assert [e["at"] for e in log] == sorted((e["at"] for e in log), reverse=True)  # newest first
    # Nobody else's reports appear in the ministry's log, and the bank's log is empty.
    bank_log = client.get(f"{API}/audit/access", headers=world.headers("bank.admin")).json()
    assert [e for e in bank_log if e["organisation"] is not None] == []
    later = client.get(
        f"{API}/audit/access",
        params={"since": "2999-01-01T00:00:00Z"},
        headers=world.headers("ministry.admin"),
    )
    assert later.status_code == 200 and later.json() == []
    naive = client.get(
        f"{API}/audit/access",
        params={"since": "2024-01-01T00:00:00"},
        headers=world.headers("ministry.admin"),
    )
    assert naive.status_code == 422 and field_paths(naive) == ["since"]
    # Only administrators read it.
    for label in ("ministry.publisher", "ministry.analyst", "ministry.reader"):
        response = client.get(f"{API}/audit/access", headers=world.headers(label))
        assert response.status_code == 403 and error_of(response)["code"] == "forbidden", label
    # Every write is recorded with the member and the key that made it.
    with world.session() as session:
        events = {
            (e.action, e.member_id, e.api_key_id, e.via)
            for e in session.scalars(select(t.AuditEvent).where(t.AuditEvent.object_uuid == report["uuid"]))
        }
    publisher = world.members["ministry.publisher"].id, world.key_ids["ministry.publisher"].id
    for action in ("report.create", "report.publish", "indicator.add"):
        assert (action, *publisher, "api") in events, action
    assert ("report.update", world.members["site"].id, world.key_ids["site"].id, "api") in events

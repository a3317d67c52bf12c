"""Reports through the REST API: fields, sharing rules, updates, publication, listing and filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from world import API, GROUP, World, add_indicators, error_of, field_paths, new_report, report_body


def test_create_with_every_field(client: TestClient, world: World) -> None:
    body = report_body(
        "  Invoice phishing against banks  ",
        summary="**Markdown** summary",
        category="fraud/phishing",
        threat_level="high",
        victim_countries=["fr", "DE", "FR"],
        victim_sectors=["Finance", " health ", "finance"],
        first_seen="2024-03-01T08:00:00+01:00",
        last_seen="2024-03-05T12:30:00Z",
        loss={"amount": "9876543210987.65", "currency": "eur"},
        tlp="GREEN",
        tags=["phishing", "TLP:GREEN", "campaign:Invoice"],
    )
    response = client.post(f"{API}/reports", json=body, headers=world.headers("bank.publisher"))
    assert response.status_code == 201, response.text
    report = response.json()
    expected: dict[str, Any] = {
        "title": "Invoice phishing against banks",
        "summary": "**Markdown** summary",
        "category": "fraud/phishing",
        "threat_level": "high",
        "victim_countries": ["DE", "FR"],
        "victim_sectors": ["finance", "health"],
        "first_seen": "2024-03-01T07:00:00Z",
        "last_seen": "2024-03-05T12:30:00Z",
        "loss": {"amount": "9876543210987.65", "currency": "EUR"},
        "tlp": "GREEN",
        "distribution": "community",
        "sharing_group": None,
        "status": "draft",
        "published": None,
        "version": 1,
        "tags": ["campaign:Invoice", "phishing", "tlp:GREEN"],
        "indicator_count": 0,
        "comments": 0,
    }
    assert {k: report[k] for k in expected} == expected
    bank = world.orgs["bank"]
    assert report["organisation"] == {
        "uuid": bank.uuid,
        "name": bank.name,
        "kind": "enterprise",
        "country": "DE",
    }
    again = client.get(f"{API}/reports/{report['uuid']}", headers=world.headers("bank.reader"))
    assert again.status_code == 200 and again.json() == report
    # The widest amount accepted comes back exactly on every database (SQLite keeps NUMERIC as a double).
    widest = {"amount": "9999999999999.99", "currency": "JPY"}
    created = new_report(client, world, "bank.publisher", loss=widest)
    stored = client.get(f"{API}/reports/{created['uuid']}", headers=world.headers("bank.reader")).json()
    assert created["loss"] == stored["loss"] == widest
    too_wide = report_body(loss={"amount": "99999999999999.99", "currency": "JPY"})
    response = client.post(f"{API}/reports", json=too_wide, headers=world.headers("bank.publisher"))
    assert response.status_code == 422 and field_paths(response) == ["loss.amount"]
    _report_fields_are_validated(client, world)


def _report_fields_are_validated(client: TestClient, world: World) -> None:
    cases = [
        ({"category": "fraud/spam"}, "category"),
        ({"victim_countries": ["FR", "XY"]}, "victim_countries"),
        ({"loss": {"amount": "10.00", "currency": "EURO"}}, "loss.currency"),
        ({"loss": {"amount": "-1", "currency": "EUR"}}, "loss.amount"),
        ({"loss": {"amount": "1.001", "currency": "EUR"}}, "loss.amount"),
        ({"threat_level": "severe"}, "threat_level"),
        ({"first_seen": "2024-03-02T00:00:00Z", "last_seen": "2024-03-01T00:00:00Z"}, "last_seen"),
        ({"first_seen": "2024-03-02T00:00:00"}, "first_seen"),  # naive: which time zone?
        ({"colour": "red"}, "colour"),
    ]
    before = len(client.get(f"{API}/reports", headers=world.headers("bank.publisher")).json()["items"])
    for fields, path in cases:
        response = client.post(
            f"{API}/reports", json=report_body(**fields), headers=world.headers("bank.publisher")
        )
        assert response.status_code == 422, (fields, response.text)
        assert field_paths(response) == [path], fields
    listed = client.get(f"{API}/reports", headers=world.headers("bank.publisher")).json()
    assert len(listed["items"]) == before


def test_tlp_limits_the_distribution(client: TestClient, world: World) -> None:
    for tlp in ("RED", "AMBER+STRICT"):
        for distribution in ("community", "connected-communities"):
            body = report_body(tlp=tlp, distribution=distribution)
            response = client.post(f"{API}/reports", json=body, headers=world.headers("ministry.publisher"))
            assert response.status_code == 422, response.text
            error = error_of(response)
            assert field_paths(response) == ["distribution"]
            assert "distribution" in error["message"] and f"TLP:{tlp}" in error["message"]
        for ok in (
            {"distribution": "organisation"},
            {"distribution": "sharing-group", "sharing_group": GROUP},
        ):
            body = report_body(tlp=tlp, **ok)
            response = client.post(f"{API}/reports", json=body, headers=world.headers("ministry.publisher"))
            assert response.status_code == 201, response.text
    # The same rule holds for updates, whichever of the two fields changes.
    report = new_report(client, world, "ministry.publisher", tlp="AMBER", distribution="community")
    url = f"{API}/reports/{report['uuid']}"
    for change in ({"tlp": "RED"}, {"tlp": "AMBER+STRICT", "distribution": "connected-communities"}):
        response = client.patch(url, json=change, headers=world.headers("ministry.publisher"))
        assert response.status_code == 422, response.text
        assert field_paths(response) == ["distribution"] and "distribution" in error_of(response)["message"]
    red = new_report(client, world, "ministry.publisher", tlp="RED", distribution="organisation")
    response = client.patch(
        f"{API}/reports/{red['uuid']}",
        json={"distribution": "community"},
        headers=world.headers("ministry.publisher"),
    )
    assert response.status_code == 422 and field_paths(response) == ["distribution"]
    assert client.get(url, headers=world.headers("ministry.publisher")).json()["tlp"] == "AMBER"


def test_sharing_group_distribution_needs_a_group_of_ones_own(client: TestClient, world: World) -> None:
    group = world.groups[GROUP].uuid
    cases = [
        ("ngo.publisher", {"distribution": "sharing-group", "sharing_group": group}, "sharing_group"),
        ("bank.publisher", {"distribution": "sharing-group"}, "sharing_group"),
        (
            "bank.publisher",
            {"distribution": "sharing-group", "sharing_group": "no such group"},
            "sharing_group",
        ),
        ("bank.publisher", {"distribution": "community", "sharing_group": group}, "sharing_group"),
    ]
    for label, fields, path in cases:
        response = client.post(f"{API}/reports", json=report_body(**fields), headers=world.headers(label))
        assert response.status_code == 422, (fields, response.text)
        assert path in field_paths(response) or error_of(response)["fields"][0]["path"] == "", response.text
    report = new_report(
        client, world, "bank.publisher", publish=True, distribution="sharing-group", sharing_group=group
    )
    assert report["sharing_group"] == {"uuid": group, "name": GROUP}
    url = f"{API}/reports/{report['uuid']}"
    for label in ("ministry.reader", "bank.reader", "site"):
        assert client.get(url, headers=world.headers(label)).status_code == 200, label
    for label in ("ngo.reader", "intl.admin", "operator.admin"):
        assert client.get(url, headers=world.headers(label)).status_code == 404, label
    # A later update keeps the group when only other fields change.
    response = client.patch(url, json={"title": "Renamed"}, headers=world.headers("bank.publisher"))
    assert response.status_code == 200 and response.json()["sharing_group"]["uuid"] == group


def test_update_checks_version_and_uuid(client: TestClient, world: World) -> None:
    report = new_report(
        client,
        world,
        "ministry.publisher",
        summary="first",
        victim_countries=["FR"],
        loss={"amount": "5", "currency": "USD"},
    )
    url = f"{API}/reports/{report['uuid']}"
    headers = world.headers("ministry.publisher")
    response = client.patch(url, json={"version": 1, "title": "Second"}, headers=headers)
    assert response.status_code == 200, response.text
    assert (response.json()["title"], response.json()["version"]) == ("Second", 2)
    stale = client.patch(url, json={"version": 1, "title": "Lost update"}, headers=headers)
    assert stale.status_code == 409
    assert error_of(stale)["code"] == "conflict" and field_paths(stale) == ["version"]
    mismatch = client.patch(
        url, json={"uuid": "00000000-0000-0000-0000-000000000000", "title": "X"}, headers=headers
    )
    assert mismatch.status_code == 422 and field_paths(mismatch) == ["uuid"]
    same = client.patch(
        url, json={"uuid": report["uuid"], "version": 2, "victim_countries": ["it", "ES"]}, headers=headers
    )
    assert same.status_code == 200
    assert same.json()["victim_countries"] == ["ES", "IT"] and same.json()["title"] == "Second"
    # Clearing optional fields; the title cannot be cleared.
    cleared = client.patch(
        url,
        json={"summary": None, "threat_level": None, "loss": None, "tags": [], "category": None},
        headers=headers,
    )
    assert cleared.status_code == 200, cleared.text
    out = cleared.json()
    assert (out["summary"], out["threat_level"], out["loss"], out["tags"], out["category"]) == (
        "",
        "undefined",
        None,
        [],
        None,
    )
    response = client.patch(url, json={"title": None}, headers=headers)
    assert response.status_code == 422 and field_paths(response) == ["title"]
    final = client.get(url, headers=headers).json()
    assert final["title"] == "Second" and final["version"] == 4


def _only_the_creator_organisations_editors_change_a_report(client: TestClient, world: World) -> None:
    draft = new_report(client, world, "ministry.publisher", title="Draft")
    shared = new_report(client, world, "ministry.publisher", title="Shared", publish=True)
    for label, draft_status, shared_status in [
        ("bank.publisher", 404, 403),  # another organisation: the draft is invisible, the other read-only
        ("bank.admin", 404, 403),
        ("ministry.analyst", 403, 403),
        ("ministry.reader", 403, 403),
    ]:
        for report, status in ((draft, draft_status), (shared, shared_status)):
            url = f"{API}/reports/{report['uuid']}"
            headers = world.headers(label)
            assert client.patch(url, json={"title": "Mine"}, headers=headers).status_code == status, label
            assert client.post(f"{url}/publish", headers=headers).status_code == status, label
            assert client.delete(url, headers=headers).status_code == status, label
    for label in ("ministry.admin", "site"):
        url = f"{API}/reports/{draft['uuid']}"
        assert client.patch(url, json={"summary": label}, headers=world.headers(label)).status_code == 200


def test_drafts_publication_and_deletion(client: TestClient, world: World) -> None:
    draft = new_report(client, world, "ngo.publisher", title="Work in progress")
    url = f"{API}/reports/{draft['uuid']}"
    for label in ("ngo.reader", "site"):
        assert client.get(url, headers=world.headers(label)).status_code == 200
    for label in ("bank.reader", "ministry.admin"):
        response = client.get(url, headers=world.headers(label))
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
        assert client.get(f"{API}/reports", headers=world.headers(label)).json()["items"] == []
    response = client.post(f"{url}/publish", headers=world.headers("ngo.publisher"))
    assert response.status_code == 200
    published = response.json()
    assert published["status"] == "published" and published["published"] is not None
    assert published["version"] == 2
    again = client.post(f"{url}/publish", headers=world.headers("ngo.admin"))
    assert again.status_code == 200 and again.json()["published"] == published["published"]
    for label in ("bank.reader", "ministry.admin"):
        assert client.get(url, headers=world.headers(label)).json()["status"] == "published"
        items = client.get(f"{API}/reports", headers=world.headers(label)).json()["items"]
        assert [r["uuid"] for r in items] == [draft["uuid"]]
    add_indicators(client, world, "ngo.publisher", draft["uuid"], "evil.example")
    indicator = client.get(f"{url}/indicators", headers=world.headers("ngo.reader")).json()["items"][0]
    response = client.delete(url, headers=world.headers("ngo.publisher"))
    assert response.status_code == 204 and response.content == b""
    for label in ("ngo.publisher", "bank.reader", "site"):
        assert client.get(url, headers=world.headers(label)).status_code == 404
        assert (
            client.get(f"{API}/indicators/{indicator['uuid']}", headers=world.headers(label)).status_code
            == 404
        )
    assert client.delete(url, headers=world.headers("ngo.publisher")).status_code == 404
    _only_the_creator_organisations_editors_change_a_report(client, world)


def test_cursor_pagination_is_stable_and_complete(client: TestClient, world: World) -> None:
    first = [new_report(client, world, "ministry.publisher", title=f"Report {i}")["uuid"] for i in range(25)]
    new_report(client, world, "bank.publisher", title="Not the ministry's")  # a draft it cannot see
    headers = world.headers("ministry.reader")
    seen: list[str] = []
    pages = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        response = client.get(f"{API}/reports", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(len(page["items"]))
        seen += [r["uuid"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # New reports arrive between pages: they neither shift the pages nor duplicate any item.
        new_report(client, world, "ministry.publisher", title=f"Late {len(pages)}")
    assert pages == [7, 7, 7, 4]
    assert len(seen) == len(set(seen)) == 25
    assert seen == list(reversed(first))  # newest first
    bad = client.get(f"{API}/reports", params={"cursor": "not-a-cursor"}, headers=headers)
    assert bad.status_code == 422 and field_paths(bad) == ["cursor"]
    assert client.get(f"{API}/reports", params={"limit": 0}, headers=headers).status_code == 422


def test_list_filters(client: TestClient, world: World) -> None:
    phishing = new_report(
        client,
        world,
        "ministry.publisher",
        publish=True,
        title="Bank phishing wave",
        category="fraud/phishing",
        victim_countries=["FR"],
        victim_sectors=["finance"],
        tlp="GREEN",
        tags=["phishing"],
    )
    c2 = new_report(
        client,
        world,
        "bank.publisher",
        publish=True,
        title="Botnet",
        summary="C2 INFRASTRUCTURE of the botnet_x family",
        category="malicious-code/c2-server",
        victim_countries=["DE"],
        victim_sectors=["Energy"],
        tlp="AMBER",
        tags=["APT:Bear"],
    )
    fake = new_report(
        client,
        world,
        "ngo.publisher",
        publish=True,
        title="Fake shop: save 100% now",
        category="fraud/masquerade",
        victim_countries=["BR", "FR"],
        victim_sectors=["retail"],
        tlp="CLEAR",
    )
    new_report(
        client, world, "ngo.publisher", title="Phishing draft", category="fraud/phishing"
    )  # not for intl
    headers = world.headers("intl.reader")

    def found(**params: Any) -> set[str]:
        response = client.get(f"{API}/reports", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {r["uuid"] for r in response.json()["items"]}

    everything = {phishing["uuid"], c2["uuid"], fake["uuid"]}
    assert found() == everything
    assert found(text="PHISHING") == {phishing["uuid"]}
    assert found(text="infrastructure") == {c2["uuid"]}
    assert found(text="100%") == {fake["uuid"]}
    assert found(text="botnet_x") == {c2["uuid"]}
    assert found(text="t_x") == {c2["uuid"]}
    assert found(text="%") == {fake["uuid"]}  # a literal percent sign, not a wildcard
    assert found(text="_") == {c2["uuid"]}
    assert found(category="fraud") == {phishing["uuid"], fake["uuid"]}
    assert found(category="fraud/phishing") == {phishing["uuid"]}
    assert found(country="fr") == {phishing["uuid"], fake["uuid"]}
    assert found(country="DE") == {c2["uuid"]}
    assert found(sector="ENERGY") == {c2["uuid"]}
    assert found(tlp="CLEAR") == {fake["uuid"]}
    assert found(organisation=world.orgs["bank"].uuid) == {c2["uuid"]}
    assert found(organisation=world.orgs["ngo"].name) == {fake["uuid"]}
    assert found(tag="apt:Bear") == {c2["uuid"]}
    assert found(tag="phishing", country="FR") == {phishing["uuid"]}
    assert found(status="published") == everything
    assert found(status="draft") == set()
    now = datetime.now(UTC)
    assert found(created_after=(now - timedelta(hours=1)).isoformat()) == everything
    assert found(created_after=(now + timedelta(hours=1)).isoformat()) == set()
    assert found(created_before=(now - timedelta(hours=1)).isoformat()) == set()
    assert found(created_before=(now + timedelta(hours=1)).isoformat()) == everything
    naive = client.get(f"{API}/reports", params={"created_after": "2024-01-01T00:00:00"}, headers=headers)
    assert naive.status_code == 422 and field_paths(naive) == ["created_after"]
    bad = client.get(f"{API}/reports", params={"tlp": "PURPLE"}, headers=headers)
    assert bad.status_code == 422 and field_paths(bad) == ["tlp"]

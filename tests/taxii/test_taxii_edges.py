"""TAXII 2.1 edge cases through the test client, on SQLite and PostgreSQL: what each collection holds under
the access policy, refusals, bad requests, status resources, deleting, and added_after."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from taxii_samples import (
    CLEAR,
    COMMUNITY,
    ROOT,
    TAXII,
    TLP_RED,
    attack_pattern,
    indicator,
    objects_url,
    post_headers,
    report,
    stix_id,
    taxii_error_of,
    taxii_headers,
)

from commonspace.store import tables as t
from world import API, GROUP, World, add_indicators, new_report


def _get(client: TestClient, world: World, label: str, path: str, **params: Any) -> Any:
    return client.get(path, params=params, headers=taxii_headers(world.keys[label]))


def _objects(client: TestClient, world: World, label: str, collection: str, **params: Any) -> list[Any]:
    response = _get(client, world, label, objects_url(collection), **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == TAXII
    objects: list[Any] = response.json()["objects"]
    return objects


def _post(client: TestClient, world: World, label: str, collection: str, *objects: Any) -> Any:
    body = json.dumps({"objects": list(objects)})
    return client.post(objects_url(collection), content=body, headers=post_headers(world.keys[label]))


def _report_ids(objects: list[Any]) -> set[str]:
    return {o["id"] for o in objects if o["type"] == "report"}


def test_collections_hold_what_the_policy_lets_the_member_see(client: TestClient, world: World) -> None:
    def made(title: str, publish: bool = True, **fields: Any) -> str:
        uuid: str = new_report(client, world, "ministry.publisher", publish=publish, title=title, **fields)[
            "uuid"
        ]
        return f"report--{uuid}"

    community = made("community", distribution="community", tlp="GREEN")
    grouped = made("group", distribution="sharing-group", sharing_group=GROUP)
    own = made("own", distribution="organisation")
    draft = made("draft", publish=False, distribution="community")
    clear = made("clear", distribution="connected-communities", tlp="CLEAR")
    narrowed = {"value": "198.51.100.2", "distribution": "organisation"}
    add_indicators(
        client, world, "ministry.publisher", community.removeprefix("report--"), "198.51.100.1", narrowed
    )
    group, ministry = world.groups[GROUP].uuid, world.orgs["ministry"].uuid

    assert _report_ids(_objects(client, world, "bank.reader", COMMUNITY)) == {community, clear}
    assert _report_ids(_objects(client, world, "bank.reader", group)) == {grouped}
    assert _report_ids(_objects(client, world, "bank.reader", CLEAR)) == {clear}
    assert _objects(client, world, "bank.reader", world.orgs["bank"].uuid) == []
    assert _report_ids(_objects(client, world, "ministry.reader", ministry)) == {
        community,
        grouped,
        own,
        draft,
        clear,
    }
    assert _report_ids(_objects(client, world, "ngo.reader", COMMUNITY)) == {community, clear}
    # The indicator narrowed to the ministry travels to nobody else, in any object.
    seen = json.dumps(_objects(client, world, "bank.reader", COMMUNITY))
    assert "198.51.100.1" in seen and "198.51.100.2" not in seen
    assert "198.51.100.2" in json.dumps(_objects(client, world, "ministry.reader", COMMUNITY))
    # Collections of other scopes do not exist for the member: 404 as for an unknown id.
    for collection in (group, ministry, "00000000-0000-4000-8000-000000000000"):
        for path in ("", "objects/", "manifest/"):
            hidden = _get(client, world, "ngo.admin", f"{ROOT}/collections/{collection}/{path}")
            assert hidden.status_code == 404 and taxii_error_of(hidden)["title"] == "Not found"
    hidden = _get(client, world, "ngo.admin", f"{objects_url(COMMUNITY)}{own}/")
    assert hidden.status_code == 404
    # Reading another organisation's reports over TAXII is an export, recorded in its access log.
    log = client.get(f"{API}/audit/access", headers=world.headers("ministry.admin")).json()
    assert {"report.export"} <= {event["action"] for event in log}


def test_objects_are_unique_and_dated(client: TestClient, world: World) -> None:
    for title in ("one", "two"):
        made = new_report(client, world, "ministry.publisher", publish=True, title=title, tlp="GREEN")
        add_indicators(client, world, "ministry.publisher", made["uuid"], "evil.example", f"{title}.example")
    response = _get(client, world, "bank.reader", f"{ROOT}/collections/{COMMUNITY}/manifest/")
    records = response.json()["objects"]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))  # the author, the markings, one "evil.example" per report's indicator
    keys = [(r["date_added"], r["id"]) for r in records]
    assert keys == sorted(keys)
    assert response.headers["X-TAXII-Date-Added-First"] == records[0]["date_added"]
    assert response.headers["X-TAXII-Date-Added-Last"] == records[-1]["date_added"]
    # Nothing was added after the last date given: an empty envelope without dates.
    after = _get(client, world, "bank.reader", objects_url(COMMUNITY), added_after=records[-1]["date_added"])
    assert after.json() == {"more": False, "objects": []} and "X-TAXII-Date-Added-Last" not in after.headers
    # A change to a report dates its objects anew: they come again after that date.
    listed = client.get(f"{API}/reports", headers=world.headers("ministry.reader")).json()["items"]
    (first,) = [r for r in listed if r["title"] == "one"]
    add_indicators(client, world, "ministry.publisher", first["uuid"], "three.example")
    again = _objects(client, world, "bank.reader", COMMUNITY, added_after=records[-1]["date_added"])
    assert _report_ids(again) == {f"report--{first['uuid']}"}
    assert any("three.example" in o.get("pattern", "") for o in again)
    assert not any("two.example" in o.get("pattern", "") for o in again)


def test_adding_follows_the_collection_and_refuses_red_to_the_community(
    client: TestClient, world: World
) -> None:
    red = report(11, [stix_id("attack-pattern", 11)], object_marking_refs=[TLP_RED])
    plain = report(12, [stix_id("attack-pattern", 12)])
    answer = _post(
        client, world, "bank.publisher", COMMUNITY, red, attack_pattern(11), plain, attack_pattern(12)
    )
    assert answer.status_code == 202 and answer.headers["content-type"] == TAXII
    status = answer.json()
    assert (status["status"], status["total_count"], status["success_count"], status["failure_count"]) == (
        "complete",
        4,
        2,
        2,
    )
    assert {f["id"] for f in status["failures"]} == {red["id"], stix_id("attack-pattern", 11)}
    assert all("RED" in f["message"] for f in status["failures"])
    assert {s["id"] for s in status["successes"]} == {plain["id"], stix_id("attack-pattern", 12)}
    assert _report_ids(_objects(client, world, "ngo.reader", COMMUNITY)) == {plain["id"]}
    # TLP:RED may go to the sharing group; the same report is then kept to it.
    group = world.groups[GROUP].uuid
    kept = _post(client, world, "bank.publisher", group, red, attack_pattern(11)).json()
    assert kept["success_count"] == 2
    assert _report_ids(_objects(client, world, "ministry.reader", group)) == {red["id"]}
    # A report already added to one collection is not moved by adding it to another.
    own = world.orgs["bank"].uuid
    moved = _post(client, world, "bank.publisher", group, plain).json()
    assert moved["failure_count"] == 1 and "community" in moved["failures"][0]["message"]
    # Nor by adding it to the organisation's own collection, which would share the objects added.
    assert "community" in _post(client, world, "bank.publisher", own, plain).json()["failures"][0]["message"]
    # Into the organisation's own collection, it stays with the organisation.
    assert _post(client, world, "bank.admin", own, attack_pattern(13)).json()["success_count"] == 1
    assert stix_id("attack-pattern", 13) in {o["id"] for o in _objects(client, world, "bank.reader", own)}
    assert stix_id("attack-pattern", 13) not in {
        o["id"] for o in _objects(client, world, "ministry.admin", group)
    }


def test_adding_again_adds_nothing(client: TestClient, world: World) -> None:
    envelope = (report(21, [stix_id("indicator", 22)]), indicator(22, "192.0.2.22"))
    for _ in range(2):
        status = _post(client, world, "ministry.publisher", COMMUNITY, *envelope).json()
        assert (status["success_count"], status["failure_count"]) == (2, 0)
    reports = client.get(f"{API}/reports", headers=world.headers("ministry.reader")).json()["items"]
    assert len(reports) == 1 and reports[0]["indicator_count"] == 1
    ids = [o["id"] for o in _objects(client, world, "bank.reader", COMMUNITY)]
    assert len(ids) == len(set(ids)) and ids.count(stix_id("indicator", 22)) == 1


def test_who_may_add_objects(client: TestClient, world: World) -> None:
    for label in ("bank.reader", "bank.analyst"):
        refused = _post(client, world, label, COMMUNITY, attack_pattern(31))
        assert refused.status_code == 403 and taxii_error_of(refused)["title"] == "Forbidden"
    clear = _post(client, world, "site", CLEAR, attack_pattern(31))
    assert clear.status_code == 403
    hidden = _post(client, world, "ngo.publisher", world.groups[GROUP].uuid, attack_pattern(31))
    assert hidden.status_code == 404
    assert client.get(f"{API}/reports", headers=world.headers("site")).json()["items"] == []


def test_bad_envelopes_and_parameters(client: TestClient, world: World) -> None:
    key = world.keys["bank.publisher"]
    for body in (b"{", b"[]", b'{"objects": {}}', b'{"more": false}'):
        bad = client.post(objects_url(COMMUNITY), content=body, headers=post_headers(key))
        assert bad.status_code == 422, body
        assert "nothing was added" in taxii_error_of(bad)["description"]
    # Objects that are not STIX are listed as failures, the others added.
    mixed = _post(
        client, world, "bank.publisher", COMMUNITY, 42, {"type": "attack-pattern"}, attack_pattern(41)
    )
    status = mixed.json()
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (3, 1, 2)
    assert all(f["message"] for f in status["failures"])
    for params in (
        {"limit": "0"},
        {"limit": "many"},
        {"next": "not-a-cursor"},
        {"added_after": "yesterday"},
        {"added_after": "2025-01-01"},
        {"match[version]": "latest"},
    ):
        bad = _get(client, world, "bank.reader", objects_url(COMMUNITY), **params)
        assert bad.status_code == 400, params
        assert taxii_error_of(bad)["title"] == "Bad request"
    missing = _get(client, world, "bank.reader", f"{objects_url(COMMUNITY)}{stix_id('indicator', 99)}/")
    assert missing.status_code == 404
    versions = _get(
        client, world, "bank.reader", f"{objects_url(COMMUNITY)}{stix_id('indicator', 99)}/versions/"
    )
    assert versions.status_code == 404
    gone = _get(client, world, "bank.reader", f"{ROOT}/status/00000000-0000-4000-8000-000000000000/")
    assert gone.status_code == 404


def test_status_resources_are_kept_as_jobs(client: TestClient, world: World) -> None:
    status = _post(client, world, "bank.publisher", COMMUNITY, attack_pattern(51)).json()
    path = f"{ROOT}/status/{status['id']}/"
    for label in ("bank.publisher", "bank.admin", "site"):
        kept = _get(client, world, label, path)
        assert kept.status_code == 200 and kept.json() == status and kept.headers["content-type"] == TAXII
    for label in ("bank.publisher",):
        assert _get(client, world, label, path.rstrip("/")).json() == status  # as the OASIS client asks
    for label in ("bank.analyst", "ministry.admin", "ngo.reader"):
        assert _get(client, world, label, path).status_code == 404
    (job,) = client.get(f"{API}/jobs", headers=world.headers("bank.publisher")).json()
    assert (job["uuid"], job["kind"], job["state"], job["result"]) == (
        status["id"],
        "taxii.import",
        "succeeded",
        status,
    )
    # A job of another kind is no status resource.
    made = new_report(client, world, "bank.publisher")
    values = [{"value": f"192.0.2.{i}"} for i in range(3)]
    queued = client.post(
        f"{API}/reports/{made['uuid']}/indicators",
        params={"background": "true"},
        json={"indicators": values},
        headers=world.headers("bank.publisher"),
    )
    assert queued.status_code == 202
    assert _get(client, world, "bank.publisher", f"{ROOT}/status/{queued.json()['uuid']}/").status_code == 404


def test_deleting_versions_and_who_may_delete(client: TestClient, world: World) -> None:
    january, february = "2024-01-02T03:04:05.000Z", "2024-02-02T03:04:05.000Z"
    pattern = stix_id("attack-pattern", 61)
    _post(client, world, "bank.publisher", COMMUNITY, attack_pattern(61, modified=january))
    _post(client, world, "bank.publisher", COMMUNITY, attack_pattern(61, modified=february))
    url = f"{objects_url(COMMUNITY)}{pattern}/"
    versions = _get(client, world, "ngo.reader", f"{url}versions/")
    assert versions.json() == {"more": False, "versions": [january, february]}
    for label, expected in (("ngo.admin", 403), ("bank.reader", 403), ("bank.analyst", 403)):
        refused = client.delete(url, headers=taxii_headers(world.keys[label]))
        assert refused.status_code == expected, label
        taxii_error_of(refused)
    hidden = client.delete(
        f"{objects_url(world.orgs['bank'].uuid)}{pattern}/", headers=taxii_headers(world.keys["ngo.admin"])
    )
    assert hidden.status_code == 404
    key = world.keys["bank.publisher"]
    none = client.delete(url, params={"match[version]": "2024-03-01T00:00:00Z"}, headers=taxii_headers(key))
    assert none.status_code == 404
    first = client.delete(url, params={"match[version]": "first"}, headers=taxii_headers(key))
    assert first.status_code == 200 and first.content == b"" and first.headers["content-type"] == TAXII
    assert _get(client, world, "ngo.reader", f"{url}versions/").json()["versions"] == [february]
    assert client.delete(url, headers=taxii_headers(key)).status_code == 200
    assert _get(client, world, "ngo.reader", url).status_code == 404
    # Objects written from a report's own indicators are changed through the REST API, not deleted here.
    made = new_report(client, world, "bank.publisher", publish=True)
    written = f"report--{made['uuid']}"
    assert client.delete(f"{objects_url(COMMUNITY)}{written}/", headers=taxii_headers(key)).status_code == 403


def test_paging_with_next_neither_skips_nor_repeats(client: TestClient, world: World) -> None:
    made = new_report(client, world, "ministry.publisher", publish=True, tlp="GREEN")
    add_indicators(client, world, "ministry.publisher", made["uuid"], *[f"203.0.113.{i}" for i in range(20)])
    whole = [o["id"] for o in _objects(client, world, "bank.reader", COMMUNITY)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 6, **({"next": cursor} if cursor else {})}
        page = _get(client, world, "bank.reader", objects_url(COMMUNITY), **params).json()
        seen += [o["id"] for o in page["objects"]]
        if not page["more"]:
            assert "next" not in page
            break
        cursor = page["next"]
    assert seen == whole and len(whole) == 24
    manifest = _get(client, world, "bank.reader", f"{ROOT}/collections/{COMMUNITY}/manifest/", limit=100)
    assert [r["id"] for r in manifest.json()["objects"]] == whole


def test_taxii_is_not_in_the_rest_apis_openapi(client: TestClient) -> None:
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    assert paths and not [p for p in paths if "taxii" in p]


def test_a_listing_kept_between_requests_follows_every_change(client: TestClient, world: World) -> None:
    """What a listing wrote is kept for the next request, never past a change: an indicator added, narrowed
    away or deleted, or the report changed, shows on the next request; and every request is recorded in
    the access log of the organisation read, kept or not."""
    made = new_report(client, world, "ministry.publisher", publish=True, title="kept", tlp="GREEN")
    add_indicators(client, world, "ministry.publisher", made["uuid"], "one.example", "two.example")
    publisher = world.headers("ministry.publisher")

    def seen(label: str = "bank.reader") -> str:
        return json.dumps(_objects(client, world, label, COMMUNITY))

    def exports() -> int:
        log = client.get(f"{API}/audit/access?limit=5000", headers=world.headers("ministry.admin")).json()
        return sum(event["action"] == "report.export" for event in log)

    first, before = seen(), exports()
    assert "one.example" in first and "two.example" in first
    assert seen() == first and exports() == before + 1  # the same objects, and read once more
    page = client.get(f"{API}/reports/{made['uuid']}/indicators", headers=publisher).json()["items"]
    uuids = {indicator["canonical"]: indicator["uuid"] for indicator in page}
    response = client.patch(
        f"{API}/indicators/{uuids['two.example']}", json={"distribution": "organisation"}, headers=publisher
    )
    assert response.status_code == 200, response.text
    assert "two.example" not in seen() and "two.example" in seen("ministry.reader")
    add_indicators(client, world, "ministry.publisher", made["uuid"], "three.example")
    assert "three.example" in seen()
    assert client.delete(f"{API}/indicators/{uuids['one.example']}", headers=publisher).status_code == 204
    assert "one.example" not in seen()
    response = client.patch(f"{API}/reports/{made['uuid']}", json={"title": "renamed"}, headers=publisher)
    assert response.status_code == 200, response.text
    assert '"renamed"' in seen() and '"kept"' not in seen()


def test_deleting_an_object_keeps_the_correlation_counts_exact(
    client: TestClient, world: World, engine: Engine
) -> None:
    def counted() -> dict[tuple[str, str], int]:
        with Session(engine) as session:
            stored = {(c.canonical, c.type): c.reports for c in session.scalars(select(t.CorrelationValue))}
            truth = session.execute(
                select(
                    t.Indicator.canonical, t.Indicator.type, func.count(t.Indicator.report_id.distinct())
                ).group_by(t.Indicator.canonical, t.Indicator.type)
            ).all()
        assert stored == {(canonical, type_): n for canonical, type_, n in truth}
        return stored

    posted = indicator(71, "203.0.113.71")
    assert _post(client, world, "bank.publisher", COMMUNITY, posted).status_code == 202
    made = new_report(client, world, "ministry.publisher", publish=True)
    add_indicators(client, world, "ministry.publisher", made["uuid"], "203.0.113.71")
    assert counted()[("203.0.113.71", "ipv4")] == 2
    key = world.keys["bank.publisher"]
    assert (
        client.delete(f"{objects_url(COMMUNITY)}{posted['id']}/", headers=taxii_headers(key)).status_code
        == 200
    )
    assert counted()[("203.0.113.71", "ipv4")] == 1

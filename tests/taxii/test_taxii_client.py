"""TAXII 2.1 driven by the OASIS client (taxii2-client) over real HTTP, against the server on 127.0.0.1."""

from __future__ import annotations

import pytest
import requests
from taxii2client.exceptions import AccessError
from taxii2client.v21 import as_pages
from taxii_samples import (
    CLEAR,
    COMMUNITY,
    TAXII,
    TaxiiServer,
    attack_pattern,
    indicator,
    objects_url,
    post_headers,
    report,
    stix_id,
    taxii_error_of,
    taxii_headers,
)

from world import API, GROUP, add_indicators, new_report


def _status_code(excinfo: pytest.ExceptionInfo[requests.HTTPError]) -> int:
    response = excinfo.value.response
    assert response is not None
    taxii_error_of(response)
    return int(response.status_code)


def test_discovery_and_api_root(taxii_server: TaxiiServer) -> None:
    server = taxii_server.server("bank.reader")
    assert server.title == "Commonspace"
    assert [root.url for root in server.api_roots] == [f"{taxii_server.url}/taxii2/api/"]
    root = server.default
    assert root is not None and root.url == f"{taxii_server.url}/taxii2/api/"
    assert root.title == "Commonspace"
    assert root.versions == [TAXII] and root.max_content_length >= 1024 * 1024


def test_each_member_has_the_collections_of_their_scopes(taxii_server: TaxiiServer) -> None:
    world = taxii_server.world
    group, bank = world.groups[GROUP].uuid, world.orgs["bank"].uuid
    readers = {c.id: c for c in taxii_server.api_root("bank.reader").collections}
    assert list(readers) == [COMMUNITY, bank, group, CLEAR]
    assert readers[COMMUNITY].title == "Community" and readers[group].title == GROUP
    assert readers[CLEAR].title == "Everything TLP:CLEAR"
    assert all(c.can_read and not c.can_write for c in readers.values())  # readers create no reports
    publishers = {c.id: c.can_write for c in taxii_server.api_root("bank.publisher").collections}
    assert publishers == {COMMUNITY: True, bank: True, group: True, CLEAR: False}
    ngo = {c.id for c in taxii_server.api_root("ngo.admin").collections}
    assert ngo == {COMMUNITY, world.orgs["ngo"].uuid, CLEAR}
    with pytest.raises(requests.HTTPError) as caught:
        taxii_server.collection("ngo.admin", group).refresh()
    assert _status_code(caught) == 404
    with pytest.raises(requests.HTTPError) as caught:
        taxii_server.collection("ngo.admin", bank).refresh()
    assert _status_code(caught) == 404
    assert taxii_server.collection("bank.reader", group).title == GROUP


def test_added_objects_are_shared_with_the_group_and_the_status_is_kept(taxii_server: TaxiiServer) -> None:
    world = taxii_server.world
    group = world.groups[GROUP].uuid
    pattern, found = attack_pattern(1), indicator(2, "203.0.113.9")
    bogus = {"type": "indicator", "spec_version": "2.1", "id": "indicator--not-a-uuid"}
    envelope = {"objects": [report(1, [pattern["id"], found["id"]]), pattern, found, bogus]}
    status = taxii_server.collection("bank.publisher", group).add_objects(envelope)
    assert status.status == "complete" and status.total_count == 4
    assert (status.success_count, status.failure_count, status.pending_count) == (3, 1, 0)
    assert {s["id"] for s in status.successes} == {stix_id("report", 1), pattern["id"], found["id"]}
    (failure,) = status.failures
    assert failure["id"] == "indicator--not-a-uuid" and failure["message"]
    # The status is kept for the member who posted, their organisation's administrators and site admins.
    for label in ("bank.publisher", "bank.admin", "site"):
        kept = taxii_server.api_root(label).get_status(status.id)
        assert (kept.id, kept.success_count, kept.failures) == (status.id, 3, status.failures)
    for label in ("bank.analyst", "ministry.admin"):
        with pytest.raises(requests.HTTPError) as caught:
            taxii_server.api_root(label).get_status(status.id)
        assert _status_code(caught) == 404
    # The ministry, the group's other member, reads them; the NGO does not even see the collection.
    seen = {o["id"]: o for o in taxii_server.collection("ministry.reader", group).get_objects()["objects"]}
    assert seen[pattern["id"]] == pattern and seen[found["id"]] == found
    assert stix_id("report", 1) in seen
    (item,) = taxii_server.http.get(f"{API}/reports", headers=world.headers("ministry.reader")).json()[
        "items"
    ]
    assert item["distribution"] == "sharing-group" and item["organisation"]["uuid"] == world.orgs["bank"].uuid
    # Nor does a community reader find them there.
    community = taxii_server.collection("ngo.reader", COMMUNITY).get_objects()
    assert not {o["id"] for o in community.get("objects", [])} & set(seen)


def test_pages_with_as_pages_give_every_object_once(taxii_server: TaxiiServer) -> None:
    world = taxii_server.world
    made = new_report(
        taxii_server.http, world, "ministry.publisher", publish=True, distribution="community", tlp="GREEN"
    )
    values = [f"198.51.100.{i}" for i in range(1, 13)]
    add_indicators(taxii_server.http, world, "ministry.publisher", made["uuid"], *values)
    collection = taxii_server.collection("bank.reader", COMMUNITY)
    whole = collection.get_objects()
    assert whole["more"] is False and "next" not in whole
    ids = [o["id"] for o in whole["objects"]]
    assert len(ids) == len(set(ids)) == 16  # 12 indicators, the report, its author, TLP:GREEN, TLP 2.0
    pages = list(as_pages(collection.get_objects, per_request=5))
    assert [len(p["objects"]) for p in pages] == [5, 5, 5, 1]
    assert [p["more"] for p in pages] == [True, True, True, False]
    assert [o["id"] for p in pages for o in p["objects"]] == ids
    records = [r for p in as_pages(collection.get_manifest, per_request=7) for r in p["objects"]]
    assert [r["id"] for r in records] == ids
    assert all(r["media_type"] == "application/stix+json;version=2.1" for r in records)
    dates = [r["date_added"] for r in records]
    assert dates == sorted(dates) and all(d.endswith("Z") for d in dates)
    patterns = {o["pattern"] for o in whole["objects"] if o["type"] == "indicator"}
    assert patterns == {f"[ipv4-addr:value = '{v}']" for v in values}


def test_versions_and_filters(taxii_server: TaxiiServer) -> None:
    world = taxii_server.world
    own = world.orgs["ministry"].uuid
    collection = taxii_server.collection("ministry.publisher", own)
    january, february = "2024-01-02T03:04:05.000Z", "2024-02-02T03:04:05.000Z"
    pattern = stix_id("attack-pattern", 7)
    collection.add_objects({"objects": [attack_pattern(7, modified=january), indicator(8, "192.0.2.8")]})
    first_read = taxii_server.http.get(objects_url(own), headers=taxii_headers(world.keys["ministry.reader"]))
    assert first_read.headers["content-type"] == TAXII
    last_added = first_read.headers["X-TAXII-Date-Added-Last"]
    assert first_read.headers["X-TAXII-Date-Added-First"] <= last_added
    collection.add_objects({"objects": [attack_pattern(7, modified=february)]})

    def modified(envelope: dict[str, list[dict[str, str]]]) -> list[str]:
        return [o["modified"] for o in envelope["objects"]]

    assert modified(collection.get_object(pattern)) == [february]  # the last version by default
    assert modified(collection.get_object(pattern, version="first")) == [january]
    assert modified(collection.get_object(pattern, version="2024-01-02T03:04:05Z")) == [january]
    assert sorted(modified(collection.get_object(pattern, version="all"))) == [january, february]
    versions = collection.object_versions(pattern)
    assert versions == {"more": False, "versions": [january, february]}
    assert modified(collection.get_objects(type="attack-pattern")) == [february]
    assert sorted(modified(collection.get_objects(type="attack-pattern", version="all"))) == [
        january,
        february,
    ]
    assert [o["id"] for o in collection.get_objects(id=stix_id("indicator", 8))["objects"]] == [
        stix_id("indicator", 8)
    ]
    manifest = collection.get_manifest(type="attack-pattern", version="all")["objects"]
    assert sorted(r["version"] for r in manifest) == [january, february]
    assert {o["type"] for o in collection.get_objects(type=["indicator", "report"])["objects"]} == {
        "indicator",
        "report",
    }
    # added_after: what was added since the first read, which ended at its X-TAXII-Date-Added-Last.
    newer = collection.get_objects(added_after=last_added)["objects"]
    assert pattern in {o["id"] for o in newer} and modified(
        collection.get_objects(added_after=last_added, type="attack-pattern")
    ) == [february]
    assert stix_id("indicator", 8) not in {o["id"] for o in newer}
    with pytest.raises(requests.HTTPError) as caught:
        collection.get_object(stix_id("attack-pattern", 99))
    assert _status_code(caught) == 404


def test_delete_an_object_and_the_indicators_drawn_from_it(taxii_server: TaxiiServer) -> None:
    world = taxii_server.world
    group = world.groups[GROUP].uuid
    found, pattern = indicator(5, "203.0.113.55"), attack_pattern(5)
    collection = taxii_server.collection("bank.publisher", group)
    assert collection.add_objects({"objects": [found, pattern]}).success_count == 2

    def hits() -> int:
        response = taxii_server.http.post(
            f"{API}/search/indicators",
            json={"values": ["203.0.113.55"]},
            headers=world.headers("bank.publisher"),
        )
        return len(response.json()["items"])

    assert hits() == 1
    # The ministry sees the object in the group but may not delete the bank's.
    with pytest.raises(requests.HTTPError) as caught:
        taxii_server.collection("ministry.publisher", group).delete_object(found["id"])
    assert _status_code(caught) == 403
    analyst = taxii_server.http.delete(
        f"{objects_url(group)}{found['id']}/", headers=taxii_headers(world.keys["bank.analyst"])
    )
    assert analyst.status_code == 403 and taxii_error_of(analyst)["title"] == "Forbidden"
    collection.delete_object(found["id"])
    with pytest.raises(requests.HTTPError) as caught:
        collection.get_object(found["id"])
    assert _status_code(caught) == 404
    assert hits() == 0
    assert collection.get_object(pattern["id"])["objects"] == [pattern]


def test_media_types_and_authentication(taxii_server: TaxiiServer) -> None:
    http, world = taxii_server.http, taxii_server.world
    key = world.keys["bank.publisher"]
    url = "/taxii2/api/collections/"
    refused = http.get(url, headers=taxii_headers(key, Accept="application/json"))
    assert refused.status_code == 406 and "application/taxii+json" in taxii_error_of(refused)["description"]
    older = http.get(url, headers=taxii_headers(key, Accept="application/taxii+json;version=2.0"))
    assert older.status_code == 406
    for accept in ("*/*", "application/taxii+json", "application/json, application/taxii+json;version=2.1"):
        answer = http.get(url, headers=taxii_headers(key, Accept=accept))
        assert answer.status_code == 200 and answer.headers["content-type"] == TAXII, accept
    body = b'{"objects": []}'
    wrong = http.post(
        objects_url(COMMUNITY),
        content=body,
        headers={**post_headers(key), "Content-Type": "application/json"},
    )
    assert wrong.status_code == 415 and taxii_error_of(wrong)["http_status"] == "415"
    right = http.post(objects_url(COMMUNITY), content=body, headers=post_headers(key))
    assert right.status_code == 202 and right.json()["total_count"] == 0
    anonymous = http.get(url, headers={"Accept": TAXII})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="Commonspace TAXII"'
    taxii_error_of(anonymous)
    assert http.get(url, auth=("bank", "cs_wrong"), headers={"Accept": TAXII}).status_code == 401
    assert http.get(url, auth=("bank", key), headers={"Accept": TAXII}).status_code == 200
    nowhere = http.get("/taxii2/api/nowhere/", headers=taxii_headers(key))
    assert nowhere.status_code == 404 and taxii_error_of(nowhere)["title"] == "Not found"
    wrong_method = http.put(objects_url(COMMUNITY), headers=taxii_headers(key))
    assert wrong_method.status_code == 405 and taxii_error_of(wrong_method)["http_status"] == "405"


def test_a_read_only_key_reads_and_writes_nothing(taxii_server: TaxiiServer) -> None:
    http, world = taxii_server.http, taxii_server.world
    member = world.members["bank.publisher"].uuid
    created = http.post(
        f"{API}/members/{member}/api-keys",
        json={"name": "TAXII feed", "read_only": True},
        headers=world.headers("bank.publisher"),
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    world.keys["bank.publisher.read-only"] = key
    collections = taxii_server.api_root("bank.publisher.read-only").collections
    assert collections and not any(c.can_write for c in collections)
    refused = http.post(objects_url(COMMUNITY), content=b'{"objects": []}', headers=post_headers(key))
    assert refused.status_code == 403 and "read-only" in taxii_error_of(refused)["description"]
    community = taxii_server.collection("bank.publisher.read-only", COMMUNITY)
    with pytest.raises(AccessError):
        community.add_objects({"objects": [attack_pattern(3)]})
    assert community.get_objects() == {"more": False, "objects": []}

"""Import and export through the REST API: all or nothing, idempotent, and under the access policy."""

from __future__ import annotations

import json
import uuid

from fastapi.testclient import TestClient

from world import API, GROUP, World, add_indicators, error_of, new_report

CSV = b"type,value,comment\nipv4,198.51.100.7,c2\n,hxxp://evil[.]top/x,\n"

ATTACK_PATTERN = {
    "type": "attack-pattern",
    "spec_version": "2.1",
    "id": f"attack-pattern--{uuid.UUID(int=1, version=4)}",
    "created": "2024-01-02T03:04:05.000Z",
    "modified": "2024-01-02T03:04:05.000Z",
    "name": "Spearphishing Link",
    "x_custom_detail": {"kept": ["as", "it", "came"]},
}
INDICATOR = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": f"indicator--{uuid.UUID(int=2, version=4)}",
    "created": "2024-01-02T03:04:05.000Z",
    "modified": "2024-01-02T03:04:05.000Z",
    "pattern": "[ipv4-addr:value = '203.0.113.9'] OR [domain-name:value = 'phish.example']",
    "pattern_type": "stix",
    "valid_from": "2024-01-02T03:04:05Z",
}
REPORT = {
    "type": "report",
    "spec_version": "2.1",
    "id": f"report--{uuid.UUID(int=3, version=4)}",
    "created": "2024-01-02T03:04:05.000Z",
    "modified": "2024-01-02T03:04:05.000Z",
    "name": "Phishing kit with a custom extension",
    "published": "2024-01-02T03:04:05Z",
    "object_refs": [ATTACK_PATTERN["id"], INDICATOR["id"]],
}
BUNDLE = json.dumps(
    {
        "type": "bundle",
        "id": f"bundle--{uuid.UUID(int=4, version=4)}",
        "objects": [REPORT, INDICATOR, ATTACK_PATTERN],
    }
).encode()


def _import(client: TestClient, world: World, label: str, body: bytes, **params: object):  # type: ignore[no-untyped-def]
    return client.post(f"{API}/import", content=body, params=params, headers=world.headers(label))


def _reports(client: TestClient, world: World, label: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = client.get(f"{API}/reports", headers=world.headers(label)).json()[
        "items"
    ]
    return items


def test_csv_import_is_all_or_nothing_and_idempotent(client: TestClient, world: World) -> None:
    response = _import(client, world, "ministry.publisher", CSV, name="iocs.csv", tlp="GREEN")
    assert response.status_code == 201, response.text
    summary = response.json()
    assert (summary["reports_created"], summary["indicators_added"]) == (1, 2)
    (report,) = _reports(client, world, "ministry.publisher")
    assert report["tlp"] == "GREEN" and report["distribution"] == "organisation"
    again = _import(client, world, "ministry.publisher", CSV, name="iocs.csv", tlp="GREEN").json()
    assert (again["reports_created"], again["reports_unchanged"], again["indicators_added"]) == (0, 1, 0)
    bad = _import(client, world, "ministry.publisher", CSV + b"ipv4,999.1.1.1,\n", name="more.csv")
    assert bad.status_code == 422 and "line 4" in error_of(bad)["message"]
    assert len(_reports(client, world, "ministry.publisher")) == 1  # nothing half-written
    skipped = _import(
        client, world, "ministry.publisher", CSV + b"ipv4,999.1.1.1,\n", name="more.csv", skip_invalid=True
    )
    assert skipped.status_code == 201 and [p["where"] for p in skipped.json()["skipped"]] == ["line 4"]


def test_readers_and_read_only_keys_do_not_import(client: TestClient, world: World) -> None:
    assert _import(client, world, "bank.reader", CSV, name="iocs.csv").status_code == 403
    assert _import(client, world, "bank.analyst", CSV, name="iocs.csv").status_code == 403


def test_dry_run_shows_what_free_text_holds_and_writes_nothing(client: TestClient, world: World) -> None:
    text = b"The kit phoned home to 198.51.100[.]23 and hxxps://login-tax[.]top/verify daily."
    response = _import(client, world, "ministry.publisher", text, name="mail.txt", dry_run=True)
    assert response.status_code == 201
    found = {(f["type"], f["value"]) for f in response.json()["found"]}
    assert found == {("ipv4", "198.51.100.23"), ("url", "https://login-tax.top/verify")}
    assert _reports(client, world, "ministry.publisher") == []


def test_stix_objects_come_back_and_indicators_follow_the_policy(client: TestClient, world: World) -> None:
    response = _import(
        client, world, "ministry.publisher", BUNDLE, distribution="sharing-group", sharing_group=GROUP
    )
    assert response.status_code == 201, response.text
    assert response.json()["indicators_added"] == 2
    again = _import(
        client, world, "ministry.publisher", BUNDLE, distribution="sharing-group", sharing_group=GROUP
    )
    assert again.json()["reports_created"] == 0 and again.json()["objects_added"] == 0
    (report,) = _reports(client, world, "bank.reader")
    assert report["title"] == REPORT["name"] and report["status"] == "published"
    exported = client.get(f"{API}/export", params={"format": "stix"}, headers=world.headers("bank.reader"))
    assert exported.status_code == 200 and exported.headers["content-type"].startswith(
        "application/stix+json"
    )
    objects = {o["id"]: o for o in exported.json()["objects"]}
    assert objects[ATTACK_PATTERN["id"]] == ATTACK_PATTERN  # stored losslessly, custom property and all
    assert REPORT["id"] in objects and INDICATOR["id"] in objects
    # Outside the sharing group, the export holds nothing of it.
    outsider = client.get(
        f"{API}/export", params={"format": "stix"}, headers=world.headers("ngo.admin")
    ).json()
    assert not {o["id"] for o in outsider["objects"]} & set(objects)
    missing = client.get(
        f"{API}/export",
        params={"format": "csv", "report": report["uuid"]},
        headers=world.headers("ngo.admin"),
    )
    assert missing.status_code == 404


def test_export_leaves_out_narrowed_indicators_and_neutralises_csv(client: TestClient, world: World) -> None:
    report = new_report(
        client, world, "ministry.publisher", publish=True, title="=HYPERLINK(evil)", distribution="community"
    )
    narrowed = {"value": "198.51.100.2", "distribution": "organisation"}
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    add_indicators(client, world, "ministry.publisher", report["uuid"], "198.51.100.1", narrowed, md5)
    csv = client.get(f"{API}/export", params={"format": "csv"}, headers=world.headers("bank.reader")).text
    assert "198.51.100.1" in csv and "198.51.100.2" not in csv
    assert "'=HYPERLINK(evil)" in csv and "\n=HYPERLINK" not in csv
    # Documentation addresses are on the built-in warninglists: the detection formats are asked to keep them.
    keep = {"exclude_warninglisted": "false"}
    own = client.get(
        f"{API}/export", params={"format": "text", **keep}, headers=world.headers("ministry.reader")
    ).text
    assert own.split() == ["198.51.100.1", "198.51.100.2", "d41d8cd98f00b204e9800998ecf8427e"]
    rules = client.get(
        f"{API}/export", params={"format": "suricata", **keep}, headers=world.headers("bank.reader")
    ).text
    assert "198.51.100.1" in rules and "198.51.100.2" not in rules and "filemd5:md5.lst" in rules
    md5 = client.get(
        f"{API}/export",
        params={"format": "suricata", "list": "md5.lst", **keep},
        headers=world.headers("bank.reader"),
    )
    assert md5.text == "d41d8cd98f00b204e9800998ecf8427e\n"
    misp = client.get(f"{API}/export", params={"format": "misp"}, headers=world.headers("bank.reader")).json()
    assert misp["Event"]["info"] == "=HYPERLINK(evil)"
    assert {a["value"] for a in misp["Event"]["Attribute"]} == {
        "198.51.100.1",
        "d41d8cd98f00b204e9800998ecf8427e",
    }


def test_an_exported_bundle_imports_elsewhere_with_the_same_indicators(
    client: TestClient, world: World
) -> None:
    report = new_report(
        client, world, "ministry.publisher", publish=True, distribution="community", tlp="GREEN"
    )
    add_indicators(client, world, "ministry.publisher", report["uuid"], "198.51.100.1", "evil.example",
                   "https://evil.example/a?b='c'", "e@evil.example")  # fmt: skip
    bundle = client.get(f"{API}/export", params={"format": "stix"}, headers=world.headers("bank.publisher"))
    imported = _import(client, world, "bank.publisher", bundle.content, name="from-ministry.json")
    assert imported.status_code == 201, imported.text
    ours = [
        r
        for r in _reports(client, world, "bank.publisher")
        if r["organisation"]["uuid"] == world.orgs["bank"].uuid
    ]
    assert len(ours) == 1 and ours[0]["tlp"] == "GREEN" and ours[0]["indicator_count"] == 4


def test_bad_json_names_the_place_and_writes_nothing(client: TestClient, world: World) -> None:
    response = _import(
        client, world, "ministry.publisher", b'{"type": "bundle", "objects": [\n{,}]}', name="b.json"
    )
    assert response.status_code == 422
    assert "line 2" in error_of(response)["message"]
    assert _reports(client, world, "ministry.publisher") == []

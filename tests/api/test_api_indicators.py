"""Indicators through the REST API: bulk add, narrowing, background imports and their jobs."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from commonspace.jobs.runner import Worker
from commonspace.web.app import job_handlers
from world import API, GROUP, World, add_indicators, error_of, field_paths, new_report

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _indicators(client: TestClient, world: World, label: str, report_uuid: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/reports/{report_uuid}/indicators", headers=world.headers(label))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_bulk_add(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True)
    uuid = report["uuid"]
    result = add_indicators(
        client,
        world,
        "ministry.publisher",
        uuid,
        "hxxp://Evil[.]Example/Path",
        "EVIL.example.",
        {"value": "evil[.]example", "comment": "the same domain, defanged"},
        MD5.upper(),
        SHA256,
        "2001:DB8:0::1",
        "198.51.100.7",
        "198.51.100.7",
        "192.0.2.0/24",
        "user@Phish.Example",
        "AS64500",
        {"type": "filename", "value": "invoice.pdf.exe", "tags": ["dropper", "TLP:AMBER"]},
        {"value": "c2.example", "confidence": 80, "to_detect": False, "first_seen": "2024-01-01T00:00:00Z"},
    )
    assert result == {"added": 11, "duplicates": 2}
    items = _indicators(client, world, "ministry.reader", uuid)
    got = {(i["type"], i["canonical"]) for i in items}
    assert got == {
        ("url", "http://evil.example/Path"),
        ("domain", "evil.example"),
        ("md5", MD5),
        ("sha256", SHA256),
        ("ipv6", "2001:db8::1"),
        ("ipv4", "198.51.100.7"),
        ("ipv4-cidr", "192.0.2.0/24"),
        ("email", "user@phish.example"),
        ("asn", "AS64500"),
        ("filename", "invoice.pdf.exe"),
        ("domain", "c2.example"),
    }
    by_canonical = {i["canonical"]: i for i in items}
    assert by_canonical["evil.example"]["value"] == "EVIL.example."  # the first spelling is kept as given
    assert by_canonical["invoice.pdf.exe"]["tags"] == ["dropper", "tlp:AMBER"]
    c2 = by_canonical["c2.example"]
    assert (c2["confidence"], c2["to_detect"], c2["first_seen"]) == (80, False, "2024-01-01T00:00:00Z")
    assert all(i["report"] == uuid and i["tlp"] == "AMBER" for i in items)
    after = client.get(f"{API}/reports/{uuid}", headers=world.headers("ministry.reader")).json()
    assert after["indicator_count"] == 11 and after["version"] == report["version"] + 1
    # Values already in the report are skipped and counted, in whatever spelling.
    again = add_indicators(client, world, "ministry.publisher", uuid, "evil[.]example", "203.0.113.9")
    assert again == {"added": 1, "duplicates": 1}
    one = client.get(
        f"{API}/indicators/{by_canonical['evil.example']['uuid']}", headers=world.headers("bank.reader")
    )
    assert one.status_code == 200 and one.json() == by_canonical["evil.example"]
    # Paging through the report's indicators.
    first = client.get(
        f"{API}/reports/{uuid}/indicators", params={"limit": 5}, headers=world.headers("bank.reader")
    )
    page = first.json()
    assert len(page["items"]) == 5 and page["next_cursor"]
    rest = client.get(
        f"{API}/reports/{uuid}/indicators",
        params={"limit": 50, "cursor": page["next_cursor"]},
        headers=world.headers("bank.reader"),
    ).json()
    assert rest["next_cursor"] is None
    assert len({i["uuid"] for i in page["items"] + rest["items"]}) == 12
    # Updating and deleting one indicator: the creator organisation's editors only.
    publisher = world.headers("ministry.publisher")
    target = f"{API}/indicators/{c2['uuid']}"
    response = client.patch(
        target, json={"uuid": by_canonical["evil.example"]["uuid"], "comment": "x"}, headers=publisher
    )
    assert response.status_code == 422 and field_paths(response) == ["uuid"]
    for label in ("bank.publisher", "ministry.analyst"):
        assert client.patch(target, json={"comment": "mine"}, headers=world.headers(label)).status_code == 403
        assert client.delete(target, headers=world.headers(label)).status_code == 403
    response = client.patch(
        target,
        json={"uuid": c2["uuid"], "comment": "C2 of the campaign", "tags": ["c2"], "confidence": None},
        headers=publisher,
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["comment"], changed["tags"], changed["confidence"], changed["to_detect"]) == (
        "C2 of the campaign",
        ["c2"],
        None,
        False,
    )
    assert client.delete(target, headers=publisher).status_code == 204
    assert client.get(target, headers=publisher).status_code == 404
    assert client.get(f"{API}/reports/{uuid}", headers=publisher).json()["indicator_count"] == 11


def test_an_invalid_value_fails_the_whole_call(client: TestClient, world: World) -> None:
    report = new_report(client, world, "bank.publisher")
    url = f"{API}/reports/{report['uuid']}/indicators"
    headers = world.headers("bank.publisher")
    add_indicators(client, world, "bank.publisher", report["uuid"], "kept.example")
    cases = [
        (["good.example", "10.0.0.1", "this is not an indicator"], "indicators.2.value"),
        ([{"type": "ipv4", "value": "300.1.1.1"}], "indicators.0.value"),
        (["good.example", {"type": "md5", "value": "xyz"}], "indicators.1.value"),
        (["good.example", ""], "indicators.1.value"),
        (["good.example", {"value": "x.example", "confidence": 101}], "indicators.1.confidence"),
        (
            [
                {
                    "value": "x.example",
                    "first_seen": "2024-02-01T00:00:00Z",
                    "last_seen": "2024-01-01T00:00:00Z",
                }
            ],
            "indicators.0.last_seen",
        ),
    ]
    for values, path in cases:
        body = {"indicators": [{"value": v} if isinstance(v, str) else v for v in values]}
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 422, (values, response.text)
        assert field_paths(response) == [path], values
        assert error_of(response)["code"] == "invalid"
    assert [i["canonical"] for i in _indicators(client, world, "bank.publisher", report["uuid"])] == [
        "kept.example"
    ]
    after = client.get(f"{API}/reports/{report['uuid']}", headers=headers).json()
    assert after["version"] == 2 and after["indicator_count"] == 1
    # The same holds for indicators given with a new report.
    body = {"title": "With indicators", "indicators": [{"value": "ok.example"}, {"value": "?!"}]}
    response = client.post(f"{API}/reports", json=body, headers=headers)
    assert response.status_code == 422 and field_paths(response) == ["indicators.1.value"]
    titles = [r["title"] for r in client.get(f"{API}/reports", headers=headers).json()["items"]]
    assert "With indicators" not in titles
    # Only the creator organisation's editors add indicators.
    body = {"indicators": [{"value": "intruder.example"}]}
    assert client.post(url, json=body, headers=world.headers("bank.analyst")).status_code == 403
    assert (
        client.post(url, json=body, headers=world.headers("ministry.publisher")).status_code == 404
    )  # a draft


def test_narrowed_indicators_stay_narrow(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True, title="Mixed")
    uuid = report["uuid"]
    add_indicators(
        client,
        world,
        "ministry.publisher",
        uuid,
        "open.example",
        {"value": "secret.example", "distribution": "organisation", "tags": ["secret-tag"]},
        {"value": "group.example", "distribution": "sharing-group", "sharing_group": GROUP},
    )
    everything = {i["canonical"]: i for i in _indicators(client, world, "ministry.reader", uuid)}
    assert set(everything) == {"open.example", "secret.example", "group.example"}
    assert everything["secret.example"]["distribution"] == "organisation"
    assert everything["group.example"]["sharing_group"]["uuid"] == world.groups[GROUP].uuid
    expected = {
        "ministry.reader": {"open.example", "secret.example", "group.example"},
        "site": {"open.example", "secret.example", "group.example"},
        "bank.reader": {"open.example", "group.example"},
        "ngo.admin": {"open.example"},
    }
    for label, visible in expected.items():
        headers = world.headers(label)
        assert {i["canonical"] for i in _indicators(client, world, label, uuid)} == visible, label
        for canonical, indicator in everything.items():
            status = client.get(f"{API}/indicators/{indicator['uuid']}", headers=headers).status_code
            assert status == (200 if canonical in visible else 404), (label, canonical)
        search = client.post(
            f"{API}/search/indicators", json={"values": sorted(everything)}, headers=headers
        ).json()
        assert {h["indicator"]["canonical"] for h in search["items"]} == visible, label
        counted = client.get(f"{API}/reports/{uuid}", headers=headers).json()["indicator_count"]
        assert counted == len(visible), label
        assert ("secret-tag" in client.get(f"{API}/tags", headers=headers).json()) is (
            "secret.example" in visible
        ), label
    # Narrowing an indicator later applies at once; widening beyond the report is refused.
    response = client.patch(
        f"{API}/indicators/{everything['open.example']['uuid']}",
        json={"distribution": "organisation"},
        headers=world.headers("ministry.publisher"),
    )
    assert response.status_code == 200 and response.json()["distribution"] == "organisation"
    assert {i["canonical"] for i in _indicators(client, world, "ngo.admin", uuid)} == set()
    private = new_report(client, world, "ministry.publisher", publish=True, distribution="organisation")
    for distribution in ("community", "sharing-group", "connected-communities"):
        item = {"value": "wide.example", "distribution": distribution}
        if distribution == "sharing-group":
            item["sharing_group"] = GROUP
        response = client.post(
            f"{API}/reports/{private['uuid']}/indicators",
            json={"indicators": [{"value": "fine.example"}, item]},
            headers=world.headers("ministry.publisher"),
        )
        assert response.status_code == 422, response.text
        assert field_paths(response) == ["indicators.1.distribution"]
        assert "widen" in error_of(response)["message"]
    add_indicators(client, world, "ministry.publisher", private["uuid"], "narrow.example")
    narrow = _indicators(client, world, "ministry.reader", private["uuid"])[0]
    response = client.patch(
        f"{API}/indicators/{narrow['uuid']}",
        json={"distribution": "community"},
        headers=world.headers("ministry.publisher"),
    )
    assert response.status_code == 422 and field_paths(response) == ["distribution"]
    # A sharing-group narrowing needs a group the organisation belongs to.
    ngo_report = new_report(client, world, "ngo.publisher", publish=True)
    item = {"value": "x.example", "distribution": "sharing-group", "sharing_group": GROUP}
    response = client.post(
        f"{API}/reports/{ngo_report['uuid']}/indicators",
        json={"indicators": [item]},
        headers=world.headers("ngo.publisher"),
    )
    assert response.status_code == 422 and field_paths(response) == ["indicators.0.distribution"]


def test_background_import_and_jobs(client: TestClient, world: World) -> None:
    report = new_report(client, world, "bank.publisher", publish=True)
    url = f"{API}/reports/{report['uuid']}/indicators"
    values = [f"host{i}.bad.example" for i in range(40)] + ["host0.bad.example", "203.0.113.5"]
    body = {"indicators": [{"value": v, "tags": ["bulk"]} for v in values]}
    response = client.post(
        url, params={"background": "true"}, json=body, headers=world.headers("bank.publisher")
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["state"], job["kind"], job["total"], job["progress"]) == (
        "queued",
        "indicators.import",
        42,
        0,
    )
    assert _indicators(client, world, "bank.publisher", report["uuid"]) == []
    # A bad import is refused by the job, all or nothing.
    bad = {"indicators": [{"value": "fine.example"}, {"value": "not an indicator"}]}
    response = client.post(
        url, params={"background": "true"}, json=bad, headers=world.headers("bank.publisher")
    )
    assert response.status_code == 202
    bad_job = response.json()
    # Refused at once: another organisation's report, a read-only path, a reader.
    for label, status in (("ministry.publisher", 403), ("bank.reader", 403)):
        response = client.post(url, params={"background": "true"}, json=body, headers=world.headers(label))
        assert response.status_code == status, label
    worker = Worker(client.app.state.write_sessions, job_handlers(), "api-test-worker")  # type: ignore[attr-defined]
    assert worker.run_once() and worker.run_once()
    assert not worker.run_once()
    done = client.get(f"{API}/jobs/{job['uuid']}", headers=world.headers("bank.publisher")).json()
    assert done["state"] == "succeeded", done
    assert done["result"] == {"report": report["uuid"], "added": 41, "duplicates": 1}
    assert done["progress"] == done["total"] == 42 and done["finished"] is not None
    items = _indicators(client, world, "ministry.reader", report["uuid"])
    assert len(items) == 41 and all(i["tags"] == ["bulk"] for i in items)
    failed = client.get(f"{API}/jobs/{bad_job['uuid']}", headers=world.headers("bank.publisher")).json()
    assert failed["state"] == "failed" and "indicators.1.value" in failed["error"]
    assert len(_indicators(client, world, "bank.reader", report["uuid"])) == 41
    # Jobs are seen by their submitter, the organisation's admins and site admins only.
    for label in ("bank.publisher", "bank.admin", "site"):
        assert client.get(f"{API}/jobs/{job['uuid']}", headers=world.headers(label)).status_code == 200, label
        listed = client.get(f"{API}/jobs", headers=world.headers(label)).json()
        assert {job["uuid"], bad_job["uuid"]} <= {j["uuid"] for j in listed}, label
    for label in ("bank.analyst", "ministry.admin", "ngo.reader"):
        response = client.get(f"{API}/jobs/{job['uuid']}", headers=world.headers(label))
        assert response.status_code == 404 and error_of(response)["code"] == "not_found", label
        assert client.get(f"{API}/jobs", headers=world.headers(label)).json() == [], label
        assert (
            client.post(f"{API}/jobs/{job['uuid']}/cancel", headers=world.headers(label)).status_code == 404
        )
    # A queued job can be cancelled by its submitter; then no worker runs it.
    response = client.post(
        url, params={"background": "true"}, json=body, headers=world.headers("bank.publisher")
    )
    queued = response.json()
    response = client.post(f"{API}/jobs/{queued['uuid']}/cancel", headers=world.headers("bank.publisher"))
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert not worker.run_once()
    states = client.get(
        f"{API}/jobs", params={"state": "succeeded"}, headers=world.headers("bank.admin")
    ).json()
    assert [j["uuid"] for j in states] == [job["uuid"]]

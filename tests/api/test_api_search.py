"""Indicator search and the tags endpoint through the REST API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from world import API, GROUP, World, add_indicators, field_paths, new_report

MD5 = "0cc175b9c0f1b6a831c399e269772661"


def _search(client: TestClient, world: World, label: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"{API}/search/indicators", json=body, headers=world.headers(label))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def _found(client: TestClient, world: World, label: str, **body: Any) -> dict[str, list[str]]:
    """canonical value -> the query values it matched."""
    page = _search(client, world, label, **body)
    assert page["next_cursor"] is None
    return {h["indicator"]["canonical"]: h["matched"] for h in page["items"]}


def test_search_values_exact_and_containing(client: TestClient, world: World) -> None:
    report = new_report(
        client, world, "ministry.publisher", publish=True, title="Infrastructure", tlp="GREEN"
    )
    add_indicators(
        client,
        world,
        "ministry.publisher",
        report["uuid"],
        "http://evil.com/x",
        "evil.com",
        "www.evil.com",
        "http://cdn.evil.com/a/b",
        "user@evil.com",
        "notevil.com",
        "evil.com.example",
        "10.0.0.0/8",
        "192.0.2.0/24",
        "192.0.2.7",
        "2001:db8::/32",
        MD5,
        {"type": "filename", "value": "evil.com.exe"},
    )
    reader = "bank.reader"
    # Exact after canonicalisation: a defanged URL finds the URL (and only it).
    found = _found(client, world, reader, values=["hxxp://evil[.]com/x"])
    assert found == {"http://evil.com/x": ["hxxp://evil[.]com/x"]}
    # An IP finds itself and the networks containing it.
    assert _found(client, world, reader, values=["192.0.2.7"]) == {
        "192.0.2.7": ["192.0.2.7"],
        "192.0.2.0/24": ["192.0.2.7"],
    }
    assert _found(client, world, reader, values=["10.20.30.40"]) == {"10.0.0.0/8": ["10.20.30.40"]}
    assert _found(client, world, reader, values=["2001:DB8::1"]) == {"2001:db8::/32": ["2001:DB8::1"]}
    # A domain finds itself, its subdomains, and the URLs and addresses under them; nothing else.
    assert set(_found(client, world, reader, values=["EVIL.com"])) == {
        "evil.com",
        "www.evil.com",
        "http://evil.com/x",
        "http://cdn.evil.com/a/b",
        "user@evil.com",
    }
    assert set(_found(client, world, reader, values=["cdn.evil.com"])) == {"http://cdn.evil.com/a/b"}
    # Many values at once; each hit names the query values it answers.
    found = _found(
        client,
        world,
        reader,
        values=["www.evil.com", "evil[.]com", "192.0.2.99", MD5.upper(), "nothing.example", "evil.com.exe"],
    )
    assert found == {
        "evil.com": ["evil[.]com"],
        "www.evil.com": ["evil[.]com", "www.evil.com"],
        "http://evil.com/x": ["evil[.]com"],
        "http://cdn.evil.com/a/b": ["evil[.]com"],
        "user@evil.com": ["evil[.]com"],
        "192.0.2.0/24": ["192.0.2.99"],
        MD5: [MD5.upper()],
        "evil.com.exe": ["evil.com.exe"],
    }
    hit = _search(client, world, reader, values=[MD5])["items"][0]
    assert (hit["report_uuid"], hit["report_title"], hit["report_tlp"]) == (
        report["uuid"],
        "Infrastructure",
        "GREEN",
    )
    assert hit["organisation"]["uuid"] == world.orgs["ministry"].uuid
    assert _found(client, world, reader, values=["   ", "absent.example"]) == {}
    response = client.post(
        f"{API}/search/indicators", json={"value": ["evil.com"]}, headers=world.headers(reader)
    )
    assert response.status_code == 422 and field_paths(response) == ["value"]  # a misspelt field is an error


def test_search_filters_visibility_and_pages(client: TestClient, world: World) -> None:
    bank = new_report(
        client,
        world,
        "bank.publisher",
        publish=True,
        category="malicious-code/c2-server",
        victim_countries=["DE"],
        tlp="GREEN",
    )
    add_indicators(
        client,
        world,
        "bank.publisher",
        bank["uuid"],
        {"value": "c2.bad.example", "tags": ["botnet"]},
        {"value": "198.51.100.1", "to_detect": False},
    )
    ngo = new_report(
        client,
        world,
        "ngo.publisher",
        publish=True,
        category="fraud/phishing",
        victim_countries=["BR"],
        tlp="CLEAR",
        tags=["ngo-report-tag"],
    )
    add_indicators(client, world, "ngo.publisher", ngo["uuid"], "phish.bad.example")
    draft = new_report(client, world, "ministry.publisher", tags=["draft-tag"])
    add_indicators(
        client,
        world,
        "ministry.publisher",
        draft["uuid"],
        {"value": "draft.bad.example", "tags": ["draft-ioc-tag"]},
    )
    group = new_report(
        client,
        world,
        "ministry.publisher",
        publish=True,
        distribution="sharing-group",
        sharing_group=GROUP,
        tags=["group-tag"],
    )
    add_indicators(client, world, "ministry.publisher", group["uuid"], "group.bad.example")
    private = new_report(client, world, "ministry.publisher", publish=True, distribution="organisation")
    add_indicators(client, world, "ministry.publisher", private["uuid"], "private.bad.example")
    every = {
        "c2.bad.example",
        "phish.bad.example",
        "draft.bad.example",
        "group.bad.example",
        "private.bad.example",
    }
    expected = {
        "site": every,
        "ministry.reader": every,
        "bank.reader": {"c2.bad.example", "phish.bad.example", "group.bad.example"},
        "ngo.reader": {"c2.bad.example", "phish.bad.example"},
    }
    for label, visible in expected.items():
        assert set(_found(client, world, label, values=["bad.example"])) == visible, label
    # Tags: only those of reports and indicators the caller may see.
    public = {"botnet", "ngo-report-tag"}
    assert set(client.get(f"{API}/tags", headers=world.headers("ngo.reader")).json()) == public
    assert set(client.get(f"{API}/tags", headers=world.headers("bank.reader")).json()) == public | {
        "group-tag"
    }
    ministry_tags = client.get(f"{API}/tags", headers=world.headers("ministry.reader")).json()
    assert set(ministry_tags) == public | {"group-tag", "draft-tag", "draft-ioc-tag"}
    assert ministry_tags == sorted(ministry_tags)
    # Filters, with and without values.
    reader = "bank.reader"
    assert set(_found(client, world, reader, types=["ipv4"])) == {"198.51.100.1"}
    assert (
        set(_found(client, world, reader, values=["bad.example"], types=["domain", "url"]))
        == expected[reader]
    )
    assert set(_found(client, world, reader, tag="botnet")) == {"c2.bad.example"}
    assert set(_found(client, world, reader, to_detect=False)) == {"198.51.100.1"}
    assert set(_found(client, world, reader, values=["bad.example"], country="br")) == {"phish.bad.example"}
    assert set(_found(client, world, reader, category="fraud")) == {"phish.bad.example"}
    assert set(_found(client, world, reader, category="malicious-code/c2-server")) == {
        "c2.bad.example",
        "198.51.100.1",
    }
    assert set(_found(client, world, reader, organisation=world.orgs["bank"].uuid)) == {
        "c2.bad.example",
        "198.51.100.1",
    }
    assert set(_found(client, world, reader, organisation=world.orgs["ministry"].name)) == {
        "group.bad.example"
    }
    assert set(_found(client, world, reader, tlp="CLEAR")) == {"phish.bad.example"}
    assert _found(client, world, reader, created_after="2999-01-01T00:00:00Z") == {}
    response = client.post(
        f"{API}/search/indicators",
        json={"created_after": "2024-01-01T00:00:00"},
        headers=world.headers(reader),
    )
    assert response.status_code == 422 and field_paths(response) == ["created_after"]
    # Pages: stable, complete, without duplicates.
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = _search(client, world, "site", values=["bad.example", "198.51.100.1"], limit=2, cursor=cursor)
        pages += 1
        seen += [h["indicator"]["uuid"] for h in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        if pages == 1:  # found in its turn, since pages run in id order
            add_indicators(client, world, "ministry.publisher", draft["uuid"], "late.bad.example")
    assert len(seen) == len(set(seen)) == 7 and pages == 4
    response = client.post(
        f"{API}/search/indicators", json={"cursor": "bogus"}, headers=world.headers(reader)
    )
    assert response.status_code == 422 and field_paths(response) == ["cursor"]


def test_search_reads_like_a_get(client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A search is sent by POST but only reads: it must not take the write lock (BEGIN IMMEDIATE)."""
    from commonspace.web import deps

    reading: list[str] = []
    original = deps.mark_reading
    monkeypatch.setattr(deps, "mark_reading", lambda session: (reading.append("read"), original(session)))
    headers = world.headers("bank.analyst")
    assert (
        client.post(f"{API}/search/indicators", json={"values": ["192.0.2.1"]}, headers=headers).status_code
        == 200
    )
    assert reading == ["read"]
    response = client.post(
        f"{API}/reports", json={"title": "a write"}, headers=world.headers("bank.publisher")
    )
    assert response.status_code == 201
    assert reading == ["read"]  # the write did not use a reading session
